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
  return std::none_of(path.begin(), path.end(),
                      [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; }) &&
         util::is_valid_utf8(path);
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
