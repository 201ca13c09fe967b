#pragma once
// The regular files a scan collected for the content commands (estimate, dupes, dedupe,
// verify): one entry per inode (a hardlinked inode under its bytewise smallest path),
// sorted by (root, path) so every later stage is deterministic.

#include "fs/file_stat.hpp"
#include "scan/classifier.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::scan {

struct FileEntry {
  fs::FileStat st;
  std::string rel_path;
  uint32_t root = 0;
  uint32_t workspace = 0;   // 0: none; else index + 1 into FileList::workspace_names
  CategoryIndex category = 0;
  uint32_t names_seen = 1;  // names of this inode found below the roots
};

/// An entry that FileList::files does not describe: a directory, symlink or special file, or
/// one name of a regular file with several names (collected with
/// ScanOptions::collect_tree_entries, for identical-tree detection).
struct TreeEntry {
  std::string rel_path;
  uint32_t root = 0;
  fs::EntryType type = fs::EntryType::unknown;
  uint64_t dev = 0;
  uint64_t ino = 0;
};

struct FileList {
  std::vector<FileEntry> files;
  std::vector<TreeEntry> tree_entries; // sorted by (root, rel_path); see TreeEntry
  std::vector<std::string> workspace_names;
  std::vector<std::string> category_names;
};

} // namespace wsd::scan
