// `wsdedup dedupe ROOT...`: shares the storage of identical files in place (DESIGN.md
// section 4), or `--undo JOURNAL` to give hardlinked paths their own copies back.

#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "dedupe/executor.hpp"
#include "fs/run_guard.hpp"
#include "dedupe/temp_names.hpp"
#include "dedupe/undo.hpp"
#include "dupes/duplicate_finder.hpp"
#include "report/json_path.hpp"
#include "report/table.hpp"
#include "scan/tree_scan.hpp"
#include "util/error.hpp"
#include "util/escape.hpp"
#include "util/progress.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <chrono>
#include <future>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <unistd.h>

namespace wsd::cli {

namespace {

struct DedupeArgs {
  CommonOptions common;
  std::string mode = "auto";
  std::vector<std::string> immutable;
  std::vector<std::string> only;
  bool dry_run = false;
  std::string min_size = "1";
  std::string audit_log;
  std::string journal;
  std::string undo;
  bool no_idle = false;
};

dedupe::Mode parse_mode(const std::string& s) {
  if (s == "auto") return dedupe::Mode::automatic;
  if (s == "reflink") return dedupe::Mode::reflink;
  if (s == "clone") return dedupe::Mode::clone;
  if (s == "hardlink") return dedupe::Mode::hardlink;
  throw util::Fatal("--mode must be auto, reflink, clone or hardlink (got \"{}\")", s);
}

std::string audit_path(const DedupeArgs& args) {
  return args.audit_log.empty() ? util::default_log_dir() + "/audit.jsonl" : args.audit_log;
}

nlohmann::ordered_json skipped_json(const std::vector<dedupe::Skip>& skipped) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& s : skipped) out.push_back({{"path", report::path_to_json(s.path)}, {"reason", s.reason}});
  return out;
}

// Skips by reason (counts), then the first few paths of each reason; --json lists all.
std::string skipped_text(const std::vector<dedupe::Skip>& skipped) {
  std::map<std::string, std::vector<const dedupe::Skip*>> by_reason;
  for (const auto& s : skipped) by_reason[s.reason].push_back(&s);
  std::string out;
  for (const auto& [reason, list] : by_reason) {
    out += fmt::format("skipped {} files: {}\n", util::format_count(list.size()), reason);
    for (size_t i = 0; i < list.size() && i < 5; ++i)
      out += "  " + util::escape_for_terminal(list[i]->path) + "\n";
    if (list.size() > 5) out += fmt::format("  ... {} more (--json lists all)\n", list.size() - 5);
  }
  return out;
}

int run_undo(const DedupeArgs& args) {
  if (!args.no_idle) fs::lower_priority();
  const dedupe::DryRun dry = args.dry_run ? dedupe::DryRun::yes : dedupe::DryRun::no;
  util::JsonLinesLog audit;
  if (!args.dry_run) audit = util::JsonLinesLog(audit_path(args));
  const dedupe::UndoReport r = dedupe::undo_hardlinks(args.undo, audit, dry, args.common.cross_fs);
  if (args.common.json) {
    nlohmann::ordered_json doc;
    doc["schema"] = "wsdedup.dedupe/1";
    doc["undo"] = report::path_to_json(args.undo);
    doc["dry_run"] = args.dry_run;
    doc["total"] = {{"entries", r.entries}, {"restored", r.restored}, {"skipped", r.skipped.size()}};
    doc["skipped"] = skipped_json(r.skipped);
    std::fputs(report::dump_json(doc).c_str(), stdout);
  } else {
    std::string text = fmt::format("{} {} of {} journaled links their own copy back, {} skipped\n",
                                   args.dry_run ? "would give" : "gave", util::format_count(r.restored),
                                   util::format_count(r.entries), util::format_count(r.skipped.size()));
    text += skipped_text(r.skipped);
    std::fputs(text.c_str(), stdout);
  }
  return 0;
}

