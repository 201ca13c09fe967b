#include "migrate/migrate_render.hpp"

#include "report/json_path.hpp"
#include "report/table.hpp"
#include "util/escape.hpp"
#include "verify/verify_render.hpp"

#include <fmt/format.h>

namespace wsd::migrate {

namespace {

nlohmann::ordered_json pass_to_json(const PassStats& p) {
  nlohmann::ordered_json errors = nlohmann::ordered_json::array();
  for (const auto& e : p.errors)
    errors.push_back({{"path", report::path_to_json(e.path)}, {"op", e.op}, {"message", e.message}});
  return {{"src_entries", p.src_entries},
          {"unchanged", p.unchanged},
          {"files_copied", p.files_copied},
          {"bytes_copied", p.bytes_copied},
          {"hole_bytes", p.hole_bytes},
          {"kernel_copies", p.kernel_copies},
          {"metadata_fixed", p.metadata_fixed},
          {"specials_created", p.specials_created},
          {"links", p.links},
          {"dirs_created", p.dirs_created},
          {"dirs_metadata", p.dirs_metadata},
          {"removed", p.removed},
          {"removed_files", p.removed_files},
          {"temps_removed", p.temps_removed},
          {"changed_during_copy", p.changed_during_copy},
          {"list_seconds", p.list_seconds},
          {"copy_seconds", p.copy_seconds},
          {"errors", errors}};
}

} // namespace

nlohmann::ordered_json migrate_to_json(const MigrateReport& r) {
  nlohmann::ordered_json doc;
  doc["schema"] = "wsdedup.migrate/1";
  doc["src"] = report::path_to_json(r.src);
  doc["target"] = r.target;
  if (!r.dataset.empty()) doc["dataset"] = r.dataset;
  doc["copy_dir"] = report::path_to_json(r.copy_dir);
  doc["dry_run"] = r.dry_run;
  doc["apply"] = r.apply;
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const Step& s : r.steps)
    steps.push_back({{"name", s.name}, {"status", s.status}, {"detail", s.detail}, {"seconds", s.seconds}});
  doc["steps"] = steps;
  if (r.dry_run) {
    doc["src_usage"] = {{"files", r.src_files},
                        {"dirs", r.src_dirs},
                        {"logical_bytes", r.src_logical_bytes},
                        {"allocated_bytes", r.src_allocated_bytes}};
    if (r.plan_estimate) doc["estimate"] = *r.plan_estimate;
  }
  nlohmann::ordered_json passes = nlohmann::ordered_json::array();
  uint64_t files = 0;
  uint64_t bytes = 0;
  for (const PassStats& p : r.passes) {
    passes.push_back(pass_to_json(p));
    files += p.files_copied;
    bytes += p.bytes_copied;
  }
  doc["passes"] = passes;
  doc["mtime_granularity_ns"] = r.mtime_granularity_ns; // what the target keeps; times compared at it
  doc["files_copied"] = files;
  doc["bytes_copied"] = bytes;
  if (r.verify) {
    nlohmann::ordered_json v = verify::verify_to_json(*r.verify);
    v.erase("schema");
    v["identical"] = r.verify->identical();
    doc["verify"] = v;
  } else {
    doc["verify"] = nullptr;
  }
  doc["switched"] = r.switched;
  if (!r.old_path.empty()) doc["old_path"] = report::path_to_json(r.old_path);
  if (!r.fstab_line.empty()) doc["fstab_line"] = r.fstab_line;
  if (!r.fstab_backup.empty()) doc["fstab_backup"] = r.fstab_backup;
  if (!r.audit_log.empty()) doc["audit_log"] = r.audit_log;
  doc["failure"] = r.failure.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.failure);
  doc["exit_code"] = r.exit_code;
  return doc;
}

std::string render_migrate_text(const MigrateReport& r, util::ExactBytes exact) {
  std::string out;
  out += fmt::format("migrate {} -> {}{}\n", util::escape_for_terminal(r.src), util::escape_for_terminal(r.copy_dir),
                     r.dataset.empty() ? "" : " (dataset " + r.dataset + ")");
  if (r.dry_run) {
    out += fmt::format("SRC: {} files, {} dirs, {} logical, {} allocated\n", util::format_count(r.src_files),
                       util::format_count(r.src_dirs), util::format_bytes(r.src_logical_bytes, exact),
                       util::format_bytes(r.src_allocated_bytes, exact));
    if (r.plan_estimate) {
      const auto& e = *r.plan_estimate;
      auto num = [&](const char* k) { return e.contains(k) && e[k].is_number() ? e[k].get<double>() : 0.0; };
      out += fmt::format("estimate (--plan): dedup {:.2f}x, compress {:.2f}x", num("dedup_ratio"), num("compress_ratio"));
      if (e.contains("ram_bytes") && e["ram_bytes"].is_object()) {
        for (const auto& [k, v] : e["ram_bytes"].items())
          if (v.is_number_unsigned()) out += fmt::format(", DDT RAM {} {}", k, util::format_bytes(v.get<uint64_t>(), exact));
      }
      if (e.contains("after_bytes") && e["after_bytes"].is_number_unsigned())
        out += fmt::format(", {} on disk after", util::format_bytes(e["after_bytes"].get<uint64_t>(), exact));
      out += "\n";
    } else {
      out += "expected ratio and DDT RAM: run `wsdedup estimate SRC --json > plan.json` and pass --plan plan.json\n";
    }
    out += "runbook (nothing was touched):\n";
  }
  report::Table steps({{"step", report::Align::left}, {"status", report::Align::left}, {"seconds", report::Align::right}, {"detail", report::Align::left}});
  for (const Step& s : r.steps)
    steps.add_row({s.name, s.status, r.dry_run ? "" : fmt::format("{:.1f}", s.seconds), util::escape_for_terminal(s.detail)});
  out += steps.render();
  for (size_t i = 0; i < r.passes.size(); ++i) {
    const PassStats& p = r.passes[i];
    out += fmt::format("pass {}: {} entries listed in {:.1f}s, copied in {:.1f}s: {} files ({} data, {} left as holes, "
                       "{} by copy_file_range), {} links, {} other, {} metadata fixes, {} dirs made, {} removed "
                       "({} temp leftovers), {} unchanged, {} changed while copied\n",
                       i + 1, util::format_count(p.src_entries), p.list_seconds, p.copy_seconds,
                       util::format_count(p.files_copied), util::format_bytes(p.bytes_copied, exact),
                       util::format_bytes(p.hole_bytes, exact), util::format_count(p.kernel_copies),
                       util::format_count(p.links), util::format_count(p.specials_created),
                       util::format_count(p.metadata_fixed), util::format_count(p.dirs_created),
                       util::format_count(p.removed), util::format_count(p.temps_removed), util::format_count(p.unchanged),
                       util::format_count(p.changed_during_copy));
    for (const auto& e : p.errors)
      out += fmt::format("  error: {}(\"{}\"): {}\n", e.op, util::escape_for_terminal(e.path), e.message);
  }
  if (r.verify) out += verify::render_verify_text(*r.verify, exact, false);
  if (r.switched) out += fmt::format("switched: {} is now a bind mount of {}; the old tree is at {}\n",
                                     util::escape_for_terminal(r.src), util::escape_for_terminal(r.copy_dir),
                                     util::escape_for_terminal(r.old_path));
  if (!r.fstab_line.empty()) out += "fstab line: " + util::escape_for_terminal(r.fstab_line) + "\n";
  if (!r.failure.empty()) out += "FAILED: " + util::escape_for_terminal(r.failure) + "\n";
  return out;
}

} // namespace wsd::migrate
