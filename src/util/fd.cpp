#include "util/fd.hpp"

#include <cerrno>
#include <unistd.h>

namespace wsd::util {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

Fd::~Fd() { reset(); }

void Fd::reset(int fd) {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = fd;
}

ssize_t pread_once(int fd, void* buf, size_t len, uint64_t offset) {
  while (true) {
    const ssize_t n = ::pread(fd, buf, len, static_cast<off_t>(offset));
    if (n >= 0 || errno != EINTR) return n;
  }
}

} // namespace wsd::util
