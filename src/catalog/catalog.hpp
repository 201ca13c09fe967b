#pragma once
// The persistent catalog (DESIGN.md section 3): content results keyed by the file's identity,
// so a re-run on an unchanged tree reads no file.
//
// Key: (filesystem id, inode) plus the identity that must still match: size, mtime_ns,
// ctime_ns. The path is stored for reports, never used as a key. A row is trusted only if it
// was computed at least 2 s after max(mtime, ctime): a file written within the timestamp
// granularity of its last hash may have changed without changing its times (ccache's inode
// cache has the same rule). Values are opaque blobs per (kind, params): "xxh3-128" with "",
// "zfs" with "rs=131072,c=lz4,..." and so on; each stage decides what it stores.
//
// Reads: load() pulls every row of one kind into memory in one scan, into a compact sorted
// array (48 bytes per row plus the value bytes in one blob); lookups are then lock-free
// binary searches. Writes: put() appends each row's bytes to the calling thread's per-kind
// buffer (no per-row allocation, no lock shared with other threads), handed over every few
// thousand rows as segments to one writer thread that commits them as large blobs per
// transaction (WAL mode, 16384 rows or 500 ms per transaction), so a first run is not slowed
// down and a kill at any instant loses at most the staged rows and the open transaction. A catalog that is corrupt or of an
// unknown schema version is moved aside and rebuilt with a warning, never fatal: at open, or
// later when SQLite reports damage or a segment's checksum fails while rows are read or
// written (that load then returns no rows, so the run reads the files). Concurrent
// runs: readers never wait (WAL); a writer waits up to 30 s for another run's transaction
// (WSDEDUP_CATALOG_TIMEOUT_MS), then this run stops writing and says so.
//
// Command results (schema 6): a `memos` table holds, per (command, options), the
// content-derived part of recent results and the signature of the walk they came from
// (catalog/result_memo.hpp), so an unchanged tree costs one walk.
//
// Storage (schema 5, log-structured): (kind, params) interned as a small integer; rows
// appended in segments (one blob of many rows, each stored as its differences from the
// previous one -- ino, times, path prefix -- and the blob's XXH3-64: SQLite checks no blob
// bytes); a later row of the same
// (kind, params, fs_id, ino) supersedes an earlier one. prune() and vacuum() rewrite a
// kind's segments without the superseded and deleted rows.

#include "fs/file_stat.hpp"
#include "fs/roots.hpp"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

struct sqlite3;

namespace wsd::catalog {

/// The identity of a file's content at one moment.
struct FileIdentity {
  uint64_t fs_id = 0; // fs::filesystem_id of the file's filesystem
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  static FileIdentity of(uint64_t fs_id, const fs::FileStat& st) {
    return {fs_id, st.ino, st.size, st.mtime_ns, st.ctime_ns};
  }
};

/// A stored result.
struct Row {
  FileIdentity id;
  int64_t computed_ns = 0; // wall clock when the content was read
  std::string value;
};

/// A stored result as a snapshot holds it (the value points into the snapshot).
struct RowRef {
  FileIdentity id;
  std::string_view value;
};

/// Rows are trusted only this long after the file's last change.
inline constexpr int64_t k_trust_delay_ns = 2'000'000'000;

/// True when `row` may stand for the file now described by `now`.
bool row_is_fresh(const Row& row, const FileIdentity& now);

struct CatalogStats {
  uint64_t rows = 0;
  uint64_t memos = 0; // stored command results (result memos)
  uint64_t file_bytes = 0;
  std::vector<std::pair<std::string, uint64_t>> rows_by_kind;
};

/// What the writer thread did (to check that writes are batched, and what they cost).
struct WriterStats {
  uint64_t batches = 0;      // committed transactions
  uint64_t rows = 0;         // rows committed
  double seconds = 0;        // time spent in BEGIN..COMMIT
  uint64_t dropped_rows = 0; // rows not written after a write error
};

/// Where a `catalog prune` walk looked on one filesystem: rows of files it did not see are
/// dropped only when their stored path lies under `top`.
struct PruneScope {
  uint64_t fs_id = 0;
  std::string top; // the walked root's path from its filesystem's top ("/" = all of it), "" unknown
  /// True when a row stored with `path` lies under the walked root.
  bool covers(std::string_view path) const;
};

/// A command's stored result for one state of its tree (catalog/result_memo.hpp): valid while
/// the walk's signature still equals `signature` and every file settled before `created_ns`.
struct Memo {
  int64_t created_ns = 0; // wall clock when the run that made it began
  std::string signature;  // the walk's signature (result_memo.hpp)
  std::string value;      // the command's encoding of its content-derived result
};

/// Memos kept per (command, roots), the newest ones (one per option set: a newer memo of
/// the same options replaces the older).
inline constexpr int k_memos_kept = 4;

namespace detail {
class WriterStatements;
class SegmentEncoder;
} // namespace detail

class Catalog {
public:
  /// Opens (creating) the catalog at `path`. Never throws for a corrupt or foreign file: it
  /// is renamed to `path.corrupt-<time>` and a new one is made; `warning` says so.
  static std::unique_ptr<Catalog> open(const std::string& path, std::string* warning);
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;
  ~Catalog(); // flushes queued writes

