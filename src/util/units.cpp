#include "util/units.hpp"

#include "util/error.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

namespace wsd::util {

std::string format_bytes(uint64_t bytes, ExactBytes exact) {
  if (exact == ExactBytes::yes) return std::to_string(bytes);
  static constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(k_units)) {
    value /= 1024.0;
    ++unit;
  }
  if (value >= 100.0) return fmt::format("{:.0f} {}", value, k_units[unit]);
  if (value >= 10.0) return fmt::format("{:.1f} {}", value, k_units[unit]);
  return fmt::format("{:.2f} {}", value, k_units[unit]);
}

std::string format_count(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

uint64_t parse_size(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || errno != 0 || value < 0 || !std::isfinite(value))
    throw Fatal("invalid size '{}'", text);
  std::string suffix(end);
  if (!suffix.empty() && (suffix.back() == 'B' || suffix.back() == 'b')) suffix.pop_back();
  if (suffix.size() == 2 && (suffix[1] == 'i' || suffix[1] == 'I')) suffix.pop_back();
  double mult = 1;
  if (suffix.empty()) mult = 1;
  else if (suffix == "K" || suffix == "k") mult = 1024.0;
  else if (suffix == "M" || suffix == "m") mult = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "g") mult = 1024.0 * 1024 * 1024;
  else if (suffix == "T" || suffix == "t") mult = 1024.0 * 1024 * 1024 * 1024;
  else throw Fatal("invalid size '{}': unknown unit '{}'", text, suffix);
  const double bytes = value * mult;
  if (bytes > 1.8e19) throw Fatal("invalid size '{}': too large", text);
  return static_cast<uint64_t>(std::llround(bytes));
}

int64_t parse_duration_seconds(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || errno != 0 || value < 0 || !std::isfinite(value))
    throw Fatal("invalid duration '{}' (examples: 30d, 12h, 90m)", text);
  const std::string unit(end);
  double mult = 0;
  if (unit == "s" || unit.empty()) mult = 1;
  else if (unit == "m" || unit == "min") mult = 60;
  else if (unit == "h") mult = 3600;
  else if (unit == "d") mult = 86400;
  else if (unit == "w") mult = 7 * 86400;
  else throw Fatal("invalid duration '{}': unknown unit '{}' (use s, m, h, d, w)", text, unit);
  return static_cast<int64_t>(std::llround(value * mult));
}

} // namespace wsd::util
