#include "zfs/monitor_render.hpp"

#include "report/prometheus_text.hpp"
#include "report/table.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ctime>

namespace wsd::zfs {

namespace {

using report::Align;
using report::Table;

std::string bytes_or_dash(const Sourced& s, util::ExactBytes exact) {
  if (!s.value) return "-";
  std::string text = util::format_bytes(*s.value, exact);
  if (!s.exact && exact == util::ExactBytes::yes) text = "~" + text;
  return text;
}

std::string opt_bytes(const std::optional<uint64_t>& v, util::ExactBytes exact) {
  return v ? util::format_bytes(*v, exact) : "-";
}

std::string ratio_text(const std::optional<double>& r) {
  return r ? fmt::format("{:.2f}x", *r) : "-";
}

nlohmann::ordered_json opt_json(const std::optional<uint64_t>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json();
}

nlohmann::ordered_json opt_json(const std::optional<double>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json();
}

std::string property(const Observation& obs, const char* key) {
  auto it = obs.properties.find(key);
  return it == obs.properties.end() ? "-" : it->second;
}

std::string day_text(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string comparison_cell(const Comparison& c, double v, util::ExactBytes exact) {
  if (c.key.ends_with("ratio")) return fmt::format("{:.2f}", v);
  if (c.key.ends_with("bytes")) return util::format_bytes(static_cast<uint64_t>(std::llround(v)), exact);
  return fmt::format("{:.0f}", v);
}

} // namespace

std::string render_monitor_text(const MonitorResult& r, util::ExactBytes exact) {
  const Observation& o = r.obs;
  std::string s;
  s += fmt::format("ZFS dataset {} (pool {}{})\n\n", o.target.name, o.target.pool,
                   o.version.empty() ? "" : ", " + o.version);

  Table ds({{"dataset", Align::left}, {"value", Align::right}, {"", Align::left}});
  ds.add_row({"used", bytes_or_dash(o.used, exact), ""});
  ds.add_row({"referenced", bytes_or_dash(o.referenced, exact), ""});
  if (o.logical_used.value) ds.add_row({"logical used", bytes_or_dash(o.logical_used, exact), ""});
  ds.add_row({"compressratio", ratio_text(o.compressratio), ""});
  ds.add_row({"dedup", property(o, "dedup"), ""});
  ds.add_row({"compression", property(o, "compression"), ""});
  ds.add_row({"recordsize", bytes_or_dash(o.recordsize, exact), ""});
  ds.add_row({"pool size", bytes_or_dash(o.pool_size, exact), ""});
  ds.add_row({"pool allocated", bytes_or_dash(o.pool_alloc, exact), ""});
  ds.add_row({"pool free", bytes_or_dash(o.pool_free, exact), ""});
  ds.add_row({"pool dedupratio", ratio_text(o.pool_dedupratio), "zpool list"});
  s += ds.render() + "\n";

  Table ddt({{"dedup table (pool-wide)", Align::left}, {"value", Align::right}, {"source", Align::left}});
  ddt.add_row({"DDT entries", o.ddt_entries.value ? fmt::format("{}", *o.ddt_entries.value) : "-",
               o.ddt_entries.source});
  ddt.add_row({"DDT in core", bytes_or_dash(o.ddt_in_core, exact), o.ddt_in_core.source});
  ddt.add_row({"DDT on disk", bytes_or_dash(o.ddt_on_disk, exact), o.ddt_on_disk.source});
  if (o.ddt_entries.value && *o.ddt_entries.value > 0 && o.ddt_in_core.value) {
    ddt.add_row({"in core per entry",
                  fmt::format("{} B", *o.ddt_in_core.value / *o.ddt_entries.value), ""});
  }
  ddt.add_row({"dedup ratio", ratio_text(o.dedup_ratio), o.dedup_ratio_source});
  ddt.add_row({"compress ratio", ratio_text(o.compress_ratio), o.compress_ratio ? "zdb -DD" : ""});
  if (o.zdb && o.zdb->ratios) ddt.add_row({"copies ratio", ratio_text(o.zdb->ratios->copies), "zdb -DD"});
  if (o.zdb && !o.zdb->format.empty()) ddt.add_row({"DDT format", o.zdb->format, "zdb -DD"});
  ddt.add_rule();
  ddt.add_row({"RAM budget", r.budget.bytes ? util::format_bytes(r.budget.bytes, exact) : "-", r.budget.basis});
  if (r.budget.bytes && o.ddt_in_core.value) {
    ddt.add_row({"DDT share of budget",
                 fmt::format("{:.1f}%", 100.0 * static_cast<double>(*o.ddt_in_core.value) /
                                            static_cast<double>(r.budget.bytes)),
                 ""});
  }
  s += ddt.render();
  if (!o.zdb_problem.empty()) s += fmt::format("zdb: {}\n", o.zdb_problem);
  s += "\n";

  if (o.arc.exposed) {
    Table arc({{"ARC", Align::left}, {"value", Align::right}});
    arc.add_row({"size", opt_bytes(o.arc.size, exact)});
    arc.add_row({"c_max", opt_bytes(o.arc.c_max, exact)});
    arc.add_row({"c_min", opt_bytes(o.arc.c_min, exact)});
    if (o.arc.meta_used) arc.add_row({"arc_meta_used", opt_bytes(o.arc.meta_used, exact)});
    if (o.arc.meta_limit) arc.add_row({"arc_meta_limit", opt_bytes(o.arc.meta_limit, exact)});
    if (o.arc.metadata_size) arc.add_row({"metadata_size", opt_bytes(o.arc.metadata_size, exact)});
    if (o.arc.demand_metadata_hits && o.arc.demand_metadata_misses) {
      const uint64_t total = *o.arc.demand_metadata_hits + *o.arc.demand_metadata_misses;
      if (total > 0)
        arc.add_row({"metadata hit rate",
                     fmt::format("{:.1f}%", 100.0 * static_cast<double>(*o.arc.demand_metadata_hits) /
                                                static_cast<double>(total))});
    }
    s += arc.render() + "\n";
  } else {
    s += "ARC figures not exposed (zfs-fuse)\n\n";
  }

  if (r.estimate) {
    s += fmt::format("Estimate {} (profile {}, recordsize {}, compression {}), tolerance {:.1f}%:\n",
                     r.estimate_path, r.estimate->profile, util::format_bytes(r.estimate->recordsize),
                     r.estimate->compression, 100.0 * r.tolerance);
    Table cmp({{"figure", Align::left},
               {"estimate", Align::right},
               {"ZFS", Align::right},
               {"diff", Align::right},
               {"", Align::left}});
    for (const Comparison& c : r.comparisons) {
      cmp.add_row({c.figure, comparison_cell(c, c.predicted, exact), comparison_cell(c, c.actual, exact),
                   fmt::format("{:+.1f}%", 100.0 * c.difference),
                   c.within ? "ok" : (c.informational ? "differs (informational)" : "DIFFERS")});
    }
    s += cmp.render() + "\n";
  }

  if (r.trend) {
    const Trend& t = *r.trend;
    s += fmt::format("History: {} runs over {:.1f} days\n", t.runs, t.days);
    Table h({{"time (UTC)", Align::left}, {"dedup", Align::right}, {"DDT entries", Align::right},
             {"DDT in core", Align::right}});
    const size_t first = r.history.size() > 15 ? r.history.size() - 15 : 0;
    for (size_t i = first; i < r.history.size(); ++i) {
      const HistoryPoint& p = r.history[i];
      h.add_row({day_text(p.time_ms), ratio_text(p.dedup_ratio),
                 p.ddt_entries ? fmt::format("{}", *p.ddt_entries) : "-", opt_bytes(p.ddt_in_core, exact)});
    }
    s += h.render();
    if (t.entries_per_day)
      s += fmt::format("trend: {:+.0f} DDT entries/day", *t.entries_per_day);
    if (t.in_core_per_day)
      s += fmt::format(", {}{}/day in core", *t.in_core_per_day < 0 ? "-" : "+",
                       util::format_bytes(static_cast<uint64_t>(std::llround(std::fabs(*t.in_core_per_day)))));
    if (t.days_to_budget) s += fmt::format("; RAM budget reached in {:.1f} days at this rate", *t.days_to_budget);
    if (t.entries_per_day || t.in_core_per_day) s += "\n";
    s += "\n";
  }

  for (const std::string& n : r.notes) s += "note: " + n + "\n";
  if (r.warnings.empty()) {
    s += "status: ok\n";
  } else {
    for (const Warning& w : r.warnings) s += "WARNING: " + w.text + "\n";
    s += fmt::format("status: {} warning{}\n", r.warnings.size(), r.warnings.size() == 1 ? "" : "s");
  }
  return s;
}

nlohmann::ordered_json monitor_to_json(const MonitorResult& r) {
  const Observation& o = r.obs;
  nlohmann::ordered_json doc;
  doc["schema"] = "wsdedup.monitor/1";
  doc["target"] = {{"pool", o.target.pool}, {"dataset", o.target.name}};
  doc["zfs_version"] = o.version;
  nlohmann::ordered_json props = nlohmann::ordered_json::object();
  for (const auto& [k, v] : o.properties) props[k] = v;
  doc["dataset"] = {{"used_bytes", opt_json(o.used.value)},
                    {"referenced_bytes", opt_json(o.referenced.value)},
                    {"logical_used_bytes", opt_json(o.logical_used.value)},
                    {"logical_referenced_bytes", opt_json(o.logical_referenced.value)},
                    {"compressratio", opt_json(o.compressratio)},
                    {"recordsize", opt_json(o.recordsize.value)},
                    {"properties", props}};
  doc["pool"] = {{"size_bytes", opt_json(o.pool_size.value)},
                 {"allocated_bytes", opt_json(o.pool_alloc.value)},
                 {"free_bytes", opt_json(o.pool_free.value)},
                 {"dedupratio", opt_json(o.pool_dedupratio)},
                 {"exact", o.pool_size.exact}};
  nlohmann::ordered_json ddt;
  ddt["entries"] = opt_json(o.ddt_entries.value);
  ddt["in_core_bytes"] = opt_json(o.ddt_in_core.value);
  ddt["in_core_exact"] = o.ddt_in_core.exact;
  ddt["in_core_source"] = o.ddt_in_core.source;
  ddt["on_disk_bytes"] = opt_json(o.ddt_on_disk.value);
  ddt["dedup_ratio"] = opt_json(o.dedup_ratio);
  ddt["dedup_ratio_source"] = o.dedup_ratio_source;
  ddt["compress_ratio"] = opt_json(o.compress_ratio);
  ddt["copies_ratio"] = o.zdb && o.zdb->ratios ? nlohmann::ordered_json(o.zdb->ratios->copies) : nlohmann::ordered_json();
  ddt["format"] = o.zdb ? o.zdb->format : "";
  ddt["status_line"] = {{"present", o.status.present},
                        {"entries", o.status.entries},
                        {"on_disk", o.status.on_disk.text},
                        {"in_core", o.status.in_core.text}};
  nlohmann::ordered_json objects = nlohmann::ordered_json::array();
  nlohmann::ordered_json hist = nlohmann::ordered_json::array();
  if (o.zdb) {
    for (const DdtObjectLine& ob : o.zdb->objects) {
      objects.push_back({{"name", ob.name},
                         {"entries", ob.entries},
                         {"in_core_bytes", ob.in_core_total()},
                         {"on_disk_bytes", ob.on_disk_total()},
                         {"printed_per_entry", ob.scale == DdtSizeScale::per_entry}});
    }
    for (const DdtHistogramRow& row : o.zdb->histogram) {
      auto side = [](const PrintedNumber& b, const PrintedNumber& l, const PrintedNumber& p,
                     const PrintedNumber& d) {
        return nlohmann::ordered_json{{"blocks", b.value}, {"lsize", l.value}, {"psize", p.value}, {"dsize", d.value}};
      };
      hist.push_back({{"refcnt", row.refcnt},
                      {"refcnt_min", row.refcnt_min},
                      {"allocated", side(row.blocks, row.lsize, row.psize, row.dsize)},
                      {"referenced", side(row.ref_blocks, row.ref_lsize, row.ref_psize, row.ref_dsize)},
                      {"printed",
                       {row.blocks.text, row.lsize.text, row.psize.text, row.dsize.text, row.ref_blocks.text,
                        row.ref_lsize.text, row.ref_psize.text, row.ref_dsize.text}}});
    }
  }
  ddt["objects"] = objects;
  ddt["histogram"] = hist;
  ddt["zdb_problem"] = o.zdb_problem;
  doc["ddt"] = ddt;
  doc["arc"] = {{"exposed", o.arc.exposed},
                {"source", o.arc.source},
                {"size_bytes", opt_json(o.arc.size)},
                {"c_min_bytes", opt_json(o.arc.c_min)},
                {"c_max_bytes", opt_json(o.arc.c_max)},
                {"meta_used_bytes", opt_json(o.arc.meta_used)},
                {"meta_limit_bytes", opt_json(o.arc.meta_limit)},
                {"metadata_size_bytes", opt_json(o.arc.metadata_size)}};
  doc["ram_budget"] = {{"bytes", r.budget.bytes}, {"basis", r.budget.basis}};
  if (r.estimate) {
    nlohmann::ordered_json cmps = nlohmann::ordered_json::array();
    for (const Comparison& c : r.comparisons) {
      cmps.push_back({{"figure", c.figure},
                      {"key", c.key},
                      {"predicted", c.predicted},
                      {"actual", c.actual},
                      {"difference", c.difference},
                      {"within_tolerance", c.within},
                      {"informational", c.informational},
                      {"meaning", c.meaning}});
    }
    doc["estimate"] = {{"path", r.estimate_path},
                       {"profile", r.estimate->profile},
                       {"recordsize", r.estimate->recordsize},
                       {"compression", r.estimate->compression},
                       {"tolerance", r.tolerance},
                       {"comparisons", cmps}};
  }
  if (r.trend) {
    doc["history"] = {{"runs", r.trend->runs},
                      {"days", r.trend->days},
                      {"entries_per_day", opt_json(r.trend->entries_per_day)},
                      {"in_core_bytes_per_day", opt_json(r.trend->in_core_per_day)},
                      {"days_to_budget", opt_json(r.trend->days_to_budget)}};
  }
  nlohmann::ordered_json warnings = nlohmann::ordered_json::array();
  for (const Warning& w : r.warnings) warnings.push_back({{"key", w.key}, {"text", w.text}});
  doc["warnings"] = warnings;
  doc["notes"] = r.notes;
  doc["status"] = r.warnings.empty() ? "ok" : "warning";
  return doc;
}

std::string monitor_to_prometheus(const MonitorResult& r) {
  const Observation& o = r.obs;
  report::PrometheusText p;
  const report::Labels pool{{"pool", o.target.pool}};
  const report::Labels ds{{"pool", o.target.pool}, {"dataset", o.target.name}};
  auto gauge = [&](const char* name, const char* help, const report::Labels& labels, std::optional<double> v) {
    if (!v) return;
    p.family(name, help);
    p.sample(name, labels, *v);
  };
  auto num = [](const std::optional<uint64_t>& v) -> std::optional<double> {
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  };
  gauge("wsdedup_zfs_ddt_entries", "Entries in the pool's dedup table.", pool, num(o.ddt_entries.value));
  gauge("wsdedup_zfs_ddt_in_core_bytes", "In-core size of the pool's dedup table, bytes.", pool,
        num(o.ddt_in_core.value));
  gauge("wsdedup_zfs_ddt_on_disk_bytes", "On-disk size of the pool's dedup table, bytes.", pool,
        num(o.ddt_on_disk.value));
  gauge("wsdedup_zfs_ddt_ram_budget_bytes", "RAM budget the dedup table should stay under, bytes.", pool,
        r.budget.bytes ? std::optional<double>(static_cast<double>(r.budget.bytes)) : std::nullopt);
  gauge("wsdedup_zfs_dedup_ratio", "Dedup ratio ZFS reports for the pool.", pool, o.dedup_ratio);
  gauge("wsdedup_zfs_pool_size_bytes", "Pool size, bytes.", pool, num(o.pool_size.value));
  gauge("wsdedup_zfs_pool_allocated_bytes", "Pool allocated space, bytes.", pool, num(o.pool_alloc.value));
  gauge("wsdedup_zfs_pool_free_bytes", "Pool free space, bytes.", pool, num(o.pool_free.value));
  gauge("wsdedup_zfs_dataset_used_bytes", "Space used by the dataset and its descendants, bytes.", ds,
        num(o.used.value));
  gauge("wsdedup_zfs_dataset_referenced_bytes", "Space referenced by the dataset, bytes.", ds,
        num(o.referenced.value));
  gauge("wsdedup_zfs_dataset_compress_ratio", "The dataset's compressratio property.", ds, o.compressratio);
  if (o.arc.exposed) {
    gauge("wsdedup_zfs_arc_size_bytes", "ARC size, bytes.", {}, num(o.arc.size));
    gauge("wsdedup_zfs_arc_c_max_bytes", "ARC maximum size (c_max), bytes.", {}, num(o.arc.c_max));
    gauge("wsdedup_zfs_arc_meta_used_bytes", "ARC metadata in use, bytes.", {}, num(o.arc.meta_used));
    gauge("wsdedup_zfs_arc_meta_limit_bytes", "ARC metadata limit, bytes.", {}, num(o.arc.meta_limit));
  }
  if (r.estimate) {
    gauge("wsdedup_zfs_estimate_ddt_entries", "DDT entries the saved estimate predicted.", ds,
          static_cast<double>(r.estimate->entries));
    gauge("wsdedup_zfs_estimate_dedup_ratio", "Dedup ratio the saved estimate predicted.", ds,
          r.estimate->dedup_ratio);
    size_t off = 0;
    for (const Comparison& c : r.comparisons) off += c.within ? 0 : 1;
    gauge("wsdedup_zfs_estimate_mismatches", "Figures outside the tolerance of the saved estimate.", ds,
          static_cast<double>(off));
  }
  gauge("wsdedup_zfs_monitor_warnings", "Warnings raised by wsdedup monitor (0: healthy).", ds,
        static_cast<double>(r.warnings.size()));
  return p.str();
}

} // namespace wsd::zfs
