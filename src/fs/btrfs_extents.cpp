#include "fs/btrfs_extents.hpp"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <endian.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fiemap.h>
#include <sys/ioctl.h>

namespace wsd::fs {

namespace {

// The largest item a search can return (a leaf holds it: nodes are at most 64 KiB), with
// its header. The kernel fills the buffer until the key range ends or the next item does not
// fit: a call that left this much room has seen every item, and needs no second call.
constexpr size_t k_largest_item = 64 * 1024 + sizeof(struct btrfs_ioctl_search_header);
// Room for the search results of one call: the largest item and at least 700 small ones.
constexpr size_t k_search_bytes = 2 * k_largest_item;

// Appends `e`, or grows the last extent when `e` continues it both in the file and on disk:
// a file shared in pieces (FIDEDUPERANGE works in chunks of at most 16 MiB on btrfs) holds
// one item per piece, all pointing into the keeper's single extent, and must still compare
// equal to the keeper's one item.
void append_merged(std::vector<Extent>& out, const Extent& e) {
  constexpr uint32_t k_never_merged = FIEMAP_EXTENT_ENCODED | FIEMAP_EXTENT_DATA_INLINE;
  if (!out.empty()) {
    Extent& last = out.back();
    if (last.flags == e.flags && (e.flags & k_never_merged) == 0 && last.logical + last.length == e.logical &&
        last.physical + last.length == e.physical) {
      last.length += e.length;
      return;
    }
  }
  out.push_back(e);
}

} // namespace

util::Result<std::vector<Extent>> btrfs_tree_extents(int fd, uint64_t ino) {
  thread_local std::vector<std::byte> buf(sizeof(struct btrfs_ioctl_search_args_v2) + k_search_bytes);
  auto* args = reinterpret_cast<struct btrfs_ioctl_search_args_v2*>(buf.data());
  std::vector<Extent> out;
  uint64_t next_offset = 0;
  for (;;) {
    std::memset(args, 0, sizeof *args);
    struct btrfs_ioctl_search_key& key = args->key;
    key.tree_id = 0; // the subvolume holding fd
    key.min_objectid = key.max_objectid = ino;
    key.min_type = key.max_type = BTRFS_EXTENT_DATA_KEY;
    key.min_offset = next_offset;
    key.max_offset = UINT64_MAX;
    key.max_transid = UINT64_MAX;
    key.nr_items = UINT32_MAX;
    args->buf_size = k_search_bytes;
    if (::ioctl(fd, BTRFS_IOC_TREE_SEARCH_V2, args) != 0) return util::Result<std::vector<Extent>>::failure(errno);
    if (key.nr_items == 0) break;
    size_t at = 0;
    uint64_t last_offset = next_offset;
    for (uint32_t i = 0; i < key.nr_items; ++i) {
      struct btrfs_ioctl_search_header header;
      if (at + sizeof header > k_search_bytes) return util::Result<std::vector<Extent>>::failure(EIO);
      std::memcpy(&header, reinterpret_cast<const std::byte*>(args->buf) + at, sizeof header);
      const std::byte* item_bytes = reinterpret_cast<const std::byte*>(args->buf) + at + sizeof header;
      at += sizeof header + header.len;
      if (at > k_search_bytes) return util::Result<std::vector<Extent>>::failure(EIO);
      last_offset = header.offset;
      if (header.objectid != ino || header.type != BTRFS_EXTENT_DATA_KEY) continue;
      struct btrfs_file_extent_item item {};
      const size_t head = offsetof(struct btrfs_file_extent_item, disk_bytenr);
      if (header.len < head) return util::Result<std::vector<Extent>>::failure(EIO);
      std::memcpy(&item, item_bytes, std::min<size_t>(header.len, sizeof item));
      Extent e;
      e.logical = header.offset;
      if (item.type == BTRFS_FILE_EXTENT_INLINE) {
        e.length = le64toh(item.ram_bytes);
        e.flags = FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_NOT_ALIGNED;
        append_merged(out, e);
        continue;
      }
      if (header.len < sizeof item) return util::Result<std::vector<Extent>>::failure(EIO);
      const uint64_t disk = le64toh(item.disk_bytenr);
      if (disk == 0) continue; // a hole
      e.length = le64toh(item.num_bytes);
      // item.offset is where the file's range starts inside the extent's uncompressed bytes:
      // added for a compressed extent too (FIEMAP gives its start alone), so two files that
      // map different parts of one compressed extent never look alike.
      e.physical = disk + le64toh(item.offset);
      if (item.compression != 0) e.flags |= FIEMAP_EXTENT_ENCODED;
      if (item.type == BTRFS_FILE_EXTENT_PREALLOC) e.flags |= FIEMAP_EXTENT_UNWRITTEN;
      append_merged(out, e);
    }
    if (k_search_bytes - at >= k_largest_item || last_offset == UINT64_MAX) break;
    next_offset = last_offset + 1;
  }
  return out;
}

} // namespace wsd::fs
