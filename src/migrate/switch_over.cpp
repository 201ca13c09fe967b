#include "migrate/switch_over.hpp"

#include "dedupe/temp_names.hpp"
#include "fs/roots.hpp"
#include "migrate/fstab.hpp"
#include "report/json_path.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wsd::migrate {

namespace {

// Collects the (dev, ino) of every entry of a tree.
class InodeCollector final : public fs::WalkVisitor {
public:
  explicit InodeCollector(unsigned threads) : m_local(threads) {}
  fs::DirTag on_entry(unsigned thread, const fs::Entry& e, fs::DirTag) override {
    m_local[thread].emplace(e.st->dev, e.st->ino);
    return 0;
  }
  void on_error(unsigned, const fs::WalkError&) override {}
  std::set<std::pair<uint64_t, uint64_t>> merged() {
    std::set<std::pair<uint64_t, uint64_t>> out;
    for (auto& s : m_local) out.merge(s);
    return out;
  }

private:
  std::vector<std::set<std::pair<uint64_t, uint64_t>>> m_local;
};

std::string proc_fd_path(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

} // namespace

std::vector<fs::ProcessUse> processes_using_tree(const std::string& src, const fs::WalkOptions& walk) {
  const fs::RootSet roots({src});
  InodeCollector collector(fs::resolve_walk_threads(walk.threads));
  fs::walk(roots, walk, collector);
  const auto inodes = collector.merged();
  return fs::find_process_uses([&](uint64_t dev, uint64_t ino) { return inodes.contains({dev, ino}); });
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm {};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

SwitchResult switch_over(const SwitchOptions& options, const fs::WalkOptions& walk, const AuditFn& log) {
  SwitchResult result;
  const std::string parent = std::string(dedupe::dir_name(options.src)).empty() ? "/" : std::string(dedupe::dir_name(options.src));
  const std::string name(dedupe::base_name(options.src));
  if (name.empty()) throw util::Fatal("switch-over: SRC \"{}\" has no name to move aside", options.src);

  // 1. Nobody may use SRC.
  const auto uses = processes_using_tree(options.src, walk);
  if (!uses.empty()) {
    std::string who;
    for (const auto& u : uses) {
      if (!who.empty()) who += ", ";
      who += fmt::format("pid {} ({}, {})", u.pid, u.comm, u.how);
    }
    throw util::Fatal("switch-over refused: {} is in use by {}", options.src, who);
  }

  util::Fd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent_fd) throw util::Fatal(util::describe_error("open", parent, errno));
  struct stat src_st {};
  if (::fstatat(parent_fd.get(), name.c_str(), &src_st, AT_SYMLINK_NOFOLLOW) != 0)
    throw util::Fatal(util::describe_error("stat", options.src, errno));
  if (!S_ISDIR(src_st.st_mode)) throw util::Fatal("switch-over: {} is no longer a directory", options.src);

  // 2. Move SRC aside (never deleted).
  const std::string old_name = fmt::format("{}.wsdedup-old-{}", name, options.timestamp);
  result.old_path = (parent == "/" ? "" : parent) + "/" + old_name;
  log({{"action", "move_aside"}, {"phase", "before"}, {"path", report::path_to_json(options.src)},
       {"to", report::path_to_json(result.old_path)}});
  if (::renameat2(parent_fd.get(), name.c_str(), parent_fd.get(), old_name.c_str(), RENAME_NOREPLACE) != 0) {
    const int err = errno;
    log({{"action", "move_aside"}, {"phase", "failed"}, {"error", util::errno_text(err)}});
    throw util::Fatal(util::describe_error("rename", options.src, err));
  }
  log({{"action", "move_aside"}, {"phase", "after"}, {"path", report::path_to_json(options.src)},
       {"to", report::path_to_json(result.old_path)}});

  auto undo_move = [&](const std::string& why) -> util::Fatal {
    ::unlinkat(parent_fd.get(), name.c_str(), AT_REMOVEDIR);
    const bool back = ::renameat2(parent_fd.get(), old_name.c_str(), parent_fd.get(), name.c_str(), RENAME_NOREPLACE) == 0;
    log({{"action", "move_back"}, {"phase", back ? "after" : "failed"}, {"path", report::path_to_json(options.src)}});
    return back ? util::Fatal("switch-over failed, SRC moved back: {}", why)
                : util::Fatal("switch-over failed: {}; SRC is at {} (moving it back failed)", why, result.old_path);
  };

  // 3. The empty mount point, SRC's owner and mode.
  if (::mkdirat(parent_fd.get(), name.c_str(), 0700) != 0) throw undo_move(util::describe_error("mkdir", options.src, errno));
  util::Fd mp(::openat(parent_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!mp) throw undo_move(util::describe_error("open", options.src, errno));
  if (::fchown(mp.get(), src_st.st_uid, src_st.st_gid) != 0 || ::fchmod(mp.get(), src_st.st_mode & 07777) != 0)
    throw undo_move(util::describe_error("chown", options.src, errno));

  // 4. Bind mount, through descriptors (no path is resolved twice).
  util::Fd copy_fd(::open(options.copy_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!copy_fd) throw undo_move(util::describe_error("open", options.copy_dir, errno));
  log({{"action", "bind_mount"}, {"phase", "before"}, {"source", report::path_to_json(options.copy_dir)},
       {"target", report::path_to_json(options.src)}});
  if (::mount(proc_fd_path(copy_fd.get()).c_str(), proc_fd_path(mp.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
    const int err = errno;
    log({{"action", "bind_mount"}, {"phase", "failed"}, {"error", util::errno_text(err)}});
    mp.reset();
    throw undo_move(util::describe_error("mount", options.src, err));
  }
  log({{"action", "bind_mount"}, {"phase", "after"}, {"source", report::path_to_json(options.copy_dir)},
       {"target", report::path_to_json(options.src)}});

  // 5. fstab: backup, then the new text atomically.
  result.fstab_line = bind_mount_line(options.copy_dir, options.src, options.requires_mounts_for);
  if (options.edit_fstab) {
    std::string text;
    if (::access(options.fstab_path.c_str(), F_OK) == 0) text = util::read_whole_file(options.fstab_path);
    result.fstab_backup = fmt::format("{}.wsdedup-{}", options.fstab_path, options.timestamp);
    log({{"action", "fstab"}, {"phase", "before"}, {"path", report::path_to_json(options.fstab_path)},
         {"backup", report::path_to_json(result.fstab_backup)}, {"line", result.fstab_line}});
    util::write_file_atomically(result.fstab_backup, text, 0644, false);
    util::write_file_atomically(options.fstab_path, replace_fstab_entry(text, options.src, result.fstab_line),
                                0644, true);
    log({{"action", "fstab"}, {"phase", "after"}, {"path", report::path_to_json(options.fstab_path)}});
  }
  return result;
}

} // namespace wsd::migrate
