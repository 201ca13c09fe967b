#include "fs/walker.hpp"

#include "fs/dir_entries.hpp"
#include "fs/safe_open.hpp"
#include "util/cpu_slots.hpp"
#include "util/pause_point.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace wsd::fs {

namespace {

// A listed directory whose children still have to be opened.
struct DirNode {
  uint32_t root = 0;
  uint32_t depth = 0;
  std::string rel_path;
  util::Fd fd; // closed early when over the fd budget; children then open from the root
  std::atomic<uint32_t> pending{0};
};

// A directory to open and list.
struct DirTask {
  std::shared_ptr<DirNode> parent; // null for a root
  uint32_t root = 0;
  uint32_t depth = 0;
  std::string rel_path;
  uint32_t name_offset = 0;
  uint64_t dev = 0;
  uint64_t ino = 0;
  DirTag tag = 0;
  FileStat st;
};

constexpr size_t k_getdents_buffer = 64 * 1024;
constexpr uint64_t k_progress_batch = 512;
constexpr size_t k_name_head = 9; // d_ino and d_type before each name in a listing's arena

class Walk {
public:
  Walk(const RootSet& roots, const WalkOptions& options, WalkVisitor& visitor,
       WalkProgress* progress)
      : m_roots(roots), m_options(options), m_visitor(visitor), m_progress(progress) {
    m_threads = resolve_walk_threads(options.threads);
    m_max_open = options.max_open_dirs;
    if (m_max_open == 0) {
      struct rlimit lim {};
      ::getrlimit(RLIMIT_NOFILE, &lim);
      // Leave room for the files the content pipeline and callers open.
      m_max_open = std::clamp<size_t>(lim.rlim_cur / 2, 16, 4096);
    }
  }

  WalkStats run() {
    for (uint32_t r = 0; r < m_roots.size(); ++r) visit_root(r);
    std::vector<std::thread> workers;
    for (unsigned t = 1; t < m_threads; ++t) workers.emplace_back([this, t] { work(t); });
    work(0);
    for (auto& w : workers) w.join();
    WalkStats stats;
    stats.threads = m_threads;
    for (const auto& s : m_thread_stats) {
      stats.entries += s.entries;
      stats.dirs += s.dirs;
      stats.errors += s.errors;
      stats.mounts_skipped += s.mounts_skipped;
    }
    stats.peak_open_dirs = m_peak_open.load();
    return stats;
  }

private:
  struct ThreadStats {
    uint64_t entries = 0;
    uint64_t dirs = 0;
    uint64_t errors = 0;
    uint64_t mounts_skipped = 0;
    uint64_t unflushed_entries = 0;
    uint64_t unflushed_bytes = 0;
  };

  void visit_root(uint32_t r) {
    const Root& root = m_roots[r];
    Entry entry;
    entry.root = r;
    entry.st = &root.st;
    const DirTag tag = m_visitor.on_entry(0, entry, 0);
    m_thread_stats.resize(m_threads);
    m_thread_stats[0].entries++;
    DirTask task;
    task.root = r;
    task.dev = root.st.dev;
    task.ino = root.st.ino;
    task.tag = tag;
    task.st = root.st;
    m_stack.push_back(std::move(task));
  }

