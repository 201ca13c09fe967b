#include "report/report_prometheus.hpp"

#include "report/prometheus_text.hpp"
#include "report/report_document.hpp"

#include <fmt/format.h>

#include <tuple>

namespace wsd::report {

namespace {

using Json = nlohmann::ordered_json;

/// Builds the document's families; every sample gets the base labels first.
class MetricWriter {
public:
  MetricWriter(std::string command, std::string root)
      : m_base{{"command", std::move(command)}, {"root", std::move(root)}} {}

  void gauge(std::string_view name, std::string_view help, double value, const Labels& extra = {}) {
    m_text.family(name, help);
    Labels labels = m_base;
    labels.insert(labels.end(), extra.begin(), extra.end());
    m_text.sample(name, labels, value);
  }

  std::string str() const { return m_text.str(); }

private:
  Labels m_base;
  PrometheusText m_text;
};

double d(uint64_t v) { return static_cast<double>(v); }

std::string roots_label(const Json& doc) {
  std::string out;
  const auto add = [&](const Json& v) {
    if (!out.empty()) out += ',';
    out += path_bytes(v);
  };
  for (const auto& r : array_at(doc, "roots")) add(r);
  if (out.empty() && doc.contains("root")) add(doc["root"]);
  if (out.empty() && doc.contains("src")) {
    add(doc["src"]);
    if (doc.contains("dst")) add(doc["dst"]);
  }
  if (out.empty()) {
    for (const auto& f : array_at(doc, "filesystems")) {
      if (f.is_object() && f.contains("root")) add(f["root"]);
    }
  }
  if (out.empty()) out = string_at(object_at(doc, "target"), "dataset"); // monitor
  return out;
}

void usage_metrics(const Json& doc, MetricWriter& m) {
  const auto& total = object_at(doc, "total");
  m.gauge("wsdedup_usage_logical_bytes", "Apparent size (st_size) of everything below the roots, each inode once.",
          d(u64_at(total, "logical_bytes")));
  m.gauge("wsdedup_usage_allocated_bytes", "Allocated bytes (st_blocks*512, what du counts) below the roots.",
          d(u64_at(total, "allocated_bytes")));
  m.gauge("wsdedup_usage_files", "Non-directory inodes below the roots.", d(u64_at(total, "files")));
  m.gauge("wsdedup_usage_dirs", "Directories below the roots.", d(u64_at(total, "dirs")));
  for (const auto& c : array_at(doc, "categories")) {
    const Labels l{{"category", string_at(c, "name")}};
    m.gauge("wsdedup_usage_category_logical_bytes", "Apparent bytes per category.", d(u64_at(c, "logical_bytes")), l);
    m.gauge("wsdedup_usage_category_allocated_bytes", "Allocated bytes per category.",
            d(u64_at(c, "allocated_bytes")), l);
    m.gauge("wsdedup_usage_category_files", "Non-directory inodes per category.", d(u64_at(c, "files")), l);
  }
  for (const auto& w : array_at(doc, "workspaces")) {
    const Labels l{{"workspace", path_bytes(w.value("name", Json()))}};
    m.gauge("wsdedup_usage_workspace_logical_bytes", "Apparent bytes per workspace (\"(none)\": outside any).",
            d(u64_at(w, "logical_bytes")), l);
    m.gauge("wsdedup_usage_workspace_allocated_bytes", "Allocated bytes per workspace (\"(none)\": outside any).",
            d(u64_at(w, "allocated_bytes")), l);
    m.gauge("wsdedup_usage_workspace_files", "Non-directory inodes per workspace.", d(u64_at(w, "files")), l);
  }
}

void estimate_metrics(const Json& doc, MetricWriter& m) {
  m.gauge("wsdedup_estimate_before_bytes", "Allocated bytes of the files the estimate read.",
          d(u64_at(doc, "before_bytes")));
  m.gauge("wsdedup_estimate_logical_bytes", "Apparent bytes of the files the estimate read.",
          d(u64_at(doc, "logical_bytes")));
  const auto& model = object_at(doc, "model");
  const std::string compression = string_at(model, "compression");
  for (const auto& lane : array_at(doc, "recordsizes")) {
    const Labels l{{"recordsize", std::to_string(u64_at(lane, "recordsize"))}, {"compression", compression}};
    const auto& ddt = object_at(lane, "ddt");
    const auto& ram = object_at(ddt, "ram_bytes");
    m.gauge("wsdedup_estimate_zfs_after_bytes", "Modelled ZFS DSIZE after dedup and compression, per recordsize.",
            d(u64_at(lane, "after_bytes")), l);
    m.gauge("wsdedup_estimate_dedup_ratio", "Modelled ZFS dedup ratio (zdb's dedup = x), per recordsize.",
            number_at(ddt, "dedup_ratio"), l);
    m.gauge("wsdedup_estimate_compress_ratio", "Modelled ZFS compression ratio, per recordsize.",
            number_at(ddt, "compress_ratio"), l);
    m.gauge("wsdedup_estimate_ddt_entries", "Modelled dedup table entries (unique block checksums), per recordsize.",
            d(u64_at(ddt, "entries")), l);
    for (const char* format : {"legacy", "fast_dedup"}) {
      Labels lf = l;
      lf.emplace_back("format", format);
      m.gauge("wsdedup_estimate_ddt_ram_bytes", "RAM the modelled dedup table needs, legacy and fast-dedup format.",
              d(u64_at(ram, format)), lf);
    }
    // Per category and workspace at this recordsize (documents from older versions lack them;
    // the unlabelled-by-recordsize families below are the first recordsize's).
    for (const auto& [key, label, what] : {std::tuple{"categories", "category", "category"},
                                           std::tuple{"workspaces", "workspace", "workspace"}}) {
      if (!lane.contains(key)) continue;
      for (const auto& g : array_at(lane, key)) {
        Labels lg = l;
        lg.emplace_back(label, path_bytes(g.value("name", Json())));
        m.gauge(fmt::format("wsdedup_estimate_recordsize_{}_referenced_bytes", what),
                fmt::format("Modelled DSIZE the {} references without dedup, per recordsize.", what),
                d(u64_at(g, "referenced_dsize")), lg);
        m.gauge(fmt::format("wsdedup_estimate_recordsize_{}_exclusive_bytes", what),
                fmt::format("Modelled DSIZE only this {} references after dedup, per recordsize.", what),
                d(u64_at(g, "exclusive_dsize")), lg);
      }
    }
  }
  for (const auto& a : array_at(doc, "alternatives")) {
    const Labels l{{"alternative", string_at(a, "name")}};
    m.gauge("wsdedup_estimate_alternative_after_bytes", "Bytes after each dedup strategy.", d(u64_at(a, "after_bytes")), l);
    m.gauge("wsdedup_estimate_alternative_saved_bytes", "Bytes saved by each dedup strategy.",
            d(u64_at(a, "saved_bytes")), l);
  }
  for (const auto& c : array_at(doc, "categories")) {
    const Labels l{{"category", path_bytes(c.value("name", Json()))}};
    m.gauge("wsdedup_estimate_category_before_bytes", "Allocated bytes per category before dedup.",
            d(u64_at(c, "before_bytes")), l);
    m.gauge("wsdedup_estimate_category_exclusive_bytes", "Modelled DSIZE only this category references.",
            d(u64_at(c, "exclusive_dsize")), l);
  }
  for (const auto& w : array_at(doc, "workspaces")) {
    const Labels l{{"workspace", path_bytes(w.value("name", Json()))}};
    m.gauge("wsdedup_estimate_workspace_before_bytes", "Allocated bytes per workspace before dedup.",
            d(u64_at(w, "before_bytes")), l);
    m.gauge("wsdedup_estimate_workspace_exclusive_bytes", "Modelled DSIZE only this workspace references.",
            d(u64_at(w, "exclusive_dsize")), l);
  }
}

void dupes_metrics(const Json& doc, MetricWriter& m) {
  const auto& t = object_at(doc, "total");
  m.gauge("wsdedup_dupes_groups", "Groups of identical files.", d(u64_at(t, "groups")));
  m.gauge("wsdedup_dupes_duplicate_files", "Copies beyond the first of each group (hardlinks counted once).",
          d(u64_at(t, "duplicate_files")));
  m.gauge("wsdedup_dupes_duplicate_bytes", "Apparent bytes of the duplicate copies.", d(u64_at(t, "duplicate_bytes")));
  m.gauge("wsdedup_dupes_reclaimable_bytes", "Allocated bytes sharing the duplicates would free.",
          d(u64_at(t, "reclaimable_bytes")));
  m.gauge("wsdedup_dupes_identical_dir_groups", "Groups of identical directory trees.",
          d(array_at(doc, "identical_dirs").size()));
}

void dedupe_metrics(const Json& doc, MetricWriter& m) {
  const auto& t = object_at(doc, "total");
  const Labels l{{"dry_run", doc.value("dry_run", false) ? "true" : "false"}};
  m.gauge("wsdedup_dedupe_files_shared", "Files whose storage the run shared.", d(u64_at(t, "files_shared")), l);
  m.gauge("wsdedup_dedupe_planned_bytes", "Bytes the run planned to share.", d(u64_at(t, "bytes_planned")), l);
  m.gauge("wsdedup_reclaimed_bytes", "Bytes the run gave back to the filesystem.", number_at(t, "bytes_reclaimed"), l);
  m.gauge("wsdedup_dedupe_skipped_files", "Files the run skipped (see the JSON for reasons).", d(u64_at(t, "skipped")),
          l);
}

void verify_metrics(const Json& doc, MetricWriter& m) {
  const auto& t = object_at(doc, "total");
  m.gauge("wsdedup_verify_identical", "1 when the two trees are identical, else 0.",
          doc.value("identical", false) ? 1.0 : 0.0);
  m.gauge("wsdedup_verify_differences", "Differences between the two trees.", d(u64_at(t, "differences")));
  m.gauge("wsdedup_verify_hashed_bytes", "Bytes read and hashed to compare content.", d(u64_at(t, "bytes_hashed")));
}

void prune_metrics(const Json& doc, MetricWriter& m) {
  const auto& t = object_at(doc, "total");
  const Labels l{{"apply", doc.value("apply", false) ? "true" : "false"}};
  m.gauge("wsdedup_prune_workspaces", "Workspaces the policy looked at.", d(u64_at(t, "workspaces")), l);
  m.gauge("wsdedup_prune_selected_workspaces", "Workspaces the policy selects for deletion.", d(u64_at(t, "selected")),
          l);
  m.gauge("wsdedup_prune_exclusive_bytes", "Bytes deleting the selected workspaces frees (exclusive to them).",
          d(u64_at(t, "exclusive_bytes")), l);
  m.gauge("wsdedup_reclaimed_bytes", "Bytes the run gave back to the filesystem.", d(u64_at(t, "deleted_bytes")), l);
}

void migrate_metrics(const Json& doc, MetricWriter& m) {
  m.gauge("wsdedup_migrate_copied_files", "Files the migration copied (all passes).", d(u64_at(doc, "files_copied")));
  m.gauge("wsdedup_migrate_copied_bytes", "Bytes the migration copied (all passes).", d(u64_at(doc, "bytes_copied")));
  const auto& v = object_at(doc, "verify");
  if (!v.empty()) m.gauge("wsdedup_migrate_verified_identical", "1 when the copy verified identical.", v.value("identical", false) ? 1 : 0);
  m.gauge("wsdedup_migrate_switched", "1 when the copy is bind-mounted in place of SRC.", doc.value("switched", false) ? 1 : 0);
}

// The monitor's own --prometheus names; a figure ZFS did not report (null) is left out.
void monitor_metrics(const Json& doc, MetricWriter& m) {
  const auto& ddt = object_at(doc, "ddt");
  const auto put = [&](const char* name, const char* help, const Json& j, const char* key) {
    const auto it = j.find(key);
    if (it != j.end() && it->is_number()) m.gauge(name, help, it->get<double>());
  };
  put("wsdedup_zfs_ddt_entries", "Entries in the pool's dedup table.", ddt, "entries");
  put("wsdedup_zfs_ddt_in_core_bytes", "In-core size of the pool's dedup table, bytes.", ddt, "in_core_bytes");
  put("wsdedup_zfs_ddt_on_disk_bytes", "On-disk size of the pool's dedup table, bytes.", ddt, "on_disk_bytes");
  put("wsdedup_zfs_dedup_ratio", "Dedup ratio ZFS reports.", ddt, "dedup_ratio");
  put("wsdedup_zfs_ddt_ram_budget_bytes", "RAM budget the DDT is checked against, bytes.", object_at(doc, "ram_budget"), "bytes");
  m.gauge("wsdedup_zfs_monitor_warnings", "Warnings the monitor raised.", d(array_at(doc, "warnings").size()));
}

} // namespace

std::string prometheus_from_json(const nlohmann::ordered_json& doc, double fallback_timestamp) {
  const DocumentKind kind = document_kind(doc);
  MetricWriter m(std::string(kind_name(kind)), roots_label(doc));
  const auto& run = object_at(doc, "run");
  const double stamp = run.contains("finished_unix_seconds") ? number_at(run, "finished_unix_seconds")
                                                             : fallback_timestamp;
  m.gauge("wsdedup_last_run_timestamp_seconds", "Unix time at which the run that wrote these metrics finished.",
          stamp);
  const double seconds = run_seconds(doc);
  if (seconds >= 0) {
    m.gauge("wsdedup_run_duration_seconds", "Wall time of the run that wrote these metrics.", seconds);
  }
  m.gauge("wsdedup_errors", "Per-path errors in the run (each listed with its path in the JSON).",
          d(error_count(doc)));
  switch (kind) {
  case DocumentKind::usage: usage_metrics(doc, m); break;
  case DocumentKind::estimate: estimate_metrics(doc, m); break;
  case DocumentKind::dupes: dupes_metrics(doc, m); break;
  case DocumentKind::dedupe: dedupe_metrics(doc, m); break;
  case DocumentKind::verify: verify_metrics(doc, m); break;
  case DocumentKind::prune: prune_metrics(doc, m); break;
  case DocumentKind::migrate: migrate_metrics(doc, m); break;
  case DocumentKind::monitor: monitor_metrics(doc, m); break;
  case DocumentKind::unknown: break;
  }
  return m.str();
}

} // namespace wsd::report
