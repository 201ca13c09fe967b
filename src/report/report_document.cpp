#include "report/report_document.hpp"

#include "report/json_path.hpp"

#include <chrono>

namespace wsd::report {

namespace {

const nlohmann::ordered_json& empty_array() {
  static const nlohmann::ordered_json a = nlohmann::ordered_json::array();
  return a;
}

const nlohmann::ordered_json& empty_object() {
  static const nlohmann::ordered_json o = nlohmann::ordered_json::object();
  return o;
}

const nlohmann::ordered_json* find(const nlohmann::ordered_json& doc, std::string_view key) {
  if (!doc.is_object()) return nullptr;
  const auto it = doc.find(std::string(key));
  return it == doc.end() ? nullptr : &*it;
}

} // namespace

DocumentKind document_kind(const nlohmann::ordered_json& doc) {
  const std::string schema = string_at(doc, "schema");
  constexpr std::string_view prefix = "wsdedup.";
  if (!schema.starts_with(prefix)) return DocumentKind::unknown;
  const auto slash = schema.find('/');
  if (slash == std::string::npos || schema.substr(slash + 1) != "1") return DocumentKind::unknown;
  const std::string name = schema.substr(prefix.size(), slash - prefix.size());
  for (const auto kind : {DocumentKind::usage, DocumentKind::estimate, DocumentKind::dupes,
                          DocumentKind::dedupe, DocumentKind::verify, DocumentKind::prune,
                          DocumentKind::migrate, DocumentKind::monitor}) {
    if (kind_name(kind) == name) return kind;
  }
  return DocumentKind::unknown;
}

std::string_view kind_name(DocumentKind kind) {
  switch (kind) {
  case DocumentKind::usage: return "usage";
  case DocumentKind::estimate: return "estimate";
  case DocumentKind::dupes: return "dupes";
  case DocumentKind::dedupe: return "dedupe";
  case DocumentKind::verify: return "verify";
  case DocumentKind::prune: return "prune";
  case DocumentKind::migrate: return "migrate";
  case DocumentKind::monitor: return "monitor";
  case DocumentKind::unknown: break;
  }
  return "unknown";
}

uint64_t u64_at(const nlohmann::ordered_json& doc, std::string_view key) {
  const auto* v = find(doc, key);
  if (v == nullptr) return 0;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer()) {
    const auto i = v->get<int64_t>();
    return i < 0 ? 0 : static_cast<uint64_t>(i);
  }
  if (v->is_number_float()) {
    const double d = v->get<double>();
    return d > 0 && d < 1.8e19 ? static_cast<uint64_t>(d) : 0;
  }
  if (v->is_boolean()) return v->get<bool>() ? 1 : 0;
  return 0;
}

double number_at(const nlohmann::ordered_json& doc, std::string_view key) {
  const auto* v = find(doc, key);
  return v != nullptr && v->is_number() ? v->get<double>() : 0.0;
}

std::string string_at(const nlohmann::ordered_json& doc, std::string_view key) {
  const auto* v = find(doc, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

const nlohmann::ordered_json& array_at(const nlohmann::ordered_json& doc, std::string_view key) {
  const auto* v = find(doc, key);
  return v != nullptr && v->is_array() ? *v : empty_array();
}

const nlohmann::ordered_json& object_at(const nlohmann::ordered_json& doc, std::string_view key) {
  const auto* v = find(doc, key);
  return v != nullptr && v->is_object() ? *v : empty_object();
}

std::string path_bytes(const nlohmann::ordered_json& value) {
  try {
    return path_from_json(value);
  } catch (const nlohmann::ordered_json::exception&) {
    return {};
  }
}

void stamp_run(nlohmann::ordered_json& doc, double seconds) {
  if (doc.contains("run")) return;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  doc["run"] = {{"finished_unix_seconds", std::chrono::duration<double>(now).count()},
                {"seconds", seconds}};
}

double run_seconds(const nlohmann::ordered_json& doc) {
  const auto& run = object_at(doc, "run");
  if (run.contains("seconds") && run["seconds"].is_number()) return run["seconds"].get<double>();
  const auto& stats = object_at(doc, "stats");
  if (stats.contains("seconds") && stats["seconds"].is_number()) return stats["seconds"].get<double>();
  const auto& secs = object_at(doc, "seconds");
  if (!secs.empty()) return number_at(secs, "walk") + number_at(secs, "content");
  return -1;
}

uint64_t error_count(const nlohmann::ordered_json& doc) { return array_at(doc, "errors").size(); }

} // namespace wsd::report
