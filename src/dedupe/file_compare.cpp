#include "dedupe/file_compare.hpp"

#include "content/content_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <vector>

namespace wsd::dedupe {

namespace {

// Compares what the pipeline reads of one file with preads of the other.
class Comparer final : public content::ContentConsumer {
public:
  // `bytes`: the size of the pieces compared at a time (the reader's buffer size).
  Comparer(int other_fd, size_t bytes) : m_other(other_fd), m_buf(bytes) {}
  void begin(const content::FileJob&) override {}
  void data(uint64_t offset, std::span<const std::byte> bytes) override {
    if (!m_equal) return;
    size_t done = 0;
    while (done < bytes.size() && m_equal) {
      const size_t want = std::min(bytes.size() - done, m_buf.size());
      if (!read_other(offset + done, want)) return;
      if (std::memcmp(m_buf.data(), bytes.data() + done, want) != 0) m_equal = false;
      done += want;
    }
  }
  void hole(uint64_t offset, uint64_t length) override {
    uint64_t done = 0;
    while (done < length && m_equal) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(length - done, m_buf.size()));
      if (!read_other(offset + done, want)) return;
      for (size_t i = 0; i < want; ++i)
        if (m_buf[i] != std::byte{0}) {
          m_equal = false;
          break;
        }
      done += want;
    }
  }
  void end(const content::FileJob&, const content::ReadResult&) override {}
  bool equal() const { return m_equal; }
  int error() const { return m_err; }

private:
  bool read_other(uint64_t offset, size_t want) {
    size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(m_other, m_buf.data() + got, want - got, static_cast<off_t>(offset + got));
      if (n < 0) {
        if (errno == EINTR) continue;
        m_err = errno;
        m_equal = false;
        return false;
      }
      if (n == 0) { // the other file is shorter
        m_equal = false;
        return false;
      }
      got += static_cast<size_t>(n);
    }
    return true;
  }

  int m_other;
  std::vector<std::byte> m_buf;
  bool m_equal = true;
  int m_err = 0;
};

} // namespace

util::Result<bool> same_bytes(int a_fd, const fs::FileStat& a_st, int b_fd) {
  fs::FileStat b_st;
  if (const int err = fs::stat_fd(b_fd, b_st); err != 0) return util::Result<bool>::failure(err);
  if (b_st.size != a_st.size) return false;
  content::FileJob job;
  job.dev = a_st.dev;
  job.ino = a_st.ino;
  job.size = a_st.size;
  // Large enough for one read of a small file's size + 1 (the content reader's single-read
  // path); 1 MiB chunks for the rest. Zeroing 1 MiB (twice: this and the comparer's) for
  // every replaced 4 KiB file cost more than reading it.
  const auto piece = static_cast<size_t>(std::min<uint64_t>(a_st.size + 1, uint64_t{1} << 20));
  std::vector<std::byte> buffer(piece);
  Comparer cmp(b_fd, piece);
  const content::ReadResult r = content::read_open_file(a_fd, job, buffer, 0, cmp);
  if (r.outcome == content::ReadOutcome::changed) return util::Result<bool>::failure(ESTALE);
  if (r.outcome == content::ReadOutcome::error) return util::Result<bool>::failure(r.err ? r.err : EIO);
  if (cmp.error()) return util::Result<bool>::failure(cmp.error());
  if (!cmp.equal()) return false;
  // The other file must not be longer either.
  std::byte probe{};
  const ssize_t n = ::pread(b_fd, &probe, 1, static_cast<off_t>(a_st.size));
  return n == 0;
}

util::Result<std::map<std::string, std::string>> read_xattrs(int fd) {
  using R = util::Result<std::map<std::string, std::string>>;
  std::map<std::string, std::string> out;
  std::vector<char> names(4096);
  ssize_t len;
  while ((len = ::flistxattr(fd, names.data(), names.size())) < 0) {
    if (errno == ENOTSUP) return out;
    if (errno != ERANGE) return R::failure(errno);
    names.resize(names.size() * 4);
  }
  for (size_t at = 0; at < static_cast<size_t>(len);) {
    const std::string name(names.data() + at);
    at += name.size() + 1;
    std::vector<char> value(256);
    ssize_t vlen;
    while ((vlen = ::fgetxattr(fd, name.c_str(), value.data(), value.size())) < 0) {
      if (errno == ENODATA) break;
      if (errno != ERANGE) return R::failure(errno);
      value.resize(value.size() * 8);
    }
    if (vlen >= 0) out[name] = std::string(value.data(), static_cast<size_t>(vlen));
  }
  return out;
}

int copy_metadata(int src_fd, const fs::FileStat& src, int dst_fd) {
  if (::fchown(dst_fd, src.uid, src.gid) != 0) return errno;
  if (::fchmod(dst_fd, src.mode & 07777) != 0) return errno;
  auto xattrs = read_xattrs(src_fd);
  if (!xattrs) return xattrs.error();
  for (const auto& [name, value] : *xattrs)
    if (::fsetxattr(dst_fd, name.c_str(), value.data(), value.size(), 0) != 0) return errno;
  struct stat st {};
  if (::fstat(src_fd, &st) != 0) return errno;
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dst_fd, times) != 0) return errno;
  return 0;
}

std::string metadata_difference(int a_fd, const fs::FileStat& a, int b_fd, const fs::FileStat& b) {
  if (a.dev != b.dev) return "different filesystems";
  if (a.uid != b.uid) return "different owner";
  if (a.gid != b.gid) return "different group";
  if ((a.mode & 07777) != (b.mode & 07777)) return "different mode";
  if (a.mtime_ns != b.mtime_ns) return "different mtime";
  auto xa = read_xattrs(a_fd);
  auto xb = read_xattrs(b_fd);
  if (!xa || !xb) return "xattrs unreadable";
  if (*xa != *xb) return "different xattrs";
  return "";
}

} // namespace wsd::dedupe
