#pragma once
// Opens files of a scan's FileList relative to cached parent directory descriptors: the
// directory is opened once beneath its root (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
// DESIGN.md invariant 5), then each file is one openat(O_NOFOLLOW) of its name and one fstat
// checking it is still the inode the scan saw (dev, ino, size, mtime, ctime).

#include "fs/roots.hpp"
#include "scan/file_list.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace wsd::dupes {

/// Opens listed files through a small least-recently-used cache of directory descriptors.
/// Not thread-safe: one per thread.
class ListedOpener {
public:
  /// `capacity` directory descriptors at most are kept open.
  ListedOpener(const fs::RootSet& roots, const scan::FileList& list, bool cross_fs, size_t capacity = 64);

  /// Opens list.files[index] (O_RDONLY, no symlinks) and checks its identity; ESTALE when it
  /// is no longer the inode the scan saw (or another filesystem without cross_fs).
  util::Result<util::Fd> open(uint32_t index);

  /// The cached descriptor of list.files[index]'s directory, opened as open() does; valid
  /// until the next call (e.g. to ask btrfs about a file without opening it).
  util::Result<int> directory_of(uint32_t index) {
    const scan::FileEntry& file = m_list.files[index];
    return dir_fd(file.root, file.dir);
  }

  /// Drops every cached directory descriptor.
  void clear() {
    m_dirs.clear();
    m_slot.clear();
  }

private:
  struct Dir {
    uint32_t root = 0;
    uint32_t dir = 0;
    uint64_t used = 0;
    util::Fd fd;
  };
  // The descriptor of directory `dir` under root `root`; -1 and errno when it cannot be opened.
  util::Result<int> dir_fd(uint32_t root, uint32_t dir);

  const fs::RootSet& m_roots;
  const scan::FileList& m_list;
  bool m_cross_fs;
  size_t m_capacity;
  uint64_t m_clock = 0;
  std::vector<Dir> m_dirs;
  std::unordered_map<uint64_t, size_t> m_slot; // (root << 32 | dir) -> index in m_dirs
};

} // namespace wsd::dupes
