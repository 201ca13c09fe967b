#include "report/html_builder.hpp"

#include "util/escape.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace wsd::report {

namespace {

constexpr std::array<std::string_view, 8> k_palette{"#3b6fb6", "#e0873a", "#4a9a5b", "#b6484b",
                                                    "#7b5ea7", "#8c6d46", "#c76aa8", "#6f7f8f"};

uint64_t to_u64(double v) {
  return v > 0 && v < 1.8e19 ? static_cast<uint64_t>(v) : 0;
}

} // namespace

std::string html_escape(std::string_view text) {
  const std::string visible = util::escape_for_terminal(text);
  std::string out;
  out.reserve(visible.size());
  for (const char c : visible) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string json_for_script(const nlohmann::ordered_json& doc) {
  const std::string text = doc.dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
    case '<': out += "\\u003c"; break;
    case '>': out += "\\u003e"; break;
    case '&': out += "\\u0026"; break;
    default: out += c;
    }
  }
  return out;
}

std::string pointer_join(std::string_view pointer, std::string_view token) {
  std::string out(pointer);
  out += '/';
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string pointer_join(std::string_view pointer, size_t index) {
  return pointer_join(pointer, std::to_string(index));
}

std::string format_number(double value, NumberKind kind) {
  switch (kind) {
  case NumberKind::bytes:
    // dedupe's bytes_reclaimed is a change of free space and can be negative.
    return value < 0 ? "-" + util::format_bytes(to_u64(-value)) : util::format_bytes(to_u64(value));
  case NumberKind::count: return util::format_count(to_u64(value));
  case NumberKind::ratio: return fmt::format("{:.2f}", value);
  case NumberKind::seconds: return fmt::format("{:.2f} s", value);
  }
  return {};
}

std::string number_cell(std::string_view pointer, double value, NumberKind kind) {
  static constexpr std::array<std::string_view, 4> k_kinds{"bytes", "count", "ratio", "seconds"};
  const bool integral = value == std::floor(value) && std::fabs(value) < 9007199254740992.0;
  const std::string exact =
      (integral ? fmt::format("{:.0f}", value) : fmt::format("{}", value)) + (kind == NumberKind::bytes ? " bytes" : "");
  return fmt::format("<td class=\"n\" data-key=\"{}\" data-kind=\"{}\" title=\"{}\">{}</td>",
                     html_escape(pointer), k_kinds[static_cast<size_t>(kind)], html_escape(exact),
                     html_escape(format_number(value, kind)));
}

std::string svg_bar_chart(const std::vector<Bar>& bars, const std::vector<std::string>& legend,
                          std::string_view title) {
  if (bars.empty()) return "<p class=\"empty\">(nothing to chart)</p>\n";
  constexpr int k_label_w = 260;
  constexpr int k_bar_w = 460;
  constexpr int k_value_w = 110;
  constexpr int k_row_h = 22;
  const int legend_h = legend.empty() ? 0 : 24;
  double max_total = 0;
  for (const auto& b : bars) {
    double t = 0;
    for (const auto& s : b.segments) t += std::max(0.0, s.value);
    max_total = std::max(max_total, t);
  }
  const int width = k_label_w + k_bar_w + k_value_w;
  const int height = legend_h + static_cast<int>(bars.size()) * k_row_h + 4;
  std::string out = fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" "
      "height=\"{1}\" role=\"img\" aria-label=\"{2}\"><title>{2}</title>\n",
      width, height, html_escape(title));
  int lx = k_label_w;
  for (size_t i = 0; i < legend.size(); ++i) {
    out += fmt::format("<rect x=\"{}\" y=\"4\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"15\">{}</text>\n",
                       lx, k_palette[i % k_palette.size()], lx + 16, html_escape(legend[i]));
    lx += 24 + static_cast<int>(std::min<size_t>(legend[i].size(), 24)) * 7;
  }
  for (size_t row = 0; row < bars.size(); ++row) {
    const Bar& b = bars[row];
    const int y = legend_h + static_cast<int>(row) * k_row_h;
    std::string label = b.label;
    if (label.size() > 38) label = label.substr(0, 36) + "..";
    out += fmt::format("<text class=\"bl\" x=\"{}\" y=\"{}\" text-anchor=\"end\"><title>{}</title>{}</text>\n",
                       k_label_w - 6, y + 15, html_escape(b.label), html_escape(label));
    double x = k_label_w;
    double total = 0;
    for (const auto& s : b.segments) {
      const double v = std::max(0.0, s.value);
      total += v;
      const double w = max_total > 0 ? v / max_total * k_bar_w : 0;
      if (w <= 0) continue;
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\" data-key=\"{}\" "
          "data-value=\"{}\"><title>{}</title></rect>\n",
          x, y + 3, w, k_row_h - 6, k_palette[s.color % k_palette.size()], html_escape(s.pointer),
          to_u64(v), html_escape(util::format_bytes(to_u64(v)) + " (" + std::to_string(to_u64(v)) + " bytes)"));
      x += w;
    }
    out += fmt::format("<text class=\"bv\" x=\"{:.1f}\" y=\"{}\">{}</text>\n", x + 4, y + 15,
                       html_escape(util::format_bytes(to_u64(total))));
  }
  out += "</svg>\n";
  return out;
}

std::string table_head(const std::vector<std::string>& columns) {
  std::string out = "<thead><tr>";
  for (const auto& c : columns) {
    if (!c.empty() && c.front() == '#') {
      out += "<th class=\"n\">" + html_escape(c.substr(1)) + "</th>";
    } else {
      out += "<th>" + html_escape(c) + "</th>";
    }
  }
  out += "</tr></thead>\n";
  return out;
}

} // namespace wsd::report
