#include "catalog/catalog.hpp"

#include "util/error.hpp"
#include "util/pause_point.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace wsd::catalog {

namespace detail {

// Statement guard.
class Stmt {
public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr) != SQLITE_OK)
      throw util::Fatal("catalog: {}: {}", sql, sqlite3_errmsg(db));
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(m_stmt); }
  sqlite3_stmt* get() const { return m_stmt; }

private:
  sqlite3_stmt* m_stmt = nullptr;
};

// The writer thread's prepared statements and its cache of kind ids.
class WriterStatements {
public:
  explicit WriterStatements(sqlite3* db)
      : segment(db, "INSERT INTO segments (kind_id, rows, data) VALUES (?1, ?2, ?3)"),
        m_add_kind(db, "INSERT OR IGNORE INTO kinds (kind, params) VALUES (?1, ?2)"),
        m_find_kind(db, "SELECT id FROM kinds WHERE kind = ?1 AND params = ?2"), m_db(db) {}

  /// The id of (kind, params), added when new (inside the caller's transaction).
  int64_t kind_id(const std::string& kind, const std::string& params) {
    const std::string key = kind + '\0' + params;
    if (const auto it = m_ids.find(key); it != m_ids.end()) return it->second;
    for (sqlite3_stmt* s : {m_add_kind.get(), m_find_kind.get()}) {
      sqlite3_reset(s);
      sqlite3_bind_text(s, 1, kind.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 2, params.c_str(), -1, SQLITE_TRANSIENT);
    }
    if (sqlite3_step(m_add_kind.get()) != SQLITE_DONE ||
        sqlite3_step(m_find_kind.get()) != SQLITE_ROW)
      throw util::Fatal("catalog: kinds: {}", sqlite3_errmsg(m_db));
    const int64_t id = sqlite3_column_int64(m_find_kind.get(), 0);
    sqlite3_reset(m_find_kind.get());
    m_ids.emplace(key, id);
    return id;
  }

  /// Appends one segment: (kind_id, rows, data).
  void insert_segment(int64_t kind_id, uint64_t rows, std::string_view data) {
    sqlite3_stmt* st = segment.get();
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, kind_id);
    sqlite3_bind_int64(st, 2, static_cast<int64_t>(rows));
    sqlite3_bind_blob64(st, 3, data.data(), data.size(), SQLITE_STATIC);
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) throw util::Fatal("catalog: segments: {}", sqlite3_errmsg(m_db));
  }

  Stmt segment;

private:
  Stmt m_add_kind;
  Stmt m_find_kind;
  sqlite3* m_db;
  std::unordered_map<std::string, int64_t> m_ids;
};

} // namespace detail

using detail::Stmt;
using detail::WriterStatements;

namespace {

constexpr int k_schema_version = 3;
// Rows per write transaction, and the queue's bound in bytes (put() waits beyond it).
constexpr uint64_t k_batch_rows = 16384;
constexpr size_t k_max_queued_bytes = size_t{64} << 20;
// Rows per segment when prune/vacuum rewrite a kind (keeps blobs far below SQLite's limit).
constexpr uint64_t k_rewrite_segment_rows = 65536;
// How long a run waits for another run's write transaction before giving up on the catalog
// (WSDEDUP_CATALOG_TIMEOUT_MS overrides it).
constexpr int k_busy_timeout_ms = 30000;

int busy_timeout_ms() {
  if (const char* env = std::getenv("WSDEDUP_CATALOG_TIMEOUT_MS"); env && *env) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (*end == '\0' && v >= 0 && v <= 3'600'000) return static_cast<int>(v);
  }
  return k_busy_timeout_ms;
}

// Version 3: (kind, params) interned in `kinds`; rows appended in segments, each a blob of
// records (fs_id, ino, size, mtime_ns, ctime_ns, computed_ns: 8 bytes each, host order;
// varint value length, value; varint path length, path). A later record of the same
// (kind, fs_id, ino) supersedes an earlier one. The path is for reports, never a key.
const char* const k_schema = R"SQL(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kinds (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL, UNIQUE (kind, params));
CREATE TABLE IF NOT EXISTS segments (
  id INTEGER PRIMARY KEY, kind_id INTEGER NOT NULL, rows INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS segments_by_kind ON segments (kind_id, id);
)SQL";

