#pragma once
// The pieces of wsdedup's self-contained HTML report: escaping of untrusted text (paths are
// byte strings that untrusted code chose), table cells that carry the JSON pointer of the value
// they show (so the page's script and a test can check every number against the document), and
// inline SVG bar charts. Nothing here loads anything from the network.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsd::report {

/// Text for HTML element content or a quoted attribute: control bytes and invalid UTF-8 become
/// visible escapes (\n, \xNN) first, then & < > " ' become character references.
std::string html_escape(std::string_view text);

/// A JSON document as the content of <script type="application/json">: ASCII only, and
/// '<', '>', '&' written as \u003c, \u003e, \u0026 so no "</script>" can end the element.
std::string json_for_script(const nlohmann::ordered_json& doc);

/// Appends one JSON pointer token (RFC 6901: "~" as "~0", "/" as "~1") to `pointer`.
std::string pointer_join(std::string_view pointer, std::string_view token);
/// Appends an array index to `pointer`.
std::string pointer_join(std::string_view pointer, size_t index);

/// How a number cell is shown.
enum class NumberKind { bytes, count, ratio, seconds };

/// A <td> showing the number at `pointer` (value `value`) in human form, with the pointer and
/// kind as data attributes and the exact value as its tooltip.
std::string number_cell(std::string_view pointer, double value, NumberKind kind);

/// The human text of a number of that kind (binary units, thousands separators, 2 decimals).
std::string format_number(double value, NumberKind kind);

/// One bar of a chart: a label, its segments (value and JSON pointer each), a tooltip.
struct BarSegment {
  double value = 0;
  std::string pointer;
  size_t color = 0; ///< index into the palette (the legend's order)
};
struct Bar {
  std::string label; ///< raw bytes; escaped when drawn
  std::vector<BarSegment> segments;
};

/// A horizontal (stacked) bar chart as inline SVG, values in bytes; `legend` names the
/// palette entries used (empty: no legend).
std::string svg_bar_chart(const std::vector<Bar>& bars, const std::vector<std::string>& legend,
                          std::string_view title);

/// A <table class="sortable"> header row from column titles (numbers right-aligned when the
/// title starts with '#': the '#' is dropped).
std::string table_head(const std::vector<std::string>& columns);

} // namespace wsd::report
