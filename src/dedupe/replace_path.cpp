#include "dedupe/replace_path.hpp"

#include "dedupe/file_compare.hpp"
#include "dedupe/temp_names.hpp"
#include "fs/dedupe_ioctl.hpp"
#include "fs/safe_open.hpp"
#include "report/json_path.hpp"
#include "util/pause_point.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace wsd::dedupe {

namespace {

bool same_identity(const fs::FileStat& a, const fs::FileStat& b) {
  return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime_ns == b.mtime_ns &&
         a.ctime_ns == b.ctime_ns;
}

// Links the open file `fd` as `dirfd`/`name`: AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, the
// /proc/self/fd form works for everyone.
int link_fd(int fd, int dirfd, const std::string& name) {
  if (::linkat(fd, "", dirfd, name.c_str(), AT_EMPTY_PATH) == 0) return 0;
  if (errno != ENOENT && errno != EPERM) return errno;
  const std::string proc = fmt::format("/proc/self/fd/{}", fd);
  return ::linkat(AT_FDCWD, proc.c_str(), dirfd, name.c_str(), AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
}

int copy_contents(int src_fd, int dst_fd, uint64_t size) {
  loff_t in = 0;
  loff_t out = 0;
  while (static_cast<uint64_t>(in) < size) {
    const ssize_t n = ::copy_file_range(src_fd, &in, dst_fd, &out, static_cast<size_t>(size - static_cast<uint64_t>(in)), 0);
    if (n < 0) return errno;
    if (n == 0) return ESTALE; // the source shrank
  }
  return 0;
}

// Lease holders are released and fds closed on every path out.
struct LeaseGuard {
  int fd;
  ~LeaseGuard() { fs::release_lease(fd); }
};

} // namespace

std::string reason_for_errno(const char* op, int err, int fd) {
  if ((err == EPERM || err == EACCES) && fd >= 0) {
    int flags = 0;
    if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
      if (flags & FS_IMMUTABLE_FL) return "immutable attribute";
      if (flags & FS_APPEND_FL) return "append-only attribute";
    }
  }
  if (err == ENOSPC) return fmt::format("{}: no space left on device", op);
  if (err == EROFS) return fmt::format("{}: read-only filesystem", op);
  if (err == ETXTBSY) return fmt::format("{}: file is busy (being executed or swapped)", op);
  return fmt::format("{}: {}", op, util::errno_text(err));
}

