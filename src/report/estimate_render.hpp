#pragma once
// Renders what `estimate` measured: zdb -DD's lines per recordsize (byte for byte), the
// operators' table (before/after, ratios, DDT entries and RAM against this host), per
// category and per workspace figures, the alternatives, a recommendation and notes; or
// DESIGN.md's `wsdedup.estimate/1` JSON.

#include "estimate/estimate_run.hpp"
#include "estimate/host_memory.hpp"
#include "model/zfs_profile.hpp"
#include "scan/file_list.hpp"
#include "scan/usage_report.hpp"
#include "util/units.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace wsd::report {

/// Everything the renderers need.
struct EstimateReport {
  std::vector<std::string> roots;
  const model::ZfsProfile* profile = nullptr;
  model::CompressionSpec compression;
  std::string compression_text; // as given (e.g. "on")
  uint32_t ashift = 12;
  uint32_t copies = 1;
  bool fill_holes = false;
  const scan::FileList* files = nullptr;
  const scan::UsageReport* usage = nullptr;
  const estimate::EstimateResult* result = nullptr;
  estimate::HostMemory host;
  double scan_seconds = 0;
};

/// Options of the text renderer.
struct EstimateRenderOptions {
  util::ExactBytes exact = util::ExactBytes::no;
  size_t top = 20; // workspaces shown; 0 = all
  bool stats = false;
};

/// One row of the alternatives table.
struct Alternative {
  std::string name;
  uint64_t after_bytes = 0;
  uint64_t saved_bytes = 0;
  std::string basis; // what the numbers measure
};

/// The alternatives, ZFS lanes first.
std::vector<Alternative> estimate_alternatives(const EstimateReport& report);

/// The plain recommendation sentence.
std::string estimate_recommendation(const EstimateReport& report);

/// The notes printed under the tables (codec provenance, estimates, sampling).
std::vector<std::string> estimate_notes(const EstimateReport& report);

/// The human report.
std::string render_estimate_text(const EstimateReport& report, const EstimateRenderOptions& options);

/// The `wsdedup.estimate/1` document.
nlohmann::ordered_json estimate_to_json(const EstimateReport& report);

} // namespace wsd::report
