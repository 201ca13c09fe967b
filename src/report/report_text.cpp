#include "report/report_text.hpp"

#include "report/report_document.hpp"
#include "report/table.hpp"
#include "report/usage_render.hpp"
#include "util/escape.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace wsd::report {

namespace {

using Json = nlohmann::ordered_json;

constexpr size_t k_top = 20;

scan::Tally tally_from(const Json& j) {
  scan::Tally t;
  t.logical_bytes = u64_at(j, "logical_bytes");
  t.allocated_bytes = u64_at(j, "allocated_bytes");
  t.files = u64_at(j, "files");
  t.dirs = u64_at(j, "dirs");
  t.count = u64_at(j, "count");
  return t;
}

std::string shown_path(const Json& v) { return util::escape_for_terminal(path_bytes(v)); }

std::string more_line(size_t shown, size_t total, std::string_view what) {
  return shown < total ? fmt::format("... {} more {} (the JSON lists all)\n", total - shown, what) : std::string();
}

std::string errors_text(const Json& doc) {
  const auto& errors = array_at(doc, "errors");
  if (errors.empty()) return {};
  std::string out = fmt::format("\n{} errors:\n", errors.size());
  for (size_t i = 0; i < errors.size() && i < k_top; ++i) {
    std::string message = string_at(errors[i], "error");
    if (message.empty()) message = string_at(errors[i], "message");
    out += fmt::format("  {}(\"{}\"): {}\n", util::escape_for_terminal(string_at(errors[i], "op")),
                       shown_path(errors[i].value("path", Json())), util::escape_for_terminal(message));
  }
  return out + more_line(std::min(errors.size(), k_top), errors.size(), "errors");
}

std::string notes_text(const Json& doc) {
  std::string out;
  const std::string rec = string_at(doc, "recommendation");
  if (!rec.empty()) out += "\n" + util::escape_for_terminal(rec) + "\n";
  const auto& notes = array_at(doc, "notes");
  if (!notes.empty()) out += "\nnotes:\n";
  for (const auto& n : notes) out += "  - " + util::escape_for_terminal(n.is_string() ? n.get<std::string>() : n.dump()) + "\n";
  return out;
}

std::string estimate_text(const Json& doc, util::ExactBytes exact) {
  const auto bytes = [&](uint64_t b) { return util::format_bytes(b, exact); };
  const auto& model = object_at(doc, "model");
  std::string out = fmt::format("ZFS model: profile {}, ashift {}, compression {}, checksum {}\n",
                                util::escape_for_terminal(string_at(model, "profile")), u64_at(model, "ashift"),
                                util::escape_for_terminal(string_at(model, "compression")),
                                util::escape_for_terminal(string_at(model, "checksum")));
  out += fmt::format("{} files, {} allocated ({} apparent)\n\n", util::format_count(u64_at(doc, "files")),
                     bytes(u64_at(doc, "before_bytes")), bytes(u64_at(doc, "logical_bytes")));
  Table lanes({{"recordsize", Align::right}, {"after", Align::right}, {"dedup", Align::right},
               {"compress", Align::right}, {"copies", Align::right}, {"DDT entries", Align::right},
               {"RAM legacy", Align::right}, {"RAM fast dedup", Align::right}});
  for (const auto& lane : array_at(doc, "recordsizes")) {
    const auto& ddt = object_at(lane, "ddt");
    const auto& ram = object_at(ddt, "ram_bytes");
    lanes.add_row({bytes(u64_at(lane, "recordsize")), bytes(u64_at(lane, "after_bytes")),
                   fmt::format("{:.2f}", number_at(ddt, "dedup_ratio")), fmt::format("{:.2f}", number_at(ddt, "compress_ratio")),
                   fmt::format("{:.2f}", number_at(ddt, "copies_ratio")), util::format_count(u64_at(ddt, "entries")),
                   bytes(u64_at(ram, "legacy")), bytes(u64_at(ram, "fast_dedup"))});
  }
  out += lanes.render();
  Table alts({{"alternative", Align::left}, {"after", Align::right}, {"saved", Align::right}, {"measures", Align::left}});
  for (const auto& a : array_at(doc, "alternatives")) {
    alts.add_row({util::escape_for_terminal(string_at(a, "name")), bytes(u64_at(a, "after_bytes")),
                  bytes(u64_at(a, "saved_bytes")), util::escape_for_terminal(string_at(a, "basis"))});
  }
  out += "\n" + alts.render();
  // Per category and workspace: the top-level rows (first recordsize), plus the exclusive
  // bytes at each further recordsize when the document has them (older documents lack them).
  const auto& lane_docs = array_at(doc, "recordsizes");
  for (const char* key : {"categories", "workspaces"}) {
    const auto& rows = array_at(doc, key);
    std::vector<const Json*> extra; // further lanes whose rows line up with the top level
    for (size_t l = 1; l < lane_docs.size(); ++l) {
      if (lane_docs[l].contains(key) && lane_docs[l][key].is_array() && lane_docs[l][key].size() == rows.size()) {
        extra.push_back(&lane_docs[l][key]);
      }
    }
    const std::string first_rs = lane_docs.empty() || extra.empty() ? std::string()
                                                                     : " " + bytes(u64_at(lane_docs[0], "recordsize"));
    std::vector<std::pair<std::string, Align>> cols{{key, Align::left}, {"files", Align::right}, {"before", Align::right},
                                                    {"referenced" + first_rs, Align::right},
                                                    {"exclusive" + first_rs, Align::right}};
    for (size_t l = 0; l < extra.size(); ++l) {
      cols.emplace_back("exclusive " + bytes(u64_at(lane_docs[l + 1], "recordsize")), Align::right);
    }
    Table t(cols);
    for (size_t i = 0; i < rows.size() && i < k_top; ++i) {
      std::vector<std::string> row{shown_path(rows[i].value("name", Json())), util::format_count(u64_at(rows[i], "files")),
                                   bytes(u64_at(rows[i], "before_bytes")), bytes(u64_at(rows[i], "referenced_dsize")),
                                   bytes(u64_at(rows[i], "exclusive_dsize"))};
      for (const Json* lane_rows : extra) row.push_back(bytes(u64_at((*lane_rows)[i], "exclusive_dsize")));
      t.add_row(row);
    }
    out += "\n" + t.render() + more_line(std::min(rows.size(), k_top), rows.size(), key);
  }
  return out;
}

std::string dupes_text(const Json& doc, util::ExactBytes exact) {
  const auto bytes = [&](uint64_t b) { return util::format_bytes(b, exact); };
  std::string out;
  const auto& dirs = array_at(doc, "identical_dirs");
  if (!dirs.empty()) out += "Identical directory trees:\n";
  for (size_t i = 0; i < dirs.size() && i < k_top; ++i) {
    const auto& paths = array_at(dirs[i], "paths");
    out += fmt::format("  these {} folders are identical, {} each ({} files):\n", paths.size(),
                       bytes(u64_at(dirs[i], "allocated_bytes")), util::format_count(u64_at(dirs[i], "files")));
    for (size_t k = 0; k < paths.size() && k < 5; ++k) out += "    " + shown_path(paths[k]) + "\n";
    if (paths.size() > 5) out += fmt::format("    ... and {} more\n", paths.size() - 5);
  }
  if (!dirs.empty()) out += more_line(std::min(dirs.size(), k_top), dirs.size(), "identical trees") + "\n";
  const auto& groups = array_at(doc, "groups");
  Table t({{"reclaimable", Align::right}, {"size", Align::right}, {"copies", Align::right}, {"first path", Align::left}});
  for (size_t i = 0; i < groups.size() && i < k_top; ++i) {
    const auto& paths = array_at(groups[i], "paths");
    t.add_row({bytes(u64_at(groups[i], "reclaimable_bytes")), bytes(u64_at(groups[i], "size")),
               util::format_count(paths.size()), paths.empty() ? std::string() : shown_path(paths[0])});
  }
  if (!groups.empty()) out += "Duplicate groups:\n" + t.render() + more_line(std::min(groups.size(), k_top), groups.size(), "groups");
  const auto& tot = object_at(doc, "total");
  out += fmt::format("\n{} groups, {} duplicate files, {} duplicate bytes, {} reclaimable\n",
                     util::format_count(u64_at(tot, "groups")), util::format_count(u64_at(tot, "duplicate_files")),
                     bytes(u64_at(tot, "duplicate_bytes")), bytes(u64_at(tot, "reclaimable_bytes")));
  return out;
}

std::string dedupe_text(const Json& doc, util::ExactBytes exact) {
  const auto bytes = [&](uint64_t b) { return util::format_bytes(b, exact); };
  const auto& t = object_at(doc, "total");
  std::string out;
  if (doc.contains("undo")) {
    out = fmt::format("undo of {}: {} of {} journaled links restored, {} skipped{}\n", shown_path(doc["undo"]),
                      util::format_count(u64_at(t, "restored")), util::format_count(u64_at(t, "entries")),
                      util::format_count(u64_at(t, "skipped")), doc.value("dry_run", false) ? " (dry run)" : "");
  } else {
    out = fmt::format("mode {}{}: {} files shared, {} planned, {} reclaimed, {} skipped\n",
                      util::escape_for_terminal(string_at(doc, "mode")), doc.value("dry_run", false) ? " (dry run)" : "",
                      util::format_count(u64_at(t, "files_shared")), bytes(u64_at(t, "bytes_planned")),
                      bytes(u64_at(t, "bytes_reclaimed")), util::format_count(u64_at(t, "skipped")));
  }
  const auto& skipped = array_at(doc, "skipped");
  for (size_t i = 0; i < skipped.size() && i < k_top; ++i) {
    out += fmt::format("  skipped {}: {}\n", shown_path(skipped[i].value("path", Json())),
                       util::escape_for_terminal(string_at(skipped[i], "reason")));
  }
  return out + more_line(std::min(skipped.size(), k_top), skipped.size(), "skipped files");
}

std::string verify_text(const Json& doc, util::ExactBytes exact) {
  std::string out;
  const auto& diffs = array_at(doc, "differences");
  for (const auto& d : diffs) {
    std::string reasons;
    for (const auto& r : array_at(d, "reasons")) reasons += (reasons.empty() ? "" : ", ") + (r.is_string() ? r.get<std::string>() : r.dump());
    out += fmt::format("{:<10} {}{}\n", util::escape_for_terminal(string_at(d, "kind")), shown_path(d.value("path", Json())),
                       reasons.empty() ? "" : " (" + util::escape_for_terminal(reasons) + ")");
  }
  const auto& t = object_at(doc, "total");
  out += fmt::format("{} vs {}: {}, {} differences, {} entries in SRC, {} hashed\n", shown_path(doc.value("src", Json())),
                     shown_path(doc.value("dst", Json())), doc.value("identical", false) ? "identical" : "different",
                     util::format_count(u64_at(t, "differences")), util::format_count(u64_at(t, "src_entries")),
                     util::format_bytes(u64_at(t, "bytes_hashed"), exact));
  return out;
}

std::string prune_text(const Json& doc, util::ExactBytes exact) {
  const auto bytes = [&](uint64_t b) { return util::format_bytes(b, exact); };
  Table t({{"workspace", Align::left}, {"status", Align::left}, {"allocated", Align::right},
           {"exclusive", Align::right}, {"action", Align::left}});
  for (const auto& w : array_at(doc, "workspaces")) {
    t.add_row({shown_path(w.value("name", Json())), util::escape_for_terminal(string_at(w, "status")),
               bytes(u64_at(w, "allocated_bytes")), w.contains("exclusive_bytes") ? bytes(u64_at(w, "exclusive_bytes")) : "",
               util::escape_for_terminal(string_at(w, "action"))});
  }
  const auto& tot = object_at(doc, "total");
  return fmt::format("root {}{}\n", shown_path(doc.value("root", Json())), doc.value("apply", false) ? "" : " (dry run)") +
         t.render() +
         fmt::format("{} of {} workspaces selected, {} freed exclusively, {} deleted\n",
                     util::format_count(u64_at(tot, "selected")), util::format_count(u64_at(tot, "workspaces")),
                     bytes(u64_at(tot, "exclusive_bytes")), bytes(u64_at(tot, "deleted_bytes")));
}

std::string migrate_text(const Json& doc, util::ExactBytes exact) {
  std::string out = fmt::format("migrate {} -> {}{}\n", shown_path(doc.value("src", Json())),
                                shown_path(doc.value("copy_dir", Json())),
                                doc.value("dry_run", false) ? " (dry run)" : (doc.value("apply", false) ? " (--apply)" : ""));
  Table t({{"step", Align::left}, {"status", Align::left}, {"seconds", Align::right}, {"detail", Align::left}});
  for (const auto& s : array_at(doc, "steps"))
    t.add_row({util::escape_for_terminal(string_at(s, "name")), util::escape_for_terminal(string_at(s, "status")),
               fmt::format("{:.1f}", number_at(s, "seconds")), util::escape_for_terminal(string_at(s, "detail"))});
  out += t.render();
  const auto& v = object_at(doc, "verify");
  out += fmt::format("copied {} files, {}; verify: {}; switched: {}\n", util::format_count(u64_at(doc, "files_copied")),
                     util::format_bytes(u64_at(doc, "bytes_copied"), exact),
                     v.empty() ? "not run" : (v.value("identical", false) ? "identical" : "DIFFERENT"),
                     doc.value("switched", false) ? "yes" : "no");
  if (const std::string f = string_at(doc, "failure"); !f.empty()) out += "failure: " + util::escape_for_terminal(f) + "\n";
  return out;
}

std::string monitor_text(const Json& doc, util::ExactBytes exact) {
  const auto& target = object_at(doc, "target");
  const auto& ddt = object_at(doc, "ddt");
  // ZFS does not report every figure everywhere: null stays "-", never 0.
  const auto shown = [&](const Json& j, std::string_view key, bool bytes) -> std::string {
    const auto it = j.find(std::string(key));
    if (it == j.end() || !it->is_number()) return "-";
    return bytes ? util::format_bytes(it->get<uint64_t>(), exact) : fmt::format("{:.2f}", it->get<double>());
  };
  std::string out = fmt::format("monitor {}: {}\n", util::escape_for_terminal(string_at(target, "dataset")),
                                util::escape_for_terminal(string_at(doc, "status")));
  out += fmt::format("DDT: {} entries, {} in core, {} on disk; dedup {}, compress {}\n",
                     ddt.contains("entries") && ddt["entries"].is_number() ? util::format_count(u64_at(ddt, "entries")) : "-",
                     shown(ddt, "in_core_bytes", true), shown(ddt, "on_disk_bytes", true), shown(ddt, "dedup_ratio", false),
                     shown(ddt, "compress_ratio", false));
  out += fmt::format("RAM budget {}\n", util::format_bytes(u64_at(object_at(doc, "ram_budget"), "bytes"), exact));
  for (const auto& w : array_at(doc, "warnings")) out += "warning: " + util::escape_for_terminal(string_at(w, "text")) + "\n";
  return out;
}

} // namespace