int run_dedupe(const DedupeArgs& args) {
  if (!args.undo.empty()) return run_undo(args);
  if (args.common.roots.empty()) throw util::Fatal("dedupe needs at least one ROOT (or --undo JOURNAL)");
  const auto start = std::chrono::steady_clock::now();
  dedupe::ExecutorOptions eo;
  eo.run_start_ns = dedupe::wall_clock_ns();
  eo.mode = parse_mode(args.mode);
  eo.dry_run = args.dry_run ? dedupe::DryRun::yes : dedupe::DryRun::no;
  eo.cross_fs = args.common.cross_fs;
  eo.threads = args.common.threads;
  for (const auto& g : args.immutable) eo.immutable.emplace_back(g);
  for (const auto& g : args.only) eo.only.emplace_back(g);
  if (eo.mode == dedupe::Mode::hardlink && eo.immutable.empty())
    throw util::Fatal("--mode hardlink needs --immutable GLOB: hardlinked files share every future "
                      "write, so only paths nothing writes to may be linked (there is no default)");
  if (!args.no_idle) fs::lower_priority();
  const fs::RootSet roots(args.common.roots);
  util::JsonLinesLog audit;
  if (!args.dry_run) {
    fs::lock_roots(roots);
    audit = util::JsonLinesLog(audit_path(args));
    eo.journal_path = args.journal;
    if (eo.journal_path.empty()) {
      char stamp[32];
      const std::time_t now = std::time(nullptr);
      std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", std::localtime(&now));
      eo.journal_path = fmt::format("{}/hardlinks-{}-{}.jsonl", util::default_log_dir(), stamp, ::getpid());
    }
  }
  eo.audit = &audit;

  scan::ScanOptions options;
  options.walk = make_walk_options(args.common);
  options.collect_min_size = 0;
  options.collect_tree_entries = true; // every name, for leftover temp names
  fs::WalkProgress walk_progress;
  dupes::FinderProgress read_progress;
  util::Progress ticker(
      [&](double) { return walk_read_progress_line("dedupe", walk_progress, read_progress); },
      show_progress(args.common));
  scan::ScanResult scanned = scan::scan_tree(roots, options, &walk_progress);
  dedupe::TempCleanup cleanup;
  if (!args.dry_run) {
    cleanup = dedupe::remove_leftover_temps(roots, scanned.files, audit, args.common.cross_fs);
    // Unlinking a leftover hardlink temp changes its keeper's ctime: look again.
    if (cleanup.removed > 0) scanned = scan::scan_tree(roots, options, &walk_progress);
  }
  {
    auto& files = scanned.files.files;
    const auto kept = std::remove_if(files.begin(), files.end(), [&](const scan::FileEntry& f) {
      return dedupe::is_temp_name(scanned.files.paths.name(f.name));
    });
    files.truncate(static_cast<size_t>(kept - files.begin()));
  }
  dupes::FinderOptions fo;
  fo.min_size = std::max<uint64_t>(util::parse_size(args.min_size), 1);
  fo.threads = args.common.threads;
  fo.cross_fs = args.common.cross_fs;
  // Every mode but hardlinks skips inline files (no extent to share): no need to read them.
  if (eo.mode != dedupe::Mode::hardlink) fo.inline_files = dupes::InlineFiles::leave_unread;
  const std::unique_ptr<catalog::Catalog> catalog = open_catalog(args.common);
  fo.catalog = catalog.get();
  eo.catalog = catalog.get();
  const auto scanned_at = std::chrono::steady_clock::now();
  // Free space before any change (syncfs commits first: tens of ms on btrfs), measured while
  // the duplicates are searched; nothing changes the roots until the executor starts.
  std::future<std::vector<uint64_t>> free_before;
  if (!args.dry_run) free_before = std::async(std::launch::async, [&roots] { return dedupe::free_bytes(roots); });
  const dupes::DuplicateSet found = dupes::find_duplicates(roots, scanned.files, fo, &read_progress);
  if (free_before.valid()) eo.free_before = free_before.get();
  const auto found_at = std::chrono::steady_clock::now();
  const dedupe::ExecutionReport r = dedupe::execute_dedupe(roots, scanned.files, found, eo);
  const auto executed_at = std::chrono::steady_clock::now();
  ticker.stop();

  ErrorLines errors = scan_error_lines(scanned.usage);
  append_problem_lines(errors, roots, scanned.files, found);
  print_errors(errors);
  for (const auto& [path, message] : cleanup.errors) std::fprintf(stderr, "wsdedup: %s\n", message.c_str());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (wants_document(args.common)) {
    nlohmann::ordered_json doc;
    doc["schema"] = "wsdedup.dedupe/1";
    doc["mode"] = args.mode;
    doc["dry_run"] = args.dry_run;
    doc["total"] = {{"files_shared", r.files_shared},
                    {"bytes_planned", r.bytes_planned},
                    {"bytes_reclaimed", r.bytes_reclaimed},
                    {"skipped", r.skipped.size()},
                    {"bytes_shared", r.bytes_shared},
                    {"already_shared", r.already_shared},
                    {"inline_files", r.inline_files},
                    {"held_by_snapshots_bytes", r.bytes_held},
                    {"groups", r.groups},
                    {"hardlink_preview_bytes", r.hardlink_preview_bytes},
                    {"temp_names_removed", cleanup.removed}};
    auto& fss = doc["filesystems"] = nlohmann::ordered_json::array();
    for (const auto& f : r.filesystems)
      fss.push_back({{"root", report::path_to_json(f.root)}, {"kind", f.kind}, {"mode", dedupe::mode_name(f.mode)},
                     {"fideduperange", f.dedupe_range}, {"ficlone", f.clone}, {"preview_only", f.preview_only},
                     {"free_before", f.free_before}, {"free_after", f.free_after}});
    doc["skipped"] = skipped_json(r.skipped);
    doc["notes"] = r.notes;
    if (!args.dry_run) doc["audit_log"] = report::path_to_json(audit.path());
    if (!r.journal_path.empty()) doc["journal"] = report::path_to_json(r.journal_path);
    auto& errs = doc["errors"] = nlohmann::ordered_json::array();
    for (const auto& [path, op, text] : errors)
      errs.push_back({{"path", report::path_to_json(path)}, {"op", op}, {"error", text}});
    if (eo.catalog)
      doc["catalog_rows"] = {{"files", r.catalog_rows.files}, {"rows", r.catalog_rows.rows},
                             {"files_without_rows", r.catalog_rows.dropped}};
    if (args.common.stats)
      doc["stats"] = {{"seconds", seconds}, {"peak_rss_bytes", peak_rss_bytes()},
                      {"candidates", found.stats.candidates}, {"bytes_read", found.stats.bytes_read},
                      {"catalog_hits", found.stats.catalog_hits},
                      {"seconds_scan", std::chrono::duration<double>(scanned_at - start).count()},
                      {"seconds_find", std::chrono::duration<double>(found_at - scanned_at).count()},
                      {"seconds_partial", found.stats.seconds_partial},
                      {"seconds_full", found.stats.seconds_full},
                      {"seconds_extents", found.stats.seconds_extents},
                      {"seconds_execute", std::chrono::duration<double>(executed_at - found_at).count()}};
    emit_document(doc, args.common);
    if (args.common.json) return 0;
  }
  const auto bytes = [&](uint64_t b) { return util::format_bytes(b, args.common.bytes ? util::ExactBytes::yes : util::ExactBytes::no); };
  std::string text;
  for (const auto& f : r.filesystems)
    text += fmt::format("{} ({}): mode {}{}\n", util::escape_for_terminal(f.root), f.kind, dedupe::mode_name(f.mode),
                        f.preview_only ? " (preview only)" : "");
  if (r.bytes_planned == 0 && r.hardlink_preview_bytes == 0 && r.files_shared == 0 && r.bytes_held == 0) {
    text += fmt::format("nothing to do: no duplicates left to share{}\n",
                        r.already_shared ? fmt::format(" ({} files already share storage)", util::format_count(r.already_shared)) : "");
  } else if (args.dry_run) {
    text += fmt::format("plan: {} groups, would reclaim {} ({} files already share storage)\n",
                        util::format_count(r.groups), bytes(r.bytes_planned), util::format_count(r.already_shared));
  } else {
    text += fmt::format("shared {} files ({}); planned {}, free space grew by {}; {} already shared, {} skipped\n",
                        util::format_count(r.files_shared), bytes(r.bytes_shared), bytes(r.bytes_planned),
                        r.bytes_reclaimed >= 0 ? bytes(static_cast<uint64_t>(r.bytes_reclaimed))
                                               : "-" + bytes(static_cast<uint64_t>(-r.bytes_reclaimed)),
                        util::format_count(r.already_shared), util::format_count(r.skipped.size()));
  }
  if (r.hardlink_preview_bytes > 0)
    text += fmt::format("hardlinks would reclaim {} (not done: see the note)\n", bytes(r.hardlink_preview_bytes));
  if (r.inline_files > 0)
    text += fmt::format("{} small files are stored inline in metadata and cannot share extents\n",
                        util::format_count(r.inline_files));
  if (cleanup.removed > 0) text += fmt::format("removed {} temp names left by an interrupted run\n", cleanup.removed);
  text += skipped_text(r.skipped);
  if (r.bytes_held > 0)
    text += fmt::format("{} of the duplicates' storage is also referenced by a snapshot (or a reflink outside "
                        "these files): sharing frees that only once the snapshot is deleted (not in the planned figure)\n",
                        bytes(r.bytes_held));
  for (const auto& n : r.notes) text += "note: " + util::escape_for_terminal(n) + "\n";
  if (!r.journal_path.empty()) text += fmt::format("journal (for --undo): {}\n", util::escape_for_terminal(r.journal_path));
  if (args.common.stats)
    text += fmt::format("{:.2f} s, {} read ({} hashes from the catalog), {} catalog rows written for changed files, peak memory {}\n",
                        seconds, util::format_bytes(found.stats.bytes_read), util::format_count(found.stats.catalog_hits),
                        util::format_count(r.catalog_rows.rows), util::format_bytes(peak_rss_bytes()));
  std::fputs(text.c_str(), stdout);
  return 0;
}

} // namespace