constexpr size_t k_record_fixed = 48;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (unsigned shift = 0; shift < 64 && pos < in.size(); shift += 7) {
    const auto b = static_cast<uint8_t>(in[pos++]);
    v |= uint64_t{b & 0x7Fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Appends one record to a segment.
void encode_record(std::string& out, const Row& row, std::string_view path) {
  const int64_t fixed[6] = {static_cast<int64_t>(row.id.fs_id), static_cast<int64_t>(row.id.ino),
                            static_cast<int64_t>(row.id.size),  row.id.mtime_ns,
                            row.id.ctime_ns,                    row.computed_ns};
  out.append(reinterpret_cast<const char*>(fixed), sizeof fixed);
  put_varint(out, row.value.size());
  out.append(row.value);
  put_varint(out, path.size());
  out.append(path);
}

// One record read from a segment.
struct RecordView {
  FileIdentity id;
  int64_t computed_ns = 0;
  std::string_view value;
  std::string_view path;
  size_t begin = 0; // the record's bytes in the segment
  size_t end = 0;
};

// Reads the record at `pos`; false at the end or on malformed bytes (`malformed` set).
bool next_record(std::string_view seg, size_t& pos, RecordView& r, bool& malformed) {
  malformed = false;
  if (pos == seg.size()) return false;
  if (seg.size() - pos < k_record_fixed) {
    malformed = true;
    return false;
  }
  r.begin = pos;
  int64_t fixed[6];
  std::memcpy(fixed, seg.data() + pos, sizeof fixed);
  pos += k_record_fixed;
  r.id = {static_cast<uint64_t>(fixed[0]), static_cast<uint64_t>(fixed[1]),
          static_cast<uint64_t>(fixed[2]), fixed[3], fixed[4]};
  r.computed_ns = fixed[5];
  uint64_t n = 0;
  if (!get_varint(seg, pos, n) || n > seg.size() - pos) {
    malformed = true;
    return false;
  }
  r.value = seg.substr(pos, n);
  pos += n;
  if (!get_varint(seg, pos, n) || n > seg.size() - pos) {
    malformed = true;
    return false;
  }
  r.path = seg.substr(pos, n);
  pos += n;
  r.end = pos;
  return true;
}

uint64_t as_u64(int64_t v) { return static_cast<uint64_t>(v); }

bool exec_ok(sqlite3* db, const char* sql, std::string* error = nullptr) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK && error) *error = msg ? msg : sqlite3_errstr(rc);
  sqlite3_free(msg);
  return rc == SQLITE_OK;
}

// Why try_open failed: another process holds the catalog locked past the busy timeout (not
// the file's fault: never moved aside), or the file itself is unusable.
enum class OpenFailure : uint8_t { none, busy, unusable };

bool is_busy(int rc) {
  return (rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED;
}

bool exec_ok(sqlite3* db, const char* sql, std::string* error, OpenFailure& failure) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    if (error) *error = msg ? msg : sqlite3_errstr(rc);
    failure = is_busy(rc) ? OpenFailure::busy : OpenFailure::unusable;
  }
  sqlite3_free(msg);
  return rc == SQLITE_OK;
}

// Opens and checks a catalog; nullptr with `why` and `failure` set when it cannot be used.
sqlite3* try_open(const std::string& path, std::string& why, OpenFailure& failure) {
  failure = OpenFailure::unusable;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, busy_timeout_ms()); // another run holds the write lock: wait
  // WAL; synchronous=NORMAL syncs only at checkpoints, which a larger autocheckpoint makes
  // rare (a torn cache after power loss would cost a rebuild, not a wrong answer).
  if (!exec_ok(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                   "PRAGMA wal_autocheckpoint=16384;", &why, failure) ||
      !exec_ok(db, k_schema, &why, failure)) {
    sqlite3_close(db);
    return nullptr;
  }
  // Version check: a catalog of another version is rebuilt, not migrated in place.
  int version = -1;
  {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema_version'", -1, &st,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      version = std::atoi(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
  }
  if (version == -1) {
    const std::string sql = "INSERT OR IGNORE INTO meta VALUES ('schema_version', '" +
                            std::to_string(k_schema_version) + "')";
    if (!exec_ok(db, sql.c_str(), &why, failure)) {
      sqlite3_close(db);
      return nullptr;
    }
  } else if (version != k_schema_version) {
    why = "schema version " + std::to_string(version) + ", this wsdedup uses " +
          std::to_string(k_schema_version);
    sqlite3_close(db);
    return nullptr;
  }
  failure = OpenFailure::none;
  return db;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