scan::UsageReport usage_from_json(const nlohmann::ordered_json& doc) {
  scan::UsageReport r;
  for (const auto& root : array_at(doc, "roots")) r.roots.push_back(path_bytes(root));
  r.workspace_pattern = string_at(doc, "workspace_pattern");
  r.total = tally_from(object_at(doc, "total"));
  for (const auto& c : array_at(doc, "categories")) {
    r.categories.push_back({string_at(c, "name"), string_at(c, "count_unit"), tally_from(c)});
  }
  for (const auto& w : array_at(doc, "workspaces")) {
    scan::WorkspaceRow row;
    row.name = path_bytes(w.value("name", Json()));
    row.is_none = w.value("none", false);
    row.tally = tally_from(w);
    const auto& by = object_at(w, "categories");
    for (const auto& c : r.categories) row.by_category.push_back(tally_from(object_at(by, c.name)));
    r.workspaces.push_back(std::move(row));
  }
  for (const auto& e : array_at(doc, "errors")) {
    r.errors.push_back({path_bytes(e.value("path", Json())), string_at(e, "op"), string_at(e, "error")});
  }
  const auto& hl = object_at(doc, "hardlinks");
  r.hardlinked_inodes = u64_at(hl, "inodes");
  r.hardlink_extra_names = u64_at(hl, "extra_names");
  const auto& stats = object_at(doc, "stats");
  r.seconds = number_at(stats, "seconds");
  const uint64_t entries = u64_at(stats, "entries");
  r.walk.entries = entries > 0 ? entries - 1 : 0;
  r.walk.mounts_skipped = u64_at(stats, "mounts_skipped");
  return r;
}

std::string text_from_json(const nlohmann::ordered_json& doc, util::ExactBytes exact) {
  std::string out;
  switch (document_kind(doc)) {
  case DocumentKind::usage: {
    UsageRenderOptions ro;
    ro.exact = exact;
    ro.top = 0; // the document already holds the rows the run chose to list
    out = render_usage_text(usage_from_json(doc), ro);
    return out + errors_text(doc);
  }
  case DocumentKind::estimate: out = estimate_text(doc, exact); break;
  case DocumentKind::dupes: out = dupes_text(doc, exact); break;
  case DocumentKind::dedupe: out = dedupe_text(doc, exact); break;
  case DocumentKind::verify: out = verify_text(doc, exact); break;
  case DocumentKind::prune: out = prune_text(doc, exact); break;
  case DocumentKind::migrate: out = migrate_text(doc, exact); break;
  case DocumentKind::monitor: out = monitor_text(doc, exact); break;
  case DocumentKind::unknown:
    throw std::invalid_argument("not a wsdedup document of a known schema (\"schema\": \"" +
                                util::escape_for_terminal(string_at(doc, "schema")) + "\")");
  }
  return out + notes_text(doc) + errors_text(doc);
}

} // namespace wsd::report
