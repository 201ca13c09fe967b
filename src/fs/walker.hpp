#pragma once
// The one walker every command uses (DESIGN.md section 3).
//
// Parallel over directories: a shared LIFO of directories to list, `threads` workers.
// Every step is relative to a directory fd: a directory is opened with openat(parent_fd,
// name, O_NOFOLLOW|O_DIRECTORY) and checked against the device and inode its listing
// reported, so a directory swapped for a symlink or another directory mid-walk is reported,
// never followed. Entries are statx'ed with AT_SYMLINK_NOFOLLOW. Iterative, so depth is
// unbounded; a directory keeps its fd only while it has children left to open and only
// while fewer than `max_open_dirs` are held, otherwise children are opened from the root
// with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS). Callbacks run concurrently: visitors
// keep per-thread state and merge it at the end (results never depend on thread timing).

#include "fs/file_stat.hpp"
#include "fs/roots.hpp"
#include "util/glob.hpp"

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsd::fs {

struct WalkOptions {
  unsigned threads = 0;          // 0: resolve_walk_threads(0)
  bool cross_fs = false;         // descend into other filesystems
  std::vector<util::Glob> excludes;
  size_t max_open_dirs = 0;      // 0: derived from RLIMIT_NOFILE
  // Regular files (by getdents' d_type) are not statx'ed: their Entry has only type, ino
  // and dev, and stat_deferred set. For a caller that opens every file anyway and takes its
  // fstat there (verify without catalog): one lookup of the name instead of two.
  bool defer_file_stat = false;
};

/// One directory entry as the walker saw it. Views are valid during the callback only.
struct Entry {
  uint32_t root = 0;
  uint32_t depth = 0;          // 0 for the root itself
  std::string_view rel_path;   // "" for the root, else "a/b/name"
  std::string_view name;       // last component of rel_path
  const FileStat* st = nullptr;
  bool stat_deferred = false;  // WalkOptions::defer_file_stat: st holds type, ino, dev only
  int dir_fd = -1;             // the open directory holding this entry (-1 for a root): for
                               // readlinkat/openat of `name` during the callback only
};

/// A per-path problem: counted and reported, the walk goes on.
struct WalkError {
  uint32_t root = 0;
  std::string rel_path;
  std::string op;  // "open", "statx", "getdents", ...
  int err = 0;     // errno, or 0 when `message` says it all
  std::string message;
};

/// Why the walk left an entry out.
enum class SkipReason : uint8_t { excluded, other_filesystem };

/// Opaque per-directory state a visitor hands down to the entries of that directory.
using DirTag = uint64_t;

class WalkVisitor {
public:
  virtual ~WalkVisitor() = default;
  /// Every entry, the roots included (with parent_tag 0). For a directory, returns the tag
  /// its own entries get as parent_tag.
  virtual DirTag on_entry(unsigned thread, const Entry& entry, DirTag parent_tag) = 0;
  /// A directory's entry names, after listing and before its entries are visited.
  virtual DirTag on_listing(unsigned /*thread*/, const Entry& /*dir*/, DirTag tag,
                            std::span<const std::string_view> /*names*/) {
    return tag;
  }
  virtual void on_error(unsigned thread, const WalkError& error) = 0;
  /// An entry the walk did not enter or count: matched by --exclude, or a directory on another
  /// filesystem (a mount point, without cross_fs). A command that deletes whole subtrees
  /// (prune) must know, so it never deletes what the operator excluded or another filesystem.
  virtual void on_skipped(unsigned /*thread*/, const Entry& /*entry*/, SkipReason /*why*/) {}
};

/// Live counters for progress display (read from another thread).
struct WalkProgress {
  std::atomic<uint64_t> entries{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> errors{0};
};

struct WalkStats {
  uint64_t entries = 0;
  uint64_t dirs = 0;
  uint64_t errors = 0;
  uint64_t mounts_skipped = 0;
  size_t peak_open_dirs = 0;
  unsigned threads = 0;
};

/// The number of worker threads `requested` resolves to (0: hardware concurrency).
unsigned resolve_threads(unsigned requested);

/// The number of walk threads `requested` resolves to (0: util::io_threads: a walk waits on
/// the disk, not the CPU, when inode tables and directory blocks are not cached).
unsigned resolve_walk_threads(unsigned requested);

/// Walks every root; returns when all entries were visited.
WalkStats walk(const RootSet& roots, const WalkOptions& options, WalkVisitor& visitor,
               WalkProgress* progress = nullptr);

} // namespace wsd::fs
