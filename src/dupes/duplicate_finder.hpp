#pragma once
// Groups of identical files (DESIGN.md `dupes`): files of one size (empty files never),
// one entry per inode (hardlinks are folded by the scan), then a partial hash of head and
// tail, then a full hash, all through the content pipeline. Finally, on filesystems that can
// share extents, members that already share their physical extents (FIEMAP) are marked as
// such so they are not counted as savings.

#include "catalog/catalog.hpp"
#include "content/content_reader.hpp"
#include "content/file_hasher.hpp"
#include "fs/extents.hpp"
#include "fs/roots.hpp"
#include "scan/file_list.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace wsd::dupes {

/// The catalog kind of the rows that say "stored inline in btrfs metadata" (no value).
inline constexpr std::string_view k_inline_kind = "btrfs-inline";

/// Whether to look at physical extents to find files that already share storage.
enum class CheckSharing : uint8_t { no, yes };
enum class InlineFiles : uint8_t { read, leave_unread };

struct FinderOptions {
  uint64_t min_size = 1;          // smaller files are never grouped (0 counts as 1)
  unsigned threads = 0;           // content readers (0: one per core)
  uint64_t partial_bytes = 4096;  // head and tail sizes of the partial hash
  catalog::Catalog* catalog = nullptr; // answers hashes of unchanged files (may be null)
  bool cross_fs = false;
  CheckSharing check_sharing = CheckSharing::yes;
  /// leave_unread (dedupe by reflink or clone): a btrfs file stored inline in metadata is
  /// never opened: neither call can share it, and most small files of a node_modules tree
  /// are inline (320k of the corpus's 451k). It joins no group and is counted in
  /// FinderStats::inline_unread.
  InlineFiles inline_files = InlineFiles::read;
};

/// A set of files (inodes) with identical content. Its per-member arrays are views into
/// the DuplicateSet that holds it (one flat array for all groups: no allocation per group).
struct DuplicateGroup {
  uint64_t size = 0;
  content::Digest128 digest;
  /// The head-and-tail digest (files larger than twice FinderOptions::partial_bytes only):
  /// what the catalog's "xxh3-128-head-tail" rows hold, so dedupe can write them.
  content::Digest128 partial_digest;
  std::span<const uint32_t> files; // indexes into FileList::files, in path order
  /// Per member: the index (into `files`) of the first member it already shares its
  /// physical extents with, or its own index. Empty when extents were not looked at (then
  /// every member is its own storage): read it through shared_with().
  std::span<const uint32_t> shares_with;
  /// Per member: 1 if stored inline in metadata (btrfs small files), so it cannot share
  /// extents. Empty when extents were not looked at: read it through is_inline().
  std::span<const uint8_t> inline_extent;
  uint64_t duplicate_bytes = 0;   // size x (members - 1): what peers print
  uint64_t reclaimable_bytes = 0; // allocated bytes of members beyond the first storage
  uint64_t held_bytes_total = 0;  // would-be savings a snapshot (or reflink) keeps (DuplicateSet::held_bytes)
  uint32_t already_shared = 0;    // members sharing storage with an earlier member
  uint32_t inline_files = 0;      // members stored inline in metadata (not reclaimable)
  bool has_partial = false;

  /// The first member that member `m` already shares its storage with (`m` itself if none).
  uint32_t shared_with(uint32_t m) const { return shares_with.empty() ? m : shares_with[m]; }
  /// Whether member `m` is stored inline in metadata.
  bool is_inline(uint32_t m) const { return !inline_extent.empty() && inline_extent[m] != 0; }
};

/// A file that could not be read or changed while read.
struct FileProblem {
  uint32_t file = 0;
  std::string op;
  int err = 0; // 0: changed while read
};

struct FinderStats {
  uint64_t candidates = 0;     // files in size groups
  uint64_t partial_hashed = 0;
  uint64_t full_hashed = 0;
  uint64_t bytes_read = 0;
  uint64_t waited_reads = 0; // reads that found their bytes uncached (content::ReaderStats)
  uint64_t extent_checks = 0;
  uint64_t catalog_hits = 0;   // hashes answered by the catalog without reading
  uint64_t inline_unread = 0;  // btrfs inline files left unread (InlineFiles::leave_unread)
  double seconds_partial = 0;
  double seconds_full = 0;
  double seconds_extents = 0;
};

/// Groups of identical files. Move-only: the groups view arrays it owns.
struct DuplicateSet {
  DuplicateSet() = default;
  DuplicateSet(const DuplicateSet&) = delete;
  DuplicateSet& operator=(const DuplicateSet&) = delete;
  DuplicateSet(DuplicateSet&&) noexcept = default;
  DuplicateSet& operator=(DuplicateSet&&) noexcept = default;

  std::vector<DuplicateGroup> groups; // largest reclaimable first, then path order
  /// The storage DuplicateGroup's views point into: every group's members, one after another
  /// (4 bytes per member), and where extents were looked at, their sharing and inline marks.
  std::vector<uint32_t> members;
  std::vector<uint32_t> member_shares;
  std::vector<uint8_t> member_inline;
  /// Per member, while the groups are confirmed: what the read pass learnt of its extents
  /// (empty when it learnt nothing, e.g. groups from a result memo).
  std::vector<uint8_t> member_hints;
  /// Per FileList::files index: group index, or k_no_group.
  std::vector<uint32_t> group_of;
  /// Files (FileList index, ascending) whose extents are partly held by something outside
  /// their group (DESIGN.md invariant 9): FIEMAP_EXTENT_SHARED extents that no other member
  /// maps, i.e. a btrfs snapshot of the subvolume or a reflink copy elsewhere, in bytes.
  /// Sharing such a file frees only the rest. Empty in the common case (kept here, not per
  /// group, for memory).
  std::vector<std::pair<uint32_t, uint64_t>> held_elsewhere;
  std::vector<FileProblem> problems;
  std::vector<std::string> notes; // e.g. "zfs: no FIEMAP, already-shared storage unknown"
  FinderStats stats;

  /// Bytes of file `file`'s storage that something outside its group also references.
  uint64_t held_bytes(uint32_t file) const {
    const auto at = std::lower_bound(held_elsewhere.begin(), held_elsewhere.end(), std::pair<uint32_t, uint64_t>(file, 0));
    return at != held_elsewhere.end() && at->first == file ? at->second : 0;
  }
};

constexpr uint32_t k_no_group = UINT32_MAX;

/// Live counters for a progress line (files and bytes read so far, over both passes).
using FinderProgress = content::ReaderProgress;

/// Finds the groups of identical files among `list.files`.
DuplicateSet find_duplicates(const fs::RootSet& roots, const scan::FileList& list,
                             const FinderOptions& options, FinderProgress* progress = nullptr);

/// The last step of find_duplicates on `set`, whose groups (size, digests, members in path
/// order) are known, e.g. from a result memo: checks extents (FIEMAP sharing, inline,
/// held elsewhere), fills the reclaimable figures, ranks the groups and fills group_of.
void confirm_groups(const fs::RootSet& roots, const scan::FileList& list, const FinderOptions& options,
                    DuplicateSet& set);

} // namespace wsd::dupes
