#pragma once
// The metadata the walker records for every entry (from statx, symlinks not followed).

#include <cstdint>
#include <string_view>

struct statx;

namespace wsd::fs {

enum class EntryType : uint8_t { regular, directory, symlink, fifo, socket, char_device, block_device, unknown };

/// A short word for messages and JSON ("file", "dir", "symlink", ...).
std::string_view entry_type_name(EntryType type);

struct FileStat {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;   // apparent size (st_size)
  uint64_t blocks = 0; // allocated 512-byte units (st_blocks)
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  EntryType type = EntryType::unknown;

  uint64_t allocated_bytes() const { return blocks * 512; }
  bool is_dir() const { return type == EntryType::directory; }
  bool is_regular() const { return type == EntryType::regular; }
};

EntryType entry_type_from_mode(uint32_t mode);

/// Fills a FileStat from a statx buffer.
FileStat file_stat_from_statx(const struct statx& sx);

/// statx(dirfd, name, AT_SYMLINK_NOFOLLOW); returns 0 or errno. Empty `name` stats dirfd.
int stat_at(int dirfd, const char* name, FileStat& out);

/// fstat on an open descriptor; returns 0 or errno.
int stat_fd(int fd, FileStat& out);

/// Whether `now` is still the regular file `then` described: the same inode with the same
/// size, mtime and ctime (the identity a hash or a listing was made of). `then` is any type
/// with FileStat's field names (scan::FileMeta keeps them).
template <class Then>
bool same_file_version(const FileStat& now, const Then& then) {
  return now.is_regular() && now.dev == then.dev && now.ino == then.ino && now.size == then.size &&
         now.mtime_ns == then.mtime_ns && now.ctime_ns == then.ctime_ns;
}

} // namespace wsd::fs
