#include "dedupe/executor.hpp"

#include "dedupe/replace_path.hpp"
#include "dedupe/temp_names.hpp"
#include "dupes/listed_opener.hpp"
#include "fs/dedupe_ioctl.hpp"
#include "fs/extents.hpp"
#include "fs/safe_open.hpp"
#include "report/json_path.hpp"
#include "util/pause_point.hpp"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace wsd::dedupe {

std::string_view mode_name(Mode mode) {
  switch (mode) {
  case Mode::automatic: return "auto";
  case Mode::reflink: return "reflink";
  case Mode::clone: return "clone";
  case Mode::hardlink: return "hardlink";
  }
  return "auto";
}

bool matches_path_or_parent(const util::Glob& glob, std::string_view rel_path) {
  if (glob.matches(rel_path, false)) return true;
  for (std::string_view dir = dir_name(rel_path); !dir.empty(); dir = dir_name(dir))
    if (glob.matches(dir, true)) return true;
  return false;
}

std::vector<uint64_t> free_bytes(const fs::RootSet& roots) {
  std::vector<uint64_t> out;
  for (const auto& r : roots.roots()) {
    ::syncfs(r.fd.get());
    struct statvfs sv {};
    out.push_back(::fstatvfs(r.fd.get(), &sv) == 0 ? static_cast<uint64_t>(sv.f_bfree) * sv.f_frsize : 0);
  }
  return out;
}

namespace {

// One filesystem's resolved mode.
struct FsPlan {
  Mode mode = Mode::automatic;
  bool preview_only = false; // nothing can be shared: report what hardlinks would save
  std::string unsupported;   // non-empty: the requested mode does not work here
  size_t report_index = 0;
};

// One group's reflink work, queued by the sequential planning pass.
struct ReflinkJob {
  uint32_t keeper = 0;
  std::vector<uint32_t> targets; // file indexes
  uint64_t size = 0;
  bool extents_known = false; // the finder compared the members' extents
};

// What one reflink job did, merged into the report in queue order.
struct JobOutcome {
  std::vector<Skip> skipped;
  uint64_t files_shared = 0;
  uint64_t bytes_shared = 0;
  uint64_t already_shared = 0;
  uint64_t rows_dropped = 0;
};

// Jobs a worker claims at a time (consecutive in path order).
constexpr size_t k_jobs_per_claim = 8;

class Executor {
public:
  Executor(const fs::RootSet& roots, const scan::FileList& list, const ExecutorOptions& options)
      : m_roots(roots), m_list(list), m_options(options),
        m_rows(options.dry_run == DryRun::yes ? nullptr : options.catalog, roots, options.run_start_ns),
        m_opener(roots, list, options.cross_fs, 256) {}

  ExecutionReport run(const dupes::DuplicateSet& dupes) {
    m_dupes = &dupes;
    m_report.inline_files = dupes.stats.inline_unread; // never read (FinderOptions::inline_files)
    const bool dry = m_options.dry_run == DryRun::yes;
    const std::vector<uint64_t> before = dry ? std::vector<uint64_t>()
                                         : m_options.free_before.size() == m_roots.size() ? m_options.free_before
                                                                                          : free_bytes(m_roots);
    // Groups in path order of their first member: consecutive groups then open files in the
    // same directories (one package across workspaces), whose descriptors the opener caches.
    std::vector<uint32_t> by_path(dupes.groups.size());
    for (uint32_t gi = 0; gi < by_path.size(); ++gi) by_path[gi] = gi;
    std::sort(by_path.begin(), by_path.end(), [&](uint32_t a, uint32_t b) {
      return dupes.groups[a].files[0] < dupes.groups[b].files[0];
    });
    for (const uint32_t gi : by_path) run_group(dupes.groups[gi]);
    m_opener.clear();
    run_reflink_jobs();
    if (m_options.audit) m_options.audit->flush(); // the last confirmations
    m_rows.finish();
    m_report.catalog_rows.files += m_rows.stats().files;
    m_report.catalog_rows.rows += m_rows.stats().rows;
    m_report.catalog_rows.dropped += m_rows.stats().dropped;
    if (!dry) {
      const std::vector<uint64_t> after = free_bytes(m_roots);
      std::map<uint64_t, bool> seen_dev; // count each filesystem once
      for (size_t r = 0; r < m_roots.size(); ++r) {
        if (seen_dev[m_roots[r].st.dev]) continue;
        seen_dev[m_roots[r].st.dev] = true;
        m_report.bytes_reclaimed += static_cast<int64_t>(after[r]) - static_cast<int64_t>(before[r]);
        for (FsReport& f : m_report.filesystems)
          if (f.root == m_roots[r].display) {
            f.free_before = before[r];
            f.free_after = after[r];
          }
      }
    }
    if (m_journal.is_open()) m_report.journal_path = m_journal.path();
    return std::move(m_report);
  }

private:
  const scan::FileEntry& file(uint32_t i) const { return m_list.files[i]; }
  std::string rel_path(uint32_t i) const { return m_list.rel_path(i); }
  std::string display(uint32_t i) const { return m_roots.display_path(file(i).root, rel_path(i)); }
  void skip(uint32_t i, std::string reason) { m_report.skipped.push_back({display(i), std::move(reason)}); }

