// zdb's number format (zfs_nicenum / zfs_nicebytes / onnv nicenum), hand-computed cases.
#include "model/nicenum.hpp"

#include <gtest/gtest.h>

namespace wsd::model {
namespace {

TEST(ModelNicenum, SmallNumbersPrintPlain) {
  EXPECT_EQ(zfs_nicenum(0), "0");
  EXPECT_EQ(zfs_nicenum(1), "1");
  EXPECT_EQ(zfs_nicenum(512), "512");
  EXPECT_EQ(zfs_nicenum(1023), "1023");
}

TEST(ModelNicenum, ExactMultiplesHaveNoDecimals) {
  EXPECT_EQ(zfs_nicenum(1024), "1K");
  EXPECT_EQ(zfs_nicenum(10240), "10K");
  EXPECT_EQ(zfs_nicenum(131072), "128K");
  EXPECT_EQ(zfs_nicenum(528384), "516K");
  EXPECT_EQ(zfs_nicenum(1048576), "1M");
  EXPECT_EQ(zfs_nicenum(uint64_t{1} << 40), "1T");
}

TEST(ModelNicenum, WidestPrecisionThatFitsFiveCharacters) {
  EXPECT_EQ(zfs_nicenum(1536), "1.50K");
  EXPECT_EQ(zfs_nicenum(1179648), "1.12M"); // 1.125: printf rounds half to even
  EXPECT_EQ(zfs_nicenum(1180160), "1.13M");
  EXPECT_EQ(zfs_nicenum(10239), "10.0K"); // 9.999K
  EXPECT_EQ(zfs_nicenum(13841203), "13.2M");
  EXPECT_EQ(zfs_nicenum(1048064), "1024K");     // 1023.5K: no decimals fit
  EXPECT_EQ(zfs_nicenum(102400 + 512), "100K"); // 100.5K -> "100K" ("%.0f" rounds to even)
  EXPECT_EQ(zfs_nicenum(2047), "2.00K");
}

TEST(ModelNicenum, BytesVariantAddsB) {
  EXPECT_EQ(zfs_nicebytes(0), "0B");
  EXPECT_EQ(zfs_nicebytes(512), "512B");
  EXPECT_EQ(zfs_nicebytes(1023), "1023B");
  EXPECT_EQ(zfs_nicebytes(1024), "1K");
  EXPECT_EQ(zfs_nicebytes(1536), "1.50K");
}

TEST(ModelNicenum, OnnvNicenumRoundsFirst) {
  EXPECT_EQ(onnv_nicenum(1023), "1023");
  EXPECT_EQ(onnv_nicenum(1024), "1K");
  EXPECT_EQ(onnv_nicenum(1536), "1.50K");
  EXPECT_EQ(onnv_nicenum(1048064), "1.00M");
  EXPECT_EQ(onnv_nicenum(10240), "10.0K"); // not a power of two: one decimal below 100
}

} // namespace
} // namespace wsd::model
