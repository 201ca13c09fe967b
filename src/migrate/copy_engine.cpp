#include "migrate/copy_engine.hpp"

#include "dedupe/temp_names.hpp"
#include "fs/roots.hpp"
#include "fs/safe_open.hpp"
#include "fs/tree_remove.hpp"
#include "migrate/file_ops.hpp"
#include "migrate/time_granularity.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/pause_point.hpp"
#include "verify/comparer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <span>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <thread>
#include <unordered_set>
#include <unistd.h>

namespace wsd::migrate {

namespace {

using verify::Node;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string_view parent_of(std::string_view rel) { return dedupe::dir_name(rel); }
std::string base_of(std::string_view rel) { return std::string(dedupe::base_name(rel)); }

// The last few directories opened beneath a root (consecutive entries mostly share one; a
// hardlink's primary or a file after a subdirectory's entries comes back to an earlier one).
// For DST directories, what a file created there inherits is probed once per open.
class DirCache {
public:
  struct Dir {
    int fd = -1;
    bool fresh = false;  // created by this pass: nothing to replace, create under the final name
    bool probed = false;
    migrate::FreshState created; // what a file created here gets (after probe())
  };

  DirCache(int root_fd, bool cross_fs, const std::unordered_set<std::string>* fresh = nullptr)
      : m_root_fd(root_fd), m_cross_fs(cross_fs), m_fresh(fresh) {
    m_root.fd = root_fd;
  }

  /// The directory `rel` beneath the root, or null with errno in `err`.
  Dir* get(std::string_view rel, int& err) {
    if (rel.empty()) return &m_root;
    ++m_clock;
    Slot* victim = &m_slots[0];
    for (Slot& slot : m_slots) {
      if (slot.fd.valid() && slot.rel == rel) {
        slot.used = m_clock;
        return &slot.dir;
      }
      if (!slot.fd.valid() || slot.used < victim->used) victim = &slot;
    }
    auto r = fs::open_beneath(m_root_fd, rel, true, m_cross_fs);
    if (!r) {
      err = r.error();
      return nullptr;
    }
    victim->fd = std::move(*r);
    victim->rel.assign(rel);
    victim->used = m_clock;
    victim->dir = Dir{};
    victim->dir.fd = victim->fd.get();
    victim->dir.fresh = m_fresh != nullptr && m_fresh->contains(victim->rel);
    return &victim->dir;
  }

  /// The permission bits a create with `mode` gives (the umask applied).
  static uint32_t after_umask(uint32_t mode) { return mode & ~s_umask; }

  /// Fills `dir.created` but its mode (fstat and flistxattr of the directory); 0 or errno.
  static int probe(Dir& dir, const char*& op) {
    if (dir.probed) return 0;
    struct stat st {};
    if (::fstat(dir.fd, &st) != 0) {
      op = "fstat";
      return errno;
    }
    const ssize_t n = ::flistxattr(dir.fd, nullptr, 0);
    if (n < 0 && errno != ENOTSUP) {
      op = "listxattr";
      return errno;
    }
    static const auto euid = static_cast<uint32_t>(::geteuid());
    static const auto egid = static_cast<uint32_t>(::getegid());
    dir.created.uid = euid;
    dir.created.gid = (st.st_mode & S_ISGID) != 0 ? st.st_gid : egid;
    dir.created.dir_has_xattrs = n > 0;
    dir.probed = true;
    return 0;
  }

  /// Reads the process umask (once, before threads start).
  static void read_umask() {
    const mode_t u = ::umask(0);
    ::umask(u);
    s_umask = static_cast<uint32_t>(u);
  }

private:
  struct Slot {
    std::string rel;
    util::Fd fd;
    uint64_t used = 0;
    Dir dir;
  };
  static constexpr size_t k_slots = 4;
  static inline uint32_t s_umask = 022;

