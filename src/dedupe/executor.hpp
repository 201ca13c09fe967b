#pragma once
// The dedupe executor (DESIGN.md section 4): shares the storage of identical files in place.
//
// reflink: FIDEDUPERANGE only; the kernel compares the bytes under lock, nothing is renamed,
//   metadata and mtimes stay. clone: FICLONE of the keeper into a new O_TMPFILE beside the
//   target, the target's metadata, a byte comparison, then invariant 3 (write lease from
//   verification to rename, identity re-checked, renameat). hardlink: only under --immutable
//   paths, invariants 3 and 4, each link journaled for --undo. Every destructive step is in
//   the audit log before it happens and confirmed after.
// Groups are planned on one thread; reflink groups (disjoint files) then run on
// ExecutorOptions::threads threads, clone and hardlink groups on one.

#include "dedupe/catalog_rows.hpp"
#include "util/json_lines_log.hpp"
#include "dupes/duplicate_finder.hpp"
#include "util/glob.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::dedupe {

enum class Mode : uint8_t { automatic, reflink, clone, hardlink };
enum class DryRun : uint8_t { no, yes };

/// "auto", "reflink", ...
std::string_view mode_name(Mode mode);

struct ExecutorOptions {
  Mode mode = Mode::automatic;
  DryRun dry_run = DryRun::no;
  std::vector<util::Glob> immutable; // hardlink mode: only paths under these
  std::vector<util::Glob> only;      // act only on paths under these
  bool cross_fs = false;
  unsigned threads = 0;              // reflink mode: threads running FIDEDUPERANGE (0: one per core)
  util::JsonLinesLog* audit = nullptr;     // required unless dry-run
  std::string journal_path;          // hardlink journal (opened on the first link)
  catalog::Catalog* catalog = nullptr; // rows of the files changed are written here (may be null)
  int64_t run_start_ns = 0;          // wall clock before the scan (dedupe/catalog_rows.hpp)
  /// Free bytes per root measured (free_bytes) after the last change before the run, e.g.
  /// while duplicates were searched; empty: measured when the executor starts.
  std::vector<uint64_t> free_before;
};

/// A file left alone, and why.
struct Skip {
  std::string path;
  std::string reason;
};

/// What one filesystem supports and what was done on it.
struct FsReport {
  std::string root;
  std::string kind;
  Mode mode = Mode::automatic;
  bool dedupe_range = false;
  bool clone = false;
  bool preview_only = false; // auto mode without sharing support: hardlinks previewed
  uint64_t free_before = 0;
  uint64_t free_after = 0;
};

struct ExecutionReport {
  uint64_t groups = 0;
  uint64_t files_shared = 0;
  uint64_t bytes_shared = 0;       // apparent bytes now shared
  uint64_t bytes_planned = 0;      // allocated bytes the plan frees
  uint64_t bytes_held = 0;         // allocated bytes of targets a snapshot (or reflink) keeps (invariant 9)
  int64_t bytes_reclaimed = 0;     // statfs free space after - before (0 in a dry run)
  uint64_t already_shared = 0;     // files already sharing with their keeper
  uint64_t inline_files = 0;       // reflink/clone: stored inline in metadata, cannot share
  uint64_t hardlink_preview_bytes = 0;
  std::vector<Skip> skipped;
  std::vector<FsReport> filesystems;
  std::vector<std::string> notes;
  std::string journal_path;        // non-empty when links were journaled
  CatalogRowStats catalog_rows;    // rows written for the files changed
};

/// Runs the plan for `dupes` (found on `list`).
ExecutionReport execute_dedupe(const fs::RootSet& roots, const scan::FileList& list,
                               const dupes::DuplicateSet& dupes, const ExecutorOptions& options);

/// Free bytes of the filesystems under `roots` (synced first), one entry per root.
std::vector<uint64_t> free_bytes(const fs::RootSet& roots);

/// Does `rel_path` or one of its parent directories match `glob`?
bool matches_path_or_parent(const util::Glob& glob, std::string_view rel_path);

} // namespace wsd::dedupe
