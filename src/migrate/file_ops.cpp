#include "migrate/file_ops.hpp"

#include "verify/tree_listing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace wsd::migrate {

namespace {

constexpr size_t k_buffer_bytes = 1 << 20;
constexpr size_t k_max_copy_chunk = size_t{1} << 30;

// Writes every byte of `bytes` at `offset`.
int pwrite_all(int fd, const std::byte* data, size_t size, uint64_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return 0;
}

// A consumer of the content pipeline that writes what it reads into the DST file.
class WriteConsumer final : public content::ContentConsumer {
public:
  explicit WriteConsumer(int dst_fd) : m_fd(dst_fd) {}
  void begin(const content::FileJob&) override {}
  void data(uint64_t offset, std::span<const std::byte> bytes) override {
    if (m_err != 0) return;
    m_err = pwrite_all(m_fd, bytes.data(), bytes.size(), offset);
    m_end = std::max<uint64_t>(m_end, offset + bytes.size());
  }
  void hole(uint64_t, uint64_t length) override { m_hole_bytes += length; }
  void end(const content::FileJob&, const content::ReadResult&) override {}
  int error() const { return m_err; }
  uint64_t hole_bytes() const { return m_hole_bytes; }
  uint64_t end_offset() const { return m_end; }

private:
  int m_fd;
  int m_err = 0;
  uint64_t m_hole_bytes = 0;
  uint64_t m_end = 0;
};

// copy_file_range of [offset, offset + length); EXDEV & co. mean "not between these two".
int copy_range(int src_fd, int dst_fd, uint64_t offset, uint64_t length, uint64_t& copied) {
  auto in = static_cast<loff_t>(offset);
  auto out = static_cast<loff_t>(offset);
  copied = 0;
  while (copied < length) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(length - copied, k_max_copy_chunk));
    const ssize_t n = ::copy_file_range(src_fd, &in, dst_fd, &out, chunk, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return ESTALE; // SRC shrank under us
    copied += static_cast<uint64_t>(n);
  }
  return 0;
}

// st's mtime as a timespec (floored, so times before 1970 keep a non-negative tv_nsec).
struct timespec mtime_of(const fs::FileStat& st) {
  int64_t sec = st.mtime_ns / 1'000'000'000;
  int64_t nsec = st.mtime_ns % 1'000'000'000;
  if (nsec < 0) {
    nsec += 1'000'000'000;
    --sec;
  }
  return {static_cast<time_t>(sec), static_cast<long>(nsec)};
}

bool refusal(int err) {
  return err == EXDEV || err == EINVAL || err == EOPNOTSUPP || err == ENOSYS || err == EBADF;
}

// The data regions of a file: SEEK_DATA/SEEK_HOLE when it has fewer blocks than bytes, else
// the whole file. A filesystem without hole support (zfs-fuse) answers EINVAL: all data.
std::vector<std::pair<uint64_t, uint64_t>> data_regions(int fd, const fs::FileStat& st) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (st.size == 0) return out;
  if (st.blocks * 512 >= st.size) {
    out.emplace_back(0, st.size);
    return out;
  }
  uint64_t pos = 0;
  while (pos < st.size) {
    const off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break; // only a hole is left
      out.clear();
      out.emplace_back(0, st.size);
      return out;
    }
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) hole = static_cast<off_t>(st.size);
    const auto end = std::min<uint64_t>(static_cast<uint64_t>(hole), st.size);
    if (end > static_cast<uint64_t>(data)) out.emplace_back(static_cast<uint64_t>(data), end - static_cast<uint64_t>(data));
    pos = end;
  }
  return out;
}

int list_names(const std::function<ssize_t(char*, size_t)>& list, std::vector<std::string>& names) {
  std::vector<char> buf(1024);
  while (true) {
    const ssize_t n = list(buf.data(), buf.size());
    if (n >= 0) {
      for (size_t i = 0; i < static_cast<size_t>(n);) {
        const std::string name(buf.data() + i);
        i += name.size() + 1;
        if (!name.empty()) names.push_back(name);
      }
      return 0;
    }
    if (errno != ERANGE) return errno == ENOTSUP ? 0 : errno;
    const ssize_t need = list(nullptr, 0);
    if (need < 0) return errno;
    buf.resize(static_cast<size_t>(need) + 256);
  }
}

