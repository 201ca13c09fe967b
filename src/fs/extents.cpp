#include "fs/extents.hpp"

#include <cerrno>
#include <cstring>
#include <linux/btrfs.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

namespace wsd::fs {

namespace {

constexpr int64_t k_zfs_magic = 0x2fc12fc1;

// Calls `visit(extent)` for each extent of `fd` in logical order, FIEMAP batch by batch into a
// stack buffer (most files have one extent; only the header needs zeroing, the kernel fills
// the extents it maps). Returns 0 or the errno (EOPNOTSUPP when there is no FIEMAP).
template <typename Visit>
int for_each_extent(int fd, SyncFirst sync, Visit visit) {
  constexpr unsigned k_batch = 32;
  alignas(struct fiemap) std::byte buf[sizeof(struct fiemap) + k_batch * sizeof(struct fiemap_extent)];
  auto* fm = reinterpret_cast<struct fiemap*>(buf);
  uint64_t start = 0;
  while (true) {
    std::memset(fm, 0, sizeof(struct fiemap));
    fm->fm_start = start;
    fm->fm_length = FIEMAP_MAX_OFFSET - start;
    fm->fm_extent_count = k_batch;
    // The first call flushes; later batches see the extents it produced.
    if (sync == SyncFirst::yes && start == 0) fm->fm_flags = FIEMAP_FLAG_SYNC;
    if (::ioctl(fd, FS_IOC_FIEMAP, fm) != 0) return errno == ENOTTY ? EOPNOTSUPP : errno;
    bool last = fm->fm_mapped_extents < k_batch;
    for (unsigned k = 0; k < fm->fm_mapped_extents; ++k) {
      const struct fiemap_extent& e = fm->fm_extents[k];
      visit(Extent{e.fe_logical, e.fe_physical, e.fe_length, e.fe_flags});
      start = e.fe_logical + e.fe_length;
      if (e.fe_flags & FIEMAP_EXTENT_LAST) last = true;
    }
    if (last || fm->fm_mapped_extents == 0) return 0;
  }
}

} // namespace

util::Result<std::vector<Extent>> read_extents(int fd, SyncFirst sync) {
  std::vector<Extent> out;
  if (const int err = for_each_extent(fd, sync, [&](const Extent& e) { out.push_back(e); }); err != 0)
    return util::Result<std::vector<Extent>>::failure(err);
  return out;
}

util::Result<ExtentFlags> read_extent_flags(int fd, SyncFirst sync) {
  ExtentFlags out;
  const int err = for_each_extent(fd, sync, [&](const Extent& e) {
    out.any |= e.flags;
    out.count++;
  });
  if (err != 0) return util::Result<ExtentFlags>::failure(err);
  return out;
}

bool same_physical_extents(const std::vector<Extent>& a, const std::vector<Extent>& b) {
  if (a.empty() || a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k) {
    const Extent& x = a[k];
    const Extent& y = b[k];
    if ((x.flags | y.flags) & (FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_UNKNOWN |
                               FIEMAP_EXTENT_DELALLOC))
      return false;
    if (x.logical != y.logical || x.physical != y.physical || x.length != y.length) return false;
  }
  return true;
}

bool has_inline_extent(const std::vector<Extent>& extents) {
  for (const Extent& e : extents)
    if (e.flags & FIEMAP_EXTENT_DATA_INLINE) return true;
  return false;
}

bool is_shared(const Extent& extent) { return (extent.flags & FIEMAP_EXTENT_SHARED) != 0; }

FsKind fs_kind(int fd) {
  struct statfs sf {};
  if (::fstatfs(fd, &sf) != 0) return FsKind::other;
  const auto magic = static_cast<int64_t>(sf.f_type);
  if (magic == EXT4_SUPER_MAGIC) return FsKind::ext4;
  if (magic == BTRFS_SUPER_MAGIC) return FsKind::btrfs;
  if (magic == XFS_SUPER_MAGIC) return FsKind::xfs;
  if (magic == k_zfs_magic) return FsKind::zfs;
  if (magic == TMPFS_MAGIC) return FsKind::tmpfs;
  return FsKind::other;
}

std::string_view fs_kind_name(FsKind kind) {
  switch (kind) {
  case FsKind::ext4: return "ext4";
  case FsKind::btrfs: return "btrfs";
  case FsKind::xfs: return "xfs";
  case FsKind::zfs: return "zfs";
  case FsKind::tmpfs: return "tmpfs";
  case FsKind::other: return "other";
  }
  return "other";
}

bool fs_can_share_extents(FsKind kind) { return kind == FsKind::btrfs || kind == FsKind::xfs; }

uint64_t storage_id(int fd) {
  struct statfs sf {};
  if (::fstatfs(fd, &sf) != 0) return 0;
  if (static_cast<int64_t>(sf.f_type) == BTRFS_SUPER_MAGIC) {
    struct btrfs_ioctl_fs_info_args info {};
    if (::ioctl(fd, BTRFS_IOC_FS_INFO, &info) == 0) {
      uint64_t halves[2];
      std::memcpy(halves, info.fsid, sizeof halves);
      return (halves[0] ^ halves[1]) | 1; // never 0
    }
  }
  uint64_t id = 0;
  static_assert(sizeof sf.f_fsid == sizeof id);
  std::memcpy(&id, &sf.f_fsid, sizeof id);
  return id;
}

} // namespace wsd::fs
