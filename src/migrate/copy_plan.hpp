#pragma once
// The copy planner of `migrate`: given one listing of SRC and one of DST (verify's
// tree listing: one parallel walk of both, xattrs included), decides what a pass must do so
// that DST becomes what `rsync -aHAXS --numeric-ids` would make of SRC, doing nothing for
// entries that already match (type, size, mtime, mode, owner, xattrs, link target, hardlink
// structure). Pure: it touches no file, so a dry run and the unit tests use it as is.

#include "verify/tree_listing.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace wsd::migrate {

/// What a pass does, as indices into the SRC listing (removals: DST paths).
struct CopyPlan {
  std::vector<std::string> removals;    // DST entries to remove (top-most only; with contents)
  uint64_t temps_removed = 0;           // of those, leftover temp names of an interrupted run
  std::vector<size_t> mkdirs;           // directories to create, parents first
  std::vector<size_t> copies;           // regular files whose data is copied (hardlink primaries)
  std::vector<size_t> metadata_fixes;   // regular files with the right data, wrong metadata
  std::vector<size_t> creates;          // symlinks, fifos, sockets, devices to (re)create
  std::vector<std::pair<size_t, size_t>> links; // (name, its primary): linkat after copies
  std::vector<size_t> dir_metadata;     // directories whose metadata is set, deepest first
  uint64_t bytes_to_copy = 0;           // apparent size of `copies`
  uint64_t unchanged = 0;               // SRC entries that already match

  /// True when the pass has nothing to do.
  bool empty() const {
    return removals.empty() && mkdirs.empty() && copies.empty() && metadata_fixes.empty() &&
           creates.empty() && links.empty() && dir_metadata.empty();
  }
};

/// Plans the pass that makes `dst` equal to `src` (both sorted bytewise by rel_path, as
/// list_trees returns them; the roots themselves have rel_path "").  Times are compared floored
/// to `mtime_granularity_ns` (what the target keeps: probe_mtime_granularity).
CopyPlan plan_copy(const verify::TreeListing& src, const verify::TreeListing& dst,
                   int64_t mtime_granularity_ns = 1);

/// True for a name a migrate pass gives a file before renaming it into place.
bool is_migrate_temp_name(std::string_view name);

} // namespace wsd::migrate
