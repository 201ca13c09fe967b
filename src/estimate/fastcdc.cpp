#include "estimate/fastcdc.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace wsd::estimate {
namespace {

constexpr uint64_t k_gear_seed = 0x7773646564757063ull; // "wsdedupc"

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t top_bits(unsigned n) {
  return n == 0 ? 0 : ~uint64_t{0} << (64 - n);
}

} // namespace

CdcParams CdcParams::for_average(uint32_t avg) {
  if (!std::has_single_bit(avg) || avg < 256 || avg > (16u << 20)) {
    throw std::invalid_argument("CDC average size must be a power of two in [256, 16M]");
  }
  const auto bits = static_cast<unsigned>(std::countr_zero(avg));
  return CdcParams{avg / 4, avg, avg * 8, top_bits(bits + 1), top_bits(bits - 1)};
}

const std::array<uint64_t, 256>& gear_table() {
  static const std::array<uint64_t, 256> table = [] {
    std::array<uint64_t, 256> t{};
    uint64_t state = k_gear_seed;
    for (auto& v : t) {
      v = splitmix64(state);
    }
    return t;
  }();
  return table;
}

size_t FastCdc::scan(std::span<const std::byte> bytes, bool* cut) {
  const auto& gear = gear_table();
  const size_t n = bytes.size();
  size_t i = 0;
  *cut = false;
  // Cut-point skipping: the first min_size bytes of a chunk are not hashed.
  if (m_len < m_params.min_size) {
    const size_t skip = std::min<uint64_t>(n, m_params.min_size - m_len);
    i = skip;
    m_len += skip;
    if (m_len < m_params.min_size) {
      return n;
    }
  }
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  uint64_t fp = m_fp;
  uint64_t len = m_len;
  // Normalized chunking: the stricter mask up to avg_size, the looser one up to max_size.
  while (i < n && len < m_params.avg_size) {
    fp = (fp << 1) + gear[p[i]];
    ++i;
    ++len;
    if ((fp & m_params.mask_small) == 0) {
      *cut = true;
      break;
    }
  }
  if (!*cut) {
    while (i < n && len < m_params.max_size) {
      fp = (fp << 1) + gear[p[i]];
      ++i;
      ++len;
      if ((fp & m_params.mask_large) == 0) {
        *cut = true;
        break;
      }
    }
    if (!*cut && len >= m_params.max_size) {
      *cut = true;
    }
  }
  if (*cut) {
    m_len = 0;
    m_fp = 0;
  } else {
    m_len = len;
    m_fp = fp;
  }
  return i;
}

} // namespace wsd::estimate
