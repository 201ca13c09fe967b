#pragma once
// Renders a UsageReport as a human table or as DESIGN.md's `wsdedup.usage/1` JSON.

#include "scan/usage_report.hpp"
#include "util/units.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace wsd::report {

struct UsageRenderOptions {
  util::ExactBytes exact = util::ExactBytes::no;
  size_t top = 20; // workspaces shown; 0 = all
  bool stats = false;
};

std::string render_usage_text(const scan::UsageReport& report, const UsageRenderOptions& options);

/// `top` limits the workspaces listed only when nonzero.
nlohmann::ordered_json usage_to_json(const scan::UsageReport& report, size_t top);

} // namespace wsd::report