bool row_is_fresh(const Row& row, const FileIdentity& now) {
  return row.id.fs_id == now.fs_id && row.id.ino == now.ino && row.id.size == now.size &&
         row.id.mtime_ns == now.mtime_ns && row.id.ctime_ns == now.ctime_ns &&
         row.computed_ns >= std::max(now.mtime_ns, now.ctime_ns) + k_trust_delay_ns;
}

std::unique_ptr<Catalog> Catalog::open(const std::string& path, std::string* warning) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec) throw util::Fatal("catalog: cannot create {}: {}", parent.string(), ec.message());
  }
  std::string why;
  OpenFailure failure = OpenFailure::none;
  sqlite3* db = try_open(path, why, failure);
  if (!db && failure == OpenFailure::busy)
    throw util::Fatal("catalog {} is locked by another run ({})", path, why);
  if (!db) {
    const std::string aside = path + ".corrupt-" + std::to_string(now_ns() / 1'000'000'000);
    if (::rename(path.c_str(), aside.c_str()) != 0 && errno != ENOENT)
      throw util::Fatal("catalog {} is unusable ({}) and cannot be moved aside: {}", path, why,
                        util::errno_text(errno));
    for (const char* suffix : {"-wal", "-shm"}) ::unlink((path + suffix).c_str());
    if (warning)
      *warning = "catalog " + path + " was unusable (" + why + "); moved to " + aside +
                 " and rebuilt";
    db = try_open(path, why, failure);
    if (!db) throw util::Fatal("catalog {}: {}", path, why);
  }
  return std::unique_ptr<Catalog>(new Catalog(path, db));
}

Catalog::Catalog(std::string path, sqlite3* db) : m_path(std::move(path)), m_db(db) {
  m_writer = std::thread([this] { writer_loop(); });
}

Catalog::~Catalog() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  m_room.notify_all();
  if (m_writer.joinable()) m_writer.join();
  sqlite3_close(m_db);
}

void Catalog::exec(const char* sql) {
  std::string error;
  if (!exec_ok(m_db, sql, &error)) throw util::Fatal("catalog {}: {}", m_path, error);
}

template <class Each> void Catalog::for_each_segment(int64_t kind_id, Each&& each) {
  Stmt st(m_db, "SELECT data FROM segments WHERE kind_id = ?1 ORDER BY id");
  sqlite3_bind_int64(st.get(), 1, kind_id);
  int rc = 0;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(st.get(), 0));
    each(std::string_view(data ? data : "", static_cast<size_t>(sqlite3_column_bytes(st.get(), 0))));
  }
  if (rc != SQLITE_DONE) throw util::Fatal("catalog {}: {}", m_path, sqlite3_errmsg(m_db));
}

