#pragma once
// `usage`: one walk, aggregated by category and by workspace.

#include "fs/roots.hpp"
#include "fs/walker.hpp"
#include "usage/classifier.hpp"
#include "usage/usage_report.hpp"

namespace wsd::usage {

struct UsageOptions {
  fs::WalkOptions walk;
  std::vector<std::string> category_rules; // NAME=GLOB
  std::optional<std::string> workspace_glob;
  std::optional<unsigned> workspace_depth;
};

/// Walks `roots` and returns the aggregated report. `progress` may be null.
UsageReport scan_usage(const fs::RootSet& roots, const UsageOptions& options,
                       fs::WalkProgress* progress);

} // namespace wsd::usage
