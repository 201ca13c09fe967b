#include "prune/executor.hpp"

#include "fs/file_stat.hpp"
#include "fs/safe_open.hpp"
#include "fs/tree_remove.hpp"
#include "report/json_path.hpp"
#include "util/error.hpp"
#include "util/escape.hpp"
#include "util/pause_point.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace wsd::prune {

namespace {

std::string remove_error_text(const fs::RemoveError& e) {
  return fmt::format("{}(\"{}\"): {}", e.op, util::escape_for_terminal(e.rel_path),
                     e.message.empty() ? util::errno_text(e.err) : e.message);
}

// A trash entry name: time, pid and a counter keep it unique; the workspace's last
// component keeps it readable.
std::string trash_entry_name(const std::string& ws_name, uint64_t counter) {
  std::string base = ws_name.substr(ws_name.rfind('/') == std::string::npos ? 0 : ws_name.rfind('/') + 1);
  if (base.size() > 160) base.resize(160);
  return fmt::format("{}.{}.{}.{}", std::time(nullptr), ::getpid(), counter, base);
}

} // namespace

PruneExecutor::PruneExecutor(const fs::RootSet& roots, AuditLog& audit)
    : m_roots(roots), m_audit(audit) {
  const int root_fd = roots[0].fd.get();
  if (::mkdirat(root_fd, k_trash_name, 0700) != 0 && errno != EEXIST)
    throw util::Fatal("trash: {}",
                      util::describe_error("mkdir", roots.display_path(0, k_trash_name), errno));
  auto trash = fs::open_child(root_fd, k_trash_name, true);
  if (!trash)
    throw util::Fatal("trash: {}",
                      util::describe_error("open", roots.display_path(0, k_trash_name), trash.error()));
  fs::FileStat st;
  if (const int err = fs::stat_fd(trash->get(), st); err != 0)
    throw util::Fatal("trash: {}", util::describe_error("statx", roots.display_path(0, k_trash_name), err));
  if (st.uid != ::geteuid() || (st.mode & 0077) != 0 || st.dev != roots[0].st.dev)
    throw util::Fatal("trash \"{}\" must be a directory on the root's filesystem, owned by uid {} "
                      "and closed to others (mode 0700); refusing to use it",
                      util::escape_for_terminal(roots.display_path(0, k_trash_name)), ::geteuid());
  m_trash = std::move(*trash);
}

