#pragma once
// Move-only owner of a file descriptor; closes it on destruction.

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

} // namespace wsd::util
