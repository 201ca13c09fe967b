#pragma once
// The one walk prune needs: every workspace under the root (scan's WorkspaceMatcher), its
// newest mtime, its allocated bytes, and every inode in it, so the planner can tell what
// deleting a set of workspaces frees and which processes use them.

#include "fs/roots.hpp"
#include "fs/walker.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wsd::prune {

/// The name of the trash folder prune keeps at the top of the root.
inline constexpr const char* k_trash_name = ".wsdedup-trash";

/// One inode seen inside a workspace (every name is offered; the planner dedups).
struct InodeRecord {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t blocks = 0;
  int64_t mtime_ns = 0;
  uint32_t nlink = 0;
  uint32_t workspace = 0;     // index into WorkspaceScan::workspaces; UINT32_MAX: outside any
  fs::EntryType type = fs::EntryType::unknown;
  std::string rel_path;       // root-relative
};

struct WorkspaceInfo {
  std::string name;           // root-relative path ("task-1", "spec-tasks/x")
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t own_mtime_ns = 0;
  int64_t newest_mtime_ns = 0; // newest mtime of anything below it (own when empty)
  uint64_t allocated_bytes = 0; // du-style: each inode once within the workspace
  uint64_t entries = 0;
  uint64_t errors = 0;          // walk errors below it
  /// Entries below it the walk left out: excluded by --exclude, or another filesystem mounted
  /// there. Prune never deletes such a workspace (the operator's "do not touch", and
  /// deleting must not reach into another filesystem). "rel/path: why", in path order.
  std::vector<std::string> protected_entries;
};

struct ScanError {
  std::string path;
  std::string op;
  std::string message;
};

struct WorkspaceScan {
  std::vector<WorkspaceInfo> workspaces; // sorted by name
  std::vector<InodeRecord> inodes;       // every non-root entry, workspaces' and others'
  std::vector<ScanError> errors;
  bool trash_exists = false;
};

/// Walks the root (RootSet with one root) once, skipping the trash folder.
WorkspaceScan scan_workspaces(const fs::RootSet& roots, const fs::WalkOptions& options,
                              const std::optional<std::string>& workspace_glob,
                              std::optional<unsigned> workspace_depth);

} // namespace wsd::prune