std::vector<std::string> PruneExecutor::leftovers() const {
  std::vector<std::string> names;
  const int fd = ::openat(m_trash.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return names;
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return names;
  }
  while (const dirent* d = ::readdir(dir)) {
    const std::string name = d->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<DeleteOutcome> PruneExecutor::finish_leftovers() {
  std::vector<DeleteOutcome> out;
  for (const std::string& name : leftovers()) {
    out.push_back(delete_trash_entry(name, name));
  }
  return out;
}

DeleteOutcome PruneExecutor::delete_trash_entry(const std::string& trash_name, const std::string& label) {
  DeleteOutcome o;
  o.name = label;
  o.trash_name = trash_name;
  const std::string trash_rel = std::string(k_trash_name) + "/" + trash_name;
  m_audit.write({{"action", "delete"}, {"phase", "before"}, {"root", report::path_to_json(m_roots[0].display)},
                 {"path", report::path_to_json(trash_rel)}, {"workspace", report::path_to_json(label)}});
  fs::RemoveStats stats;
  o.deleted = fs::remove_tree(m_trash.get(), trash_name, stats);
  o.files = stats.files;
  o.dirs = stats.dirs;
  o.bytes = stats.bytes;
  for (const auto& e : stats.errors) o.errors.push_back(remove_error_text(e));
  nlohmann::ordered_json after = {{"action", "delete"},
                                  {"phase", o.deleted ? "after" : "failed"},
                                  {"root", report::path_to_json(m_roots[0].display)},
                                  {"path", report::path_to_json(trash_rel)},
                                  {"workspace", report::path_to_json(label)},
                                  {"files", o.files},
                                  {"dirs", o.dirs},
                                  {"bytes", o.bytes}};
  if (!o.errors.empty()) {
    after["errors"] = nlohmann::ordered_json::array();
    for (const auto& e : o.errors) after["errors"].push_back(report::path_to_json(e));
  }
  m_audit.write(std::move(after));
  return o;
}

DeleteOutcome PruneExecutor::remove_workspace(const WorkspaceInfo& ws,
                                              const std::function<std::string()>& in_use) {
  DeleteOutcome o;
  o.name = ws.name;
  const int root_fd = m_roots[0].fd.get();
  const size_t slash = ws.name.rfind('/');
  const std::string parent_rel = slash == std::string::npos ? "" : ws.name.substr(0, slash);
  const std::string leaf = slash == std::string::npos ? ws.name : ws.name.substr(slash + 1);
  auto parent = fs::open_beneath(root_fd, parent_rel, true, false);
  if (!parent) {
    o.skipped = util::describe_error("open", m_roots.display_path(0, parent_rel), parent.error());
    return o;
  }
  util::pause_point("prune.rename", ws.name);
  fs::FileStat st;
  if (const int err = fs::stat_at(parent->get(), leaf.c_str(), st); err != 0) {
    o.skipped = util::describe_error("statx", m_roots.display_path(0, ws.name), err);
    return o;
  }
  if (!st.is_dir() || st.dev != ws.dev || st.ino != ws.ino) {
    o.skipped = "replaced since the scan (not the directory that was measured); left alone";
    return o;
  }
  if (const std::string users = in_use(); !users.empty()) {
    o.skipped = "in use by " + users;
    return o;
  }
  o.trash_name = trash_entry_name(ws.name, m_counter++);
  const std::string trash_rel = std::string(k_trash_name) + "/" + o.trash_name;
  const auto root_json = report::path_to_json(m_roots[0].display);
  m_audit.write({{"action", "rename"}, {"phase", "before"}, {"root", root_json},
                 {"path", report::path_to_json(ws.name)}, {"to", report::path_to_json(trash_rel)}});
  if (::renameat2(parent->get(), leaf.c_str(), m_trash.get(), o.trash_name.c_str(), RENAME_NOREPLACE) != 0) {
    const int err = errno;
    o.skipped = util::describe_error("rename", m_roots.display_path(0, ws.name), err);
    m_audit.write({{"action", "rename"}, {"phase", "failed"}, {"root", root_json},
                   {"path", report::path_to_json(ws.name)}, {"error", util::errno_text(err)}});
    return o;
  }
  // What was renamed must be what was checked: the name could have been swapped between
  // the check and the rename. If so, put it back and leave it.
  fs::FileStat moved;
  if (fs::stat_at(m_trash.get(), o.trash_name.c_str(), moved) != 0 || moved.dev != ws.dev ||
      moved.ino != ws.ino) {
    const bool back = ::renameat2(m_trash.get(), o.trash_name.c_str(), parent->get(), leaf.c_str(),
                                  RENAME_NOREPLACE) == 0;
    o.skipped = back ? "replaced while being renamed; put back, left alone"
                     : "replaced while being renamed; left in the trash as " + trash_rel;
    m_audit.write({{"action", "rename"}, {"phase", "failed"}, {"root", root_json},
                   {"path", report::path_to_json(ws.name)}, {"error", o.skipped}});
    return o;
  }
  m_audit.write({{"action", "rename"}, {"phase", "after"}, {"root", root_json},
                 {"path", report::path_to_json(ws.name)}, {"to", report::path_to_json(trash_rel)}});
  DeleteOutcome d = delete_trash_entry(o.trash_name, ws.name);
  d.name = ws.name;
  return d;
}

} // namespace wsd::prune
