#include "verify/tree_listing.hpp"

#include "util/error.hpp"
#include "verify/comparer.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fmt/format.h>
#include <iterator>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <thread>
#include <unordered_map>

#include <fcntl.h>
#include <unistd.h>

namespace wsd::verify {

// XFS shows root its POSIX ACLs a second time as trusted.SGI_ACL_FILE/DEFAULT (its on-disk
// names); system.posix_acl_access/default carry the same ACLs on every filesystem, so the
// aliases are skipped: otherwise an XFS tree never equals an ext4 one, and a copy made from
// the listing would write XFS internals as trusted.* attributes elsewhere.
bool is_xfs_acl_alias(std::string_view name) {
  return name == "trusted.SGI_ACL_FILE" || name == "trusted.SGI_ACL_DEFAULT";
}

namespace {

constexpr size_t k_max_link_target = 4096 * 4;

class ListingVisitor final : public fs::WalkVisitor {
public:
  ListingVisitor(const fs::RootSet& roots, unsigned threads, ReadXattrs xattrs)
      : m_roots(roots), m_xattrs(xattrs), m_threads(threads) {
    for (auto& t : m_threads) t.per_root.resize(roots.size());
  }

  // A directory's tag names where its node is: (thread << 40) | (index in that thread's
  // vector of its root, + 1); 0 is "no directory" (a root's parent).
  static fs::DirTag tag_of(unsigned thread, size_t index) {
    return (fs::DirTag{thread} << 40) | (index + 1);
  }

  fs::DirTag on_listing(unsigned thread, const fs::Entry& dir, fs::DirTag tag,
                        std::span<const std::string_view>) override {
    // The walker visits a directory's entries right after this, on this thread, in name
    // order: they fill one run of this thread's vector.
    const size_t at = m_threads[thread].per_root[dir.root].size();
    m_threads[thread].runs.push_back({tag, dir.root, thread, at, at});
    return tag;
  }

  fs::DirTag on_entry(unsigned thread, const fs::Entry& e, fs::DirTag parent_tag) override {
    Local& local = m_threads[thread];
    Node node;
    node.rel_path.assign(e.rel_path);
    node.st = *e.st;
    node.stat_deferred = e.stat_deferred;
    if (e.st->type == fs::EntryType::symlink && e.dir_fd >= 0) {
      const std::string name(e.name);
      std::string target(std::max<size_t>(e.st->size + 1, 256), '\0');
      while (true) {
        const ssize_t n = ::readlinkat(e.dir_fd, name.c_str(), target.data(), target.size());
        if (n < 0) {
          add_error(local, e.root, e.rel_path, "readlink", util::errno_text(errno));
          break;
        }
        if (static_cast<size_t>(n) < target.size() || target.size() >= k_max_link_target) {
          target.resize(static_cast<size_t>(n));
          node.link_target = std::move(target);
          break;
        }
        target.resize(target.size() * 2);
      }
    }
    if ((e.st->type == fs::EntryType::char_device || e.st->type == fs::EntryType::block_device) &&
        e.dir_fd >= 0) {
      struct stat dst {};
      if (::fstatat(e.dir_fd, std::string(e.name).c_str(), &dst, AT_SYMLINK_NOFOLLOW) == 0)
        node.rdev = dst.st_rdev;
      else
        add_error(local, e.root, e.rel_path, "stat", util::errno_text(errno));
    }
    if (m_xattrs == ReadXattrs::yes) {
      int err = 0;
      if (e.dir_fd >= 0) {
        err = read_xattrs(e.dir_fd, std::string(e.name).c_str(), e.st->type, node.xattrs);
      } else {
        err = read_xattrs(m_roots[e.root].fd.get(), "", e.st->type, node.xattrs);
      }
      if (err != 0) add_error(local, e.root, e.rel_path, "listxattr", util::errno_text(err));
    }
    std::vector<Node>& nodes = local.per_root[e.root];
    nodes.push_back(std::move(node));
    if (parent_tag == 0)
      local.roots.push_back({e.root, nodes.size() - 1});
    else
      local.runs.back().end = nodes.size();
    return e.st->is_dir() ? tag_of(thread, nodes.size() - 1) : 0;
  }

