#pragma once
// Paths are byte strings: any byte but '/' and NUL may appear in a name. Human output
// escapes what a terminal would mangle; JSON keeps the exact bytes (see report/json_path).

#include <string>
#include <string_view>

namespace wsd::util {

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

/// Escapes control bytes (\n, \t, \xNN), backslash and invalid UTF-8 bytes (\xNN);
/// valid printable UTF-8 passes through unchanged.
std::string escape_for_terminal(std::string_view s);

/// Standard base64 (RFC 4648) with padding.
std::string base64_encode(std::string_view bytes);

/// Inverse of base64_encode; returns false on malformed input.
bool base64_decode(std::string_view text, std::string& out);

} // namespace wsd::util