  int m_root_fd;
  bool m_cross_fs;
  const std::unordered_set<std::string>* m_fresh;
  Dir m_root;
  uint64_t m_clock = 0;
  std::array<Slot, k_slots> m_slots;
};

// Whether a failed operation of a file copy was on the DST side (else it was reading SRC).
bool is_dst_op(std::string_view op) {
  for (const std::string_view d : {"pwrite", "ftruncate", "fchown", "fchmod", "setxattr", "removexattr",
                                   "listxattr", "futimens", "copy_file_range"})
    if (op == d) return true;
  return false;
}

enum class WorkKind : uint8_t { copy, fix, create, link };

struct WorkItem {
  WorkKind kind;
  size_t index;       // SRC node
  size_t primary = 0; // for links
};

class Executor {
public:
  Executor(const fs::RootSet& roots, const verify::TreeListing& src, const PassOptions& options,
           PassStats& stats, PassProgress* progress)
      : m_roots(roots), m_src(src), m_options(options), m_stats(stats), m_progress(progress) {
    DirCache::read_umask();
  }

  void remove(const std::vector<std::string>& removals, const RemovalLog& log) {
    DirCache dirs(dst_root(), m_options.walk.cross_fs);
    for (const std::string& rel : removals) {
      int err = 0;
      DirCache::Dir* dir = dirs.get(parent_of(rel), err);
      if (dir == nullptr) {
        add_error(m_errors, 1, parent_of(rel), "open", err);
        continue;
      }
      if (log) log("before", rel);
      fs::RemoveStats rs;
      const bool gone = fs::remove_tree(dir->fd, base_of(rel), rs);
      for (const auto& e : rs.errors)
        m_errors.push_back({fmt::format("{}/{}", m_roots[1].display, e.rel_path), e.op,
                            e.err != 0 ? util::errno_text(e.err) : e.message});
      if (log) log(gone ? "after" : "failed", rel);
      if (gone) ++m_stats.removed;
      m_stats.removed_files += rs.files;
    }
  }

  /// Creates the missing directories (mode 0700 until their metadata is set), one depth level
  /// at a time, the directories of a level on N threads.
  void make_dirs(const std::vector<size_t>& mkdirs) {
    std::vector<size_t> order = mkdirs;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return depth_of(m_src.nodes[a].rel_path) < depth_of(m_src.nodes[b].rel_path);
    });
    size_t begin = 0;
    while (begin < order.size()) {
      const size_t depth = depth_of(m_src.nodes[order[begin]].rel_path);
      size_t end = begin + 1;
      while (end < order.size() && depth_of(m_src.nodes[order[end]].rel_path) == depth) ++end;
      make_dirs_level(std::span<const size_t>(order).subspan(begin, end - begin));
      begin = end;
    }
  }

