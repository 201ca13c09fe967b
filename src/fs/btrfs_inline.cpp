#include "fs/btrfs_inline.hpp"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <endian.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>

namespace wsd::fs {

util::Result<bool> btrfs_is_inline(int fd, uint64_t ino, uint64_t size) {
  if (size == 0 || size > k_btrfs_max_inline) return false;
  // The search arguments, then room for one item: its header and the extent item with the
  // inline bytes (at most a sector). Only the key and buf_size need setting.
  constexpr size_t k_room = sizeof(struct btrfs_ioctl_search_header) + sizeof(struct btrfs_file_extent_item) +
                            k_btrfs_max_inline;
  alignas(struct btrfs_ioctl_search_args_v2) std::byte buf[sizeof(struct btrfs_ioctl_search_args_v2) + k_room];
  auto* args = reinterpret_cast<struct btrfs_ioctl_search_args_v2*>(buf);
  std::memset(args, 0, sizeof *args);
  struct btrfs_ioctl_search_key& key = args->key;
  key.tree_id = 0; // the subvolume holding fd
  key.min_objectid = key.max_objectid = ino;
  key.min_type = key.max_type = BTRFS_EXTENT_DATA_KEY;
  key.min_offset = 0;
  key.max_offset = UINT64_MAX;
  key.max_transid = UINT64_MAX;
  key.nr_items = 1; // the extent at offset 0: inline data is only ever there, and alone
  args->buf_size = k_room;
  if (::ioctl(fd, BTRFS_IOC_TREE_SEARCH_V2, args) != 0)
    return errno == EOVERFLOW ? util::Result<bool>(false) : util::Result<bool>::failure(errno);
  if (key.nr_items != 1) return false; // no extent item: data not written back yet
  struct btrfs_ioctl_search_header header;
  std::memcpy(&header, args->buf, sizeof header);
  if (header.objectid != ino || header.type != BTRFS_EXTENT_DATA_KEY || header.offset != 0 ||
      header.len < offsetof(struct btrfs_file_extent_item, disk_bytenr))
    return false;
  struct btrfs_file_extent_item item;
  std::memcpy(&item, reinterpret_cast<const std::byte*>(args->buf) + sizeof header,
              offsetof(struct btrfs_file_extent_item, disk_bytenr));
  // All of the file's bytes in this one item: nothing can follow it, and a file rewritten
  // since (other size) is left to FIEMAP, which writes dirty pages back first.
  return item.type == BTRFS_FILE_EXTENT_INLINE && le64toh(item.ram_bytes) == size;
}

} // namespace wsd::fs