  /// Rows of (kind, params), for lock-free lookups during a run.
  class Snapshot {
  public:
    /// The fresh row for `now`, if any (its value points into the snapshot).
    std::optional<RowRef> find(const FileIdentity& now) const;
    /// Rows held (one per file).
    size_t size() const { return m_entries.size(); }
    /// Bytes held in memory.
    size_t memory_bytes() const { return m_entries.capacity() * sizeof(Entry) + m_values.capacity(); }

  private:
    friend class Catalog;
    struct Entry {
      uint64_t fs_id;
      uint64_t ino;
      uint64_t size;
      int64_t mtime_ns;
      int64_t ctime_ns;
      uint64_t value; // offset into m_values << 24 | length (< 16 MiB)
    };
    std::vector<Entry> m_entries; // sorted by (fs_id, ino), one per file, fresh rows only
    std::string m_values;
  };
  /// Every row of (kind, params) -- or, when `only` is given (sorted (fs_id, ino) pairs),
  /// the rows of those files alone: a run that looks up a few files of a large catalog then
  /// holds and sorts only theirs.
  Snapshot load(const std::string& kind, const std::string& params,
                const std::vector<std::pair<uint64_t, uint64_t>>* only = nullptr);

  /// Queues a row (replacing any row of the same file, kind and params). Thread-safe. An
  /// empty `path` keeps the path stored for the file (a caller storing several kinds of row
  /// for one file passes its path once). The row is encoded in the calling thread's own
  /// buffer (no shared lock per row) and reaches the writer with that thread's next few
  /// thousand rows, or at flush(). Blocks while the writer is far behind, so queued rows
  /// stay bounded in memory.
  void put(const std::string& kind, const std::string& params, const Row& row,
           std::string_view path);

  /// Waits until every queued row is committed (or dropped after a write error).
  void flush();

  /// Batches and rows committed so far.
  WriterStats writer_stats();
  /// The first write error of this run ("" when none): writes stop after one.
  std::string write_error();

  /// The newest memo of (command, key) whose bytes check, if any (never throws for a damaged
  /// memo: it is ignored).
  std::optional<Memo> find_memo(const std::string& command, const std::string& key);
  /// True when a memo of (command, key) is stored (a cheap check before the walk).
  bool has_memo(const std::string& command, const std::string& key);
  /// Stores a memo of `command` on `roots`, replacing the older memo of `key` and keeping the
  /// newest k_memos_kept per (command, roots). False (and nothing stored) when the catalog cannot be written now.
  bool put_memo(const std::string& command, const std::string& roots, const std::string& key,
                const Memo& memo);

  CatalogStats stats();
  /// Deletes the rows whose (fs_id, ino) is not in `live` and that one of `scopes` covers
  /// (the walks that made `live` looked where their files were); every other row is kept.
  /// A row stored without a path goes when a row of the same file with a path goes.
  /// Returns how many went.
  uint64_t prune(const std::vector<PruneScope>& scopes,
                 const std::vector<std::pair<uint64_t, uint64_t>>& live);
  /// Also drops memos beyond the newest k_memos_kept per (command, roots).
  void vacuum();

