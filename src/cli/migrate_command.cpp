// `wsdedup migrate SRC --to TARGET`: carries out the ZFS plan (issue 7): target dataset or
// folder, parallel copy preserving what `rsync -aHAXS --numeric-ids` preserves, verify, and
// with --apply stop/final pass/verify/switch-over (bind mount + fstab)/start.
// Exit 0 done, 1 verify found differences (without --apply), 2 fatal or a failed --apply.

#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "migrate/migrate_render.hpp"
#include "migrate/migrate_run.hpp"
#include "report/json_path.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

namespace wsd::cli {

namespace {

struct MigrateArgs {
  CommonOptions common;
  std::string src;
  migrate::MigrateOptions options;
  bool apply = false;
  bool dry_run = false;
  bool no_fstab = false;
  bool no_verify = false;
  std::string priority = "idle";
};

std::string eta_text(uint64_t done, uint64_t total, double seconds) {
  if (done == 0 || total <= done || seconds <= 0) return "";
  const double left = seconds * static_cast<double>(total - done) / static_cast<double>(done);
  return fmt::format(", ETA {}:{:02}", static_cast<uint64_t>(left) / 60, static_cast<uint64_t>(left) % 60);
}

int run_migrate(MigrateArgs& args) {
  migrate::MigrateOptions& o = args.options;
  o.src = args.src;
  o.apply = args.apply ? migrate::Apply::yes : migrate::Apply::no;
  o.dry_run = args.dry_run ? migrate::DryRun::yes : migrate::DryRun::no;
  o.fstab = args.no_fstab ? migrate::EditFstab::no : migrate::EditFstab::yes;
  if (args.no_verify && args.apply) throw util::Fatal("--no-verify cannot be combined with --apply");
  if (args.priority != "idle" && args.priority != "normal")
    throw util::Fatal("--priority: expected idle or normal, got \"{}\"", args.priority);
  o.priority = args.priority == "idle" ? migrate::Priority::idle : migrate::Priority::normal;
  o.verify = args.no_verify ? migrate::Verify::no : migrate::Verify::yes;
  o.pass.walk = make_walk_options(args.common);
  o.pass.copy_threads = args.common.threads;

  migrate::MigrateProgress progress;
  util::Progress ticker(
      [&](double s) {
        if (progress.step.load() == 1) {
          if (progress.verify.phase.load() == 0)
            return fmt::format("migrate: verify: listing, {} entries", util::format_count(progress.verify.walk.entries.load()));
          return fmt::format("migrate: verify: reading, {} files, {}", util::format_count(progress.verify.content.files.load()),
                             util::format_bytes(progress.verify.content.bytes.load()));
        }
        const auto& p = progress.pass;
        if (p.phase.load() == 0)
          return fmt::format("migrate: listing, {} entries", util::format_count(p.walk.entries.load()));
        if (p.phase.load() == 2) return std::string("migrate: setting directory metadata");
        const uint64_t bytes = p.bytes_done.load();
        const uint64_t total = p.bytes_total.load();
        return fmt::format("migrate: {} / {} files, {} / {}{}", util::format_count(p.files_done.load()),
                           util::format_count(p.files_total.load()), util::format_bytes(bytes),
                           util::format_bytes(total), eta_text(bytes, total, s));
      },
      show_progress(args.common));
  const migrate::MigrateReport report = migrate::run_migrate(o, &progress);
  ticker.stop();

  ErrorLines errors;
  for (const auto& p : report.passes)
    for (const auto& e : p.errors) errors.emplace_back(e.path, e.op, e.message);
  if (report.verify)
    for (const auto& e : report.verify->errors) errors.emplace_back(e.path, e.op, e.message);
  print_errors(errors);
  if (!report.failure.empty()) std::fprintf(stderr, "wsdedup: migrate: %s\n", report.failure.c_str());

  if (args.common.json) {
    nlohmann::ordered_json doc = migrate::migrate_to_json(report);
    if (args.common.stats) doc["stats"]["peak_rss_bytes"] = peak_rss_bytes();
    std::fputs(report::dump_json(doc).c_str(), stdout);
  } else {
    std::string text =
        migrate::render_migrate_text(report, args.common.bytes ? util::ExactBytes::yes : util::ExactBytes::no);
    if (args.common.stats) text += fmt::format("peak memory: {}\n", util::format_bytes(peak_rss_bytes()));
    std::fputs(text.c_str(), stdout);
  }
  return report.exit_code;
}

} // namespace

void register_migrate_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<MigrateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "migrate", "Copy SRC into a folder or ZFS dataset preserving everything, verify, and with --apply "
                 "switch SRC over to it (bind mount + fstab)");
  cmd->add_option("src", args->src, "The tree to migrate")->required()->type_name("SRC");
  cmd->add_option("--to", args->options.to, "Target: a folder, or zfs:POOL/NAME (created when missing)")
      ->required()
      ->type_name("TARGET");
  cmd->add_option("--threads,-j", args->common.threads,
                  "Worker threads (default: one per core; walks also keep up to 16 requests "
                  "waiting on the disk)")
      ->type_name("N");
  cmd->add_flag("--cross-fs", args->common.cross_fs, "Descend into other filesystems mounted below SRC");
  cmd->add_option("--exclude", args->common.excludes, "Skip entries matching GLOB (repeatable)")
      ->type_name("GLOB")
      ->take_all()
      ->allow_extra_args(false);
  add_output_options(*cmd, args->common);
  cmd->add_flag("--apply", args->apply,
                "After the bulk copy: --stop-cmd, final pass, verify, switch-over (bind mount, fstab), --start-cmd");
  cmd->add_flag("--dry-run", args->dry_run, "Print the runbook with the real numbers; touch nothing");
  cmd->add_option("--stop-cmd", args->options.stop_cmd, "Stops the service before the final pass (/bin/sh -c)")
      ->type_name("CMD");
  cmd->add_option("--start-cmd", args->options.start_cmd,
                  "Starts the service at the end, also after a failure (/bin/sh -c)")
      ->type_name("CMD");
  cmd->add_option("--plan", args->options.plan_file, "A saved `wsdedup estimate --json`: dataset properties and the "
                                                     "expected ratio / DDT RAM for --dry-run")
      ->type_name("FILE");
  cmd->add_option("--dedup", args->options.dedup, "dedup property of a new dataset (default on)")->type_name("VALUE");
  cmd->add_option("--compression", args->options.compression, "compression of a new dataset (default lz4)")
      ->type_name("VALUE");
  cmd->add_option("--recordsize", args->options.recordsize, "recordsize of a new dataset")->type_name("SIZE");
  cmd->add_option("--fstab", args->options.fstab_path, "The fstab to edit (default /etc/fstab)")->type_name("PATH");
  cmd->add_flag("--no-fstab", args->no_fstab, "Do not persist the bind mount in fstab");
  cmd->add_flag("--no-verify", args->no_verify, "Without --apply: copy only, skip the verify step");
  cmd->add_option("--priority", args->priority,
                  "idle (default: idle I/O class and nice 10, the service keeps the disk) or normal")
      ->type_name("idle|normal");
  cmd->add_option("--audit-log", args->options.audit_log,
                  "Audit log (JSON lines; default /var/log/wsdedup/audit.jsonl as root)")
      ->type_name("PATH");
  cmd->final_callback([args, &exit_code] { exit_code = run_migrate(*args); });
}

} // namespace wsd::cli
