#include "verify/tree_listing.hpp"

#include "util/error.hpp"
#include "verify/comparer.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <iterator>
#include <thread>
#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <sys/xattr.h>
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

  fs::DirTag on_entry(unsigned thread, const fs::Entry& e, fs::DirTag) override {
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
    local.per_root[e.root].push_back(std::move(node));
    return 0;
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
      // Sorted as pointers (8-byte moves, not a Node's ~200), then each node moved once,
      // straight from its thread's vector into its final place.
      std::vector<Node*> order_of;
      size_t total = 0;
      for (const auto& t : m_threads) total += t.per_root[r].size();
      order_of.reserve(total);
      for (auto& t : m_threads)
        for (Node& n : t.per_root[r]) order_of.push_back(&n);
      if (order == ListingOrder::component)
        std::sort(order_of.begin(), order_of.end(),
                  [](const Node* a, const Node* b) { return path_less(a->rel_path, b->rel_path); });
      else
        std::sort(order_of.begin(), order_of.end(),
                  [](const Node* a, const Node* b) { return a->rel_path < b->rel_path; });
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
        for (size_t r = next.fetch_add(1); r < m_roots.size(); r = next.fetch_add(1)) gather_and_sort(r);
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
  struct Local {
    std::vector<std::vector<Node>> per_root;
    std::vector<ListingError> errors;
  };

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
                        std::vector<std::pair<std::string, std::string>>& out, bool last_is_entry = false) {
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
  walk_options.threads = fs::resolve_threads(options.threads);
  ListingVisitor visitor(roots, walk_options.threads, xattrs);
  const fs::WalkStats stats = fs::walk(roots, walk_options, visitor, progress);
  return visitor.finish(stats, order);
}

} // namespace wsd::verify
