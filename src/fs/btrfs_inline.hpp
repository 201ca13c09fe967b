#pragma once
// Whether a btrfs file is stored inline in metadata, read straight from its subvolume's tree
// (BTRFS_IOC_TREE_SEARCH_V2, CAP_SYS_ADMIN). FIEMAP tells the same, but costs about three
// times as much on btrfs: it copies a whole metadata leaf and works out per extent whether
// anything else shares it. Inline files are the bulk of a workspace's small duplicates
// (btrfs keeps files of up to 2 KiB inline by default) and can never be shared, so this is
// all dupes and dedupe need to know of them.

#include "util/error.hpp"

#include <cstdint>

namespace wsd::fs {

/// Inline data is never larger than this (a sector; 2048 bytes unless max_inline is raised).
constexpr uint64_t k_btrfs_max_inline = 4096;

/// True when the open btrfs file `fd` (inode `ino`, `size` bytes) is one inline extent holding
/// all `size` bytes. False when the tree does not say so for certain (a regular extent, data
/// not yet written back, no extent item): ask FIEMAP. Errors as errno: EPERM without
/// CAP_SYS_ADMIN, ENOTTY off btrfs.
util::Result<bool> btrfs_is_inline(int fd, uint64_t ino, uint64_t size);

} // namespace wsd::fs
