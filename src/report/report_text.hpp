#pragma once
// Human text from a saved `--json` document (`wsdedup report FILE.json`). A usage document is
// turned back into the scan::UsageReport the `usage` command renders, so the text is the same
// as the original run's; the other schemas get a summary rendered from the document's fields
// (their in-memory results hold file lists and hash tables a document does not keep).

#include "scan/usage_report.hpp"
#include "util/units.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace wsd::report {

/// Rebuilds the UsageReport a `wsdedup.usage/1` document was made from (errors, totals, rows).
scan::UsageReport usage_from_json(const nlohmann::ordered_json& doc);

/// The human text of any known document; throws std::invalid_argument on an unknown schema.
std::string text_from_json(const nlohmann::ordered_json& doc, util::ExactBytes exact);

} // namespace wsd::report