Catalog::Snapshot Catalog::load(const std::string& kind, const std::string& params) {
  Snapshot snap;
  int64_t kind_id = 0;
  {
    Stmt st(m_db, "SELECT id FROM kinds WHERE kind = ?1 AND params = ?2");
    sqlite3_bind_text(st.get(), 1, kind.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st.get(), 2, params.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st.get()) != SQLITE_ROW) return snap; // never stored
    kind_id = sqlite3_column_int64(st.get(), 0);
  }
  {
    Stmt st(m_db, "SELECT SUM(rows), SUM(length(data)) FROM segments WHERE kind_id = ?1");
    sqlite3_bind_int64(st.get(), 1, kind_id);
    if (sqlite3_step(st.get()) == SQLITE_ROW) {
      snap.m_entries.reserve(static_cast<size_t>(std::max<int64_t>(0, sqlite3_column_int64(st.get(), 0))));
      snap.m_values.reserve(static_cast<size_t>(std::max<int64_t>(0, sqlite3_column_int64(st.get(), 1))) / 8);
    }
  }
  constexpr uint64_t k_not_fresh = ~uint64_t{0};
  for_each_segment(kind_id, [&](std::string_view seg) {
    size_t pos = 0;
    RecordView r;
    bool malformed = false;
    while (next_record(seg, pos, r, malformed)) {
      // Freshness depends on the row alone once the identity matches: decide it here, but
      // keep stale rows until they have superseded older ones.
      const bool fresh = r.computed_ns >= std::max(r.id.mtime_ns, r.id.ctime_ns) + k_trust_delay_ns;
      uint64_t value = k_not_fresh;
      if (fresh && r.value.size() < (1u << 24)) {
        value = (uint64_t{snap.m_values.size()} << 24) | r.value.size();
        snap.m_values.append(r.value);
      }
      snap.m_entries.push_back({r.id.fs_id, r.id.ino, r.id.size, r.id.mtime_ns, r.id.ctime_ns, value});
    }
    // A malformed segment (never written by us) only costs its rows: they are read again.
  });
  auto& e = snap.m_entries;
  std::stable_sort(e.begin(), e.end(), [](const Snapshot::Entry& a, const Snapshot::Entry& b) {
    return a.fs_id < b.fs_id || (a.fs_id == b.fs_id && a.ino < b.ino);
  });
  // The last row of each file wins; stale ones then go.
  size_t out = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    if (i + 1 < e.size() && e[i + 1].fs_id == e[i].fs_id && e[i + 1].ino == e[i].ino) continue;
    if (e[i].value != k_not_fresh) e[out++] = e[i];
  }
  e.resize(out);
  e.shrink_to_fit();
  snap.m_values.shrink_to_fit();
  return snap;
}

std::optional<RowRef> Catalog::Snapshot::find(const FileIdentity& now) const {
  const auto it = std::lower_bound(m_entries.begin(), m_entries.end(), now,
                                   [](const Entry& a, const FileIdentity& k) {
                                     return a.fs_id < k.fs_id || (a.fs_id == k.fs_id && a.ino < k.ino);
                                   });
  if (it == m_entries.end() || it->fs_id != now.fs_id || it->ino != now.ino) return std::nullopt;
  if (it->size != now.size || it->mtime_ns != now.mtime_ns || it->ctime_ns != now.ctime_ns)
    return std::nullopt;
  const std::string_view values(m_values);
  return RowRef{{it->fs_id, it->ino, it->size, it->mtime_ns, it->ctime_ns},
                values.substr(it->value >> 24, it->value & 0xFFFFFF)};
}

void Catalog::put(const std::string& kind, const std::string& params, Row row, std::string path) {
  bool wake = false;
  {
    std::unique_lock lock(m_mutex);
    // Back-pressure: a writer far behind (another run holds the lock) must not let queued
    // rows grow with the tree.
    m_room.wait(lock, [&] { return m_queued_bytes < k_max_queued_bytes || m_stop; });
    Buffer* buffer = nullptr;
    for (Buffer& b : m_queue)
      if (b.kind == kind && b.params == params) buffer = &b;
    if (buffer == nullptr) buffer = &m_queue.emplace_back(Buffer{kind, params, {}, 0});
    const size_t before = buffer->bytes.size();
    encode_record(buffer->bytes, row, path);
    m_queued_bytes += buffer->bytes.size() - before;
    ++buffer->rows;
    ++m_enqueued;
    // Wake the writer only for a full batch (a wake per row costs more than the row).
    wake = m_enqueued - m_committed == k_batch_rows;
  }
  if (wake) m_cv.notify_one();
}

void Catalog::flush() {
  std::unique_lock lock(m_mutex);
  if (m_committed == m_enqueued) return;
  m_flush_requested = true;
  m_cv.notify_all();
  m_flushed.wait(lock, [&] { return m_committed == m_enqueued; });
}

