#include "util/error.hpp"
#include "util/units.hpp"

#include <gtest/gtest.h>

using namespace wsd::util;

TEST(Units, FormatBytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.00 KiB");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(10 * 1024 * 1024 + 1), "10.0 MiB");
  EXPECT_EQ(format_bytes(244ULL << 30), "244 GiB");
  EXPECT_EQ(format_bytes(1536, ExactBytes::yes), "1536");
}

TEST(Units, FormatCount) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(12), "12");
  EXPECT_EQ(format_count(123), "123");
  EXPECT_EQ(format_count(1234), "1,234");
  EXPECT_EQ(format_count(336112), "336,112");
  EXPECT_EQ(format_count(1234567), "1,234,567");
}

TEST(Units, ParseSize) {
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("128K"), 131072u);
  EXPECT_EQ(parse_size("128KiB"), 131072u);
  EXPECT_EQ(parse_size("1M"), 1048576u);
  EXPECT_EQ(parse_size("1.5G"), 1610612736u);
  EXPECT_THROW(parse_size("12Q"), Fatal);
  EXPECT_THROW(parse_size("abc"), Fatal);
  EXPECT_THROW(parse_size("-1"), Fatal);
}

TEST(Units, ParseDuration) {
  EXPECT_EQ(parse_duration_seconds("30d"), 30 * 86400);
  EXPECT_EQ(parse_duration_seconds("12h"), 12 * 3600);
  EXPECT_EQ(parse_duration_seconds("2w"), 14 * 86400);
  EXPECT_THROW(parse_duration_seconds("3y"), Fatal);
}
