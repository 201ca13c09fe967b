#include "util/escape.hpp"

#include <gtest/gtest.h>

using namespace wsd::util;

TEST(Escape, ValidUtf8PassesThrough) {
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9"));
  EXPECT_EQ(escape_for_terminal("caf\xc3\xa9 ok"), "caf\xc3\xa9 ok");
}

TEST(Escape, ControlAndInvalidBytesAreEscaped) {
  EXPECT_EQ(escape_for_terminal("a\nb"), "a\\nb");
  EXPECT_EQ(escape_for_terminal("a\tb\\c"), "a\\tb\\\\c");
  EXPECT_EQ(escape_for_terminal("x\x01y"), "x\\x01y");
  EXPECT_EQ(escape_for_terminal("bad-\xff\xfe"), "bad-\\xff\\xfe");
  EXPECT_FALSE(is_valid_utf8("bad-\xff"));
}

TEST(Escape, RejectsOverlongsAndSurrogates) {
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));         // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));     // U+D800
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));         // truncated
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));  // emoji
}

TEST(Escape, Base64RoundTrips) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  for (const std::string s : {"", "a", "ab", "abc", "bad-\xff\xfe\n"}) {
    std::string back;
    ASSERT_TRUE(base64_decode(base64_encode(s), back));
    EXPECT_EQ(back, s);
  }
  std::string out;
  EXPECT_FALSE(base64_decode("abc", out));
  EXPECT_FALSE(base64_decode("a=bc", out));
}
