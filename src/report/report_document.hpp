#pragma once
// A saved or freshly built `--json` document seen by the renderers that work from it (HTML,
// Prometheus, `wsdedup report`): which command wrote it, and tolerant accessors, so a renderer
// never trusts a file it did not write (a missing or mistyped field reads as 0 / empty).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace wsd::report {

/// The commands whose documents the renderers know.
enum class DocumentKind { usage, estimate, dupes, dedupe, verify, prune, migrate, monitor, unknown };

/// The kind named by doc["schema"] ("wsdedup.<command>/<version>"); unknown when absent,
/// malformed or of a version newer than 1.
DocumentKind document_kind(const nlohmann::ordered_json& doc);

/// "usage", "estimate", ...; "unknown".
std::string_view kind_name(DocumentKind kind);

/// doc[key] as an unsigned number (0 when absent, negative or not a number).
uint64_t u64_at(const nlohmann::ordered_json& doc, std::string_view key);

/// doc[key] as a double (0 when absent or not a number).
double number_at(const nlohmann::ordered_json& doc, std::string_view key);

/// doc[key] as a string (empty when absent or not a string).
std::string string_at(const nlohmann::ordered_json& doc, std::string_view key);

/// doc[key] when it is an array or object of that type, else an empty one.
const nlohmann::ordered_json& array_at(const nlohmann::ordered_json& doc, std::string_view key);
const nlohmann::ordered_json& object_at(const nlohmann::ordered_json& doc, std::string_view key);

/// The raw bytes of a path value (string, or {"bytes_b64": ...}); "" when malformed.
std::string path_bytes(const nlohmann::ordered_json& value);

/// Adds doc["run"] = {"finished_unix_seconds", "seconds"} unless it is there already.
void stamp_run(nlohmann::ordered_json& doc, double seconds);

/// The run's duration in seconds as the document records it (run.seconds, else stats.seconds,
/// else the sum of verify's seconds); negative when the document does not say.
double run_seconds(const nlohmann::ordered_json& doc);

/// The number of per-path errors the document lists.
uint64_t error_count(const nlohmann::ordered_json& doc);

} // namespace wsd::report
