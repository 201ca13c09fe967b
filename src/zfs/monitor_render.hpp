#pragma once
// monitor's outputs: human text (tables), the JSON document (schema wsdedup.monitor/1) and
// Prometheus textfile metrics.

#include "util/units.hpp"
#include "zfs/monitor_check.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace wsd::zfs {

/// One monitor run: what was observed and what monitor concluded.
struct MonitorResult {
  Observation obs;
  RamBudget budget;
  std::optional<EstimateFigures> estimate;
  std::string estimate_path;
  double tolerance = 0.05;
  std::vector<Comparison> comparisons;
  std::vector<HistoryPoint> history; ///< including this run when --history was given
  std::optional<Trend> trend;
  std::vector<Warning> warnings;
  std::vector<std::string> notes;
};

/// The human report: dataset, DDT, ARC, estimate comparison, trend, warnings.
std::string render_monitor_text(const MonitorResult& r, util::ExactBytes exact);

/// The JSON document, schema "wsdedup.monitor/1".
nlohmann::ordered_json monitor_to_json(const MonitorResult& r);

/// Prometheus text-format metrics (wsdedup_zfs_* families, labelled pool and dataset).
std::string monitor_to_prometheus(const MonitorResult& r);

} // namespace wsd::zfs