void Catalog::writer_loop() {
  std::unique_ptr<WriterStatements> insert;
  std::vector<Buffer> batch;
  while (true) {
    uint64_t rows = 0;
    {
      std::unique_lock lock(m_mutex);
      // Wait for a full batch, a flush request or stop; commit what is there every 500 ms.
      m_cv.wait_for(lock, std::chrono::milliseconds(500), [&] {
        return m_stop || m_flush_requested || m_enqueued - m_committed >= k_batch_rows;
      });
      m_flush_requested = false;
      if (m_queue.empty()) {
        m_flushed.notify_all();
        if (m_stop) return;
        continue;
      }
      batch.swap(m_queue);
      m_queued_bytes = 0;
    }
    m_room.notify_all();
    for (const Buffer& b : batch) rows += b.rows;
    const auto t0 = std::chrono::steady_clock::now();
    std::string error;
    try {
      if (m_write_error.empty()) {
        if (!insert) insert = std::make_unique<WriterStatements>(m_db);
        write_batch(*insert, batch);
      }
    } catch (const std::exception& e) {
      // The catalog only saves time: a write that fails (disk full, lock held too long)
      // stops the writes of this run, never the run. Rolled back, so nothing half-written.
      sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
      error = e.what();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    {
      std::lock_guard lock(m_mutex);
      if (!error.empty() && m_write_error.empty()) m_write_error = error;
      if (m_write_error.empty()) {
        ++m_writer_stats.batches;
        m_writer_stats.rows += rows;
        m_writer_stats.seconds += seconds;
      } else {
        m_writer_stats.dropped_rows += rows;
      }
      m_committed += rows;
      if (m_committed == m_enqueued) m_flushed.notify_all();
    }
    batch.clear();
  }
}

void Catalog::write_batch(WriterStatements& w, std::vector<Buffer>& batch) {
  exec("BEGIN IMMEDIATE");
  bool paused = false;
  for (const Buffer& b : batch) {
    if (b.rows == 0) continue;
    w.insert_segment(w.kind_id(b.kind, b.params), b.rows, b.bytes);
    // Tests kill the process here, inside an open transaction, after a first write.
    if (!paused) util::pause_point("catalog.mid_transaction", m_path);
    paused = true;
  }
  exec("COMMIT");
}

WriterStats Catalog::writer_stats() {
  std::lock_guard lock(m_mutex);
  return m_writer_stats;
}

std::string Catalog::write_error() {
  std::lock_guard lock(m_mutex);
  return m_write_error;
}

template <class Keep> Catalog::LiveRows Catalog::live_rows(int64_t kind_id, Keep&& keep) {
  std::string all;
  for_each_segment(kind_id, [&](std::string_view seg) {
    // Only whole records: a malformed tail is dropped here.
    size_t pos = 0;
    RecordView r;
    bool malformed = false;
    size_t good = 0;
    while (next_record(seg, pos, r, malformed)) good = r.end;
    all.append(seg.substr(0, good));
  });
  struct Ref {
    uint64_t fs_id, ino;
    size_t begin, end;
  };
  std::vector<Ref> refs;
  size_t pos = 0;
  RecordView r;
  bool malformed = false;
  while (next_record(all, pos, r, malformed)) refs.push_back({r.id.fs_id, r.id.ino, r.begin, r.end});
  std::stable_sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
    return a.fs_id < b.fs_id || (a.fs_id == b.fs_id && a.ino < b.ino);
  });
  LiveRows out;
  for (size_t i = 0; i < refs.size(); ++i) {
    if (i + 1 < refs.size() && refs[i + 1].fs_id == refs[i].fs_id && refs[i + 1].ino == refs[i].ino) continue;
    ++out.live;
    if (!keep(refs[i].fs_id, refs[i].ino)) continue;
    out.bytes.append(all, refs[i].begin, refs[i].end - refs[i].begin);
    ++out.kept;
  }
  return out;
}

