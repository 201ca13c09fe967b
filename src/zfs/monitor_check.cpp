#include "zfs/monitor_check.hpp"

#include "util/error.hpp"
#include "util/json_lines_log.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <cmath>

namespace wsd::zfs {

namespace {

uint64_t u64_at(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return 0;
  return j[key].get<uint64_t>();
}

double double_at(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return 0;
  return j[key].get<double>();
}

// What the dataset's compression property means as the estimate's model names it.
std::string effective_compression(const std::string& property, const std::string& version) {
  if (property == "on") return version.empty() ? "lzjb" : "lz4"; // zfs-fuse: lzjb; OpenZFS: lz4
  if (property == "gzip") return "gzip-6";
  return property;
}

double relative(double predicted, double actual) {
  if (predicted == 0) return actual == 0 ? 0 : 1;
  return (actual - predicted) / predicted;
}

} // namespace

EstimateFigures parse_estimate_json(const std::string& text, const std::string& path) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    throw util::Fatal("read(\"{}\"): not a JSON document", path);
  const std::string schema = doc.value("schema", "");
  if (!schema.starts_with("wsdedup.estimate/"))
    throw util::Fatal("read(\"{}\"): schema is \"{}\", expected wsdedup.estimate/1 (wsdedup estimate --json)",
                      path, schema);
  if (!doc.contains("ddt") || !doc["ddt"].is_object() || !doc.contains("model"))
    throw util::Fatal("read(\"{}\"): no \"ddt\" or \"model\" object", path);
  EstimateFigures e;
  const auto& model = doc["model"];
  e.profile = model.value("profile", "");
  e.compression = model.value("compression", "");
  e.recordsize = u64_at(model, "recordsize");
  const auto& ddt = doc["ddt"];
  e.entries = u64_at(ddt, "entries");
  e.dedup_ratio = double_at(ddt, "dedup_ratio");
  e.compress_ratio = double_at(ddt, "compress_ratio");
  if (ddt.contains("ram_bytes")) {
    e.ram_legacy = u64_at(ddt["ram_bytes"], "legacy");
    e.ram_fast_dedup = u64_at(ddt["ram_bytes"], "fast_dedup");
    e.ram_conservative = u64_at(ddt["ram_bytes"], "legacy_conservative");
  }
  if (doc.contains("sample") && doc["sample"].is_object())
    e.sampled = doc["sample"].value("sampled", false);
  return e;
}

std::vector<Comparison> compare_with_estimate(const EstimateFigures& est, const Observation& obs,
                                              double tolerance, std::vector<std::string>& notes) {
  std::vector<Comparison> out;
  std::string setting_cause;
  if (obs.recordsize.value && est.recordsize != 0 && *obs.recordsize.value != est.recordsize) {
    setting_cause = fmt::format(" The estimate modelled recordsize {}, the dataset has {}: re-run "
                                "`wsdedup estimate --recordsize {}`.",
                                util::format_bytes(est.recordsize), util::format_bytes(*obs.recordsize.value),
                                *obs.recordsize.value);
  }
  if (auto it = obs.properties.find("compression"); it != obs.properties.end() && !est.compression.empty()) {
    const std::string actual = effective_compression(it->second, obs.version);
    if (actual != est.compression) {
      setting_cause += fmt::format(" The estimate modelled compression {}, the dataset has {}.",
                                   est.compression, it->second);
    }
  }
  if (!setting_cause.empty()) notes.push_back("settings differ:" + setting_cause);
  if (est.sampled) {
    notes.push_back("the estimate was sampled (--sample): its figures carry sampling error.");
  }

  auto add = [&](std::string figure, std::string key, double predicted, double actual, double slack,
                 std::string meaning) {
    Comparison c;
    c.figure = std::move(figure);
    c.key = std::move(key);
    c.predicted = predicted;
    c.actual = actual;
    c.difference = relative(predicted, actual);
    c.within = std::fabs(actual - predicted) <= tolerance * std::fabs(predicted) + slack;
    if (!c.within) c.meaning = meaning + setting_cause;
    out.push_back(std::move(c));
  };

  if (obs.ddt_entries.value) {
    const double actual = static_cast<double>(*obs.ddt_entries.value);
    const double predicted = static_cast<double>(est.entries);
    add("DDT entries", "ddt_entries", predicted, actual, 0,
        actual > predicted
            ? "The pool's DDT holds more unique blocks than the estimated tree: data was added or "
              "rewritten since the estimate, or other datasets of the pool dedup too (the DDT is "
              "per pool, the estimate per tree)."
            : "The pool's DDT holds fewer blocks than estimated: the copy is incomplete or files "
              "were deleted, data written before dedup=on is not in the DDT, or zdb read an older "
              "transaction group (zfs-fuse: export and import the pool first).");
  }
  if (obs.dedup_ratio) {
    // zdb and zpool print two decimals: allow the rounding.
    add("dedup ratio", "dedup_ratio", est.dedup_ratio, *obs.dedup_ratio, 0.005,
        *obs.dedup_ratio < est.dedup_ratio
            ? "Less sharing than modelled: blocks written before dedup was enabled are not "
              "deduplicated, the data changed since the estimate, or files were rewritten with "
              "a different block alignment."
            : "More sharing than modelled: other data in the pool duplicates the same blocks "
              "(the ratio is per pool), or unique data was deleted since the estimate.");
  }
  if (obs.compress_ratio) {
    add("compress ratio", "compress_ratio", est.compress_ratio, *obs.compress_ratio, 0.005,
        "The data compresses differently than modelled: another compression algorithm or level, "
        "a different recordsize, or the data changed since the estimate.");
  }
  if (obs.ddt_in_core.value) {
    const bool fdt = obs.zdb && obs.zdb->format == "FDT";
    const uint64_t predicted = fdt ? est.ram_fast_dedup : est.ram_legacy;
    // A per-entry average times entries is low by less than one byte per entry.
    const double slack = obs.ddt_in_core.exact ? 0.0 : static_cast<double>(obs.ddt_entries.value.value_or(0));
    add(fdt ? "DDT in core (fast dedup)" : "DDT in core", "ddt_in_core_bytes", static_cast<double>(predicted),
        static_cast<double>(*obs.ddt_in_core.value), slack,
        "The DDT's in-core size differs from the simulated ZAP: it follows the entry count, and "
        "ZFS's ZAP leaves fill unevenly as entries are added and removed over time.");
    // zdb's "in core" is itself ZAP block space, not measured RAM: compare, never warn (the RAM
    // budget check is what guards memory).
    out.back().informational = true;
  }
  return out;
}

