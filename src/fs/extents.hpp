#pragma once
// Physical extents of a file (FS_IOC_FIEMAP) and what kind of filesystem holds it: to tell
// files that already share storage (reflinks, dedupe, snapshots) from real duplicates, and
// to work out what deleting a file really frees.

#include "util/error.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace wsd::fs {

/// One FIEMAP extent; `flags` holds the FIEMAP_EXTENT_* bits.
struct Extent {
  uint64_t logical = 0;
  uint64_t physical = 0;
  uint64_t length = 0;
  uint32_t flags = 0;
};

/// Whether FIEMAP first writes the file's dirty pages back (FIEMAP_FLAG_SYNC): needed where
/// extents are compared after writes, since delayed allocation has no physical address yet
/// (and btrfs decides inline storage only at writeback).
enum class SyncFirst : uint8_t { no, yes };

/// Every extent of the open file `fd`, in logical order; errno on failure (EOPNOTSUPP when
/// the filesystem has no FIEMAP).
util::Result<std::vector<Extent>> read_extents(int fd, SyncFirst sync = SyncFirst::no);

/// The union of the FIEMAP_EXTENT_* flags of every extent of the open file `fd`, and how
/// many extents there are: enough to tell "stored inline", "shares nothing" and "shares
/// something" apart without keeping the list (one small stack buffer, no allocation).
struct ExtentFlags {
  uint32_t any = 0;    // OR of every extent's flags
  uint64_t count = 0;  // extents
};
util::Result<ExtentFlags> read_extent_flags(int fd, SyncFirst sync = SyncFirst::no);

/// True when both lists are non-empty and map the same logical ranges to the same physical
/// ranges (the files already share their storage).
bool same_physical_extents(const std::vector<Extent>& a, const std::vector<Extent>& b);

/// True when an extent is stored inline in metadata (btrfs small files): it has no physical
/// address of its own and cannot be shared.
bool has_inline_extent(const std::vector<Extent>& extents);

/// True when an extent is marked FIEMAP_EXTENT_SHARED (another file or a snapshot uses it).
bool is_shared(const Extent& extent);

/// The filesystems whose behaviour differs for us.
enum class FsKind : uint8_t { ext4, btrfs, xfs, zfs, tmpfs, other };

/// The kind of filesystem holding the open descriptor `fd` (fstatfs).
FsKind fs_kind(int fd);

/// "ext4", "btrfs", "xfs", "zfs", "tmpfs", "other".
std::string_view fs_kind_name(FsKind kind);

/// True where files can share extents (reflinks): btrfs and XFS.
bool fs_can_share_extents(FsKind kind);

/// An id equal for two open descriptors exactly when their files' physical extent addresses
/// are comparable (one filesystem): btrfs's filesystem id, which its subvolumes share (their
/// statfs f_fsid differs), else statfs f_fsid; 0 when unknown. Two filesystems made alike
/// (an image and its copy, or the same mkfs and writes) give files at equal addresses.
uint64_t storage_id(int fd);

} // namespace wsd::fs
