#pragma once
// Errors in two layers (STYLE.md): syscalls return an errno value, never throw;
// a fatal problem is one exception type, caught once in main and mapped to an exit code.

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace wsd::util {

/// Exit codes of every command (DESIGN.md section 2).
enum class ExitCode : int { ok = 0, finding = 1, fatal = 2 };

/// A problem that ends the run: bad usage, a root that cannot be opened, ...
class Fatal : public std::runtime_error {
public:
  explicit Fatal(const std::string& what) : std::runtime_error(what) {}
  template <typename... Args>
  explicit Fatal(fmt::format_string<Args...> format, Args&&... args)
      : std::runtime_error(fmt::format(format, std::forward<Args>(args)...)) {}
};

/// Thread-safe strerror.
std::string errno_text(int err);

/// Formats `op("path"): text`, the one shape of every error message.
std::string describe_error(std::string_view op, std::string_view display_path, int err);

/// A value or an errno, for syscall wrappers that must not throw.
template <typename T>
class Result {
public:
  Result(T value) : m_value(std::move(value)) {} // NOLINT: implicit by design
  static Result failure(int err) {
    Result r;
    r.m_err = err;
    return r;
  }
  bool ok() const { return m_err == 0; }
  explicit operator bool() const { return ok(); }
  int error() const { return m_err; }
  T& operator*() { return m_value; }
  const T& operator*() const { return m_value; }
  T* operator->() { return &m_value; }
  const T* operator->() const { return &m_value; }

private:
  Result() = default;
  T m_value{};
  int m_err = 0;
};

} // namespace wsd::util
