#pragma once
// Human formatting of sizes, counts and durations.

#include <cstdint>
#include <string>

namespace wsd::util {

enum class ExactBytes { no, yes };

/// "1.5 GiB" (binary units, 3 significant digits), or the exact number with ExactBytes::yes.
std::string format_bytes(uint64_t bytes, ExactBytes exact = ExactBytes::no);

/// "12,345,678"
std::string format_count(uint64_t n);

/// Parses "128K", "1M", "4096", "1.5G" (binary units). Throws Fatal on bad input.
uint64_t parse_size(const std::string& text);

/// Parses "30d", "12h", "45m", "90s", "2w". Throws Fatal on bad input.
int64_t parse_duration_seconds(const std::string& text);

} // namespace wsd::util
