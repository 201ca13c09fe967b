#pragma once
// A btrfs file's extents read straight from its subvolume's tree (BTRFS_IOC_TREE_SEARCH_V2,
// CAP_SYS_ADMIN), without opening the file. FIEMAP gives the same map but also works out,
// extent by extent, whether anything else references it (a walk of back references): on a
// deduplicated tree that is most of a re-run's cost, and telling which members map the same
// physical ranges needs none of it.

#include "fs/extents.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <vector>

namespace wsd::fs {

/// The extents of inode `ino` of the btrfs subvolume holding the open descriptor `fd` (the
/// file itself, or anything on the same subvolume), in logical order, in FIEMAP's terms:
/// physical = disk address of the extent plus the offset of the file's range in it (for a
/// compressed extent, flagged FIEMAP_EXTENT_ENCODED, a key rather than an address: FIEMAP
/// gives the extent's start), holes left out, preallocated ranges
/// flagged FIEMAP_EXTENT_UNWRITTEN, inline data flagged FIEMAP_EXTENT_DATA_INLINE with
/// physical 0, and neighbours contiguous on disk merged as FIEMAP merges them. Never sets
/// FIEMAP_EXTENT_SHARED. Data not written back yet is missing: use it only for files that
/// settled long ago. Errors as errno: EPERM without CAP_SYS_ADMIN, ENOTTY off btrfs.
util::Result<std::vector<Extent>> btrfs_tree_extents(int fd, uint64_t ino);

} // namespace wsd::fs
