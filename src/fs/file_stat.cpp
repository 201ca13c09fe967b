#include "fs/file_stat.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace wsd::fs {

std::string_view entry_type_name(EntryType type) {
  switch (type) {
  case EntryType::regular: return "file";
  case EntryType::directory: return "dir";
  case EntryType::symlink: return "symlink";
  case EntryType::fifo: return "fifo";
  case EntryType::socket: return "socket";
  case EntryType::char_device: return "char-device";
  case EntryType::block_device: return "block-device";
  case EntryType::unknown: break;
  }
  return "unknown";
}

EntryType entry_type_from_mode(uint32_t mode) {
  switch (mode & S_IFMT) {
  case S_IFREG: return EntryType::regular;
  case S_IFDIR: return EntryType::directory;
  case S_IFLNK: return EntryType::symlink;
  case S_IFIFO: return EntryType::fifo;
  case S_IFSOCK: return EntryType::socket;
  case S_IFCHR: return EntryType::char_device;
  case S_IFBLK: return EntryType::block_device;
  default: return EntryType::unknown;
  }
}

FileStat file_stat_from_statx(const struct statx& sx) {
  FileStat st;
  st.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  st.ino = sx.stx_ino;
  st.size = sx.stx_size;
  st.blocks = sx.stx_blocks;
  st.mode = sx.stx_mode;
  st.nlink = sx.stx_nlink;
  st.uid = sx.stx_uid;
  st.gid = sx.stx_gid;
  st.mtime_ns = sx.stx_mtime.tv_sec * 1'000'000'000LL + sx.stx_mtime.tv_nsec;
  st.ctime_ns = sx.stx_ctime.tv_sec * 1'000'000'000LL + sx.stx_ctime.tv_nsec;
  st.type = entry_type_from_mode(sx.stx_mode);
  return st;
}

int stat_at(int dirfd, const char* name, FileStat& out) {
  struct statx sx {};
  const int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_AS_STAT |
                    (name[0] == '\0' ? AT_EMPTY_PATH : 0);
  if (::statx(dirfd, name, flags, STATX_BASIC_STATS, &sx) != 0) return errno;
  out = file_stat_from_statx(sx);
  return 0;
}

int stat_fd(int fd, FileStat& out) { return stat_at(fd, "", out); }

} // namespace wsd::fs
