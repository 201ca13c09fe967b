#include "model/zfs_codecs.hpp"

#include <algorithm>
#include <array>

namespace wsd::model {
namespace {

// lzjb.c constants.
constexpr int k_nbby = 8;
constexpr int k_match_bits = 6;
constexpr int k_match_min = 3;
constexpr int k_match_max = (1 << k_match_bits) + (k_match_min - 1);
constexpr uint32_t k_offset_mask = (1u << (16 - k_match_bits)) - 1;
constexpr size_t k_lempel_size = 1024;

} // namespace

// Port of zfs_lzjb_compress_buf() (module/zfs/lzjb.c; identical in onnv's lzjb_compress()).
// Pointers become indices; the address of src[i] is (address_phase + i) mod 2^16, which is
// all the algorithm ever looks at.
size_t lzjb_compress(std::span<const std::byte> src_span, std::span<std::byte> dst_span,
                     size_t d_len, uint32_t address_phase) {
  const auto* src = reinterpret_cast<const uint8_t*>(src_span.data());
  auto* dst = reinterpret_cast<uint8_t*>(dst_span.data());
  const size_t s_len = src_span.size();
  std::array<uint16_t, k_lempel_size> lempel{};
  size_t s = 0;
  size_t d = 0;
  size_t copymap = 0;
  int copymask = 1 << (k_nbby - 1);
  const auto d_limit = static_cast<int64_t>(d_len) - 1 - 2 * k_nbby;

  while (s < s_len) {
    if ((copymask <<= 1) == (1 << k_nbby)) {
      if (static_cast<int64_t>(d) >= d_limit) {
        return s_len;
      }
      copymask = 1;
      copymap = d;
      dst[d++] = 0;
    }
    if (s + static_cast<size_t>(k_match_max) > s_len) { // src > s_start + s_len - MATCH_MAX
      dst[d++] = src[s++];
      continue;
    }
    int hash = (src[s] << 16) + (src[s + 1] << 8) + src[s + 2];
    hash += hash >> 9;
    hash += hash >> 5;
    uint16_t& hp = lempel[static_cast<size_t>(hash) & (k_lempel_size - 1)];
    const uint32_t address = (address_phase + static_cast<uint32_t>(s)) & 0xffffu;
    const uint32_t offset = (address - hp) & k_offset_mask;
    hp = static_cast<uint16_t>(address);
    if (offset != 0 && offset <= s) {
      const size_t cpy = s - offset;
      if (src[s] == src[cpy] && src[s + 1] == src[cpy + 1] && src[s + 2] == src[cpy + 2]) {
        dst[copymap] = static_cast<uint8_t>(dst[copymap] | copymask);
        int mlen = k_match_min;
        for (; mlen < k_match_max; ++mlen) {
          if (src[s + static_cast<size_t>(mlen)] != src[cpy + static_cast<size_t>(mlen)]) {
            break;
          }
        }
        dst[d++] = static_cast<uint8_t>(((mlen - k_match_min) << (k_nbby - k_match_bits)) |
                                        static_cast<int>(offset >> k_nbby));
        dst[d++] = static_cast<uint8_t>(offset & 0xffu);
        s += static_cast<size_t>(mlen);
        continue;
      }
    }
    dst[d++] = src[s++];
  }
  return d;
}

// Port of zfs_zle_compress_buf() (module/zfs/zle.c; identical in onnv's zle.c).
size_t zle_compress(std::span<const std::byte> src_span, std::span<std::byte> dst_span,
                    size_t d_len, int n) {
  const auto* src = reinterpret_cast<const uint8_t*>(src_span.data());
  auto* dst = reinterpret_cast<uint8_t*>(dst_span.data());
  const size_t s_end = src_span.size();
  const auto d_end = static_cast<int64_t>(d_len);
  const auto un = static_cast<size_t>(n);
  size_t s = 0;
  int64_t d = 0;

  while (s < s_end && d < d_end - 1) {
    const size_t first = s;
    const auto len = static_cast<size_t>(d++);
    if (src[s] == 0) {
      const size_t last = std::min(s + (256 - un), s_end);
      while (s < last && src[s] == 0) {
        ++s;
      }
      dst[len] = static_cast<uint8_t>(s - first - 1 + un);
    } else {
      const size_t last = std::min(s + un, s_end);
      if (d_end - d < n) {
        break;
      }
      while (s < last - 1 && (src[s] | src[s + 1]) != 0) {
        dst[d++] = src[s++];
      }
      if (src[s] != 0) {
        dst[d++] = src[s++];
      }
      dst[len] = static_cast<uint8_t>(s - first - 1);
    }
  }
  return s == s_end ? static_cast<size_t>(d) : s_end;
}

} // namespace wsd::model