  bool wanted(uint32_t i) const {
    if (is_temp_name(m_list.name(i))) return false;
    if (m_options.only.empty()) return true;
    const std::string rel = rel_path(i);
    for (const auto& g : m_options.only)
      if (matches_path_or_parent(g, rel)) return true;
    return false;
  }
  bool immutable(uint32_t i) const {
    const std::string rel = rel_path(i);
    for (const auto& g : m_options.immutable)
      if (matches_path_or_parent(g, rel)) return true;
    return false;
  }

  // The mode for the filesystem of file `i`, probing it once.
  FsPlan& plan_for(uint32_t i) {
    const uint64_t dev = file(i).st.dev;
    auto it = m_plans.find(dev);
    if (it != m_plans.end()) return it->second;
    FsPlan plan;
    FsReport rep;
    rep.root = m_roots[file(i).root].display;
    rep.mode = m_options.mode;
    fs::ShareCapability cap;
    auto dir = fs::open_beneath(m_roots[file(i).root].fd.get(), m_list.paths.dir_path(file(i).dir), true, m_options.cross_fs);
    if (dir) {
      rep.kind = std::string(fs::fs_kind_name(fs::fs_kind(dir->get())));
      if (m_options.mode != Mode::hardlink) cap = fs::probe_share_capability(dir->get());
    }
    rep.dedupe_range = cap.dedupe_range;
    auto why = [](int err) {
      return err == ENOSPC ? std::string("filesystem full: the 64 KiB capability probe could not be written")
                           : util::errno_text(err);
    };
    rep.clone = cap.clone;
    switch (m_options.mode) {
    case Mode::automatic:
      plan.mode = cap.dedupe_range ? Mode::reflink : cap.clone ? Mode::clone : Mode::hardlink;
      plan.preview_only = !cap.dedupe_range && !cap.clone;
      if (plan.preview_only)
        m_report.notes.push_back(fmt::format(
            "{} ({}): no FIDEDUPERANGE or FICLONE; showing what hardlinks would save, changing "
            "nothing (hardlinks need --mode hardlink --immutable GLOB)",
            rep.root, rep.kind));
      break;
    case Mode::reflink:
      plan.mode = Mode::reflink;
      if (!cap.dedupe_range)
        plan.unsupported = fmt::format("FIDEDUPERANGE not supported here ({})", why(cap.dedupe_err));
      break;
    case Mode::clone:
      plan.mode = Mode::clone;
      if (!cap.clone) plan.unsupported = fmt::format("FICLONE not supported here ({})", why(cap.clone_err));
      break;
    case Mode::hardlink:
      plan.mode = Mode::hardlink;
      break;
    }
    rep.mode = plan.mode;
    rep.preview_only = plan.preview_only;
    plan.report_index = m_report.filesystems.size();
    m_report.filesystems.push_back(rep);
    return m_plans.emplace(dev, plan).first->second;
  }

