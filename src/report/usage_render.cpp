#include "report/usage_render.hpp"

#include "report/json_path.hpp"
#include "report/table.hpp"
#include "util/escape.hpp"

#include <fmt/format.h>

namespace wsd::report {

namespace {

std::string percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

nlohmann::ordered_json tally_json(const scan::Tally& t, bool with_count) {
  nlohmann::ordered_json j = {{"logical_bytes", t.logical_bytes},
                      {"allocated_bytes", t.allocated_bytes},
                      {"files", t.files},
                      {"dirs", t.dirs}};
  if (with_count) j["count"] = t.count;
  return j;
}

} // namespace

std::string render_usage_text(const scan::UsageReport& report, const UsageRenderOptions& options) {
  const auto bytes = [&](uint64_t b) { return util::format_bytes(b, options.exact); };
  std::string out;
  std::string roots;
  for (const auto& r : report.roots) roots += (roots.empty() ? "" : ", ") + util::escape_for_terminal(r);
  out += fmt::format("{}: {} files, {} dirs, {} allocated ({} apparent)\n\n", roots,
                     util::format_count(report.total.files), util::format_count(report.total.dirs),
                     bytes(report.total.allocated_bytes), bytes(report.total.logical_bytes));

  Table cats({{"category", Align::left},
              {"allocated", Align::right},
              {"share", Align::right},
              {"logical", Align::right},
              {"files", Align::right},
              {"dirs", Align::right},
              {"count", Align::left}});
  for (const auto& c : report.categories) {
    std::string count;
    if (!c.count_unit.empty()) count = util::format_count(c.tally.count) + " " + c.count_unit;
    cats.add_row({c.name, bytes(c.tally.allocated_bytes),
                  percent(c.tally.allocated_bytes, report.total.allocated_bytes),
                  bytes(c.tally.logical_bytes), util::format_count(c.tally.files),
                  util::format_count(c.tally.dirs), count});
  }
  cats.add_rule();
  cats.add_row({"total", bytes(report.total.allocated_bytes), "100%",
                bytes(report.total.logical_bytes), util::format_count(report.total.files),
                util::format_count(report.total.dirs), ""});
  out += cats.render();

  size_t real_ws = 0;
  for (const auto& w : report.workspaces) real_ws += w.is_none ? 0 : 1;
  out += fmt::format("\n{} workspaces ({}){}\n", util::format_count(real_ws),
                     util::escape_for_terminal(report.workspace_pattern),
                     options.top != 0 && real_ws > options.top
                         ? fmt::format(", the {} largest", options.top)
                         : "");
  std::vector<std::pair<std::string, Align>> cols = {{"workspace", Align::left},
                                                     {"allocated", Align::right},
                                                     {"logical", Align::right},
                                                     {"files", Align::right}};
  for (const auto& c : report.categories) cols.emplace_back(c.name, Align::right);
  Table ws(cols);
  size_t shown = 0;
  for (const auto& w : report.workspaces) {
    if (!w.is_none && options.top != 0 && shown >= options.top) continue;
    if (!w.is_none) ++shown;
    std::vector<std::string> row = {util::escape_for_terminal(w.name), bytes(w.tally.allocated_bytes),
                                    bytes(w.tally.logical_bytes), util::format_count(w.tally.files)};
    for (const auto& t : w.by_category) row.push_back(bytes(t.allocated_bytes));
    if (w.is_none) ws.add_rule();
    ws.add_row(std::move(row));
  }
  out += ws.render();

  if (report.hardlinked_inodes > 0)
    out += fmt::format("\n{} hardlinked files counted once ({} further names not counted again)\n",
                       util::format_count(report.hardlinked_inodes),
                       util::format_count(report.hardlink_extra_names));
  if (report.walk.mounts_skipped > 0)
    out += fmt::format("{} mount points not entered (use --cross-fs to include them)\n",
                       report.walk.mounts_skipped);
  if (!report.errors.empty())
    out += fmt::format("{} errors (listed on stderr); the totals leave those entries out\n",
                       report.errors.size());
  if (options.stats)
    out += fmt::format("\nwalk: {} entries in {:.3f} s on {} threads, peak {} directory fds\n",
                       util::format_count(report.walk.entries + 1), report.seconds,
                       report.walk.threads, report.walk.peak_open_dirs);
  return out;
}

nlohmann::ordered_json usage_to_json(const scan::UsageReport& report, size_t top) {
  nlohmann::ordered_json doc;
  doc["schema"] = "wsdedup.usage/1";
  nlohmann::ordered_json roots = nlohmann::ordered_json::array();
  for (const auto& r : report.roots) roots.push_back(path_to_json(r));
  doc["roots"] = roots;
  doc["workspace_pattern"] = report.workspace_pattern;
  doc["total"] = tally_json(report.total, false);
  nlohmann::ordered_json cats = nlohmann::ordered_json::array();
  for (const auto& c : report.categories) {
    nlohmann::ordered_json j = tally_json(c.tally, true);
    j["name"] = c.name;
    if (!c.count_unit.empty()) j["count_unit"] = c.count_unit;
    cats.push_back(j);
  }
  doc["categories"] = cats;
  nlohmann::ordered_json wss = nlohmann::ordered_json::array();
  size_t shown = 0;
  for (const auto& w : report.workspaces) {
    if (!w.is_none && top != 0 && shown >= top) continue;
    if (!w.is_none) ++shown;
    nlohmann::ordered_json j = tally_json(w.tally, false);
    j["name"] = path_to_json(w.name);
    if (w.is_none) j["none"] = true;
    nlohmann::ordered_json by = nlohmann::ordered_json::object();
    for (size_t c = 0; c < w.by_category.size(); ++c)
      by[report.categories[c].name] = tally_json(w.by_category[c], true);
    j["categories"] = by;
    wss.push_back(j);
  }
  doc["workspaces"] = wss;
  doc["hardlinks"] = {{"inodes", report.hardlinked_inodes},
                      {"extra_names", report.hardlink_extra_names}};
  nlohmann::ordered_json errors = nlohmann::ordered_json::array();
  for (const auto& e : report.errors)
    errors.push_back({{"path", path_to_json(e.path)}, {"op", e.op}, {"error", e.message}});
  doc["errors"] = errors;
  doc["stats"] = {{"seconds", report.seconds},
                  {"entries", report.walk.entries + 1},
                  {"threads", report.walk.threads},
                  {"mounts_skipped", report.walk.mounts_skipped},
                  {"peak_open_dirs", report.walk.peak_open_dirs}};
  return doc;
}

} // namespace wsd::report