RamBudget default_ram_budget(const ArcFigures& arc, uint64_t mem_total) {
  RamBudget b;
  if (arc.exposed && arc.c_max && *arc.c_max > 0) {
    // The DDT competes with every other metadata buffer (dnodes, indirect blocks) for the
    // ARC; with more than a quarter of c_max, DDT blocks start being evicted and each new
    // write pays random reads (the "performance cliff").
    b.bytes = *arc.c_max / 4;
    b.basis = fmt::format("25% of the ARC maximum (c_max {})", util::format_bytes(*arc.c_max));
  } else if (mem_total > 0) {
    // OpenZFS on Linux defaults c_max to half of RAM (up to 2.2); a quarter of that.
    b.bytes = mem_total / 8;
    b.basis = fmt::format("12.5% of RAM ({}): a quarter of the default ARC maximum, half of RAM",
                          util::format_bytes(mem_total));
  } else {
    b.basis = "unknown (no ARC figures, no /proc/meminfo): pass --ram-budget";
  }
  return b;
}

nlohmann::ordered_json history_line(const Observation& obs) {
  nlohmann::ordered_json j;
  j["schema"] = "wsdedup.monitor-history/1";
  j["target"] = obs.target.name;
  j["dedup_ratio"] = obs.dedup_ratio ? nlohmann::ordered_json(*obs.dedup_ratio) : nlohmann::ordered_json();
  j["ddt_entries"] = obs.ddt_entries.value ? nlohmann::ordered_json(*obs.ddt_entries.value) : nlohmann::ordered_json();
  j["ddt_in_core_bytes"] =
      obs.ddt_in_core.value ? nlohmann::ordered_json(*obs.ddt_in_core.value) : nlohmann::ordered_json();
  j["pool_allocated_bytes"] =
      obs.pool_alloc.value ? nlohmann::ordered_json(*obs.pool_alloc.value) : nlohmann::ordered_json();
  return j;
}

std::vector<HistoryPoint> read_history(const std::string& path, const std::string& target) {
  std::vector<HistoryPoint> points;
  for (const auto& line : util::read_json_lines(path)) {
    if (!line.is_object() || line.value("target", "") != target) continue;
    if (!line.contains("time") || !line["time"].is_number()) continue;
    HistoryPoint p;
    p.time_ms = line["time"].get<int64_t>();
    if (line.contains("dedup_ratio") && line["dedup_ratio"].is_number())
      p.dedup_ratio = line["dedup_ratio"].get<double>();
    if (line.contains("ddt_entries") && line["ddt_entries"].is_number_unsigned())
      p.ddt_entries = line["ddt_entries"].get<uint64_t>();
    if (line.contains("ddt_in_core_bytes") && line["ddt_in_core_bytes"].is_number_unsigned())
      p.ddt_in_core = line["ddt_in_core_bytes"].get<uint64_t>();
    points.push_back(p);
  }
  return points;
}