  void work(unsigned thread) {
    std::vector<char> dirent_buffer(k_getdents_buffer);
    std::string path;
    std::vector<DirTask> children;
    while (true) {
      DirTask task;
      {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return !m_stack.empty() || m_active == 0; });
        if (m_stack.empty()) {
          m_cv.notify_all();
          return;
        }
        task = std::move(m_stack.back());
        m_stack.pop_back();
        ++m_active;
      }
      children.clear();
      process(thread, task, dirent_buffer, path, children);
      task = DirTask{};
      {
        std::lock_guard lock(m_mutex);
        --m_active;
        // Reverse so the first name is popped first: a depth-first, name-ordered walk
        // keeps the number of pending directories (and their fds) small.
        for (auto it = children.rbegin(); it != children.rend(); ++it)
          m_stack.push_back(std::move(*it));
      }
      m_cv.notify_all();
    }
  }

  void report(unsigned thread, uint32_t root, std::string_view rel, const char* op, int err,
              std::string message = {}) {
    WalkError e{root, std::string(rel), op, err, std::move(message)};
    m_thread_stats[thread].errors++;
    if (m_progress) m_progress->errors.fetch_add(1, std::memory_order_relaxed);
    m_visitor.on_error(thread, e);
  }

  util::Result<util::Fd> open_dir(const DirTask& task) {
    if (!task.parent) {
      // A new open file description, not a dup: a dup shares the directory offset, so a
      // second walk over the same RootSet would start at the end of the root's entries.
      const int fd = ::openat(m_roots[task.root].fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return util::Result<util::Fd>::failure(errno);
      return util::Fd(fd);
    }
    if (task.parent->fd) {
      const std::string_view name = std::string_view(task.rel_path).substr(task.name_offset);
      return open_child(task.parent->fd.get(), std::string(name).c_str(), true);
    }
    return open_beneath(m_roots[task.root].fd.get(), task.rel_path, true, m_options.cross_fs);
  }

  void release_parent(DirTask& task) {
    if (task.parent && task.parent->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      if (task.parent->fd) {
        task.parent->fd.reset();
        m_open.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    task.parent.reset();
  }

  void process(unsigned thread, DirTask& task, std::vector<char>& buffer, std::string& path,
               std::vector<DirTask>& children) {
    ThreadStats& stats = m_thread_stats[thread];
    util::pause_point("walk.open_dir", task.rel_path);
    auto opened = open_dir(task);
    release_parent(task);
    if (!opened) {
      report(thread, task.root, task.rel_path, "open", opened.error());
      return;
    }
    util::Fd fd = std::move(*opened);
    FileStat now;
    if (const int err = stat_fd(fd.get(), now); err != 0) {
      report(thread, task.root, task.rel_path, "statx", err);
      return;
    }
    if (now.dev != task.dev || now.ino != task.ino) {
      report(thread, task.root, task.rel_path, "open", 0,
             "directory was replaced during the walk; not descended");
      return;
    }
    stats.dirs++;

    // List every name first (the visitor may look at them all, e.g. to spot a bare repo).
    // The arena holds each name as [d_ino: 8][d_type: 1][name NUL].
    std::string arena;
    std::vector<uint32_t> offsets;
    if (const int err = for_each_dir_entry(fd.get(), buffer,
                                           [&](const char* name, unsigned char type, uint64_t ino) {
          char head[k_name_head];
          std::memcpy(head, &ino, 8);
          head[8] = static_cast<char>(type);
          arena.append(head, k_name_head);
          offsets.push_back(static_cast<uint32_t>(arena.size()));
          arena.append(name, std::strlen(name) + 1);
        });
        err != 0)
      report(thread, task.root, task.rel_path, "getdents", err);
    std::vector<std::string_view> names;
    names.reserve(offsets.size());
    for (const uint32_t off : offsets) names.emplace_back(arena.data() + off);
    std::sort(names.begin(), names.end());
    util::pause_point("walk.listed", task.rel_path);

    Entry dir_entry;
    dir_entry.root = task.root;
    dir_entry.depth = task.depth;
    dir_entry.rel_path = task.rel_path;
    dir_entry.name = std::string_view(task.rel_path).substr(task.name_offset);
    dir_entry.st = &task.st;
    const DirTag tag = m_visitor.on_listing(thread, dir_entry, task.tag, names);

    auto node = std::make_shared<DirNode>();
    node->root = task.root;
    node->depth = task.depth;
    node->rel_path = task.rel_path;
    const uint64_t root_dev = m_roots[task.root].st.dev;

    path = task.rel_path;
    if (!path.empty()) path += '/';
    const size_t prefix = path.size();
    FileStat st;
    for (const std::string_view name : names) {
      path.resize(prefix);
      path.append(name);
      const char* head = name.data() - k_name_head;
      const bool deferred =
          m_options.defer_file_stat && static_cast<unsigned char>(head[8]) == DT_REG;
      if (deferred) {
        st = FileStat{};
        st.type = EntryType::regular;
        std::memcpy(&st.ino, head, 8);
        st.dev = now.dev; // its directory's device (a file bind-mounted there: the open tells)
      } else if (const int err = stat_at(fd.get(), name.data(), st); err != 0) {
        report(thread, task.root, path, "statx", err);
        continue;
      }
      bool excluded = false;
      for (const auto& g : m_options.excludes) {
        if (g.matches(path, st.is_dir())) {
          excluded = true;
          break;
        }
      }
      Entry entry;
      entry.root = task.root;
      entry.depth = task.depth + 1;
      entry.rel_path = path;
      entry.name = name;
      entry.st = &st;
      entry.stat_deferred = deferred;
      entry.dir_fd = fd.get();
      if (excluded) {
        m_visitor.on_skipped(thread, entry, SkipReason::excluded);
        continue;
      }
      if (st.is_dir() && !m_options.cross_fs && st.dev != root_dev) {
        stats.mounts_skipped++;
        m_visitor.on_skipped(thread, entry, SkipReason::other_filesystem);
        continue; // like du -x: a mount point is not counted or entered
      }
      const DirTag child_tag = m_visitor.on_entry(thread, entry, tag);
      stats.entries++;
      if (m_progress) {
        stats.unflushed_entries++;
        stats.unflushed_bytes += st.size;
        if (stats.unflushed_entries >= k_progress_batch) flush_progress(stats);
      }
      if (st.is_dir()) {
        DirTask child;
        child.root = task.root;
        child.depth = task.depth + 1;
        child.rel_path = path;
        child.name_offset = static_cast<uint32_t>(prefix);
        child.dev = st.dev;
        child.ino = st.ino;
        child.tag = child_tag;
        child.st = st;
        children.push_back(std::move(child));
      }
    }
    if (m_progress) flush_progress(stats);
    if (children.empty()) return;
    node->pending.store(static_cast<uint32_t>(children.size()), std::memory_order_relaxed);
    // Keep this directory's fd for its children while under budget.
    const size_t open_now = m_open.fetch_add(1, std::memory_order_relaxed) + 1;
    if (open_now <= m_max_open) {
      node->fd = std::move(fd);
      size_t peak = m_peak_open.load(std::memory_order_relaxed);
      while (open_now > peak && !m_peak_open.compare_exchange_weak(peak, open_now)) {
      }
    } else {
      m_open.fetch_sub(1, std::memory_order_relaxed);
    }
    for (auto& c : children) c.parent = node;
  }

  void flush_progress(ThreadStats& stats) {
    m_progress->entries.fetch_add(stats.unflushed_entries, std::memory_order_relaxed);
    m_progress->bytes.fetch_add(stats.unflushed_bytes, std::memory_order_relaxed);
    stats.unflushed_entries = 0;
    stats.unflushed_bytes = 0;
  }

  const RootSet& m_roots;
  const WalkOptions& m_options;
  WalkVisitor& m_visitor;
  WalkProgress* m_progress;
  unsigned m_threads = 1;
  size_t m_max_open = 0;
  std::atomic<size_t> m_open{0};
  std::atomic<size_t> m_peak_open{0};
  std::vector<ThreadStats> m_thread_stats;

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::vector<DirTask> m_stack;
  unsigned m_active = 0;
};

} // namespace

unsigned resolve_threads(unsigned requested) {
  if (requested > 0) return std::min(requested, 256u);
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

unsigned resolve_walk_threads(unsigned requested) {
  return requested > 0 ? resolve_threads(requested) : util::io_threads(0, resolve_threads(0));
}

WalkStats walk(const RootSet& roots, const WalkOptions& options, WalkVisitor& visitor,
               WalkProgress* progress) {
  Walk w(roots, options, visitor, progress);
  return w.run();
}

} // namespace wsd::fs