  void make_dirs_level(std::span<const size_t> dirs) {
    const unsigned threads = std::max(1u, std::min<unsigned>(fs::resolve_threads(m_options.copy_threads),
                                                             static_cast<unsigned>(dirs.size() / 8 + 1)));
    std::atomic<size_t> next{0};
    std::vector<Local> locals(threads);
    std::vector<std::vector<std::string>> made(threads);
    auto worker = [&](unsigned t) {
      Local& local = locals[t];
      DirCache parents(dst_root(), m_options.walk.cross_fs);
      constexpr size_t k_batch = 16; // siblings share their parent's fd
      while (true) {
        const size_t first = next.fetch_add(k_batch);
        if (first >= dirs.size()) break;
        for (size_t k = first; k < std::min(dirs.size(), first + k_batch); ++k) {
          const std::string& rel = m_src.nodes[dirs[k]].rel_path;
          int err = 0;
          DirCache::Dir* dir = parents.get(parent_of(rel), err);
          if (dir == nullptr) {
            add_error(local.errors, 1, parent_of(rel), "open", err);
            continue;
          }
          if (::mkdirat(dir->fd, base_of(rel).c_str(), 0700) != 0) {
            if (errno != EEXIST) add_error(local.errors, 1, rel, "mkdir", errno);
            continue;
          }
          made[t].push_back(rel);
        }
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker, t);
    worker(0);
    for (auto& th : pool) th.join();
    for (unsigned t = 0; t < threads; ++t) {
      m_stats.dirs_created += made[t].size();
      for (std::string& rel : made[t]) m_fresh_dirs.insert(std::move(rel));
      m_errors.insert(m_errors.end(), std::make_move_iterator(locals[t].errors.begin()),
                      std::make_move_iterator(locals[t].errors.end()));
    }
  }

  /// Runs `items` on N threads, in batches of consecutive items (one directory fd serves many).
  void run_parallel(const std::vector<WorkItem>& items) {
    if (items.empty()) return;
    const unsigned threads = std::max(1u, std::min<unsigned>(fs::resolve_threads(m_options.copy_threads),
                                                             static_cast<unsigned>(items.size())));
    std::atomic<size_t> next{0};
    std::vector<Local> locals(threads);
    auto worker = [&](unsigned t) {
      Local& local = locals[t];
      DirCache src_dirs(src_root(), m_options.walk.cross_fs);
      DirCache dst_dirs(dst_root(), m_options.walk.cross_fs, &m_fresh_dirs);
      DirCache link_dirs(dst_root(), m_options.walk.cross_fs);
      constexpr size_t k_batch = 16;
      while (true) {
        const size_t begin = next.fetch_add(k_batch);
        if (begin >= items.size()) break;
        const size_t end = std::min(items.size(), begin + k_batch);
        for (size_t k = begin; k < end; ++k) {
          const WorkItem& item = items[k];
          switch (item.kind) {
          case WorkKind::copy: copy_file(item.index, src_dirs, dst_dirs, local); break;
          case WorkKind::fix: fix_metadata(item.index, dst_dirs, local); break;
          case WorkKind::create: create_special(item.index, dst_dirs, local); break;
          case WorkKind::link: make_link(item.index, item.primary, link_dirs, dst_dirs, local); break;
          }
        }
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker, t);
    worker(0);
    for (auto& th : pool) th.join();
    for (Local& l : locals) {
      m_stats.files_copied += l.files_copied;
      m_stats.bytes_copied += l.copier.bytes;
      m_stats.hole_bytes += l.copier.hole_bytes;
      m_stats.kernel_copies += l.copier.kernel_copies;
      m_stats.metadata_fixed += l.metadata_fixed;
      m_stats.specials_created += l.specials;
      m_stats.links += l.links;
      m_stats.changed_during_copy += l.changed;
      m_errors.insert(m_errors.end(), std::make_move_iterator(l.errors.begin()),
                      std::make_move_iterator(l.errors.end()));
    }
  }

  /// Sets directory metadata, deepest level first (a directory's time is set after its
  /// subdirectories changed); the directories of one level on N threads.
  void dir_metadata(const std::vector<size_t>& dirs) {
    size_t begin = 0;
    while (begin < dirs.size()) {
      const size_t depth = depth_of(m_src.nodes[dirs[begin]].rel_path);
      size_t end = begin + 1;
      while (end < dirs.size() && depth_of(m_src.nodes[dirs[end]].rel_path) == depth) ++end;
      dir_metadata_level(std::span<const size_t>(dirs).subspan(begin, end - begin));
      begin = end;
    }
  }

  std::vector<PassError> take_errors() { return std::move(m_errors); }

private:
  struct Local {
    DataCopier copier;
    uint64_t files_copied = 0;
    uint64_t metadata_fixed = 0;
    uint64_t specials = 0;
    uint64_t links = 0;
    uint64_t changed = 0;
    uint64_t dirs_metadata = 0;
    std::vector<PassError> errors;
  };

  static size_t depth_of(std::string_view rel) {
    return rel.empty() ? 0 : static_cast<size_t>(std::count(rel.begin(), rel.end(), '/')) + 1;
  }

  void dir_metadata_level(std::span<const size_t> dirs) {
    const unsigned threads = std::max(1u, std::min<unsigned>(fs::resolve_threads(m_options.copy_threads),
                                                             static_cast<unsigned>(dirs.size() / 8 + 1)));
    std::atomic<size_t> next{0};
    std::vector<Local> locals(threads);
    auto worker = [&](unsigned t) {
      Local& local = locals[t];
      DirCache parents(dst_root(), m_options.walk.cross_fs);
      while (true) {
        const size_t k = next.fetch_add(1);
        if (k >= dirs.size()) break;
        const Node& s = m_src.nodes[dirs[k]];
        util::Fd own;
        int fd = dst_root();
        if (!s.rel_path.empty()) {
          int err = 0;
          DirCache::Dir* parent = parents.get(parent_of(s.rel_path), err);
          if (parent == nullptr) {
            add_error(local.errors, 1, parent_of(s.rel_path), "open", err);
            continue;
          }
          auto r = fs::open_child(parent->fd, base_of(s.rel_path).c_str(), true);
          if (!r) {
            add_error(local.errors, 1, s.rel_path, "open", r.error());
            continue;
          }
          own = std::move(*r);
          fd = own.get();
        }
        const char* op = "";
        if (const int e = apply_metadata_fd(fd, s.st, s.xattrs, op); e != 0) {
          add_error(local.errors, 1, s.rel_path, op, e);
          continue;
        }
        ++local.dirs_metadata;
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker, t);
    worker(0);
    for (auto& th : pool) th.join();
    for (Local& l : locals) {
      m_stats.dirs_metadata += l.dirs_metadata;
      m_errors.insert(m_errors.end(), std::make_move_iterator(l.errors.begin()),
                      std::make_move_iterator(l.errors.end()));
    }
  }

  int src_root() const { return m_roots[0].fd.get(); }
  int dst_root() const { return m_roots[1].fd.get(); }

  void add_error(std::vector<PassError>& out, size_t root, std::string_view rel, std::string_view op, int err) {
    const std::string display = m_roots.display_path(root, rel);
    out.push_back({display, std::string(op), util::errno_text(err)});
  }

  void done(uint64_t bytes) {
    if (m_progress == nullptr) return;
    m_progress->files_done.fetch_add(1, std::memory_order_relaxed);
    m_progress->bytes_done.fetch_add(bytes, std::memory_order_relaxed);
  }

  // Renames `tmp` over `name` in `dir`, or removes `tmp` and records why not.
  bool install(int dir, const std::string& tmp, const std::string& name, std::string_view rel, Local& local) {
    if (::renameat(dir, tmp.c_str(), dir, name.c_str()) == 0) return true;
    add_error(local.errors, 1, rel, "rename", errno);
    ::unlinkat(dir, tmp.c_str(), 0);
    return false;
  }

  // Copies one regular file: under its final name in a directory this pass created (a kill
  // leaves a file whose mtime is not SRC's yet, so the next pass redoes it), else under a temp
  // name renamed into place.
  void copy_file(size_t i, DirCache& src_dirs, DirCache& dst_dirs, Local& local) {
    const Node& s = m_src.nodes[i];
    const std::string name = base_of(s.rel_path);
    int err = 0;
    DirCache::Dir* sdir = src_dirs.get(parent_of(s.rel_path), err);
    if (sdir == nullptr) return add_error(local.errors, 0, parent_of(s.rel_path), "open", err);
    DirCache::Dir* ddir = dst_dirs.get(parent_of(s.rel_path), err);
    if (ddir == nullptr) return add_error(local.errors, 1, parent_of(s.rel_path), "open", err);
    auto sfd = fs::open_child(sdir->fd, name.c_str(), false);
    if (!sfd) return add_error(local.errors, 0, s.rel_path, "open", sfd.error());
    fs::FileStat st;
    if (const int e = fs::stat_fd(sfd->get(), st); e != 0) return add_error(local.errors, 0, s.rel_path, "fstat", e);
    if (st.dev != s.st.dev || st.ino != s.st.ino || !st.is_regular()) {
      ++local.changed; // replaced since the listing: the next pass sees the new entry
      return;
    }
    const char* op = "";
    // Created with its final permissions when no chown follows (nobody else gets access
    // SRC does not give); else owner-only until chown and chmod.
    if (const int e = DirCache::probe(*ddir, op); e != 0)
      return add_error(local.errors, 1, parent_of(s.rel_path), op, e);
    migrate::FreshState fresh = ddir->created;
    const bool own_owner = st.uid == fresh.uid && st.gid == fresh.gid;
    const uint32_t create_mode = own_owner ? (st.mode & 0777) : 0600;
    fresh.mode = DirCache::after_umask(create_mode);
    const std::string target = ddir->fresh ? name : dedupe::make_temp_name();
    util::Fd dfd(::openat(ddir->fd, target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          static_cast<mode_t>(create_mode)));
    if (!dfd) return add_error(local.errors, 1, s.rel_path, "open", errno);
    int e = copy_file_data(sfd->get(), dfd.get(), st, local.copier, op);
    util::pause_point("migrate.copied", s.rel_path);
    // A directory with xattrs may hand a default ACL (which overrides the umask) or a label
    // to the new file: then the metadata is read back and compared as for an existing file.
    if (e == 0)
      e = fresh.dir_has_xattrs ? apply_metadata_fd(dfd.get(), st, s.xattrs, op)
                               : apply_metadata_fresh(dfd.get(), st, s.xattrs, fresh, op);
    if (e != 0) {
      ::unlinkat(ddir->fd, target.c_str(), 0);
      if (e == ESTALE) {
        ++local.changed;
        return;
      }
      return add_error(local.errors, is_dst_op(op) ? 1 : 0, s.rel_path, op, e);
    }
    dfd.reset();
    if (!ddir->fresh && !install(ddir->fd, target, name, s.rel_path, local)) return;
    fs::FileStat after;
    if (fs::stat_fd(sfd->get(), after) == 0 &&
        (after.size != st.size || after.mtime_ns != st.mtime_ns || after.ctime_ns != st.ctime_ns))
      ++local.changed;
    ++local.files_copied;
    done(st.size);
  }

  void fix_metadata(size_t i, DirCache& dst_dirs, Local& local) {
    const Node& s = m_src.nodes[i];
    int err = 0;
    DirCache::Dir* ddir = dst_dirs.get(parent_of(s.rel_path), err);
    if (ddir == nullptr) return add_error(local.errors, 1, parent_of(s.rel_path), "open", err);
    auto dfd = fs::open_child(ddir->fd, base_of(s.rel_path).c_str(), false);
    if (!dfd) return add_error(local.errors, 1, s.rel_path, "open", dfd.error());
    const char* op = "";
    if (const int e = apply_metadata_fd(dfd->get(), s.st, s.xattrs, op); e != 0)
      return add_error(local.errors, 1, s.rel_path, op, e);
    ++local.metadata_fixed;
    done(0);
  }

  void create_special(size_t i, DirCache& dst_dirs, Local& local) {
    const Node& s = m_src.nodes[i];
    const std::string name = base_of(s.rel_path);
    int err = 0;
    DirCache::Dir* ddir = dst_dirs.get(parent_of(s.rel_path), err);
    if (ddir == nullptr) return add_error(local.errors, 1, parent_of(s.rel_path), "open", err);
    const std::string target = ddir->fresh ? name : dedupe::make_temp_name();
    if (s.st.type == fs::EntryType::symlink) {
      if (::symlinkat(s.link_target.c_str(), ddir->fd, target.c_str()) != 0)
        return add_error(local.errors, 1, s.rel_path, "symlink", errno);
    } else {
      const dev_t rdev = static_cast<dev_t>(s.rdev); // the listing's st_rdev (devices only)
      if (::mknodat(ddir->fd, target.c_str(), (s.st.mode & S_IFMT) | 0600, rdev) != 0)
        return add_error(local.errors, 1, s.rel_path, "mknod", errno);
    }
    const char* op = "";
    if (const int e = apply_metadata_at(ddir->fd, target.c_str(), s.st, s.xattrs, op); e != 0) {
      ::unlinkat(ddir->fd, target.c_str(), 0);
      return add_error(local.errors, 1, s.rel_path, op, e);
    }
    if (!ddir->fresh && !install(ddir->fd, target, name, s.rel_path, local)) return;
    ++local.specials;
    done(0);
  }

  void make_link(size_t i, size_t primary, DirCache& primary_dirs, DirCache& dst_dirs, Local& local) {
    const std::string& rel = m_src.nodes[i].rel_path;
    const std::string& prel = m_src.nodes[primary].rel_path;
    int err = 0;
    DirCache::Dir* pdir = primary_dirs.get(parent_of(prel), err);
    if (pdir == nullptr) return add_error(local.errors, 1, parent_of(prel), "open", err);
    DirCache::Dir* ddir = dst_dirs.get(parent_of(rel), err);
    if (ddir == nullptr) return add_error(local.errors, 1, parent_of(rel), "open", err);
    const std::string target = ddir->fresh ? base_of(rel) : dedupe::make_temp_name();
    if (::linkat(pdir->fd, base_of(prel).c_str(), ddir->fd, target.c_str(), 0) != 0)
      return add_error(local.errors, 1, rel, "link", errno);
    if (!ddir->fresh && !install(ddir->fd, target, base_of(rel), rel, local)) return;
    ++local.links;
    done(0);
  }

  const fs::RootSet& m_roots;
  const verify::TreeListing& m_src;
  const PassOptions& m_options;
  PassStats& m_stats;
  PassProgress* m_progress;
  std::vector<PassError> m_errors;
  std::unordered_set<std::string> m_fresh_dirs; // created by this pass (filled before the copy threads start)
};

verify::Listings list_both(const fs::RootSet& roots, const PassOptions& options, PassStats& stats,
                           fs::WalkProgress* progress) {
  const auto t0 = Clock::now();
  verify::Listings l = verify::list_trees(roots, options.walk, verify::ReadXattrs::yes, progress);
  stats.list_seconds = seconds_since(t0);
  for (auto& e : l.errors) stats.errors.push_back({e.path, e.op, e.message});
  stats.src_entries = l.trees[0].nodes.size();
  return l;
}

int64_t granularity_of(const fs::RootSet& roots, const PassOptions& options) {
  return options.mtime_granularity_ns > 0 ? options.mtime_granularity_ns
                                          : probe_mtime_granularity(roots[1].fd.get());
}

fs::RootSet open_roots(const std::string& src, const std::string& dst) {
  fs::RootSet roots({src, dst});
  if (roots.size() != 2) throw util::Fatal("migrate: SRC and the target are the same directory");
  return roots;
}

} // namespace

CopyPlan plan_pass(const std::string& src, const std::string& dst, const PassOptions& options,
                   PassStats& stats) {
  const fs::RootSet roots = open_roots(src, dst);
  const verify::Listings l = list_both(roots, options, stats, nullptr);
  CopyPlan plan = plan_copy(l.trees[0], l.trees[1], granularity_of(roots, options));
  stats.unchanged = plan.unchanged;
  return plan;
}

PassStats run_copy_pass(const std::string& src, const std::string& dst, const PassOptions& options,
                        PassProgress* progress, const RemovalLog& removal_log) {
  PassStats stats;
  const fs::RootSet roots = open_roots(src, dst);
  const verify::Listings l = list_both(roots, options, stats, progress ? &progress->walk : nullptr);
  const CopyPlan plan = plan_copy(l.trees[0], l.trees[1], granularity_of(roots, options));
  stats.unchanged = plan.unchanged;
  stats.temps_removed = plan.temps_removed;

  const auto t0 = Clock::now();
  if (progress != nullptr) {
    progress->files_total = plan.copies.size() + plan.metadata_fixes.size() + plan.creates.size() + plan.links.size();
    progress->bytes_total = plan.bytes_to_copy;
    progress->phase = 1;
  }
  Executor ex(roots, l.trees[0], options, stats, progress);
  ex.remove(plan.removals, removal_log);
  ex.make_dirs(plan.mkdirs);
  std::vector<WorkItem> items;
  items.reserve(plan.copies.size() + plan.metadata_fixes.size() + plan.creates.size());
  for (const size_t i : plan.copies) items.push_back({WorkKind::copy, i});
  for (const size_t i : plan.metadata_fixes) items.push_back({WorkKind::fix, i});
  for (const size_t i : plan.creates) items.push_back({WorkKind::create, i});
  std::sort(items.begin(), items.end(), [](const WorkItem& a, const WorkItem& b) { return a.index < b.index; });
  ex.run_parallel(items);
  items.clear();
  for (const auto& [name, primary] : plan.links) items.push_back({WorkKind::link, name, primary});
  ex.run_parallel(items);
  if (progress != nullptr) progress->phase = 2;
  ex.dir_metadata(plan.dir_metadata);
  stats.copy_seconds = seconds_since(t0);
  auto errors = ex.take_errors();
  stats.errors.insert(stats.errors.end(), errors.begin(), errors.end());
  std::sort(stats.errors.begin(), stats.errors.end(),
            [](const PassError& a, const PassError& b) { return a.path < b.path; });
  return stats;
}

} // namespace wsd::migrate
