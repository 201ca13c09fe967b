#pragma once
// Move-only owner of a file descriptor; closes it on destruction.

#include <cstddef>
#include <cstdint>
#include <sys/types.h>
#include <utility>

namespace wsd::util {

class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  ~Fd();

  /// The descriptor, or -1 when empty.
  int get() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }
  explicit operator bool() const { return valid(); }
  /// Gives up ownership without closing.
  int release() { return std::exchange(m_fd, -1); }
  /// Closes now (idempotent).
  void reset(int fd = -1);

private:
  int m_fd = -1;
};

/// One pread(2) at `offset`, retried on EINTR; returns the byte count or -1 (errno set).
/// For a regular file a short count means end of file: callers that ask for size + 1 bytes
/// learn "exactly size bytes" from one call, not two.
ssize_t pread_once(int fd, void* buf, size_t len, uint64_t offset);

} // namespace wsd::util
