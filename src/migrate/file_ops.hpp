#pragma once
// The per-entry operations of a migrate pass, each on descriptors the caller opened
// fd-relative (DESIGN.md invariant 5): copying one regular file's data (copy_file_range, or
// the content pipeline's read_open_file when the kernel refuses it), and setting metadata in
// the order rsync and DESIGN.md invariant 3 use: owner, then mode (chown clears setuid), then
// xattrs (ACLs are system.posix_acl_* xattrs), then times.

#include "content/content_reader.hpp"
#include "fs/file_stat.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace wsd::migrate {

using Xattrs = std::vector<std::pair<std::string, std::string>>;

/// How a file's bytes were moved.
enum class CopyMethod : uint8_t { copy_file_range, read_write };

/// Per-thread state of the data copier: its buffer, and whether copy_file_range was refused
/// between the two filesystems (then every later file goes through read_open_file).
struct DataCopier {
  std::vector<std::byte> buffer;
  bool copy_file_range_refused = false;
  uint64_t bytes = 0;       // data bytes written
  uint64_t hole_bytes = 0;  // bytes left as holes
  uint64_t kernel_copies = 0; // files copied by copy_file_range
};

/// Copies the content of `src_fd` (whose fstat is `st`) into the empty file `dst_fd`, leaving
/// holes where SRC has them (SEEK_DATA/SEEK_HOLE; a trailing hole by ftruncate). Returns 0 or
/// errno with `op` naming the failed call; ESTALE when SRC changed while it was read.
int copy_file_data(int src_fd, int dst_fd, const fs::FileStat& st, DataCopier& copier, const char*& op);

/// Makes the xattrs of `fd` (a regular file or directory) exactly `wanted`: removes the others,
/// sets the differing ones. Returns 0 or the first errno with `op`.
int sync_xattrs_fd(int fd, const Xattrs& wanted, const char*& op);

/// The same for a file known by path (fifos, sockets, devices: "/proc/self/fd/N" of an O_PATH
/// descriptor, which resolves to that very inode).
int sync_xattrs_path(const std::string& path, const Xattrs& wanted, const char*& op);

/// fchown (when it differs), fchmod, xattrs, futimens (mtime; atime left alone) on an open
/// regular file or directory. Returns 0 or errno with `op`.
int apply_metadata_fd(int fd, const fs::FileStat& want, const Xattrs& xattrs, const char*& op);

/// What a file this pass just created is known to have, so apply_metadata_fresh skips the
/// fstat and every call that would change nothing.
struct FreshState {
  uint32_t uid = 0;           // the creator's euid
  uint32_t gid = 0;           // its egid, or the directory's gid when that is setgid
  uint32_t mode = 0;          // permission bits the create gave (after the umask)
  bool dir_has_xattrs = false; // the directory lists xattrs (a default ACL, an LSM label may be inherited)
};

/// apply_metadata_fd for a file created by this pass with `fresh`: fchown only when the owner
/// differs, fchmod only when the mode does (always after fchown: it clears setuid), xattrs set
/// without listing unless the directory may have given some, then futimens.
int apply_metadata_fresh(int fd, const fs::FileStat& want, const Xattrs& xattrs, const FreshState& fresh,
                         const char*& op);

/// The same for `name` in `dir_fd` that must not be opened for I/O (symlink, fifo, socket,
/// device): fchownat/utimensat with AT_SYMLINK_NOFOLLOW, mode and xattrs through an O_PATH
/// descriptor (symlinks: no mode, no xattrs).
int apply_metadata_at(int dir_fd, const char* name, const fs::FileStat& want, const Xattrs& xattrs,
                      const char*& op);

} // namespace wsd::migrate