ReplaceOutcome replace_path(const fs::RootSet& roots, const ReplaceTarget& target,
                            ReplaceKind kind, int keeper_fd, const fs::FileStat& keeper_st,
                            util::JsonLinesLog& audit, util::JsonLinesLog* journal,
                            const nlohmann::ordered_json& journal_line, bool cross_fs) {
  const std::string& rel = target.rel_path;
  const std::string display = roots.display_path(target.root, rel);
  const std::string name(base_name(rel));
  auto dir = fs::open_beneath(roots[target.root].fd.get(), dir_name(rel), true, cross_fs);
  if (!dir) return {false, reason_for_errno("open directory", dir.error())};
  const int dirfd = dir->get();
  auto opened = fs::open_child(dirfd, name.c_str(), false);
  if (!opened) return {false, reason_for_errno("open", opened.error())};
  const int tfd = opened->get();
  fs::FileStat st;
  if (const int err = fs::stat_fd(tfd, st); err != 0) return {false, reason_for_errno("fstat", err)};
  if (!st.is_regular() || !same_identity(st, target.expected)) return {false, "changed since it was hashed"};
  if (kind != ReplaceKind::private_copy && st.nlink > 1)
    return {false, "nlink > 1 (its other names would keep the old copy)"};
  if (kind == ReplaceKind::private_copy && st.nlink < 2) return {false, "no longer linked"};

  // Invariant 3: nobody else may have it open from here to the rename.
  if (const int err = fs::take_write_lease(tfd); err != 0) {
    if (err == EAGAIN || err == EBUSY) return {false, "open by another process"};
    return {false, reason_for_errno("F_SETLEASE", err)};
  }
  LeaseGuard lease{tfd};
  util::pause_point("dedupe.leased", rel);

  util::Fd tmp;
  int source_fd = keeper_fd;
  if (kind == ReplaceKind::clone || kind == ReplaceKind::private_copy) {
    tmp = util::Fd(::openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!tmp) return {false, reason_for_errno("open O_TMPFILE", errno)};
    // Nobody else can open it yet (it has no name): a lease now, intact after the rename,
    // proves nobody wrote it after our verification (dedupe/catalog_rows.hpp).
    if (kind == ReplaceKind::clone) (void)fs::take_write_lease(tmp.get());
    const int err = kind == ReplaceKind::clone ? fs::clone_whole_file(keeper_fd, tmp.get())
                                               : copy_contents(tfd, tmp.get(), st.size);
    if (err != 0) return {false, reason_for_errno(kind == ReplaceKind::clone ? "FICLONE" : "copy_file_range", err, tfd)};
    if (const int merr = copy_metadata(tfd, st, tmp.get()); merr != 0)
      return {false, reason_for_errno("copy metadata", merr)};
    source_fd = tmp.get();
  } else {
    const std::string diff = metadata_difference(keeper_fd, keeper_st, tfd, st);
    if (!diff.empty()) return {false, diff};
  }
  // Byte-for-byte, through the fds we will use (not a hash).
  auto same = same_bytes(tfd, st, source_fd);
  if (!same) return {false, same.error() == ESTALE ? "changed while compared" : reason_for_errno("compare", same.error())};
  if (!*same) return {false, "content differs (changed since it was hashed)"};

  if (kind == ReplaceKind::hardlink && journal) {
    nlohmann::ordered_json line = journal_line;
    line["path"] = report::path_to_json(rel);
    journal->append(std::move(line), util::Durability::synced);
  }
  util::pause_point("dedupe.before_link", rel);
  const std::string temp = make_temp_name();
  const std::string temp_display = roots.display_path(target.root, std::string(dir_name(rel)).empty() ? temp : std::string(dir_name(rel)) + "/" + temp);
  const char* action = kind == ReplaceKind::hardlink ? "link" : kind == ReplaceKind::clone ? "clone" : "copy";
  audit.append({{"action", action}, {"phase", "intent"}, {"temp", report::path_to_json(temp_display)},
                {"target", report::path_to_json(display)}},
               util::Durability::synced);
  if (const int err = link_fd(source_fd, dirfd, temp); err != 0) {
    audit.append({{"action", action}, {"phase", "failed"}, {"target", report::path_to_json(display)},
                  {"error", util::errno_text(err)}},
                 util::Durability::buffered);
    return {false, reason_for_errno("linkat", err, tfd)};
  }
  audit.append({{"action", action}, {"phase", "done"}, {"temp", report::path_to_json(temp_display)}}, util::Durability::buffered);
  util::pause_point("dedupe.before_rename", rel);

  // Re-check just before the rename: the name still holds the inode we verified, unchanged,
  // nobody opened it since (the lease is intact), and the temp name is ours.
  fs::FileStat now_fd, now_name, now_temp, now_source;
  const bool ok = fs::stat_fd(tfd, now_fd) == 0 && same_identity(now_fd, target.expected) &&
                  fs::stat_at(dirfd, name.c_str(), now_name) == 0 && now_name.ino == st.ino &&
                  now_name.dev == st.dev && fs::stat_at(dirfd, temp.c_str(), now_temp) == 0 &&
                  fs::stat_fd(source_fd, now_source) == 0 && now_temp.ino == now_source.ino;
  const bool leased = fs::write_lease_held(tfd);
  if (!ok || !leased) {
    audit.append({{"action", "remove_temp"}, {"phase", "intent"}, {"path", report::path_to_json(temp_display)}}, util::Durability::synced);
    ::unlinkat(dirfd, temp.c_str(), 0);
    audit.append({{"action", "remove_temp"}, {"phase", "done"}, {"path", report::path_to_json(temp_display)}}, util::Durability::buffered);
    return {false, leased ? "changed just before the rename" : "opened by another process during the operation"};
  }
  audit.append({{"action", "rename"}, {"phase", "intent"}, {"from", report::path_to_json(temp_display)},
                {"to", report::path_to_json(display)}},
               util::Durability::synced);
  if (::renameat(dirfd, temp.c_str(), dirfd, name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dirfd, temp.c_str(), 0);
    audit.append({{"action", "rename"}, {"phase", "failed"}, {"to", report::path_to_json(display)},
                  {"error", util::errno_text(err)}},
                 util::Durability::buffered);
    return {false, reason_for_errno("renameat", err, tfd)};
  }
  audit.append({{"action", "rename"}, {"phase", "done"}, {"to", report::path_to_json(display)}}, util::Durability::buffered);
  ReplaceOutcome out(true, "");
  if (kind == ReplaceKind::clone && fs::stat_fd(tmp.get(), out.new_st) == 0) out.new_fd = std::move(tmp);
  return out;
}

} // namespace wsd::dedupe