  void on_error(unsigned thread, const fs::WalkError& error) override {
    add_error(m_threads[thread], error.root, error.rel_path, error.op,
              error.message.empty() ? util::errno_text(error.err) : error.message);
  }

  Listings finish(const fs::WalkStats& stats, ListingOrder order) {
    Listings out;
    out.walk = stats;
    out.trees.resize(m_roots.size());
    const auto gather_and_sort = [&](size_t r) {
      // Ordered as pointers (8-byte moves, not a Node's ~200), then each node moved once,
      // straight from its thread's vector into its final place.
      std::vector<Node*> order_of;
      size_t total = 0;
      for (const auto& t : m_threads) total += t.per_root[r].size();
      order_of.reserve(total);
      if (order == ListingOrder::component) {
        depth_first(r, order_of);
      } else {
        for (auto& t : m_threads)
          for (Node& n : t.per_root[r]) order_of.push_back(&n);
        std::sort(order_of.begin(), order_of.end(),
                  [](const Node* a, const Node* b) { return a->rel_path < b->rel_path; });
      }
      auto& nodes = out.trees[r].nodes;
      nodes.reserve(total); // one allocation, not a doubling series of page-faulting copies
      for (Node* n : order_of) nodes.push_back(std::move(*n));
      for (auto& t : m_threads) t.per_root[r] = {};
    };
    {
      // The trees are independent: each is gathered and sorted on its own thread (up to
      // the walk's thread count), so verify's two sorts run side by side.
      std::atomic<size_t> next{0};
      const auto work = [&] {
        for (size_t r = next.fetch_add(1); r < m_roots.size(); r = next.fetch_add(1))
          gather_and_sort(r);
      };
      std::vector<std::jthread> pool;
      const size_t helpers = std::min(m_threads.size(), m_roots.size()) - 1;
      for (size_t i = 0; i < helpers; ++i) pool.emplace_back(work);
      work();
    }
    for (auto& t : m_threads)
      for (auto& e : t.errors) out.errors.push_back(std::move(e));
    std::sort(out.errors.begin(), out.errors.end(),
              [](const ListingError& a, const ListingError& b) { return a.path < b.path; });
    return out;
  }

private:
  // The entries of one directory: [begin, end) of one thread's vector for `root`.
  struct Run {
    fs::DirTag dir = 0;
    uint32_t root = 0;
    unsigned thread = 0;
    size_t begin = 0;
    size_t end = 0;
  };
  struct RootAt {
    uint32_t root = 0;
    size_t index = 0;
  };
  struct Local {
    std::vector<std::vector<Node>> per_root;
    std::vector<Run> runs;
    std::vector<RootAt> roots;
    std::vector<ListingError> errors;
  };

  // Root `r`'s nodes in verify::path_less order without comparing a path: each directory's
  // entries are already in name order (the walker sorts them), so the order is the tree's
  // depth-first order, a directory directly followed by its descendants ("a", "a/x", "a-b").
  void depth_first(size_t r, std::vector<Node*>& out) {
    std::unordered_map<fs::DirTag, const Run*> run_of;
    for (const auto& t : m_threads)
      for (const Run& run : t.runs)
        if (run.root == r && run.end > run.begin) run_of.emplace(run.dir, &run);
    struct Frame {
      size_t next;
      size_t end;
      unsigned thread; // whose vector holds the run
    };
    std::vector<Frame> stack;
    const auto visit = [&](unsigned thread, size_t index) {
      Node& n = m_threads[thread].per_root[r][index];
      out.push_back(&n);
      if (!n.st.is_dir()) return;
      const auto it = run_of.find(tag_of(thread, index));
      if (it == run_of.end()) return;
      const Run& run = *it->second;
      stack.push_back({run.begin, run.end, run.thread});
    };
    for (unsigned t = 0; t < m_threads.size(); ++t)
      for (const RootAt& at : m_threads[t].roots)
        if (at.root == r) visit(t, at.index);
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.next == f.end) {
        stack.pop_back();
        continue;
      }
      const size_t index = f.next++;
      visit(f.thread, index); // may push: `f` is not used after this
    }
  }