namespace {

// Least-squares slope of y over x (days); nullopt with fewer than two distinct x.
std::optional<double> slope(const std::vector<std::pair<double, double>>& xy) {
  if (xy.size() < 2) return std::nullopt;
  double sx = 0, sy = 0;
  for (const auto& [x, y] : xy) {
    sx += x;
    sy += y;
  }
  const double n = static_cast<double>(xy.size());
  const double mx = sx / n;
  const double my = sy / n;
  double sxx = 0, sxy = 0;
  for (const auto& [x, y] : xy) {
    sxx += (x - mx) * (x - mx);
    sxy += (x - mx) * (y - my);
  }
  if (sxx <= 0) return std::nullopt;
  return sxy / sxx;
}

} // namespace

Trend compute_trend(const std::vector<HistoryPoint>& points, uint64_t budget) {
  Trend t;
  t.runs = points.size();
  if (points.empty()) return t;
  const int64_t t0 = points.front().time_ms;
  constexpr double k_ms_per_day = 86400.0 * 1000.0;
  t.days = static_cast<double>(points.back().time_ms - t0) / k_ms_per_day;
  std::vector<std::pair<double, double>> entries, in_core;
  for (const HistoryPoint& p : points) {
    const double x = static_cast<double>(p.time_ms - t0) / k_ms_per_day;
    if (p.ddt_entries) entries.emplace_back(x, static_cast<double>(*p.ddt_entries));
    if (p.ddt_in_core) in_core.emplace_back(x, static_cast<double>(*p.ddt_in_core));
    if (p.dedup_ratio) {
      if (!t.first_ratio) t.first_ratio = p.dedup_ratio;
      t.last_ratio = p.dedup_ratio;
    }
  }
  t.entries_per_day = slope(entries);
  t.in_core_per_day = slope(in_core);
  if (t.in_core_per_day && *t.in_core_per_day > 0 && budget > 0 && !in_core.empty()) {
    const double now = in_core.back().second;
    const double left = static_cast<double>(budget) - now;
    t.days_to_budget = left <= 0 ? 0.0 : left / *t.in_core_per_day;
  }
  return t;
}

std::vector<Warning> collect_warnings(const Observation& obs, const RamBudget& budget,
                                      const std::vector<Comparison>& comparisons,
                                      const std::optional<Trend>& trend) {
  std::vector<Warning> w;
  const uint64_t in_core = obs.ddt_in_core.value.value_or(0);
  if (budget.bytes > 0 && in_core > budget.bytes) {
    w.push_back({"ddt_over_budget",
                 fmt::format("the DDT takes {} in core ({} B, {} entries), over the RAM budget of {} "
                             "({} B, {}): once it no longer fits in the ARC every new write reads the "
                             "DDT from disk. Stop adding deduplicated data, add RAM, or move new data "
                             "to a dataset with dedup=off.",
                             util::format_bytes(in_core), in_core, obs.ddt_entries.value.value_or(0),
                             util::format_bytes(budget.bytes), budget.bytes, budget.basis)});
  }
  if (obs.arc.exposed && obs.arc.meta_limit && *obs.arc.meta_limit > 0 && in_core > *obs.arc.meta_limit) {
    w.push_back({"ddt_over_arc_meta_limit",
                 fmt::format("the DDT takes {} in core, more than the ARC metadata limit "
                             "(arc_meta_limit {}): it cannot stay cached.",
                             util::format_bytes(in_core), util::format_bytes(*obs.arc.meta_limit))});
  }
  if (trend && trend->days_to_budget && *trend->days_to_budget > 0 && *trend->days_to_budget <= 14) {
    w.push_back({"ddt_budget_soon",
                 fmt::format("at the recorded growth ({}/day) the DDT reaches the RAM budget in "
                             "{:.1f} days.",
                             util::format_bytes(static_cast<uint64_t>(std::llround(*trend->in_core_per_day))),
                             *trend->days_to_budget)});
  }
  for (const Comparison& c : comparisons) {
    if (c.within || c.informational) continue;
    w.push_back({"estimate_mismatch",
                 fmt::format("{}: estimate {}, ZFS reports {} ({:+.1f}%). {}", c.figure,
                             c.key.ends_with("ratio") ? fmt::format("{:.2f}", c.predicted)
                                                      : fmt::format("{:.0f}", c.predicted),
                             c.key.ends_with("ratio") ? fmt::format("{:.2f}", c.actual)
                                                      : fmt::format("{:.0f}", c.actual),
                             100.0 * c.difference, c.meaning)});
  }
  return w;
}

} // namespace wsd::zfs
