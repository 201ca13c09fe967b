#include "util/atomic_file.hpp"

#include "util/error.hpp"
#include "util/fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wsd::util {

namespace {

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

[[noreturn]] void fail(std::string_view op, const std::string& path, int err) {
  throw Fatal(describe_error(op, path, err));
}

} // namespace

void write_file_atomically(const std::string& path, std::string_view text, mode_t mode,
                           bool keep_existing_mode) {
  uid_t owner = static_cast<uid_t>(-1);
  gid_t group = static_cast<gid_t>(-1);
  if (keep_existing_mode) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      mode = st.st_mode & 07777;
      owner = st.st_uid;
      group = st.st_gid;
    }
  }
  // A fixed-pattern name beside the target: same filesystem, so the rename is atomic.
  std::string temp = path + ".wsdedup-tmp.XXXXXX";
  Fd fd(::mkstemp(temp.data()));
  if (!fd) fail("mkstemp", temp, errno);
  auto cleanup_and_fail = [&](std::string_view op, int err) {
    ::unlink(temp.c_str());
    fail(op, temp, err);
  };
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) cleanup_and_fail("write", errno);
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0) cleanup_and_fail("fchmod", errno);
  if (owner != static_cast<uid_t>(-1) && ::fchown(fd.get(), owner, group) != 0)
    cleanup_and_fail("fchown", errno);
  if (::fsync(fd.get()) != 0) cleanup_and_fail("fsync", errno);
  fd.reset();
  if (::rename(temp.c_str(), path.c_str()) != 0) cleanup_and_fail("rename", errno);
  const std::string dir = parent_of(path);
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd) ::fsync(dir_fd.get()); // best effort: the rename itself already happened
}

std::string read_whole_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail("open", path, errno);
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read", path, errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

} // namespace wsd::util
