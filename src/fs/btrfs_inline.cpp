#include "fs/btrfs_inline.hpp"

#include "fs/btrfs_extents.hpp"

#include <linux/fiemap.h>

namespace wsd::fs {

util::Result<bool> btrfs_is_inline(int fd, uint64_t ino, uint64_t size) {
  if (size == 0 || size > k_btrfs_max_inline) return false;
  const auto extents = btrfs_tree_extents(fd, ino);
  if (!extents) return util::Result<bool>::failure(extents.error());
  // All of the file's bytes in one inline item at offset 0 (no item: data not written back
  // yet). A file rewritten since (other size) is left to FIEMAP, which writes dirty pages
  // back first.
  return extents->size() == 1 && ((*extents)[0].flags & FIEMAP_EXTENT_DATA_INLINE) != 0 &&
         (*extents)[0].logical == 0 && (*extents)[0].length == size;
}

} // namespace wsd::fs
