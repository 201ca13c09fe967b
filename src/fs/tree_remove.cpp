#include "fs/tree_remove.hpp"

#include "fs/dir_entries.hpp"
#include "fs/file_stat.hpp"
#include "fs/safe_open.hpp"
#include "util/fd.hpp"
#include "util/pause_point.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace wsd::fs {

namespace {

constexpr size_t k_max_held_fds = 256;
constexpr int k_max_retries = 8;

// One directory being emptied.
struct Frame {
  std::string rel;  // from the parent of the top ("top/a")
  std::string name; // its name in the directory above
  uint64_t ino = 0;
  util::Fd fd;      // may be closed when too many are held; reopened beneath the top
  bool listed = false;
  std::vector<std::string> subdirs; // still to empty and remove
};

class Remover {
public:
  Remover(int parent_fd, RemoveStats& stats) : m_parent_fd(parent_fd), m_stats(stats) {}

  bool run(const std::string& name) {
    FileStat st;
    if (const int err = stat_at(m_parent_fd, name.c_str(), st); err != 0) {
      if (err == ENOENT) return true;
      error(name, "statx", err);
      return false;
    }
    FileStat parent;
    if (const int err = stat_fd(m_parent_fd, parent); err != 0) {
      error(name, "statx", err);
      return false;
    }
    m_dev = parent.dev;
    if (!st.is_dir()) return unlink_one(m_parent_fd, name, name, st);
    if (st.dev != m_dev) {
      error(name, "rmdir", 0, "a mount point: not descended, not removed");
      return false;
    }
    m_top_name = name;
    auto top = open_dir(m_parent_fd, name, name, st.ino);
    if (!top) return false;
    m_top_fd = top->get();
    m_stack.push_back(Frame{name, name, st.ino, std::move(*top), false, {}});
    while (!m_stack.empty()) step();
    if (::unlinkat(m_parent_fd, name.c_str(), AT_REMOVEDIR) != 0) {
      if (errno == ENOENT) return true;
      error(name, "rmdir", errno);
      return false;
    }
    m_stats.dirs++;
    return true;
  }

private:
  void step() {
    Frame& f = m_stack.back();
    if (!ensure_open(f)) {
      m_stack.pop_back();
      return;
    }
    if (!f.listed) {
      list_and_unlink(f);
      f.listed = true;
    }
    if (m_stack.back().subdirs.empty()) {
      Frame done = std::move(m_stack.back());
      m_stack.pop_back();
      if (m_stack.empty()) return; // the top; removed by run()
      Frame& parent = m_stack.back();
      if (!ensure_open(parent)) return;
      if (::unlinkat(parent.fd.get(), done.name.c_str(), AT_REMOVEDIR) == 0)
        m_stats.dirs++;
      else if (errno != ENOENT)
        error(done.rel, "rmdir", errno);
      return;
    }
    std::string sub = std::move(f.subdirs.back());
    f.subdirs.pop_back();
    descend(f, sub);
  }

  // Opens child directory `sub` of `f` and pushes it; a swapped-in non-directory is unlinked.
  void descend(Frame& f, const std::string& sub) {
    const std::string rel = f.rel + "/" + sub;
    for (int attempt = 0; attempt < k_max_retries; ++attempt) {
      FileStat st;
      if (const int err = stat_at(f.fd.get(), sub.c_str(), st); err != 0) {
        if (err != ENOENT) error(rel, "statx", err);
        return;
      }
      if (!st.is_dir()) {
        unlink_one(f.fd.get(), sub, rel, st);
        return;
      }
      if (st.dev != m_dev) {
        error(rel, "rmdir", 0, "a mount point: not descended, not removed");
        return;
      }
      util::pause_point("prune.open_dir", rel.substr(m_top_name.size() + 1));
      auto opened = open_child(f.fd.get(), sub.c_str(), true);
      if (!opened) {
        if (opened.error() == ELOOP || opened.error() == ENOTDIR || opened.error() == ENOENT)
          continue; // replaced since the statx: look again
        error(rel, "open", opened.error());
        return;
      }
      FileStat now;
      if (stat_fd(opened->get(), now) != 0 || now.dev != st.dev || now.ino != st.ino) continue;
      if (held_fds() >= k_max_held_fds) release_oldest();
      m_stack.push_back(Frame{rel, sub, st.ino, std::move(*opened), false, {}});
      return;
    }
    error(rel, "open", 0, "kept changing while being deleted; left in place");
  }

