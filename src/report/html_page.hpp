#pragma once
// The self-contained HTML report of any `--json` document: inline CSS, inline SVG charts and a
// small inline script written here (exact-bytes toggle, sortable tables, error banner), under a
// Content-Security-Policy that forbids every network load. The document itself is embedded as
// <script type="application/json" id="wsdedup-data">, and every number the page shows names the
// JSON pointer of its value (data-key), so the page and the JSON cannot disagree unnoticed.

#include <nlohmann/json.hpp>

#include <string>

namespace wsd::report {

/// The whole page for `doc` (any known schema; an unknown one gets the generic parts only).
std::string html_from_json(const nlohmann::ordered_json& doc);

} // namespace wsd::report
