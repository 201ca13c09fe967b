#pragma once
// Deleting a directory tree that untrusted code may be rearranging (DESIGN.md invariants 5
// and 7): every step is relative to a directory fd opened with O_NOFOLLOW|O_DIRECTORY and
// checked against the device and inode fstatat reported, names are removed with unlinkat,
// so a symlink swapped in for a directory is unlinked, never followed, and nothing outside
// the tree or on another filesystem is touched. Iterative (depth is unbounded); holds at
// most a bounded number of directory fds, reopening deeper ones beneath the top directory.

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::fs {

struct RemoveError {
  std::string rel_path; // relative to the top directory's parent ("top/a/b")
  std::string op;
  int err = 0;
  std::string message; // set when err says too little
};

struct RemoveStats {
  uint64_t files = 0;       // non-directories unlinked
  uint64_t dirs = 0;        // directories removed
  uint64_t bytes = 0;       // allocated bytes of what was unlinked (st_blocks * 512, last link)
  std::vector<RemoveError> errors;
};

/// Removes `name` (a directory or anything else) from `parent_fd`, everything below it
/// first. Returns true when `name` is gone. Never follows a symlink; does not descend into
/// another filesystem than `parent_fd`'s. Pause points: prune.open_dir, prune.unlink.
bool remove_tree(int parent_fd, const std::string& name, RemoveStats& stats);

} // namespace wsd::fs
