#pragma once
// Catalog rows for the files dedupe changed (issue 5 item 3), so the next run reads nothing.
//
// What changes: FIDEDUPERANGE keeps the inode, mtime and ctime (measured on btrfs and XFS,
// Linux 6.18: the kernel skips the time update for REMAP_FILE_DEDUP), so the rows of the
// hashing pass stay valid and nothing is written. A clone rename gives the path a new inode
// (mtime copied from the target, ctime = the rename); a hardlink changes the keeper's ctime.
// Their content is known without reading: byte-for-byte equal to the target's, whose digest
// the finder computed.
//
// Why such a row can be trusted although its ctime is our own change of a moment ago. The
// catalog's 2-second rule says: a row is trusted when hashed at least 2 s after the file's
// last change, because any later write would move the timestamps past the row's identity.
// Here a write lease replaces the 2 seconds:
//  1. the target's digest must itself be trustworthy: its scanned identity (unchanged until
//     the compare, re-checked under the target's lease) dates from at least 2 s before this
//     run started, so whichever hash we have for it (catalog row or a read in this run)
//     describes the bytes the compare saw;
//  2. the new inode (clone: the O_TMPFILE, leased before it had a name; hardlink: the
//     keeper, leased before the first compare) is under our write lease from before its
//     bytes were verified equal to the target's; a lease is broken by any open or truncate
//     by someone else, so while it is intact nobody has written it;
//  3. we keep the lease until the coarse clock that stamps ctime has moved past the
//     identity we record, then check it is intact and the identity unchanged. Any write
//     after that (it needs an open, after the lease is gone) stamps a ctime later than the
//     recorded one, so the row no longer matches: the same guarantee as the 2-second rule.
// Such rows carry computed_ns = max(verification time, max(mtime, ctime) + 2 s): the time
// from which the standard rule would accept them, which the lease has made true already.
// A row whose conditions fail is simply not written (the next run reads the file).
//
// Leases are held briefly: entries are settled on every poll() (each file the executor
// handles) and released at once when broken, so an opener waits milliseconds, not the
// kernel's 45-s lease-break time.

#include "catalog/catalog.hpp"
#include "content/file_hasher.hpp"
#include "dupes/duplicate_finder.hpp"
#include "fs/file_stat.hpp"
#include "util/fd.hpp"

#include <cstdint>
#include <deque>
#include <string>

namespace wsd::dedupe {

/// How many rows dedupe wrote, and how many files it could not vouch for.
struct CatalogRowStats {
  uint64_t files = 0;   // changed files whose rows were written
  uint64_t rows = 0;    // rows written (whole-file, and head/tail for large files)
  uint64_t dropped = 0; // changed files left without rows (lease broken or refused, identity moved)
};

/// Collects the changed files of one run and writes their rows once they can be trusted.
class ChangedRows {
public:
  /// `catalog` may be null (then nothing is done); `run_start_ns` is the wall clock before
  /// the scan.
  ChangedRows(catalog::Catalog* catalog, const fs::RootSet& roots, int64_t run_start_ns);
  ChangedRows(const ChangedRows&) = delete;
  ChangedRows& operator=(const ChangedRows&) = delete;
  ~ChangedRows();

  /// True when rows are written at all (a catalog is open).
  bool enabled() const { return m_catalog != nullptr; }

  /// True when the digest of a file scanned as `st` is trustworthy (condition 1 above).
  bool source_trusted(const fs::FileStat& st) const;

  /// Takes over `fd` (the changed inode, under our write lease since before its bytes were
  /// verified) whose identity after our last change is `st`, with the digests of `group`.
  void add(util::Fd fd, const fs::FileStat& st, const dupes::DuplicateGroup& group, std::string path);

  /// Writes the rows of entries whose ctime tick has passed; drops those whose lease broke.
  void poll();

  /// Settles every entry (waiting at most a few clock ticks), then flushes the catalog.
  void finish();

  /// What was written so far.
  const CatalogRowStats& stats() const { return m_stats; }

private:
  struct Entry {
    util::Fd fd;
    fs::FileStat st;
    content::Digest128 digest;
    content::Digest128 partial;
    bool has_partial = false;
    std::string path;
  };
  // Writes or drops `e`; false when its ctime tick has not passed yet.
  bool settle(Entry& e, int64_t coarse_now_ns, int64_t wall_now_ns);

  catalog::Catalog* m_catalog;
  catalog::FilesystemIds m_ids;
  int64_t m_run_start_ns;
  std::deque<Entry> m_pending;
  CatalogRowStats m_stats;
};

/// The wall clock in nanoseconds (CLOCK_REALTIME).
int64_t wall_clock_ns();

} // namespace wsd::dedupe