template <class Keep> uint64_t Catalog::rewrite_all(Keep&& keep) {
  flush();
  std::vector<int64_t> kind_ids;
  {
    Stmt st(m_db, "SELECT DISTINCT kind_id FROM segments");
    while (sqlite3_step(st.get()) == SQLITE_ROW) kind_ids.push_back(sqlite3_column_int64(st.get(), 0));
  }
  exec("BEGIN IMMEDIATE");
  uint64_t dropped = 0;
  try {
    WriterStatements w(m_db);
    for (const int64_t kind_id : kind_ids) {
      const LiveRows kept = live_rows(kind_id, keep); // one read of the kind's segments
      dropped += kept.live - kept.kept;
      Stmt del(m_db, "DELETE FROM segments WHERE kind_id = ?1");
      sqlite3_bind_int64(del.get(), 1, kind_id);
      if (sqlite3_step(del.get()) != SQLITE_DONE)
        throw util::Fatal("catalog {}: {}", m_path, sqlite3_errmsg(m_db));
      // Re-cut into segments of bounded size.
      const std::string_view bytes(kept.bytes);
      size_t pos = 0, seg_begin = 0;
      uint64_t n = 0;
      RecordView r;
      bool malformed = false;
      while (next_record(bytes, pos, r, malformed)) {
        if (++n == k_rewrite_segment_rows) {
          w.insert_segment(kind_id, n, bytes.substr(seg_begin, pos - seg_begin));
          seg_begin = pos;
          n = 0;
        }
      }
      if (n > 0) w.insert_segment(kind_id, n, bytes.substr(seg_begin, pos - seg_begin));
    }
  } catch (...) {
    sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  exec("COMMIT");
  return dropped;
}

CatalogStats Catalog::stats() {
  flush();
  CatalogStats s;
  std::vector<std::pair<int64_t, std::string>> kinds;
  {
    Stmt st(m_db, "SELECT id, kind || ' ' || params FROM kinds ORDER BY 2");
    while (sqlite3_step(st.get()) == SQLITE_ROW)
      kinds.emplace_back(sqlite3_column_int64(st.get(), 0),
                         reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 1)));
  }
  for (const auto& [id, name] : kinds) {
    const uint64_t n = live_rows(id, [](uint64_t, uint64_t) { return true; }).live;
    if (n == 0) continue;
    s.rows += n;
    s.rows_by_kind.emplace_back(name, n);
  }
  struct stat sb {};
  for (const char* suffix : {"", "-wal"})
    if (::stat((m_path + suffix).c_str(), &sb) == 0) s.file_bytes += as_u64(sb.st_size);
  return s;
}

uint64_t Catalog::prune(const std::vector<uint64_t>& fs_ids,
                        const std::vector<std::pair<uint64_t, uint64_t>>& live) {
  std::vector<uint64_t> pruned_fs = fs_ids;
  std::sort(pruned_fs.begin(), pruned_fs.end());
  std::vector<std::pair<uint64_t, uint64_t>> alive = live;
  std::sort(alive.begin(), alive.end());
  return rewrite_all([&](uint64_t fs_id, uint64_t ino) {
    return !std::binary_search(pruned_fs.begin(), pruned_fs.end(), fs_id) ||
           std::binary_search(alive.begin(), alive.end(), std::pair(fs_id, ino));
  });
}

void Catalog::vacuum() {
  rewrite_all([](uint64_t, uint64_t) { return true; }); // drops superseded rows
  exec("VACUUM");
  exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

uint64_t filesystem_id(int fd) {
  struct statfs sfs {};
  if (::fstatfs(fd, &sfs) == 0) {
    uint64_t id = 0;
    static_assert(sizeof sfs.f_fsid == 8);
    std::memcpy(&id, &sfs.f_fsid, sizeof id);
    if (id != 0) return id;
  }
  struct stat sb {};
  if (::fstat(fd, &sb) == 0) return (uint64_t{1} << 63) | as_u64(static_cast<int64_t>(sb.st_dev));
  return 0;
}

FilesystemIds::FilesystemIds(const fs::RootSet& roots) {
  for (const auto& r : roots.roots()) m_by_dev.emplace_back(r.st.dev, filesystem_id(r.fd.get()));
}

uint64_t FilesystemIds::of(uint64_t dev) const {
  for (const auto& [d, id] : m_by_dev)
    if (d == dev) return id;
  return (uint64_t{3} << 62) | dev;
}

std::string default_catalog_path() {
  if (const char* env = std::getenv("WSDEDUP_CATALOG"); env && *env) return env;
  if (::geteuid() == 0) return "/var/cache/wsdedup/catalog.db";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/wsdedup/catalog.db";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/wsdedup/catalog.db";
  return "/tmp/wsdedup-catalog-" + std::to_string(::geteuid()) + ".db";
}

} // namespace wsd::catalog
