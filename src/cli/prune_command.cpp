// `wsdedup prune ROOT`: retention of workspaces by status, age and count; reports what
// deleting them really frees; deletes only with --apply (DESIGN.md invariants 5, 7, 8).

#include "fs/run_guard.hpp"
#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "fs/in_use.hpp"
#include "fs/inode_table.hpp"
#include "fs/safe_open.hpp"
#include "prune/audit_log.hpp"
#include "prune/executor.hpp"
#include "prune/exclusive.hpp"
#include "prune/policy.hpp"
#include "prune/prune_render.hpp"
#include "prune/workspace_scan.hpp"
#include "report/json_path.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <dirent.h>
#include <unordered_map>

namespace wsd::cli {

namespace {

struct PruneArgs {
  CommonOptions common;
  std::string root;
  std::string status_file;
  std::string statuses;
  std::string older_than;
  std::optional<size_t> keep;
  bool apply = false;
  std::string audit_log;
  std::string workspaces;
  unsigned depth = 0;
};

prune::Policy make_policy(const PruneArgs& args) {
  prune::Policy p;
  if (args.status_file.empty() != args.statuses.empty())
    throw util::Fatal("--status-file and --status go together: the file maps workspaces to "
                      "statuses, --status lists the statuses to delete (e.g. done,archived)");
  if (!args.status_file.empty()) {
    p.status_file = args.status_file;
    p.statuses = prune::load_status_file(args.status_file);
    p.delete_statuses = prune::parse_status_list(args.statuses);
  }
  if (!args.older_than.empty()) p.older_than_seconds = util::parse_duration_seconds(args.older_than);
  p.keep_newest = args.keep;
  if (!p.statuses && !p.older_than_seconds && !p.keep_newest)
    throw util::Fatal("prune needs a policy: --status-file with --status, --older-than, --keep "
                      "(together: a workspace must meet every rule to go)");
  return p;
}

int run_prune(const PruneArgs& args) {
  const prune::Policy policy = make_policy(args); // a bad status file stops here: nothing done
  const fs::RootSet roots({args.root});
  std::unique_ptr<prune::AuditLog> audit;
  if (args.apply) {
    fs::lock_roots(roots); // held until `roots` closes: one destructive run per tree
    audit = std::make_unique<prune::AuditLog>(args.audit_log.empty() ? prune::AuditLog::default_path()
                                                                      : args.audit_log);
    fs::lower_priority();
  }
  fs::WalkOptions walk = make_walk_options(args.common);
  walk.cross_fs = false;
  const prune::WorkspaceScan scan = prune::scan_workspaces(
      roots, walk, args.workspaces.empty() ? std::nullopt : std::optional<std::string>(args.workspaces),
      args.depth > 0 ? std::optional<unsigned>(args.depth) : std::nullopt);

  prune::PruneReport report;
  report.root = roots[0].display;
  report.apply = args.apply;
  report.policy = &policy;
  report.scan = &scan;
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  report.decisions = prune::apply_policy(policy, scan, now_ns);
  std::vector<bool> selected;
  for (const auto& d : report.decisions) selected.push_back(d.selected);
  report.exclusive = prune::exclusive_bytes(roots, scan, selected, false);
  report.notes = report.exclusive.notes;

  // Who uses the selected workspaces: every inode in them, matched by (dev, ino).
  std::unordered_map<fs::InodeKey, uint32_t, fs::InodeKeyHash> owner;
  for (const auto& rec : scan.inodes)
    if (rec.workspace != UINT32_MAX && selected[rec.workspace]) owner.emplace(fs::InodeKey{rec.dev, rec.ino}, rec.workspace);
  const auto users_of = [&](std::optional<uint32_t> only) {
    std::vector<std::vector<fs::ProcessUse>> per(scan.workspaces.size());
    if (owner.empty()) return per;
    for (auto& u : fs::find_process_uses([&](uint64_t dev, uint64_t ino) {
           const auto it = owner.find({dev, ino});
           return it != owner.end() && (!only || it->second == *only);
         }))
      per[owner.at({u.dev, u.ino})].push_back(std::move(u));
    return per;
  };
  report.users = users_of(std::nullopt);
  report.outcomes.resize(scan.workspaces.size());

  if (args.apply) {
    report.audit_log = audit->path();
    prune::PruneExecutor executor(roots, *audit);
    report.leftovers = executor.finish_leftovers();
    for (size_t i = 0; i < scan.workspaces.size(); ++i) {
      if (!selected[i] || !report.users[i].empty() || scan.workspaces[i].errors ||
          !scan.workspaces[i].protected_entries.empty())
        continue;
      report.outcomes[i] = executor.remove_workspace(scan.workspaces[i], [&] {
        auto now = users_of(static_cast<uint32_t>(i));
        report.users[i] = now[i];
        return prune::describe_users(now[i]);
      });
    }
  } else if (scan.trash_exists) {
    // Report leftovers without touching them (the trash is ours: list it read-only).
    auto trash = fs::open_child(roots[0].fd.get(), prune::k_trash_name, true);
    if (trash) {
      if (DIR* dir = ::fdopendir(trash->release())) {
        while (const dirent* d = ::readdir(dir)) {
          const std::string n = d->d_name;
          if (n != "." && n != "..") report.pending_leftovers.push_back(n);
        }
        ::closedir(dir);
      }
    }
  }

  std::vector<std::tuple<std::string, std::string, std::string>> errors;
  for (const auto& e : scan.errors) errors.emplace_back(e.path, e.op, e.message);
  for (const auto& e : report.exclusive.errors) errors.emplace_back(e.path, e.op, e.message);
  print_errors(errors);
  if (args.common.json) {
    std::fputs(report::dump_json(prune::prune_to_json(report)).c_str(), stdout);
  } else {
    std::fputs(prune::render_prune_text(report, args.common.bytes ? util::ExactBytes::yes : util::ExactBytes::no)
                   .c_str(),
               stdout);
  }
  return prune::prune_had_errors(report) ? static_cast<int>(util::ExitCode::fatal)
                                         : static_cast<int>(util::ExitCode::ok);
}

} // namespace

void register_prune_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<PruneArgs>();
  CLI::App* cmd = app.add_subcommand(
      "prune", "Retention: choose finished/old workspaces, report what deleting them frees, "
               "delete only with --apply");
  cmd->add_option("root", args->root, "The directory holding the workspaces")->required()->type_name("ROOT");
  cmd->add_option("--status-file", args->status_file,
                  "JSON object mapping workspace name (root-relative) to its status")
      ->type_name("FILE");
  cmd->add_option("--status", args->statuses, "Statuses to delete, comma-separated (e.g. done,archived)")
      ->type_name("LIST");
  cmd->add_option("--older-than", args->older_than,
                  "Only workspaces where nothing changed for this long (e.g. 30d, 12h)")
      ->type_name("DURATION");
  cmd->add_option("--keep", args->keep, "Never delete the N most recently changed workspaces")->type_name("N");
  cmd->add_flag("--apply", args->apply, "Really delete (default: report only)");
  cmd->add_option("--audit-log", args->audit_log,
                  "Audit log (JSON lines) for --apply (default: /var/log/wsdedup/audit.jsonl as root)")
      ->type_name("FILE");
  cmd->add_option("--workspaces", args->workspaces,
                  "Root-relative glob naming the workspace directories (default: direct children)")
      ->type_name("GLOB");
  cmd->add_option("--depth", args->depth, "Workspaces are the directories at this depth")->type_name("N");
  cmd->add_option("--threads,-j", args->common.threads,
                  "Worker threads (default: one per core; walks also keep up to 16 requests "
                  "waiting on the disk)")
      ->type_name("N");
  cmd->add_option("--exclude", args->common.excludes, "Skip entries matching GLOB (repeatable)")
      ->type_name("GLOB")
      ->take_all()
      ->allow_extra_args(false);
  add_output_options(*cmd, args->common);
  cmd->final_callback([args, &exit_code] { exit_code = run_prune(*args); });
}

} // namespace wsd::cli