struct XattrCalls {
  std::function<ssize_t(char*, size_t)> list;
  std::function<ssize_t(const char*, void*, size_t)> get;
  std::function<int(const char*, const void*, size_t)> set;
  std::function<int(const char*)> remove;
};

int sync_xattrs(const XattrCalls& calls, const Xattrs& wanted, const char*& op) {
  std::vector<std::string> present;
  if (const int err = list_names(calls.list, present); err != 0) {
    op = "listxattr";
    return err;
  }
  for (const std::string& name : present) {
    if (verify::is_xfs_acl_alias(name)) continue; // the ACL itself, set through system.posix_acl_*
    const bool keep = std::any_of(wanted.begin(), wanted.end(), [&](const auto& kv) { return kv.first == name; });
    if (keep) continue;
    if (calls.remove(name.c_str()) != 0 && errno != ENODATA) {
      op = "removexattr";
      return errno;
    }
  }
  std::string current;
  for (const auto& [name, value] : wanted) {
    if (std::find(present.begin(), present.end(), name) != present.end()) {
      current.resize(value.size() + 1);
      const ssize_t n = calls.get(name.c_str(), current.data(), current.size());
      if (n >= 0 && static_cast<size_t>(n) == value.size() && current.compare(0, value.size(), value) == 0) continue;
    }
    if (calls.set(name.c_str(), value.data(), value.size()) != 0) {
      op = "setxattr";
      return errno;
    }
  }
  return 0;
}

} // namespace

int copy_file_data(int src_fd, int dst_fd, const fs::FileStat& st, DataCopier& copier, const char*& op) {
  const auto regions = data_regions(src_fd, st);
  uint64_t in_regions = 0;
  for (const auto& r : regions) in_regions += r.second;
  bool done = false;
  uint64_t written_end = 0; // the file's length after the writes below
  if (!copier.copy_file_range_refused && !regions.empty()) {
    int err = 0;
    uint64_t total = 0;
    for (const auto& [offset, length] : regions) {
      uint64_t copied = 0;
      err = copy_range(src_fd, dst_fd, offset, length, copied);
      total += copied;
      if (err != 0) break;
    }
    if (err == 0) {
      done = true;
      written_end = regions.back().first + regions.back().second;
      copier.bytes += total;
      ++copier.kernel_copies;
    } else if (refusal(err) && total == 0) {
      copier.copy_file_range_refused = true; // same answer for every later file
    } else {
      op = "copy_file_range";
      return err;
    }
  }
  if (!done && st.size > 0) {
    if (copier.buffer.empty()) copier.buffer.resize(k_buffer_bytes);
    WriteConsumer consumer(dst_fd);
    content::FileJob job = content::FileJob::of(0, 0, {}, st);
    const content::ReadResult r = content::read_open_file(src_fd, job, copier.buffer, 0, consumer);
    if (consumer.error() != 0) {
      op = "pwrite";
      return consumer.error();
    }
    if (r.outcome == content::ReadOutcome::changed) {
      op = "read";
      return ESTALE;
    }
    if (r.outcome == content::ReadOutcome::error) {
      op = r.op;
      return r.err;
    }
    copier.bytes += r.bytes_read;
    written_end = consumer.end_offset();
  }
  copier.hole_bytes += st.size - std::min(st.size, in_regions);
  // The file's length: a trailing hole has no data region to write.
  if (written_end != st.size && ::ftruncate(dst_fd, static_cast<off_t>(st.size)) != 0) {
    op = "ftruncate";
    return errno;
  }
  return 0;
}