  void run_group(const dupes::DuplicateGroup& g) {
    // Per filesystem: members of one device only can share.
    std::map<uint64_t, std::vector<uint32_t>> by_dev; // dev -> member indexes in g
    for (uint32_t m = 0; m < g.files.size(); ++m)
      if (wanted(g.files[m])) by_dev[file(g.files[m]).st.dev].push_back(m);
    for (auto& [dev, members] : by_dev) {
      if (members.size() < 2) continue;
      m_report.groups++;
      const FsPlan& plan = plan_for(g.files[members[0]]);
      run_subgroup(g, members, plan);
    }
  }

  void run_subgroup(const dupes::DuplicateGroup& g, const std::vector<uint32_t>& members, const FsPlan& plan) {
    const bool hardlink = plan.mode == Mode::hardlink && !plan.preview_only;
    // The keeper: the first member (hardlink mode: the first under --immutable).
    size_t k = 0;
    if (hardlink) {
      while (k < members.size() && !immutable(g.files[members[k]])) ++k;
      if (k == members.size()) {
        for (uint32_t m : members) skip(g.files[m], "not under --immutable");
        return;
      }
    }
    const uint32_t km = members[k];
    const uint32_t keeper = g.files[km];
    std::vector<uint32_t> targets;
    for (size_t x = 0; x < members.size(); ++x) {
      if (x == k) continue;
      const uint32_t m = members[x];
      if (!hardlink && g.shared_with(m) == g.shared_with(km)) {
        m_report.already_shared++;
        continue;
      }
      if (!hardlink && (g.is_inline(m) || g.is_inline(km))) {
        m_report.inline_files++;
        continue;
      }
      // All holes (e.g. a sparse swap image): no storage of its own to share or free; sharing
      // it anyway would repeat on every run.
      if (!hardlink && file(g.files[m]).st.allocated_bytes() == 0) continue;
      if (hardlink && !immutable(g.files[m])) {
        skip(g.files[m], "not under --immutable");
        continue;
      }
      targets.push_back(m);
      // Storage freed: each distinct storage once (members already sharing with another
      // target free nothing more).
      if (g.shared_with(m) == m) {
        uint64_t alloc = file(g.files[m]).st.allocated_bytes();
        // Invariant 9: what a snapshot (or a reflink elsewhere) also references stays allocated.
        const uint64_t held = std::min(alloc, m_dupes->held_bytes(g.files[m]));
        alloc -= held;
        if (plan.preview_only) {
          m_report.hardlink_preview_bytes += alloc;
        } else {
          m_report.bytes_planned += alloc;
          m_report.bytes_held += held;
        }
      }
    }
    if (targets.empty() || plan.preview_only || m_options.dry_run == DryRun::yes) return;
    if (!plan.unsupported.empty()) {
      for (uint32_t m : targets) skip(g.files[m], plan.unsupported);
      return;
    }
    if (plan.mode == Mode::reflink) {
      // Run later, on the worker threads (run_reflink_jobs).
      ReflinkJob job;
      job.keeper = keeper;
      job.size = g.size;
      // The finder compared every member's extents moments ago (already shared, inline):
      // FIEMAP again only when it did not (sharing not checked, or no FIEMAP there).
      job.extents_known = !g.shares_with.empty();
      for (uint32_t m : targets) job.targets.push_back(g.files[m]);
      m_jobs.push_back(std::move(job));
      return;
    }
    auto kfd = m_opener.open(keeper);
    if (!kfd) {
      const std::string why = kfd.error() == ESTALE ? "keeper changed since it was hashed"
                                                    : reason_for_errno("open keeper", kfd.error());
      for (uint32_t m : targets) skip(g.files[m], why);
      return;
    }
    // Hardlink: the keeper's ctime changes with each link; leased before the first compare,
    // its row can be written afterwards (dedupe/catalog_rows.hpp).
    const bool keeper_leased = plan.mode == Mode::hardlink && m_rows.enabled() && fs::take_write_lease(kfd->get()) == 0;
    bool keeper_vouched = false; // a trusted target was found equal and linked
    for (uint32_t m : targets) {
      const uint32_t t = g.files[m];
      if (plan.mode == Mode::clone || plan.mode == Mode::hardlink)
        if (replace_one(kfd->get(), keeper, t, plan.mode, g) && m_rows.source_trusted(file(t).st)) keeper_vouched = true;
    }
    if (plan.mode == Mode::hardlink && keeper_vouched) {
      fs::FileStat now;
      if (keeper_leased && fs::stat_fd(kfd->get(), now) == 0) m_rows.add(std::move(*kfd), now, g, rel_path(keeper));
      else m_report.catalog_rows.dropped++;
    } else if (keeper_leased) {
      fs::release_lease(kfd->get());
    }
  }

