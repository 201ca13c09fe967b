#include "fs/roots.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>

namespace wsd::fs {

RootSet::RootSet(const std::vector<std::string>& paths) {
  if (paths.empty()) throw util::Fatal("no root given");
  for (const auto& given : paths) {
    std::string display = given;
    while (display.size() > 1 && display.back() == '/') display.pop_back();
    if (display.empty()) throw util::Fatal("empty root path");
    const int fd = ::open(display.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      struct stat lst {};
      if ((err == ELOOP || err == ENOTDIR) && ::lstat(display.c_str(), &lst) == 0 &&
          S_ISLNK(lst.st_mode))
        throw util::Fatal("root '{}' is a symlink; wsdedup never follows symlinks, pass the "
                          "directory it points to",
                          display);
      if (err == ENOTDIR) throw util::Fatal("root '{}' is not a directory", display);
      throw util::Fatal(util::describe_error("open", display, err));
    }
    Root root{display, util::Fd(fd), {}};
    if (const int err = stat_fd(root.fd.get(), root.st); err != 0)
      throw util::Fatal(util::describe_error("statx", display, err));
    bool duplicate = false;
    for (const auto& r : m_roots)
      duplicate = duplicate || (r.st.dev == root.st.dev && r.st.ino == root.st.ino);
    if (!duplicate) m_roots.push_back(std::move(root));
  }
}

std::string RootSet::display_path(size_t root, std::string_view rel_path) const {
  const std::string& base = m_roots.at(root).display;
  if (rel_path.empty()) return base;
  if (base == "/") return "/" + std::string(rel_path);
  std::string out = base;
  out += '/';
  out += rel_path;
  return out;
}

} // namespace wsd::fs