int sync_xattrs_fd(int fd, const Xattrs& wanted, const char*& op) {
  XattrCalls calls{
      [fd](char* b, size_t n) { return ::flistxattr(fd, b, n); },
      [fd](const char* name, void* b, size_t n) { return ::fgetxattr(fd, name, b, n); },
      [fd](const char* name, const void* v, size_t n) { return ::fsetxattr(fd, name, v, n, 0); },
      [fd](const char* name) { return ::fremovexattr(fd, name); }};
  return sync_xattrs(calls, wanted, op);
}

int sync_xattrs_path(const std::string& path, const Xattrs& wanted, const char*& op) {
  const char* p = path.c_str();
  XattrCalls calls{
      [p](char* b, size_t n) { return ::listxattr(p, b, n); },
      [p](const char* name, void* b, size_t n) { return ::getxattr(p, name, b, n); },
      [p](const char* name, const void* v, size_t n) { return ::setxattr(p, name, v, n, 0); },
      [p](const char* name) { return ::removexattr(p, name); }};
  return sync_xattrs(calls, wanted, op);
}

int apply_metadata_fd(int fd, const fs::FileStat& want, const Xattrs& xattrs, const char*& op) {
  struct stat cur {};
  if (::fstat(fd, &cur) != 0) {
    op = "fstat";
    return errno;
  }
  if ((cur.st_uid != want.uid || cur.st_gid != want.gid) && ::fchown(fd, want.uid, want.gid) != 0) {
    op = "fchown";
    return errno;
  }
  const bool chowned = cur.st_uid != want.uid || cur.st_gid != want.gid;
  if ((chowned || (cur.st_mode & 07777) != (want.mode & 07777)) && ::fchmod(fd, want.mode & 07777) != 0) {
    op = "fchmod";
    return errno;
  }
  if (const int err = sync_xattrs_fd(fd, xattrs, op); err != 0) return err;
  const struct timespec times[2] = {{0, UTIME_OMIT}, mtime_of(want)};
  if (::futimens(fd, times) != 0) {
    op = "futimens";
    return errno;
  }
  return 0;
}

int apply_metadata_fresh(int fd, const fs::FileStat& want, const Xattrs& xattrs, const FreshState& fresh,
                         const char*& op) {
  const bool chowned = fresh.uid != want.uid || fresh.gid != want.gid;
  if (chowned && ::fchown(fd, want.uid, want.gid) != 0) {
    op = "fchown";
    return errno;
  }
  if ((chowned || fresh.mode != (want.mode & 07777)) && ::fchmod(fd, want.mode & 07777) != 0) {
    op = "fchmod";
    return errno;
  }
  if (fresh.dir_has_xattrs) {
    if (const int err = sync_xattrs_fd(fd, xattrs, op); err != 0) return err;
  } else {
    for (const auto& [name, value] : xattrs) {
      if (::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) != 0) {
        op = "setxattr";
        return errno;
      }
    }
  }
  const struct timespec times[2] = {{0, UTIME_OMIT}, mtime_of(want)};
  if (::futimens(fd, times) != 0) {
    op = "futimens";
    return errno;
  }
  return 0;
}

int apply_metadata_at(int dir_fd, const char* name, const fs::FileStat& want, const Xattrs& xattrs,
                      const char*& op) {
  if (::fchownat(dir_fd, name, want.uid, want.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    op = "lchown";
    return errno;
  }
  if (want.type != fs::EntryType::symlink) {
    const int pfd = ::openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0) {
      op = "open";
      return errno;
    }
    const std::string proc = fmt::format("/proc/self/fd/{}", pfd);
    int err = 0;
    // chmod through the magic link reaches the inode itself (fchmod refuses O_PATH fds).
    if (::chmod(proc.c_str(), want.mode & 07777) != 0) {
      op = "chmod";
      err = errno;
    }
    if (err == 0) err = sync_xattrs_path(proc, xattrs, op);
    ::close(pfd);
    if (err != 0) return err;
  }
  const struct timespec times[2] = {{0, UTIME_OMIT}, mtime_of(want)};
  if (::utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW) != 0) {
    op = "utimensat";
    return errno;
  }
  return 0;
}

} // namespace wsd::migrate
