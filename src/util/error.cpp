#include "util/error.hpp"

#include "util/escape.hpp"

#include <cstring>

namespace wsd::util {

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  const char* text = ::strerror_r(err, buf, sizeof buf);
  return text;
}

std::string describe_error(std::string_view op, std::string_view display_path, int err) {
  return fmt::format("{}(\"{}\"): {}", op, escape_for_terminal(display_path), errno_text(err));
}

} // namespace wsd::util
