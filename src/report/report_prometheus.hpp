#pragma once
// Prometheus textfile-collector metrics from a command's `--json` document, so the metrics and
// the JSON can never disagree. Every family carries the labels `command` and `root` (the roots
// joined by ",") so several commands or roots can write their own .prom files side by side in
// node-exporter's textfile directory without clashing series.

#include <nlohmann/json.hpp>

#include <string>

namespace wsd::report {

/// The metrics of one document (any known schema); `fallback_timestamp` (Unix seconds) is used
/// for wsdedup_last_run_timestamp_seconds when the document has no "run" stamp.
std::string prometheus_from_json(const nlohmann::ordered_json& doc, double fallback_timestamp);

} // namespace wsd::report
