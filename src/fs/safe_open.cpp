#include "fs/safe_open.hpp"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>

namespace wsd::fs {

namespace {

// The one place that holds the open flags (STYLE.md).
constexpr int k_base_flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

int open_flags(bool directory, bool noatime) {
  return k_base_flags | (directory ? O_DIRECTORY : 0) | (noatime ? O_NOATIME : 0);
}

std::atomic<bool> g_noatime_refused{false};
std::atomic<bool> g_openat2_missing{false};

} // namespace

util::Result<util::Fd> open_child(int dirfd, const char* name, bool directory) {
  const bool noatime = !g_noatime_refused.load(std::memory_order_relaxed);
  int fd = ::openat(dirfd, name, open_flags(directory, noatime));
  if (fd < 0 && errno == EPERM && noatime) {
    fd = ::openat(dirfd, name, open_flags(directory, false));
    if (fd >= 0) g_noatime_refused.store(true, std::memory_order_relaxed);
  }
  if (fd < 0) return util::Result<util::Fd>::failure(errno);
  return util::Fd(fd);
}

util::Result<util::Fd> open_beneath(int dirfd, std::string_view rel_path, bool directory,
                                    bool cross_fs) {
  const std::string path(rel_path.empty() ? "." : rel_path);
  if (!g_openat2_missing.load(std::memory_order_relaxed)) {
    struct open_how how {};
    how.flags = static_cast<__u64>(static_cast<unsigned>(open_flags(directory, true)));
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                  (cross_fs ? 0 : RESOLVE_NO_XDEV);
    long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
    if (fd < 0 && errno == EPERM) {
      how.flags = static_cast<__u64>(static_cast<unsigned>(open_flags(directory, false)));
      fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
    }
    if (fd >= 0) return util::Fd(static_cast<int>(fd));
    if (errno != ENOSYS && errno != ENAMETOOLONG && errno != EAGAIN)
      return util::Result<util::Fd>::failure(errno);
    if (errno == ENOSYS) g_openat2_missing.store(true, std::memory_order_relaxed);
  }
  // Fallback: one component at a time, each O_NOFOLLOW. Rejects "..".
  util::Fd current;
  int at = dirfd;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string component = path.substr(start, slash - start);
    start = slash + 1;
    if (component.empty() || component == ".") {
      if (start > path.size() && !current) {
        auto self = open_child(at, ".", directory);
        if (!self) return self;
        current = std::move(*self);
      }
      continue;
    }
    if (component == "..") return util::Result<util::Fd>::failure(EXDEV);
    const bool last = start > path.size();
    auto next = open_child(at, component.c_str(), last ? directory : true);
    if (!next) return next;
    current = std::move(*next);
    at = current.get();
  }
  return current;
}

} // namespace wsd::fs
