#pragma once
// Byte-for-byte comparison of file pairs (a SRC file and the DST file at the same path), the
// two read side by side in the same worker: no hash, no job queue. Each worker takes one
// directory at a time, opens it once in each tree (beneath the root, following no symlink)
// and its files relative to those fds; each file is checked against the identity the
// listing saw (dev, ino, size, mtime, ctime) before it is read, a small one is read in one
// call of size + 1 bytes, a large one mapped read-only and compared in place (no copy out
// of the page cache; a truncation while mapped, SIGBUS, is caught by util/sigbus_guard and
// reported as a change), with a second statx after the comparison. A sparse pair that is
// not hashed is compared over the regions where either file has data (SEEK_DATA/SEEK_HOLE):
// a region that is a hole in both is equal unread.
// Optionally each side's bytes are also hashed as they are read (XXH3-128 over the bytes in
// order, holes read as zeros: content/file_hasher's definition, so the digest equals the
// content pipeline's whole-file digest), for catalog rows.

#include "content/content_reader.hpp"
#include "content/file_hasher.hpp"
#include "fs/roots.hpp"
#include "verify/tree_listing.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::verify {

/// Sparse files at least this large are hashed through the content pipeline (which skips
/// holes), not compared side by side.
constexpr uint64_t k_sparse_pipeline_min = uint64_t{1} << 20;

/// One pair to compare: the same relative path in both trees, both regular, same size as
/// listed. A side listed with its stat deferred (Node::stat_deferred) is stat'ed once open;
/// such a pair is settled there: sizes that differ are not read, and a large or sparse pair
/// is left for later (PairOutcome::later) with its stats in the result.
struct PairTask {
  const Node* src = nullptr;
  const Node* dst = nullptr;
};

enum class PairOutcome : uint8_t {
  same,
  different,
  error,
  changed,
  size_differs, // deferred stat only: the sizes (PairResult::stats) differ; nothing read
  later,        // deferred stat only: large or sparse, not read; stats filled in
};

/// What comparing one pair found; for error/changed, which side and why.
struct PairResult {
  PairOutcome outcome = PairOutcome::same;
  uint8_t side = 0; // 0 SRC, 1 DST (error/changed only)
  const char* op = ""; // "open", "statx", "read" (error only; a string literal)
  int err = 0;      // errno (error only)
  bool hashed = false;          // digests[] hold both sides' whole-file digests
  int64_t read_started_ns = 0;  // wall clock before either file was read (when hashed)
  content::Digest128 digests[2]; // SRC, DST (when hashed)
  fs::FileStat stats[2]; // a side listed with its stat deferred: its fstat once opened (type unknown: not opened)
};

struct PairCompareStats {
  uint64_t files = 0; // files opened and read, both sides
  uint64_t bytes = 0; // bytes read, both sides
  uint64_t waited_reads = 0; // reads (and mapped pairs) that waited for the disk
};

/// Whether compare_pairs also hashes what it reads.
enum class HashWhileComparing { no, yes };

/// How a mapped file's pages are brought in before they are compared.
enum class MapPrefault {
  populate, // MAP_POPULATE: page tables filled by mmap itself (files up to 64 MiB; larger: none)
  willneed, // MADV_WILLNEED + MADV_SEQUENTIAL: read-ahead, pages faulted in as touched
  none,     // MADV_SEQUENTIAL only
};

struct PairCompareOptions {
  unsigned threads = 0;    // CPU slots: workers comparing at once (0: one per core)
  unsigned io_threads = 0; // workers (0: max(threads, util::k_io_threads_min)); one gives its
                           // slot up while it waits for the disk
  HashWhileComparing hash = HashWhileComparing::no; // yes: fill PairResult::digests of fully read pairs
  bool cross_fs = false;
  size_t chunk_bytes = size_t{1} << 20; // read size for large files, per side
  // Files of at least this size are mapped and compared in place, not copied out of the
  // page cache (0: never); a truncation while mapped reads as "changed", not a crash.
  uint64_t mmap_min_bytes = uint64_t{64} << 10;
  MapPrefault prefault = MapPrefault::populate;
};

/// Compares every task (root 0 of `roots` is SRC, the last is DST); `results` gets one entry
/// per task, in task order. `progress` (may be null) counts files and bytes as they are read.
PairCompareStats compare_pairs(const fs::RootSet& roots, const std::vector<PairTask>& tasks,
                               const PairCompareOptions& options, std::vector<PairResult>& results,
                               content::ReaderProgress* progress);

} // namespace wsd::verify
