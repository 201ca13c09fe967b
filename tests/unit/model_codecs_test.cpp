// LZJB and ZLE ports: round trips through decompressors written here (ports of
// zfs_lzjb_decompress_buf / zfs_zle_decompress_buf), known outputs, and the early exits that
// decide whether a block is stored compressed.
#include "model/zfs_codecs.hpp"

#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace wsd::model {
namespace {

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> v(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    v[i] = static_cast<std::byte>(s[i]);
  }
  return v;
}

std::vector<std::byte> random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) {
    b = static_cast<std::byte>(rng() & 0xffu);
  }
  return v;
}

// zfs_lzjb_decompress_buf() (lzjb.c).
std::vector<std::byte> lzjb_decompress(const std::vector<std::byte>& src, size_t d_len) {
  std::vector<std::byte> dst(d_len);
  size_t s = 0;
  size_t d = 0;
  unsigned copymap = 0;
  unsigned copymask = 1u << 7;
  while (d < d_len) {
    if ((copymask <<= 1) == (1u << 8)) {
      copymask = 1;
      copymap = std::to_integer<unsigned>(src.at(s++));
    }
    if ((copymap & copymask) != 0) {
      const unsigned b0 = std::to_integer<unsigned>(src.at(s));
      const unsigned b1 = std::to_integer<unsigned>(src.at(s + 1));
      size_t mlen = (b0 >> 2) + 3;
      const size_t offset = ((b0 << 8) | b1) & 0x3ffu;
      s += 2;
      if (offset > d) {
        ADD_FAILURE() << "bad offset";
        return {};
      }
      size_t cpy = d - offset;
      while (--mlen != static_cast<size_t>(-1) && d < d_len) {
        dst[d++] = dst[cpy++];
      }
    } else {
      dst[d++] = src.at(s++);
    }
  }
  return dst;
}

// zfs_zle_decompress_buf() (zle.c), n = 64.
std::vector<std::byte> zle_decompress(const std::vector<std::byte>& src, size_t d_len) {
  std::vector<std::byte> dst;
  size_t s = 0;
  while (s < src.size() && dst.size() < d_len) {
    const int len = 1 + std::to_integer<int>(src[s++]);
    if (len <= 64) {
      for (int i = 0; i < len; ++i) {
        dst.push_back(src.at(s++));
      }
    } else {
      dst.insert(dst.end(), static_cast<size_t>(len - 64), std::byte{0});
    }
  }
  return dst;
}

TEST(ModelLzjb, RoundTripsTextAndRandomData) {
  std::string text;
  for (int i = 0; i < 400; ++i) {
    text += "module.exports = require('./lib/index.js'); // " + std::to_string(i % 17) + "\n";
  }
  for (const auto& input : {bytes_of(text), random_bytes(5000, 1)}) {
    std::vector<std::byte> out(input.size() + 64);
    const size_t n = lzjb_compress(input, out, input.size());
    ASSERT_LE(n, input.size());
    if (n < input.size()) {
      out.resize(n);
      EXPECT_EQ(lzjb_decompress(out, input.size()), input);
    }
  }
}

TEST(ModelLzjb, KnownOutputForRepeats) {
  // lzjb.c only looks for matches while src <= s_start + s_len - MATCH_MAX (66): in 64
  // bytes every byte is a literal, 8 groups of (copymap byte + 8 literals) = 72 bytes.
  // With d_len 64 it gives up at the group starting at dst 54 >= d_len - 1 - 16.
  const std::vector<std::byte> input(64, std::byte{'a'});
  std::vector<std::byte> out(200);
  EXPECT_EQ(lzjb_compress(input, out, 200), 72u);
  EXPECT_EQ(lzjb_compress(input, out, 64), 64u); // gives up inside d_len - 17
}

TEST(ModelLzjb, LongRunCompressesToMatches) {
  const std::vector<std::byte> input(4096, std::byte{'z'});
  std::vector<std::byte> out(5000);
  const size_t n = lzjb_compress(input, out, input.size());
  out.resize(n);
  EXPECT_LT(n, 200u);
  EXPECT_EQ(lzjb_decompress(out, input.size()), input);
}

TEST(ModelLzjb, IncompressibleGivesUp) {
  const auto input = random_bytes(4096, 2);
  std::vector<std::byte> out(5000);
  EXPECT_EQ(lzjb_compress(input, out, 3584), 4096u);
}

TEST(ModelZle, KnownOutput) {
  // "ab" + 100 zeros + "c": literal run of 2 (len byte 1), zero run of 100 (len byte
  // 100 - 1 + 64 = 163), literal run of 1 (len byte 0).
  std::vector<std::byte> input = bytes_of("ab");
  input.insert(input.end(), 100, std::byte{0});
  input.push_back(std::byte{'c'});
  std::vector<std::byte> out(200);
  const size_t n = zle_compress(input, out, input.size());
  ASSERT_EQ(n, 6u);
  const std::vector<std::byte> expect{std::byte{1},   std::byte{'a'}, std::byte{'b'},
                                      std::byte{163}, std::byte{0},   std::byte{'c'}};
  EXPECT_EQ(std::vector<std::byte>(out.begin(), out.begin() + 6), expect);
  out.resize(n);
  EXPECT_EQ(zle_decompress(out, input.size()), input);
}

TEST(ModelZle, LongZeroRunsSplitAt192) {
  const std::vector<std::byte> input(1000, std::byte{0});
  std::vector<std::byte> out(1000);
  // 1000 = 5 x 192 + 40: six length bytes.
  EXPECT_EQ(zle_compress(input, out, 1000), 6u);
}

TEST(ModelZle, RoundTripsMixedData) {
  auto input = random_bytes(8192, 3);
  for (size_t i = 0; i < input.size(); i += 700) {
    for (size_t j = i; j < std::min(input.size(), i + 300); ++j) {
      input[j] = std::byte{0};
    }
  }
  std::vector<std::byte> out(9000);
  const size_t n = zle_compress(input, out, input.size());
  ASSERT_LT(n, input.size());
  out.resize(n);
  EXPECT_EQ(zle_decompress(out, input.size()), input);
}

TEST(ModelZle, GivesUpWhenALiteralRunMightNotFit) {
  // "if (d_end - dst < n) break;": a literal run needs 64 bytes of room, even if shorter.
  std::vector<std::byte> input(200, std::byte{0});
  input[150] = std::byte{1};
  std::vector<std::byte> out(300);
  EXPECT_EQ(zle_compress(input, out, 300), 4u);  // zeros(150) -> 1, lit 1 -> 2, zeros -> 1
  EXPECT_EQ(zle_compress(input, out, 60), 200u); // only 59 bytes of room at the literal
}

} // namespace
} // namespace wsd::model
