#pragma once
// Listing a directory fd with getdents64 into a caller's buffer (no DIR* allocation, no
// ownership games with the fd): the one loop the walker and fd-relative deletion share.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <sys/syscall.h>
#include <unistd.h>

namespace wsd::fs {

/// Calls `f(const char* name)`, or `f(name, d_type, d_ino)` when F takes three arguments,
/// for every entry of the directory `fd` except "." and "..", reading from the fd's current
/// position (d_type is DT_UNKNOWN where the filesystem does not tell). Returns 0, or the
/// errno of a failed getdents64 (entries before the failure were delivered).
template <typename F>
int for_each_dir_entry(int fd, std::span<char> buffer, F&& f) {
  struct LinuxDirent64 {
    ino64_t d_ino;
    off64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[1];
  };
  while (true) {
    const long n = ::syscall(SYS_getdents64, fd, buffer.data(), buffer.size());
    if (n < 0) return errno;
    if (n == 0) return 0;
    for (long pos = 0; pos < n;) {
      const auto* d = reinterpret_cast<const LinuxDirent64*>(buffer.data() + pos);
      pos += d->d_reclen;
      const char* name = d->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      if constexpr (std::is_invocable_v<F&, const char*, unsigned char, uint64_t>)
        f(name, d->d_type, static_cast<uint64_t>(d->d_ino));
      else
        f(name);
    }
  }
}

} // namespace wsd::fs