void register_dedupe_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DedupeArgs>();
  CLI::App* cmd = app.add_subcommand("dedupe", "Share the storage of identical files in place, safely");
  add_walk_options(*cmd, args->common);
  cmd->get_option("roots")->required(false);
  add_output_options(*cmd, args->common);
  add_report_options(*cmd, args->common);
  add_catalog_options(*cmd, args->common);
  cmd->add_option("--mode", args->mode,
                  "auto (default: reflink where FIDEDUPERANGE works, else clone where FICLONE "
                  "works, else only show what hardlinks would save), reflink, clone, hardlink")
      ->type_name("MODE");
  cmd->add_option("--immutable", args->immutable,
                  "Hardlink mode: only paths under GLOB, which nothing may ever write to "
                  "(repeatable; no default)")
      ->type_name("GLOB")->take_all()->allow_extra_args(false);
  cmd->add_option("--only", args->only, "Act only on paths under GLOB (repeatable)")
      ->type_name("GLOB")->take_all()->allow_extra_args(false);
  cmd->add_flag("--dry-run,-n", args->dry_run, "Print the plan and the bytes it would reclaim; change nothing");
  cmd->add_option("--min-size", args->min_size, "Ignore files smaller than SIZE (default 1)")->type_name("SIZE");
  cmd->add_option("--audit-log", args->audit_log,
                  "Audit log of every destructive step, JSON lines (default /var/log/wsdedup/audit.jsonl as root)")
      ->type_name("PATH");
  cmd->add_option("--journal", args->journal, "Hardlink journal to write (default: beside the audit log)")
      ->type_name("PATH");
  cmd->add_option("--undo", args->undo, "Give every path linked in JOURNAL its own copy back")->type_name("JOURNAL");
  cmd->add_flag("--no-idle", args->no_idle, "Keep normal I/O and CPU priority (default: idle I/O class, nice 10)");
  cmd->final_callback([args, &exit_code] { exit_code = run_dedupe(*args); });
}

} // namespace wsd::cli