  void add_error(Local& local, uint32_t root, std::string_view rel, std::string op,
                 std::string message) {
    local.errors.push_back({m_roots.display_path(root, rel), std::move(op), std::move(message)});
  }

  const fs::RootSet& m_roots;
  ReadXattrs m_xattrs;
  std::vector<Local> m_threads;
};

// Lists and reads the attributes through /proc/self/fd/N of an O_PATH descriptor: the magic
// link names the opened inode itself, so nothing is resolved by path again.
// With `last_is_entry`, the path is "/proc/self/fd/DIRFD/NAME" and the l-variants act on NAME
// itself (never following it: one call instead of open, fstat, list, close per entry).
int xattrs_of_proc_path(const std::string& path,
                        std::vector<std::pair<std::string, std::string>>& out,
                        bool last_is_entry = false) {
  auto list = last_is_entry ? ::llistxattr : ::listxattr;
  auto get = last_is_entry ? ::lgetxattr : ::getxattr;
  std::string names;
  while (true) {
    const ssize_t need = list(path.c_str(), nullptr, 0);
    if (need < 0) return errno == EOPNOTSUPP ? 0 : errno;
    if (need == 0) return 0;
    names.resize(static_cast<size_t>(need));
    const ssize_t got = list(path.c_str(), names.data(), names.size());
    if (got < 0 && errno == ERANGE) continue;
    if (got < 0) return errno;
    names.resize(static_cast<size_t>(got));
    break;
  }
  for (size_t pos = 0; pos < names.size();) {
    const std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (name.empty() || is_xfs_acl_alias(name)) continue;
    std::string value;
    while (true) {
      const ssize_t need = get(path.c_str(), name.c_str(), nullptr, 0);
      if (need < 0) {
        if (errno == ENODATA) break; // removed meanwhile
        return errno;
      }
      value.resize(static_cast<size_t>(need));
      const ssize_t got = get(path.c_str(), name.c_str(), value.data(), value.size());
      if (got < 0 && errno == ERANGE) continue;
      if (got < 0) return errno;
      value.resize(static_cast<size_t>(got));
      out.emplace_back(name, std::move(value));
      break;
    }
  }
  std::sort(out.begin(), out.end());
  return 0;
}

} // namespace

int read_xattrs(int dir_fd, const char* name, fs::EntryType type,
                std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  if (type == fs::EntryType::symlink) return 0;
  if (*name) // the entry itself, never followed (swapped for a symlink: that symlink's own list)
    return xattrs_of_proc_path(fmt::format("/proc/self/fd/{}/{}", dir_fd, name), out, true);
  const int fd = *name ? ::openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
                       : ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return errno;
  fs::FileStat st;
  if (const int err = fs::stat_fd(fd, st); err != 0 || st.type == fs::EntryType::symlink) {
    ::close(fd); // swapped for a symlink since the walk saw it: never resolve through it
    return err != 0 ? err : ELOOP;
  }
  const int err = xattrs_of_proc_path(fmt::format("/proc/self/fd/{}", fd), out);
  ::close(fd);
  return err;
}

Listings list_trees(const fs::RootSet& roots, const fs::WalkOptions& options, ReadXattrs xattrs,
                    fs::WalkProgress* progress, ListingOrder order) {
  fs::WalkOptions walk_options = options;
  walk_options.threads = fs::resolve_walk_threads(options.threads);
  ListingVisitor visitor(roots, walk_options.threads, xattrs);
  const fs::WalkStats stats = fs::walk(roots, walk_options, visitor, progress);
  return visitor.finish(stats, order);
}

} // namespace wsd::verify
