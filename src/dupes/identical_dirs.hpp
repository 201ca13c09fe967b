#pragma once
// Identical directory trees: a Merkle hash over each directory's entries (names, types and
// content: a regular file by its duplicate group, a symlink by its target, a directory by
// its own hash), so "these 37 node_modules folders are identical, 66 MiB each" can be said
// directly. Only the largest identical trees are reported (not their identical children).
// A file that is in no duplicate group (unique content, or below --min-size) makes its
// directory unique, so a reported tree is identical in every regular file's bytes.

#include "dupes/duplicate_finder.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::dupes {

/// A directory named by its root and root-relative path.
struct DirRef {
  uint32_t root = 0;
  std::string rel_path;
};

/// Directories whose trees are identical.
struct IdenticalDirGroup {
  std::vector<DirRef> dirs;      // path order
  uint64_t logical_bytes = 0;    // apparent bytes of regular files in one copy
  uint64_t allocated_bytes = 0;  // allocated bytes of one copy (the first)
  uint64_t files = 0;            // regular file names in one copy
  uint64_t entries = 0;          // entries of all types in one copy
};

/// Needs `list.tree_entries` (ScanOptions::collect_tree_entries) and every regular file
/// (collect_min_size = 0). Groups are ordered by bytes that all copies but one hold.
std::vector<IdenticalDirGroup> find_identical_dirs(const fs::RootSet& roots,
                                                   const scan::FileList& list,
                                                   const DuplicateSet& dupes, bool cross_fs);

} // namespace wsd::dupes