  const std::string& path() const { return m_path; }
  /// How often this run found the file damaged (while reading rows or writing) and rebuilt it.
  uint64_t rebuilds() {
    std::lock_guard lock(m_db_mutex);
    return m_rebuilds;
  }

private:
  Catalog(std::string path, sqlite3* db);
  Snapshot load_locked(const std::string& kind, const std::string& params,
                       const std::vector<std::pair<uint64_t, uint64_t>>* only);
  CatalogStats stats_locked();
  void trim_memos_locked();
  // Moves the damaged file aside and starts a new one (m_db_mutex held); warns on stderr.
  void rebuild_locked(const std::string& why);
  void writer_loop();
  void exec(const char* sql);
  // One kind's queued rows, encoded as a segment blob.
  struct Buffer {
    std::string kind;
    std::string params;
    std::string bytes;
    uint64_t rows = 0;
    std::unique_ptr<detail::SegmentEncoder> encoder; // records are deltas within a segment
  };
  void write_batch(detail::WriterStatements& statements, std::vector<Buffer>& batch);
  // One thread's rows, encoded by that thread outside the queue's lock and handed over as
  // whole segments (catalog.cpp).
  struct Stager;
  // The calling thread's stager (made on first use).
  Stager& stager();
  // Moves `stager`'s rows into m_queue (m_mutex held); returns the rows moved.
  uint64_t hand_over_locked(Stager& stager);
  // Hands every stager's rows over (m_mutex held).
  void hand_over_all_locked();
  // Calls `each(segment bytes)` for every stored segment of kind id `kind_id`, oldest first.
  template <class Each> void for_each_segment(int64_t kind_id, Each&& each);
  struct LiveRows {
    std::vector<std::pair<std::string, uint64_t>> segments; // the rows `keep` accepted, re-encoded
    uint64_t kept = 0;  // rows in `segments`
    uint64_t live = 0;  // live rows before `keep` (the last of each file)
  };
  // The live rows of kind id `kind_id`; `keep(record)` filters.
  template <class Keep> LiveRows live_rows(int64_t kind_id, Keep&& keep);
  // Rewrites every kind's segments without superseded rows and rows `keep` refuses;
  // returns the rows dropped because of `keep`.
  template <class Keep> uint64_t rewrite_all(Keep&& keep);
  template <class Keep> uint64_t rewrite_all_locked(Keep& keep);

  std::string m_path;
  std::mutex m_db_mutex; // m_db's users: the writer's transactions, loads, maintenance, rebuilds
  sqlite3* m_db;
  std::unique_ptr<detail::WriterStatements> m_statements; // the writer's, on m_db
  uint64_t m_rebuilds = 0;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::condition_variable m_flushed;
  std::vector<Buffer> m_queue;     // segments handed over, each of one (kind, params)
  uint64_t m_serial;               // this catalog's number in the process (stagers' thread cache)
  std::vector<std::pair<std::thread::id, std::unique_ptr<Stager>>> m_stagers; // under m_mutex
  size_t m_queued_bytes = 0;
  std::condition_variable m_room; // the queue dropped below its bound
  uint64_t m_enqueued = 0;
  uint64_t m_committed = 0;
  bool m_stop = false;
  bool m_flush_requested = false; // commit what is queued now, without waiting for a batch
  WriterStats m_writer_stats;
  std::string m_write_error;
  std::thread m_writer;
};

/// A stable id of the filesystem holding `fd` (statfs f_fsid, which ext4, XFS and btrfs
/// derive from the filesystem UUID; the device number when f_fsid is zero).
uint64_t filesystem_id(int fd);

/// The catalog's filesystem id of each device a run meets: the root's filesystem_id() for
/// the device of a root; for other devices (--cross-fs) the device number, marked so it
/// never collides with an fsid.
class FilesystemIds {
public:
  /// Reads the id of every root's filesystem.
  explicit FilesystemIds(const fs::RootSet& roots);
  /// The id for a file on device `dev`.
  uint64_t of(uint64_t dev) const;
  /// Root `root`'s path from the top of its filesystem ("/" for the top, "" when unknown).
  const std::string& root_top(size_t root) const { return m_tops.at(root); }
  /// The path a row stores for `rel_path` below root `root` on device `dev`: from the top
  /// of the filesystem when known (so `catalog prune` of any directory can tell whether the
  /// row lies under it), else `rel_path` as given.
  std::string stored_path(size_t root, uint64_t dev, std::string_view rel_path) const;

private:
  std::vector<std::pair<uint64_t, uint64_t>> m_by_dev; // (dev, id)
  std::vector<uint64_t> m_root_devs;
  std::vector<std::string> m_tops; // per root
};

/// The path of directory `fd` (on device `dev`) from the top of its filesystem, through
/// /proc/self/fd and /proc/self/mountinfo (bind mounts included): "/" for the top itself,
/// "" when it cannot be told.
std::string path_in_filesystem(int fd, uint64_t dev);

/// $WSDEDUP_CATALOG if set; else $XDG_CACHE_HOME/wsdedup/catalog.db, or
/// /var/cache/wsdedup/catalog.db for root.
std::string default_catalog_path();

} // namespace wsd::catalog
