#pragma once
// What deleting a set of workspaces really frees: blocks not shared with anything outside the
// set. Hardlinks: an inode is freed only when all its links are inside the set (link count
// against the names found). Reflinks/dedupe (btrfs, XFS): FIEMAP extents flagged shared are
// freed only when no file outside the set maps the same physical range; what the walk
// cannot see (snapshots, files outside the root) makes the figure an upper bound.

#include "fs/roots.hpp"
#include "prune/workspace_scan.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wsd::prune {

/// A set of half-open ranges [start, end); add() returns how much of the range was new.
class IntervalSet {
public:
  uint64_t add(uint64_t start, uint64_t end);
  /// Total length covered.
  uint64_t covered() const;

private:
  std::map<uint64_t, uint64_t> m_ranges; // start -> end, disjoint, non-adjacent
};

struct ExclusiveBytes {
  std::vector<uint64_t> bytes;      // per workspace (0 for those not in the set)
  std::vector<bool> upper_bound;    // per workspace: shared extents counted as freed
  std::vector<uint64_t> hardlinked_outside; // per workspace: bytes kept by links outside the set
  uint64_t total = 0;
  bool any_upper_bound = false;
  std::vector<std::string> notes;
  std::vector<ScanError> errors;
};

/// Works out the exclusive bytes of the workspaces with selected[i] true.
ExclusiveBytes exclusive_bytes(const fs::RootSet& roots, const WorkspaceScan& scan,
                               const std::vector<bool>& selected, bool cross_fs);

} // namespace wsd::prune