  bool ensure_open(Frame& f) {
    if (f.fd) return true;
    auto opened = open_beneath(m_top_fd, f.rel.substr(m_top_name.size() + 1), true, false);
    FileStat now;
    if (!opened || stat_fd(opened->get(), now) != 0 || now.ino != f.ino || now.dev != m_dev) {
      error(f.rel, "open", opened ? 0 : opened.error(),
            opened ? "replaced while being deleted; left in place" : "");
      return false;
    }
    f.fd = std::move(*opened);
    return true;
  }

  size_t held_fds() const {
    size_t n = 0;
    for (const Frame& f : m_stack)
      if (f.fd) ++n;
    return n;
  }

  void release_oldest() {
    for (size_t k = 1; k < m_stack.size(); ++k) { // the top stays open: reopens start there
      if (m_stack[k].fd) {
        m_stack[k].fd.reset();
        return;
      }
    }
  }

  util::Result<util::Fd> open_dir(int parent, const std::string& name, const std::string& rel,
                                  uint64_t ino) {
    auto opened = open_child(parent, name.c_str(), true);
    if (!opened) {
      error(rel, "open", opened.error());
      return opened;
    }
    FileStat now;
    if (stat_fd(opened->get(), now) != 0 || now.ino != ino || now.dev != m_dev) {
      error(rel, "open", 0, "replaced while being deleted; left in place");
      return util::Result<util::Fd>::failure(ESTALE);
    }
    return opened;
  }

  void list_and_unlink(Frame& f) {
    std::vector<char> buffer(64 * 1024);
    std::vector<std::string> names;
    if (::lseek(f.fd.get(), 0, SEEK_SET) < 0) {
      error(f.rel, "lseek", errno);
      return;
    }
    if (const int err = for_each_dir_entry(f.fd.get(), buffer,
                                           [&](const char* name) { names.emplace_back(name); });
        err != 0)
      error(f.rel, "getdents", err);
    for (const std::string& name : names) {
      FileStat st;
      const std::string rel = f.rel + "/" + name;
      if (const int err = stat_at(f.fd.get(), name.c_str(), st); err != 0) {
        if (err != ENOENT) error(rel, "statx", err);
        continue;
      }
      if (st.is_dir())
        f.subdirs.push_back(name);
      else
        unlink_one(f.fd.get(), name, rel, st);
    }
  }

  bool unlink_one(int dirfd, const std::string& name, const std::string& rel, const FileStat& st) {
    util::pause_point("prune.unlink", rel.substr(std::min(rel.size(), m_top_name.size() + 1)));
    if (::unlinkat(dirfd, name.c_str(), 0) != 0) {
      if (errno == EISDIR) { // became a directory since the statx: the caller's next pass
        error(rel, "unlink", errno);
        return false;
      }
      if (errno == ENOENT) return true;
      error(rel, "unlink", errno);
      return false;
    }
    m_stats.files++;
    if (st.nlink <= 1) m_stats.bytes += st.allocated_bytes();
    return true;
  }

  void error(const std::string& rel, const char* op, int err, std::string message = {}) {
    m_stats.errors.push_back({rel, op, err, std::move(message)});
  }

  int m_parent_fd;
  RemoveStats& m_stats;
  uint64_t m_dev = 0;
  std::string m_top_name;
  int m_top_fd = -1;
  std::vector<Frame> m_stack;
};

} // namespace

bool remove_tree(int parent_fd, const std::string& name, RemoveStats& stats) {
  Remover remover(parent_fd, stats);
  return remover.run(name);
}

} // namespace wsd::fs
