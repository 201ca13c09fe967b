#include "migrate/migrate_run.hpp"

#include "migrate/time_granularity.hpp"

#include "fs/roots.hpp"
#include "fs/run_guard.hpp"
#include "migrate/fstab.hpp"
#include "migrate/switch_over.hpp"
#include "report/json_path.hpp"
#include "scan/tree_scan.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/json_lines_log.hpp"
#include "util/pause_point.hpp"
#include "util/units.hpp"
#include "zfs/zfs_tool.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

namespace wsd::migrate {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// `/bin/sh -c cmd` with stdout sent to our stderr (stdout is the report); returns its status.
int run_shell(const std::string& cmd) {
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) throw util::Fatal(util::describe_error("fork", "/bin/sh", errno));
  if (pid == 0) {
    ::dup2(2, 1);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string absolute_path(const std::string& p) {
  std::error_code ec;
  auto abs = std::filesystem::weakly_canonical(std::filesystem::absolute(p), ec);
  if (ec) throw util::Fatal("migrate: cannot resolve \"{}\": {}", p, ec.message());
  std::string s = abs.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool is_within(const std::string& inner, const std::string& outer) {
  return inner == outer || (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
                            (outer == "/" || inner[outer.size()] == '/'));
}

nlohmann::ordered_json read_plan(const std::string& path) {
  const std::string text = util::read_whole_file(path);
  auto doc = nlohmann::ordered_json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("model"))
    throw util::Fatal("--plan \"{}\": not a saved `wsdedup estimate --json` (no \"model\")", path);
  return doc;
}

class Runner {
public:
  Runner(const MigrateOptions& options, MigrateProgress* progress)
      : m_opt(options), m_pass(options.pass), m_progress(progress) {}

  MigrateReport run() {
    m_report.src = absolute_path(m_opt.src);
    m_report.target = m_opt.to;
    m_report.dry_run = m_opt.dry_run == DryRun::yes;
    m_report.apply = m_opt.apply == Apply::yes;
    if (!m_opt.plan_file.empty()) m_plan = read_plan(m_opt.plan_file);
    if (m_report.dry_run) return dry_run();

    const fs::RootSet src_root({m_report.src});
    const bool destructive = m_report.apply;
    if (destructive) fs::lock_roots(src_root); // one run per tree; held until src_root closes
    open_audit();
    if (m_opt.priority == Priority::idle) fs::lower_priority();
    audit({{"action", "start"}, {"src", report::path_to_json(m_report.src)}, {"target", m_opt.to},
           {"apply", destructive}});

    step("target", [&] { return prepare_target(); });
    step("bulk_copy", [&] { return copy_pass(); });
    if (!destructive) {
      if (m_opt.verify == Verify::yes) {
        step("verify", [&] { return verify(); });
        if (!m_report.verify->identical()) m_report.exit_code = 1;
      }
      audit({{"action", "finish"}, {"exit_code", m_report.exit_code}});
      return std::move(m_report);
    }

    bool stopped = false;
    try {
      if (!m_opt.stop_cmd.empty()) {
        stopped = true; // from here on the service must come back, whatever happens
        step("stop", [&] { return command(m_opt.stop_cmd, "stop"); });
      }
      step("final_copy", [&] { return copy_pass(); });
      step("verify", [&] { return verify(); });
      if (!m_report.verify->identical())
        throw util::Fatal("verify found {} differences and {} errors between {} and {}: switch-over refused",
                          m_report.verify->differences.size(), m_report.verify->errors.size(), m_report.src,
                          m_report.copy_dir);
      step("switch_over", [&] { return switch_to_copy(); });
    } catch (const util::Fatal& e) {
      m_report.failure = e.what();
      m_report.exit_code = 2;
    }
    if (stopped || m_opt.stop_cmd.empty()) {
      if (!m_opt.start_cmd.empty()) {
        try {
          step("start", [&] { return command(m_opt.start_cmd, "start"); });
        } catch (const util::Fatal& e) {
          m_report.failure += (m_report.failure.empty() ? "" : "; ") + std::string(e.what());
          m_report.exit_code = 2;
        }
      }
    }
    audit({{"action", "finish"}, {"exit_code", m_report.exit_code}, {"failure", m_report.failure}});
    return std::move(m_report);
  }

private:
  // Runs one step, records it (failed steps too) and rethrows Fatal.
  template <typename F>
  void step(const std::string& name, F&& f) {
    const auto t0 = Clock::now();
    audit({{"action", name}, {"phase", "before"}});
    try {
      std::string detail = f();
      m_report.steps.push_back({name, "done", detail, seconds_since(t0)});
      audit({{"action", name}, {"phase", "after"}, {"detail", detail}});
    } catch (const util::Fatal& e) {
      m_report.steps.push_back({name, "failed", e.what(), seconds_since(t0)});
      audit({{"action", name}, {"phase", "failed"}, {"error", e.what()}});
      throw;
    }
  }

  void open_audit() {
    const std::string path = m_opt.audit_log.empty() ? util::default_log_dir() + "/audit.jsonl" : m_opt.audit_log;
    try {
      m_audit = util::JsonLinesLog(path);
    } catch (const util::Fatal& e) {
      throw util::Fatal("audit log: {} (choose one with --audit-log)", e.what());
    }
    m_report.audit_log = path;
  }

  void audit(nlohmann::ordered_json fields) {
    if (!m_audit.is_open()) return;
    nlohmann::ordered_json line;
    line["command"] = "migrate";
    for (auto& [k, v] : fields.items()) line[k] = v;
    m_audit.append(std::move(line), util::Durability::synced);
  }

  std::string prepare_target() {
    if (const auto ds = zfs::parse_zfs_target(m_opt.to)) {
      m_report.dataset = ds->name;
      std::string detail;
      if (!zfs::dataset_exists(ds->name)) {
        const auto props = dataset_properties(m_opt, m_plan ? &*m_plan : nullptr);
        zfs::create_dataset(ds->name, props);
        detail = "created " + create_command(ds->name, props) + "; ";
      }
      const auto got = zfs::get_properties(ds->name, {"mountpoint", "mounted"});
      const auto mp = got.find("mountpoint");
      if (mp == got.end() || mp->second.empty() || mp->second[0] != '/')
        throw util::Fatal("zfs dataset {} has no mountpoint (mountpoint={})", ds->name,
                          mp == got.end() ? "" : mp->second);
      if (const auto m = got.find("mounted"); m != got.end() && m->second != "yes")
        throw util::Fatal("zfs dataset {} is not mounted", ds->name);
      m_report.copy_dir = mp->second;
      m_requires = mp->second;
      check_not_nested();
      return detail + fmt::format("dataset {} mounted at {}", ds->name, m_report.copy_dir);
    }
    m_report.copy_dir = absolute_path(m_opt.to);
    m_requires = m_report.copy_dir;
    check_not_nested();
    std::error_code ec;
    std::filesystem::create_directories(m_report.copy_dir, ec);
    if (ec) throw util::Fatal("mkdir(\"{}\"): {}", m_report.copy_dir, ec.message());
    return fmt::format("folder {}", m_report.copy_dir);
  }

  void check_not_nested() const {
    if (is_within(m_report.copy_dir, m_report.src) || is_within(m_report.src, m_report.copy_dir))
      throw util::Fatal("migrate: the target {} and SRC {} must not contain each other", m_report.copy_dir,
                        m_report.src);
  }

  std::string copy_pass() {
    if (m_progress != nullptr) {
      m_progress->step = 0;
      m_progress->pass.phase = 0;
      m_progress->pass.files_done = 0;
      m_progress->pass.bytes_done = 0;
    }
    std::string granularity_note;
    if (m_pass.mtime_granularity_ns == 0) {
      const fs::RootSet target({m_report.copy_dir});
      m_pass.mtime_granularity_ns = probe_mtime_granularity(target[0].fd.get());
      m_report.mtime_granularity_ns = m_pass.mtime_granularity_ns;
    }
    if (m_pass.mtime_granularity_ns > 1)
      granularity_note = fmt::format("; the target keeps mtimes to {}: times compared at that granularity",
                                     format_granularity(m_pass.mtime_granularity_ns));
    PassStats stats = run_copy_pass(m_report.src, m_report.copy_dir, m_pass,
                                    m_progress ? &m_progress->pass : nullptr,
                                    [&](std::string_view phase, const std::string& rel) {
                                      audit({{"action", "remove"}, {"phase", phase},
                                             {"path", report::path_to_json(m_report.copy_dir + "/" + rel)}});
                                    });
    std::string detail = fmt::format(
        "{} files ({}) copied, {} links, {} other entries, {} removed, {} unchanged, {} errors",
        util::format_count(stats.files_copied), util::format_bytes(stats.bytes_copied),
        util::format_count(stats.links), util::format_count(stats.specials_created + stats.metadata_fixed),
        util::format_count(stats.removed), util::format_count(stats.unchanged), stats.errors.size());
    detail += granularity_note;
    m_report.passes.push_back(std::move(stats));
    return detail;
  }

  std::string verify() {
    util::pause_point("migrate.verify", m_report.src); // tests change SRC here
    if (m_progress != nullptr) m_progress->step = 1;
    verify::VerifyOptions vo;
    vo.walk = m_opt.pass.walk;
    vo.metadata = verify::CompareMetadata::yes;
    vo.read_threads = m_opt.pass.copy_threads;
    vo.mtime_granularity_ns = std::max<int64_t>(1, m_pass.mtime_granularity_ns);
    m_report.verify = verify::verify_trees(m_report.src, m_report.copy_dir, vo, m_progress ? &m_progress->verify : nullptr);
    const auto& v = *m_report.verify;
    return fmt::format("{} differences, {} errors ({} paths, {} hashed, content and metadata{})",
                       v.differences.size(), v.errors.size(), util::format_count(v.paired),
                       util::format_bytes(v.bytes_hashed),
                       vo.mtime_granularity_ns > 1
                           ? fmt::format("; mtimes compared to {}, what the target keeps",
                                         format_granularity(vo.mtime_granularity_ns))
                           : std::string());
  }

  std::string command(const std::string& cmd, const char* what) {
    const int status = run_shell(cmd);
    if (status != 0) throw util::Fatal("--{}-cmd exited with status {}: {}", what, status, cmd);
    return cmd;
  }

  std::string switch_to_copy() {
    SwitchOptions so;
    so.src = m_report.src;
    so.copy_dir = m_report.copy_dir;
    so.requires_mounts_for = m_requires;
    so.fstab_path = m_opt.fstab_path;
    so.edit_fstab = m_opt.fstab == EditFstab::yes;
    so.timestamp = utc_timestamp();
    const SwitchResult r = switch_over(so, m_opt.pass.walk, [&](nlohmann::ordered_json line) { audit(std::move(line)); });
    m_report.switched = true;
    m_report.old_path = r.old_path;
    m_report.fstab_line = r.fstab_line;
    m_report.fstab_backup = r.fstab_backup;
    return fmt::format("{} moved to {}; {} bind-mounted on {}{}", m_report.src, r.old_path, m_report.copy_dir,
                       m_report.src, so.edit_fstab ? "; fstab updated (backup " + r.fstab_backup + ")" : "");
  }

  static std::string create_command(const std::string& name, const std::vector<std::pair<std::string, std::string>>& props) {
    std::vector<std::string> argv{"zfs", "create", "-p"};
    for (const auto& [k, v] : props) {
      argv.push_back("-o");
      argv.push_back(k + "=" + v);
    }
    argv.push_back(name);
    return zfs::describe_command(argv);
  }

  // The mountpoint a dataset created now would get: the nearest existing ancestor's
  // `mountpoint` (inherited or set; a pool's default is /POOL) plus the rest of the name;
  // "" when that ancestor has none or legacy, or zfs cannot tell.
  static std::string inherited_mountpoint(const std::string& name) {
    std::string ancestor = name;
    while (true) {
      const size_t slash = ancestor.rfind('/');
      if (slash == std::string::npos) return "";
      ancestor.resize(slash);
      try {
        if (!zfs::dataset_exists(ancestor)) continue;
        const std::string mp = zfs::get_properties(ancestor, {"mountpoint"})["mountpoint"];
        if (mp.empty() || mp[0] != '/') return ""; // none, legacy, -
        const std::string rest = name.substr(ancestor.size() + 1);
        return mp == "/" ? "/" + rest : mp + "/" + rest;
      } catch (const util::Fatal&) {
        return "";
      }
    }
  }

  MigrateReport dry_run() {
    scan::ScanOptions so;
    so.walk = m_opt.pass.walk;
    const scan::UsageReport usage = scan::scan_tree(fs::RootSet({m_report.src}), so, nullptr).usage;
    m_report.src_files = usage.total.files;
    m_report.src_dirs = usage.total.dirs;
    m_report.src_logical_bytes = usage.total.logical_bytes;
    m_report.src_allocated_bytes = usage.total.allocated_bytes;
    if (m_plan) {
      nlohmann::ordered_json e;
      const auto& ddt = (*m_plan)["ddt"];
      for (const char* k : {"dedup_ratio", "compress_ratio", "ram_bytes"})
        if (ddt.contains(k)) e[k] = ddt[k];
      for (const char* k : {"before_bytes", "after_bytes"})
        if (m_plan->contains(k)) e[k] = (*m_plan)[k];
      e["model"] = (*m_plan)["model"];
      m_report.plan_estimate = e;
    }
    auto planned = [&](std::string name, std::string detail) {
      m_report.steps.push_back({std::move(name), "planned", std::move(detail), 0});
    };
    std::string requires_for;
    if (const auto ds = zfs::parse_zfs_target(m_opt.to)) {
      m_report.dataset = ds->name;
      bool exists = false;
      std::string mountpoint;
      try {
        exists = zfs::dataset_exists(ds->name);
        if (exists) mountpoint = zfs::get_properties(ds->name, {"mountpoint"})["mountpoint"];
      } catch (const util::Fatal& e) {
        planned("target", fmt::format("cannot ask zfs ({}); would run: {}", e.what(),
                                       create_command(ds->name, dataset_properties(m_opt, m_plan ? &*m_plan : nullptr))));
      }
      if (m_report.steps.empty()) {
        planned("target", exists ? fmt::format("use existing dataset {} mounted at {}", ds->name, mountpoint)
                                 : create_command(ds->name, dataset_properties(m_opt, m_plan ? &*m_plan : nullptr)));
      }
      if (!exists && m_report.steps.size() == 1 && m_report.steps[0].detail.rfind("cannot ask zfs", 0) != 0) {
        mountpoint = inherited_mountpoint(ds->name);
        if (!mountpoint.empty()) m_report.steps[0].detail += fmt::format(" (it will be mounted at {})", mountpoint);
      }
      m_report.copy_dir = mountpoint.empty() ? "<mountpoint of " + ds->name + ">" : mountpoint;
      requires_for = m_report.copy_dir;
    } else {
      m_report.copy_dir = absolute_path(m_opt.to);
      requires_for = m_report.copy_dir;
      check_not_nested();
      planned("target", fmt::format("folder {}", m_report.copy_dir));
    }
    planned("bulk_copy", fmt::format("copy {} files, {} dirs, {} ({} allocated) from {} to {} with {} threads "
                                     "(hardlinks, holes, xattrs, ACLs, owners, modes, times); the service keeps running",
                                     util::format_count(usage.total.files), util::format_count(usage.total.dirs),
                                     util::format_bytes(usage.total.logical_bytes),
                                     util::format_bytes(usage.total.allocated_bytes), m_report.src, m_report.copy_dir,
                                     fs::resolve_threads(m_opt.pass.copy_threads)));
    if (m_opt.apply == Apply::no) {
      planned("verify", "compare content and metadata of SRC and the copy, then stop (add --apply to switch over)");
      return std::move(m_report);
    }
    planned("stop", m_opt.stop_cmd.empty() ? "no --stop-cmd: nothing is stopped" : "/bin/sh -c " + m_opt.stop_cmd);
    planned("final_copy", "copy only what changed since the bulk copy");
    planned("verify", "compare content and metadata; refuse to go on if anything differs");
    const std::string ts = utc_timestamp();
    std::string sw = fmt::format("refuse if a process uses {}; rename it to {}.wsdedup-old-{}; mkdir {} (owner, mode "
                                 "of SRC); mount --bind {} {}",
                                 m_report.src, m_report.src, ts, m_report.src, m_report.copy_dir, m_report.src);
    const std::string line = bind_mount_line(m_report.copy_dir, m_report.src, requires_for);
    if (m_opt.fstab == EditFstab::yes)
      sw += fmt::format("; {} gets (backup {}.wsdedup-{}): {}", m_opt.fstab_path, m_opt.fstab_path, ts, line);
    else
      sw += "; fstab left alone (--no-fstab)";
    m_report.fstab_line = line;
    planned("switch_over", sw);
    planned("start", m_opt.start_cmd.empty() ? "no --start-cmd" : "/bin/sh -c " + m_opt.start_cmd);
    return std::move(m_report);
  }

  const MigrateOptions& m_opt;
  PassOptions m_pass; // m_opt.pass with the target's time granularity once probed
  MigrateProgress* m_progress;
  MigrateReport m_report;
  std::optional<nlohmann::ordered_json> m_plan;
  util::JsonLinesLog m_audit;
  std::string m_requires;
};

} // namespace

MigrateReport run_migrate(const MigrateOptions& options, MigrateProgress* progress) {
  return Runner(options, progress).run();
}

std::vector<std::pair<std::string, std::string>> dataset_properties(const MigrateOptions& options,
                                                                    const nlohmann::ordered_json* plan) {
  std::string dedup = options.dedup;
  std::string compression = options.compression;
  std::string recordsize = options.recordsize;
  if (plan != nullptr && plan->contains("model")) {
    const auto& m = (*plan)["model"];
    if (compression.empty() && m.contains("compression") && m["compression"].is_string())
      compression = m["compression"].get<std::string>();
    if (recordsize.empty() && m.contains("recordsize") && m["recordsize"].is_number_unsigned())
      recordsize = std::to_string(m["recordsize"].get<uint64_t>());
  }
  if (dedup.empty()) dedup = "on";
  if (compression.empty()) compression = "lz4";
  std::vector<std::pair<std::string, std::string>> props{{"dedup", dedup}, {"compression", compression}};
  if (!recordsize.empty()) props.emplace_back("recordsize", recordsize);
  return props;
}

} // namespace wsd::migrate
