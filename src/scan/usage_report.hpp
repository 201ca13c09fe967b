#pragma once
// What `usage` found: totals, per category, per workspace. Plain data for the renderers.

#include "fs/walker.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::scan {

struct Tally {
  uint64_t logical_bytes = 0;   // apparent size (st_size), what du --apparent-size counts
  uint64_t allocated_bytes = 0; // st_blocks * 512, what du counts
  uint64_t files = 0;           // non-directory inodes (regular files, symlinks, specials)
  uint64_t dirs = 0;
  uint64_t count = 0; // outermost entries that start a category (see Classifier)

  void add(const Tally& o) {
    logical_bytes += o.logical_bytes;
    allocated_bytes += o.allocated_bytes;
    files += o.files;
    dirs += o.dirs;
    count += o.count;
  }
};

struct CategoryRow {
  std::string name;
  std::string count_unit;
  Tally tally;
};

struct WorkspaceRow {
  std::string name;          // root-relative path, prefixed by the root with several roots
  bool is_none = false;      // the "(none)" row: bytes outside any workspace
  Tally tally;
  std::vector<Tally> by_category; // parallel to UsageReport::categories
};

struct ReportedError {
  std::string path; // display path (root + rel)
  std::string op;   // the failed operation: "open", "statx", ...
  std::string message;
};

struct UsageReport {
  std::vector<std::string> roots;
  std::string workspace_pattern;
  Tally total;
  std::vector<CategoryRow> categories;
  std::vector<WorkspaceRow> workspaces; // largest allocated first, "(none)" last
  std::vector<ReportedError> errors;    // sorted by path
  uint64_t hardlinked_inodes = 0;       // inodes with several names, counted once
  uint64_t hardlink_extra_names = 0;    // names beyond the first of those inodes
  fs::WalkStats walk;
  double seconds = 0;
};

} // namespace wsd::scan
