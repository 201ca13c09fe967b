#include "model/nicenum.hpp"

#include <array>
#include <cstdio>

namespace wsd::model {
namespace {

constexpr std::array<const char*, 7> k_units_1024{"", "K", "M", "G", "T", "P", "E"};
constexpr std::array<const char*, 7> k_units_bytes{"B", "K", "M", "G", "T", "P", "E"};

// The C code prints into char[6]: anything longer than 5 characters is cut.
constexpr size_t k_c_buffer = 6;

std::string cut(const char* text) {
  std::string s(text);
  if (s.size() > k_c_buffer - 1) {
    s.resize(k_c_buffer - 1);
  }
  return s;
}

// zfs_nicenum_format() for ZFS_NICENUM_1024 / ZFS_NICENUM_BYTES (zutil_nicenum.c).
std::string nicenum_format(uint64_t num, const std::array<const char*, 7>& units) {
  uint64_t n = num;
  size_t index = 0;
  while (n >= 1024 && index < 6) {
    n /= 1024;
    ++index;
  }
  const char* u = units[index];
  char buf[64] = {};
  const uint64_t divisor = uint64_t{1} << (10 * index);
  if (index == 0 || num % divisor == 0) {
    // "If this is an even multiple of the base, always display without any decimal".
    std::snprintf(buf, sizeof buf, "%llu%s", static_cast<unsigned long long>(n), u);
  } else {
    // "try each combination in turn": precision 2, 1, 0 until it fits in 5 characters.
    const double val = static_cast<double>(num) / static_cast<double>(divisor);
    for (int i = 2; i >= 0; --i) {
      if (std::snprintf(buf, sizeof buf, "%.*f%s", i, val, u) <= 5) {
        break;
      }
    }
  }
  return cut(buf);
}

} // namespace

std::string zfs_nicenum(uint64_t num) {
  return nicenum_format(num, k_units_1024);
}

std::string zfs_nicebytes(uint64_t num) {
  return nicenum_format(num, k_units_bytes);
}

// nicenum() of onnv usr/src/lib/libzpool/common/util.c.
std::string onnv_nicenum(uint64_t num) {
  uint64_t n = num;
  size_t index = 0;
  while (n >= 1024) {
    n = (n + (1024 / 2)) / 1024; // "Round up or down"
    ++index;
  }
  const char u = " KMGTPE"[index];
  char buf[32] = {};
  const double val = static_cast<double>(num) / static_cast<double>(uint64_t{1} << (10 * index));
  if (index == 0) {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  } else if (n < 10 && (num & (num - 1)) != 0) {
    std::snprintf(buf, sizeof buf, "%.2f%c", val, u);
  } else if (n < 100 && (num & (num - 1)) != 0) {
    std::snprintf(buf, sizeof buf, "%.1f%c", val, u);
  } else {
    std::snprintf(buf, sizeof buf, "%llu%c", static_cast<unsigned long long>(n), u);
  }
  return cut(buf);
}

} // namespace wsd::model