  // Runs the queued reflink jobs on up to options.threads threads (0: one per core). Jobs touch
  // disjoint files (each file is in one group), so their FIDEDUPERANGE calls are independent;
  // each thread has its own opener, and each job's outcome is merged in queue order, so the
  // report reads as if the jobs had run one after another.
  void run_reflink_jobs() {
    if (m_jobs.empty()) return;
    std::vector<JobOutcome> outcomes(m_jobs.size());
    unsigned n = m_options.threads != 0 ? m_options.threads : std::max(1u, std::thread::hardware_concurrency());
    n = static_cast<unsigned>(std::min<size_t>(n, (m_jobs.size() + k_jobs_per_claim - 1) / k_jobs_per_claim));
    // Descriptors per thread: its directory cache plus one batch of targets; the cache shrinks
    // so that all threads stay within half the descriptor limit.
    size_t dir_capacity = 256;
    if (struct rlimit lim {}; ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
      const size_t budget = static_cast<size_t>(lim.rlim_cur) / 2;
      n = static_cast<unsigned>(std::clamp<size_t>(budget / (fs::k_max_dedupe_targets + 8), 1, n));
      const size_t per_thread = budget / n;
      dir_capacity = std::clamp<size_t>(per_thread > fs::k_max_dedupe_targets ? per_thread - fs::k_max_dedupe_targets : 0,
                                        8, 256);
    }
    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex error_mutex;
    std::exception_ptr error;
    auto work = [&] {
      try {
        dupes::ListedOpener opener(m_roots, m_list, m_options.cross_fs, dir_capacity);
        // Consecutive jobs (path order) per claim: they open files in the same directories.
        while (!stop.load(std::memory_order_relaxed)) {
          const size_t first = next.fetch_add(k_jobs_per_claim);
          if (first >= m_jobs.size()) break;
          for (size_t j = first; j < std::min(m_jobs.size(), first + k_jobs_per_claim); ++j)
            run_reflink_job(m_jobs[j], opener, outcomes[j]);
        }
      } catch (...) { // Fatal (the audit log cannot be written): stop every thread, rethrow below
        stop = true;
        const std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    };
    if (n <= 1) {
      work();
    } else {
      std::vector<std::thread> threads;
      for (unsigned t = 0; t < n; ++t) threads.emplace_back(work);
      for (auto& t : threads) t.join();
    }
    if (error) std::rethrow_exception(error);
    for (JobOutcome& o : outcomes) {
      for (Skip& sk : o.skipped) m_report.skipped.push_back(std::move(sk));
      m_report.files_shared += o.files_shared;
      m_report.bytes_shared += o.bytes_shared;
      m_report.already_shared += o.already_shared;
      m_report.catalog_rows.dropped += o.rows_dropped;
    }
    m_jobs.clear();
  }

  // One group's reflink work (any thread): opens the keeper, then one batch per
  // k_max_dedupe_targets targets.
  void run_reflink_job(const ReflinkJob& job, dupes::ListedOpener& opener, JobOutcome& out) {
    auto kfd = opener.open(job.keeper);
    if (!kfd) {
      const std::string why = kfd.error() == ESTALE ? "keeper changed since it was hashed"
                                                    : reason_for_errno("open keeper", kfd.error());
      for (uint32_t t : job.targets) out.skipped.push_back({display(t), why});
      return;
    }
    std::vector<fs::Extent> keeper_extents;
    if (!job.extents_known)
      if (auto e = fs::read_extents(kfd->get(), fs::SyncFirst::yes)) keeper_extents = std::move(*e);
    const std::span<const uint32_t> files(job.targets);
    for (size_t b = 0; b < files.size(); b += fs::k_max_dedupe_targets)
      reflink_batch(kfd->get(), job.extents_known ? nullptr : &keeper_extents,
                    files.subspan(b, std::min(fs::k_max_dedupe_targets, files.size() - b)), job.size, opener, out);
  }

  // Reflink mode for up to k_max_dedupe_targets targets of one keeper: each is opened and
  // checked (identity; extents unless `keeper_extents` is null: the finder checked them),
  // then one FIDEDUPERANGE per chunk covers all of them. The intents are written in one go
  // (under the audit lock, with whatever other threads queued) before the call; the
  // confirmations are queued after it and written with the next flush (or at the end).
  void reflink_batch(int keeper_fd, const std::vector<fs::Extent>* keeper_extents,
                     std::span<const uint32_t> files, uint64_t size, dupes::ListedOpener& opener,
                     JobOutcome& out) {
    std::vector<util::Fd> fds;
    std::vector<uint32_t> which;
    std::vector<fs::DedupeTarget> dts;
    std::vector<std::string> paths;
    std::vector<std::string> intents; // rendered here, appended under the audit lock
    for (const uint32_t t : files) {
      auto tfd = opener.open(t);
      if (!tfd) {
        out.skipped.push_back({display(t), tfd.error() == ESTALE ? "changed since it was hashed"
                                                                 : reason_for_errno("open", tfd.error())});
        continue;
      }
      util::pause_point("dedupe.before_share", rel_path(t));
      if (keeper_extents == nullptr) {
        // extents compared by the finder
      } else if (auto te = fs::read_extents(tfd->get(), fs::SyncFirst::yes)) {
        if (fs::same_physical_extents(*keeper_extents, *te)) {
          out.already_shared++;
          continue;
        }
        if (fs::has_inline_extent(*te) || fs::has_inline_extent(*keeper_extents)) {
          out.skipped.push_back({display(t), "inline extent (stored in metadata, cannot be shared)"});
          continue;
        }
      }
      paths.push_back(display(t));
      // Two audit lines per file: written with fmt, not built as JSON trees (the same text).
      std::string members = R"("action":"dedupe_range","phase":"intent","path":)";
      report::append_path_json(members, paths.back());
      members += fmt::format(R"(,"bytes":{})", size);
      intents.push_back(m_options.audit->render_members(members));
      dts.push_back({tfd->get(), {}});
      fds.push_back(std::move(*tfd));
      which.push_back(t);
    }
    if (dts.empty()) return;
    {
      // Every intent (and earlier confirmation) on file before the call.
      const std::lock_guard lock(m_audit_mutex);
      for (const std::string& line : intents) m_options.audit->append_text(line, util::Durability::batched);
      m_options.audit->flush();
    }
    util::pause_point("dedupe.before_dedupe_call", rel_path(which[0]));
    fs::dedupe_ranges(keeper_fd, dts, size);
    std::vector<std::string> confirmations;
    for (size_t k = 0; k < dts.size(); ++k) {
      const fs::DedupeResult& r = dts[k].result;
      const uint32_t t = which[k];
      // The confirmation: "phase" done (written with fmt, the common case), differs or failed.
      std::string members = R"("action":"dedupe_range","path":)";
      report::append_path_json(members, paths[k]);
      members += fmt::format(R"(,"bytes_deduped":{},"phase":)", r.bytes_deduped);
      switch (r.status) {
      case fs::DedupeStatus::shared:
        members += R"("done")";
        if (const std::string moved = changed_during_call(fds[k].get(), t, r.bytes_deduped); !moved.empty()) {
          members += R"(,"changed":)" + json_text(moved);
          out.skipped.push_back({paths[k], moved});
          if (m_rows.enabled()) out.rows_dropped++;
          break;
        }
        // Unchanged identity (the one fstat above): the rows of the hashing pass stay valid.
        out.files_shared++;
        out.bytes_shared += size;
        break;
      case fs::DedupeStatus::differs:
        members += R"("differs")";
        out.skipped.push_back({paths[k], "content differs (the kernel compared different bytes: changed since it was hashed)"});
        break;
      case fs::DedupeStatus::error:
        members += R"("failed","error":)" + json_text(util::errno_text(r.err));
        out.skipped.push_back({paths[k], reason_for_errno("FIDEDUPERANGE", r.err, fds[k].get())});
        break;
      }
      confirmations.push_back(m_options.audit->render_members(members));
    }
    const std::lock_guard lock(m_audit_mutex);
    for (const std::string& line : confirmations) m_options.audit->append_text(line, util::Durability::batched);
  }

  static std::string json_text(const std::string& text) {
    return nlohmann::ordered_json(text).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }

  // True when `t` now shares the keeper's storage.
  bool replace_one(int keeper_fd, uint32_t keeper, uint32_t t, Mode mode, const dupes::DuplicateGroup& g) {
    m_rows.poll();
    const scan::FileEntry& f = file(t);
    ReplaceTarget target{f.root, rel_path(t), f.st};
    util::JsonLinesLog* journal = nullptr;
    nlohmann::ordered_json line;
    if (mode == Mode::hardlink) {
      if (!m_journal.is_open()) m_journal = util::JsonLinesLog(m_options.journal_path);
      journal = &m_journal;
      line = {{"action", "hardlink"},
              {"root", report::path_to_json(root_path(f.root))},
              {"keeper", report::path_to_json(rel_path(keeper))},
              {"dev", file(keeper).st.dev},
              {"keeper_ino", file(keeper).st.ino},
              {"old_ino", f.st.ino}};
    }
    // The keeper's full metadata (owner, group, mode: the list keeps only what hashing needs),
    // from the descriptor ListedOpener checked against the scan.
    fs::FileStat keeper_st;
    if (const int err = fs::stat_fd(keeper_fd, keeper_st); err != 0) {
      skip(t, reason_for_errno("fstat keeper", err));
      return false;
    }
    ReplaceOutcome r = replace_path(m_roots, target, mode == Mode::clone ? ReplaceKind::clone : ReplaceKind::hardlink,
                                          keeper_fd, keeper_st, *m_options.audit, journal, line, m_options.cross_fs);
    if (r.done) {
      m_report.files_shared++;
      m_report.bytes_shared += f.st.size;
      // Clone: a new inode whose bytes were verified equal to the target's under our lease.
      if (mode == Mode::clone && m_rows.enabled()) {
        if (m_rows.source_trusted(f.st)) m_rows.add(std::move(r.new_fd), r.new_st, g, rel_path(t));
      }
      return true;
    }
    skip(t, r.reason);
    return false;
  }

  // Non-empty when the target was written while the kernel shared its range (it grew, or its
  // times moved): the kernel compared under lock, so what it shared was identical and every
  // byte reads as written; the file is reported, not counted as shared.
  std::string changed_during_call(int fd, uint32_t t, uint64_t deduped) {
    fs::FileStat now;
    const fs::FileStat& was = file(t).st;
    if (fs::stat_fd(fd, now) != 0) return {};
    if (now.size != was.size)
      return fmt::format("changed during FIDEDUPERANGE (size {} -> {}): its first {} bytes share the "
                         "keeper's storage, the rest is its own",
                         was.size, now.size, deduped);
    if (now.mtime_ns != was.mtime_ns || now.ctime_ns != was.ctime_ns)
      return "changed during FIDEDUPERANGE (written in place): the kernel shared only the ranges it "
             "found identical under lock";
    return {};
  }

  // The absolute path of a root (for the journal, which --undo reads from anywhere).
  std::string root_path(uint32_t root) const {
    char buf[4096];
    const std::string proc = fmt::format("/proc/self/fd/{}", m_roots[root].fd.get());
    const ssize_t n = ::readlink(proc.c_str(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : m_roots[root].display;
  }

  const fs::RootSet& m_roots;
  const scan::FileList& m_list;
  const ExecutorOptions& m_options;
  std::map<uint64_t, FsPlan> m_plans;
  util::JsonLinesLog m_journal;
  ExecutionReport m_report;
  ChangedRows m_rows;
  std::vector<ReflinkJob> m_jobs;  // reflink work queued by the planning pass
  std::mutex m_audit_mutex;        // the audit log, shared by the reflink threads
  dupes::ListedOpener m_opener;    // keepers and targets, from cached directory descriptors
  const dupes::DuplicateSet* m_dupes = nullptr; // the set being run
};

} // namespace

ExecutionReport execute_dedupe(const fs::RootSet& roots, const scan::FileList& list,
                               const dupes::DuplicateSet& dupes, const ExecutorOptions& options) {
  Executor ex(roots, list, options);
  return ex.run(dupes);
}

} // namespace wsd::dedupe
