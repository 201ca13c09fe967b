#include "report/json_path.hpp"

#include "util/error.hpp"
#include "util/escape.hpp"

#include <algorithm>

namespace wsd::report {

nlohmann::ordered_json path_to_json(std::string_view path) {
  if (util::is_valid_utf8(path)) return std::string(path);
  return nlohmann::ordered_json{{"bytes_b64", util::base64_encode(path)}};
}

bool is_plain_json_path(std::string_view path) {
  const auto needs_escape = [](unsigned char c) { return c == '"' || c == '\\' || c < 0x20; };
  // Most paths are ASCII: one test per byte, and UTF-8 decoding only from the first byte
  // above 0x7F (a sequence starts there, since everything before it is ASCII).
  size_t i = 0;
  for (; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c >= 0x80) break;
    if (needs_escape(c)) return false;
  }
  const std::string_view rest = path.substr(i);
  return std::none_of(rest.begin(), rest.end(), [&](char c) { return needs_escape(static_cast<unsigned char>(c)); }) &&
         util::is_valid_utf8(rest);
}

void append_path_json(std::string& out, std::string_view path) {
  if (is_plain_json_path(path)) {
    out += '"';
    out += path;
    out += '"';
  } else {
    out += path_to_json(path).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
}

std::string path_from_json(const nlohmann::ordered_json& value) {
  if (value.is_string()) return value.get<std::string>();
  std::string out;
  if (!util::base64_decode(value.at("bytes_b64").get<std::string>(), out))
    throw util::Fatal("malformed bytes_b64 path in JSON");
  return out;
}

std::string dump_json(const nlohmann::ordered_json& doc) {
  // error_handler::replace: a stray invalid byte in a message must not abort a report.
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

} // namespace wsd::report
