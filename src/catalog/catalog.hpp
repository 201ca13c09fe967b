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
// Reads: load() pulls every row of one kind into memory in one range scan, then lookups
// are lock-free. Writes: put() queues rows for one writer thread that commits them in batched
// transactions (WAL mode, 2000 rows or 200 ms per transaction), so a first run is not slowed
// down and a kill at any instant loses at most the open transaction. A catalog that is
// corrupt or of an unknown schema version is moved aside and rebuilt with a warning, never
// fatal. Concurrent runs: readers never wait (WAL); a writer waits up to 30 s for another
// run's transaction (WSDEDUP_CATALOG_TIMEOUT_MS), then this run stops writing and says so.
//
// Storage (schema 2): (kind, params) interned as a small integer; content rows keyed by
// (kind_id, fs_id, ino); the path once per file in its own table.

#include "fs/file_stat.hpp"
#include "fs/roots.hpp"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
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

/// Rows are trusted only this long after the file's last change.
inline constexpr int64_t k_trust_delay_ns = 2'000'000'000;

/// True when `row` may stand for the file now described by `now`.
bool row_is_fresh(const Row& row, const FileIdentity& now);

struct CatalogStats {
  uint64_t rows = 0;
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

namespace detail {
class WriterStatements;
}

class Catalog {
public:
  /// Opens (creating) the catalog at `path`. Never throws for a corrupt or foreign file: it
  /// is renamed to `path.corrupt-<time>` and a new one is made; `warning` says so.
  static std::unique_ptr<Catalog> open(const std::string& path, std::string* warning);
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;
  ~Catalog(); // flushes queued writes

  /// Every row of (kind, params), for lock-free lookups during a run.
  class Snapshot {
  public:
    /// The fresh row for `now`, if any.
    const Row* find(const FileIdentity& now) const;
    size_t size() const { return m_rows.size(); }

  private:
    friend class Catalog;
    struct KeyHash {
      size_t operator()(const std::pair<uint64_t, uint64_t>& k) const noexcept {
        return static_cast<size_t>(k.first * 0x9E3779B97F4A7C15ULL ^ k.second);
      }
    };
    std::unordered_map<std::pair<uint64_t, uint64_t>, Row, KeyHash> m_rows;
  };
  Snapshot load(const std::string& kind, const std::string& params);

  /// Queues a row (replacing any row of the same file, kind and params). Thread-safe.
  void put(const std::string& kind, const std::string& params, Row row, std::string path);

  /// Waits until every queued row is committed (or dropped after a write error).
  void flush();

  /// Batches and rows committed so far.
  WriterStats writer_stats();
  /// The first write error of this run ("" when none): writes stop after one.
  std::string write_error();

  CatalogStats stats();
  /// Deletes rows of the filesystems in `fs_ids` whose (fs_id, ino) is not in `live`
  /// (rows of other filesystems are kept); returns how many went.
  uint64_t prune(const std::vector<uint64_t>& fs_ids,
                 const std::vector<std::pair<uint64_t, uint64_t>>& live);
  void vacuum();

  const std::string& path() const { return m_path; }

private:
  Catalog(std::string path, sqlite3* db);
  void writer_loop();
  void exec(const char* sql);
  struct Pending;
  void write_batch(detail::WriterStatements& statements, const std::vector<Pending>& batch);

  struct Pending {
    std::string kind;
    std::string params;
    Row row;
    std::string path;
  };

  std::string m_path;
  sqlite3* m_db;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::condition_variable m_flushed;
  std::vector<Pending> m_queue;
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

private:
  std::vector<std::pair<uint64_t, uint64_t>> m_by_dev; // (dev, id)
};

/// $WSDEDUP_CATALOG if set; else $XDG_CACHE_HOME/wsdedup/catalog.db, or
/// /var/cache/wsdedup/catalog.db for root.
std::string default_catalog_path();

} // namespace wsd::catalog
