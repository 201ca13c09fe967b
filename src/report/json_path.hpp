#pragma once
// DESIGN.md's rule for paths in JSON: a string when the bytes are valid UTF-8, otherwise
// {"bytes_b64": "..."} so the exact bytes survive.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace wsd::report {

nlohmann::ordered_json path_to_json(std::string_view path);

/// Whether path_to_json(path) dumps as the path itself in quotes: valid UTF-8 with no
/// character JSON escapes (quote, backslash, controls).
bool is_plain_json_path(std::string_view path);

/// Appends path_to_json(path) in compact form, as dump() prints it: a plain path directly
/// (the dedupe audit log writes two such lines per file), others through nlohmann.
void append_path_json(std::string& out, std::string_view path);

/// Inverse of path_to_json; throws nlohmann::ordered_json::exception on a malformed value.
std::string path_from_json(const nlohmann::ordered_json& value);

/// Serializes `doc` followed by a newline, 2-space indented. Never throws on bytes: paths
/// went through path_to_json, other strings are ours.
std::string dump_json(const nlohmann::ordered_json& doc);

} // namespace wsd::report
