#pragma once
// The regular files a scan collected for the content commands (estimate, dupes, dedupe,
// verify): one entry per inode (a hardlinked inode under its bytewise smallest path),
// sorted by (root, path) so every later stage is deterministic.
//
// Memory matters here (DESIGN.md section 6: <= 150 B per file): paths live once in a
// PathArena (each entry holds its directory index and a name reference) and an entry keeps
// only the metadata later stages read (72 bytes). rel_path(i) builds a path when one is
// needed (messages, output); the content reader opens files relative to their directory.

#include "fs/file_stat.hpp"
#include "scan/classifier.hpp"
#include "scan/mapped_array.hpp"
#include "scan/path_arena.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::scan {

/// The part of fs::FileStat a listed regular file keeps (same field names).
struct FileMeta {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;   // apparent size (st_size)
  uint64_t blocks = 0; // allocated 512-byte units (st_blocks)
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  uint64_t allocated_bytes() const { return blocks * 512; }
  bool is_regular() const { return true; }

  /// The kept fields of a full stat.
  static FileMeta of(const fs::FileStat& st) {
    return {st.dev, st.ino, st.size, st.blocks, st.mtime_ns, st.ctime_ns};
  }
  /// A FileStat with these fields (type regular; nlink, mode, uid and gid unknown: 0).
  operator fs::FileStat() const {
    fs::FileStat st;
    st.dev = dev;
    st.ino = ino;
    st.size = size;
    st.blocks = blocks;
    st.mtime_ns = mtime_ns;
    st.ctime_ns = ctime_ns;
    st.type = fs::EntryType::regular;
    return st;
  }
};

struct FileEntry {
  FileMeta st;
  uint32_t dir = 0;         // index into FileList::paths (directory r is root r)
  NameRef name = 0;         // the file's name in FileList::paths
  uint32_t workspace = 0;   // 0: none; else index + 1 into FileList::workspace_names
  uint16_t root = 0;
  CategoryIndex category = 0;
  uint32_t nlink = 0;       // st_nlink the walk saw
  uint32_t names_seen = 1;  // names of this inode found below the roots
};
static_assert(sizeof(FileEntry) == 72, "keep the per-file footprint small");

/// An entry that FileList::files does not describe: a symlink or special file, or one name of
/// a regular file with several names (collected with ScanOptions::collect_tree_entries, for
/// identical-tree detection). Directories are FileList::paths' directories.
struct TreeEntry {
  uint32_t dir = 0;  // the directory holding it
  NameRef name = 0;
  fs::EntryType type = fs::EntryType::unknown;
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t ctime_ns = 0; // a symlink's target can change only with a new inode or ctime
};

struct FileList {
  PathArena paths;
  MappedArray<FileEntry> files;
  std::vector<TreeEntry> tree_entries; // sorted by (root, rel_path); see TreeEntry
  std::vector<std::string> workspace_names;
  std::vector<std::string> category_names;

  /// The root-relative path of files[i].
  std::string rel_path(size_t i) const { return paths.path(files[i].dir, files[i].name); }
  /// The root-relative path of a file entry of this list.
  std::string rel_path(const FileEntry& f) const { return paths.path(f.dir, f.name); }
  /// The root-relative path of a tree entry of this list.
  std::string rel_path(const TreeEntry& e) const { return paths.path(e.dir, e.name); }
  /// The name (last component) of files[i].
  std::string_view name(size_t i) const { return paths.name(files[i].name); }
};

} // namespace wsd::scan
