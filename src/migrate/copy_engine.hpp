#pragma once
// One pass of `migrate`'s copy: list SRC and DST in one parallel walk (verify's tree
// listing, xattrs included), plan what differs (copy_plan), then carry it out:
//   1. remove what SRC no longer has (fs::remove_tree: fd-relative, never follows a symlink),
//      leftover temp names of a killed run included;
//   2. create missing directories, one depth level at a time on N threads (mode 0700 until
//      their metadata is set);
//   3. N threads over regular files, symlinks and special files, in path order. Replacing an
//      entry of an existing directory: written under a temp name, given owner, mode, xattrs,
//      times, renamed into place (a kill never leaves a half file under a real name). In a
//      directory this pass created there is nothing to replace: written under the final name
//      (a kill leaves a file without SRC's mtime, which the next pass redoes). A new file skips
//      every call that would change nothing (no fstat, no chown/chmod when the create already
//      gave them, no listxattr unless its directory has xattrs to inherit, no ftruncate
//      without a trailing hole);
//   4. hardlinked names: linkat to the copied first name (renamed into place as above);
//   5. directory metadata, deepest level first, a level on N threads (times last).
// mtimes are compared at the granularity the target keeps (probe_mtime_granularity).
// Every DST operation is relative to a directory fd opened beneath the DST root with
// RESOLVE_NO_SYMLINKS, so a symlink inside DST never redirects a write.

#include "fs/walker.hpp"
#include "migrate/copy_plan.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace wsd::migrate {

struct PassOptions {
  fs::WalkOptions walk;     // threads, cross_fs, excludes (applied to SRC and DST alike)
  unsigned copy_threads = 0; // 0: one per core
  int64_t mtime_granularity_ns = 0; // times the target keeps (1: exact); 0: probe the target
};

/// A per-path problem of a pass: counted and reported, the pass goes on.
struct PassError {
  std::string path; // display form ("SRC/rel" or "DST/rel")
  std::string op;
  std::string message;
};

struct PassStats {
  uint64_t src_entries = 0;
  uint64_t unchanged = 0;
  uint64_t files_copied = 0;    // regular files whose data was written
  uint64_t bytes_copied = 0;    // data bytes written
  uint64_t hole_bytes = 0;      // bytes left as holes
  uint64_t kernel_copies = 0;   // files copied by copy_file_range
  uint64_t metadata_fixed = 0;  // regular files whose metadata alone was set
  uint64_t specials_created = 0; // symlinks, fifos, sockets, devices
  uint64_t links = 0;           // hardlinked names made
  uint64_t dirs_created = 0;
  uint64_t dirs_metadata = 0;
  uint64_t removed = 0;         // DST entries removed (top-most; with what was below them)
  uint64_t removed_files = 0;   // non-directories among those and below them
  uint64_t temps_removed = 0;   // leftover temp names of an interrupted run
  uint64_t changed_during_copy = 0; // SRC files that changed while copied (the next pass redoes them)
  double list_seconds = 0;
  double copy_seconds = 0;
  std::vector<PassError> errors;
};

/// Live counters for the progress line (planned totals are set before copying starts).
struct PassProgress {
  std::atomic<int> phase{0}; // 0 listing, 1 copying, 2 finishing
  fs::WalkProgress walk;
  std::atomic<uint64_t> files_done{0};
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<uint64_t> files_total{0};
  std::atomic<uint64_t> bytes_total{0};
};

/// Called before ("before") and after ("after"/"failed") each removal in DST.
using RemovalLog = std::function<void(std::string_view phase, const std::string& rel_path)>;

/// Lists both trees and plans, touching nothing (for --dry-run).
CopyPlan plan_pass(const std::string& src, const std::string& dst, const PassOptions& options,
                   PassStats& stats);

/// Makes DST equal to SRC; throws util::Fatal when a root cannot be opened.
PassStats run_copy_pass(const std::string& src, const std::string& dst, const PassOptions& options,
                        PassProgress* progress, const RemovalLog& removal_log);

} // namespace wsd::migrate
