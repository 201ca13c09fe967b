#pragma once
// `verify SRC DST`: are two trees the same? One walk lists both, a merge in path order
// pairs their entries; regular files whose sizes agree are compared by catalog digests where
// both have fresh rows, hashed (XXH3-128, content pipeline) on the side without a row where
// one has, likewise when sparse, and otherwise read side by side and compared byte for byte
// (verify/pair_compare; with a catalog also hashed as read and a row stored for each side,
// so the next run reads neither); hardlink structure is compared in both directions among
// the paths both trees have. The catalog's rows are loaded while the trees are listed.

#include "catalog/catalog.hpp"
#include "content/content_reader.hpp"
#include "fs/walker.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace wsd::verify {

enum class CompareMetadata { no, yes };

struct VerifyOptions {
  fs::WalkOptions walk;
  CompareMetadata metadata = CompareMetadata::no;
  unsigned read_threads = 0; // 0: one per core
  catalog::Catalog* catalog = nullptr; // fresh rows stand for unchanged files (may be null)
  int64_t mtime_granularity_ns = 1; // mtimes compared truncated to this (a target keeping whole seconds: 1e9)
};

enum class DiffKind : uint8_t { missing, extra, different };

/// "missing", "extra", "different".
std::string_view diff_kind_name(DiffKind kind);

/// One path that is not the same in both trees.
struct Difference {
  std::string path; // relative to SRC and DST ("" is the roots themselves)
  DiffKind kind = DiffKind::different;
  fs::EntryType src_type = fs::EntryType::unknown; // of the side(s) that have it
  fs::EntryType dst_type = fs::EntryType::unknown;
  std::vector<std::string> reasons; // "type", "size", "content", "symlink_target", "rdev", "owner",
                                    // "group", "mode", "mtime", "xattrs", "hardlinks"
  std::vector<std::string> details; // one human sentence per reason, same order
  uint64_t entries_below = 0;       // a missing/extra directory: entries under it, not listed
};

/// A path that could not be compared (unreadable, vanished, changed while read).
struct VerifyError {
  std::string path; // display form ("SRC/rel")
  std::string op;
  std::string message;
};

struct VerifyReport {
  std::string src;
  std::string dst;
  bool metadata = false;
  std::vector<Difference> differences; // in path order
  std::vector<VerifyError> errors;
  uint64_t src_entries = 0;
  uint64_t dst_entries = 0;
  uint64_t paired = 0;          // paths in both trees (with the roots)
  uint64_t files_hashed = 0;    // files read, both sides
  uint64_t catalog_hits = 0;    // files whose hash came from the catalog, not read
  uint64_t bytes_hashed = 0;   // data bytes read, both sides (holes excluded)
  uint64_t hardlinked_paths = 0; // paired paths with more than one link on either side
  uint64_t waited_reads = 0;     // reads (and mapped pairs) that found their bytes uncached
  double walk_seconds = 0;
  double content_seconds = 0;

  bool identical() const { return differences.empty() && errors.empty(); }
};

/// Live counters for a progress line.
struct VerifyProgress {
  fs::WalkProgress walk;
  content::ReaderProgress content;
  std::atomic<int> phase{0}; // 0 walking, 1 reading
};

/// Compares `src` and `dst`; throws util::Fatal when a root cannot be opened.
VerifyReport verify_trees(const std::string& src, const std::string& dst,
                          const VerifyOptions& options, VerifyProgress* progress);

/// Orders paths component by component ("a/b" before "a-b"), so a directory's
/// descendants follow it directly.
bool path_less(std::string_view a, std::string_view b);

} // namespace wsd::verify
