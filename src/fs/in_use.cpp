#include "fs/in_use.hpp"

#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wsd::fs {

namespace {

// Names in a /proc directory (opened relative to `dirfd`); empty when it cannot be listed.
std::vector<std::string> list_dir(int dirfd, const char* name, int& err) {
  std::vector<std::string> names;
  err = 0;
  const int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return names;
  }
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    err = errno;
    ::close(fd);
    return names;
  }
  while (const dirent* d = ::readdir(dir)) {
    if (d->d_name[0] == '.') continue;
    names.emplace_back(d->d_name);
  }
  ::closedir(dir);
  return names;
}

std::string read_comm(int pid_fd) {
  const int fd = ::openat(pid_fd, "comm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "?";
  char buf[64];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return "?";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

} // namespace

std::vector<ProcessUse> find_process_uses(const std::function<bool(uint64_t, uint64_t)>& wanted,
                                          uint64_t* uninspectable) {
  std::vector<ProcessUse> uses;
  const int proc = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0) return uses;
  int err = 0;
  const std::vector<std::string> pids = list_dir(proc, ".", err);
  const int self = ::getpid();
  for (const std::string& name : pids) {
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const int pid = std::atoi(name.c_str());
    if (pid == self) continue;
    const int pid_fd = ::openat(proc, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pid_fd < 0) continue; // exited
    std::string comm;
    const auto check = [&](const char* rel, std::string how) {
      struct stat st {};
      if (::fstatat(pid_fd, rel, &st, 0) != 0) return; // follows the magic link to the inode
      if (!wanted(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino))) return;
      if (comm.empty()) comm = read_comm(pid_fd);
      uses.push_back({pid, comm, std::move(how), static_cast<uint64_t>(st.st_dev),
                      static_cast<uint64_t>(st.st_ino)});
    };
    check("cwd", "cwd");
    check("root", "root");
    for (const std::string& fd : list_dir(pid_fd, "fd", err))
      check(("fd/" + fd).c_str(), "fd " + fd);
    if (err != 0 && err != ENOENT && uninspectable) ++*uninspectable;
    // map_files needs CAP_SYS_ADMIN; without it the mapped files stay unknown.
    // One line per mapped inode: a library maps several ranges of one file.
    const size_t before_maps = uses.size();
    for (const std::string& m : list_dir(pid_fd, "map_files", err)) {
      check(("map_files/" + m).c_str(), "mapped file");
      if (uses.size() > before_maps + 1) {
        const ProcessUse& last = uses.back();
        for (size_t k = before_maps; k + 1 < uses.size(); ++k) {
          if (uses[k].dev == last.dev && uses[k].ino == last.ino) {
            uses.pop_back();
            break;
          }
        }
      }
    }
    ::close(pid_fd);
  }
  ::close(proc);
  return uses;
}

} // namespace wsd::fs
