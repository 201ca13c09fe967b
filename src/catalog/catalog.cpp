#include "catalog/catalog.hpp"

#include "util/error.hpp"
#include "util/pause_point.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
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
      : content(db, "INSERT OR REPLACE INTO content (kind_id, fs_id, ino, size, mtime_ns, "
                    "ctime_ns, computed_ns, value) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"),
        path(db, "INSERT OR REPLACE INTO paths (fs_id, ino, path) VALUES (?1,?2,?3)"),
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

  Stmt content;
  Stmt path;

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

constexpr int k_schema_version = 2;
constexpr size_t k_batch_rows = 2000;
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

// Version 2: (kind, params) interned in `kinds`; content rows keyed (kind_id, fs_id, ino) so
// load() is one range scan; the path once per file in `paths` (reports only, never a key).
const char* const k_schema = R"SQL(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kinds (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL, UNIQUE (kind, params));
CREATE TABLE IF NOT EXISTS content (
  kind_id INTEGER NOT NULL, fs_id INTEGER NOT NULL, ino INTEGER NOT NULL,
  size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
  computed_ns INTEGER NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (kind_id, fs_id, ino)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS paths (
  fs_id INTEGER NOT NULL, ino INTEGER NOT NULL, path BLOB NOT NULL,
  PRIMARY KEY (fs_id, ino)) WITHOUT ROWID;
)SQL";

int64_t as_i64(uint64_t v) { return static_cast<int64_t>(v); }
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
  if (!exec_ok(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", &why, failure) ||
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
  if (m_writer.joinable()) m_writer.join();
  sqlite3_close(m_db);
}

void Catalog::exec(const char* sql) {
  std::string error;
  if (!exec_ok(m_db, sql, &error)) throw util::Fatal("catalog {}: {}", m_path, error);
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
  Stmt st(m_db, "SELECT fs_id, ino, size, mtime_ns, ctime_ns, computed_ns, value FROM content "
                "WHERE kind_id = ?1");
  sqlite3_bind_int64(st.get(), 1, kind_id);
  int rc = 0;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    Row row;
    row.id.fs_id = as_u64(sqlite3_column_int64(st.get(), 0));
    row.id.ino = as_u64(sqlite3_column_int64(st.get(), 1));
    row.id.size = as_u64(sqlite3_column_int64(st.get(), 2));
    row.id.mtime_ns = sqlite3_column_int64(st.get(), 3);
    row.id.ctime_ns = sqlite3_column_int64(st.get(), 4);
    row.computed_ns = sqlite3_column_int64(st.get(), 5);
    const auto* blob = static_cast<const char*>(sqlite3_column_blob(st.get(), 6));
    row.value.assign(blob ? blob : "", static_cast<size_t>(sqlite3_column_bytes(st.get(), 6)));
    const auto key = std::make_pair(row.id.fs_id, row.id.ino);
    snap.m_rows.emplace(key, std::move(row));
  }
  if (rc != SQLITE_DONE) throw util::Fatal("catalog {}: {}", m_path, sqlite3_errmsg(m_db));
  return snap;
}

const Row* Catalog::Snapshot::find(const FileIdentity& now) const {
  const auto it = m_rows.find({now.fs_id, now.ino});
  if (it == m_rows.end() || !row_is_fresh(it->second, now)) return nullptr;
  return &it->second;
}

void Catalog::put(const std::string& kind, const std::string& params, Row row, std::string path) {
  {
    std::lock_guard lock(m_mutex);
    m_queue.push_back({kind, params, std::move(row), std::move(path)});
    ++m_enqueued;
  }
  m_cv.notify_one();
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
  std::vector<Pending> batch;
  while (true) {
    {
      std::unique_lock lock(m_mutex);
      // Wait for a full batch, a flush request or stop; commit what is there every 200 ms.
      m_cv.wait_for(lock, std::chrono::milliseconds(200), [&] {
        return m_stop || m_flush_requested || m_queue.size() >= k_batch_rows;
      });
      m_flush_requested = false;
      if (m_queue.empty()) {
        m_flushed.notify_all();
        if (m_stop) return;
        continue;
      }
      batch.swap(m_queue);
    }
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
        m_writer_stats.rows += batch.size();
        m_writer_stats.seconds += seconds;
      } else {
        m_writer_stats.dropped_rows += batch.size();
      }
      m_committed += batch.size();
      if (m_committed == m_enqueued) m_flushed.notify_all();
    }
    batch.clear();
  }
}

void Catalog::write_batch(WriterStatements& w, const std::vector<Pending>& batch) {
  exec("BEGIN IMMEDIATE");
  size_t done = 0;
  const std::pair<uint64_t, uint64_t>* last_path = nullptr;
  std::pair<uint64_t, uint64_t> last_path_key;
  for (const auto& p : batch) {
    const int64_t kind_id = w.kind_id(p.kind, p.params);
    sqlite3_stmt* s = w.content.get();
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, kind_id);
    sqlite3_bind_int64(s, 2, as_i64(p.row.id.fs_id));
    sqlite3_bind_int64(s, 3, as_i64(p.row.id.ino));
    sqlite3_bind_int64(s, 4, as_i64(p.row.id.size));
    sqlite3_bind_int64(s, 5, p.row.id.mtime_ns);
    sqlite3_bind_int64(s, 6, p.row.id.ctime_ns);
    sqlite3_bind_int64(s, 7, p.row.computed_ns);
    sqlite3_bind_blob(s, 8, p.row.value.data(), static_cast<int>(p.row.value.size()), SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
      throw util::Fatal("catalog {}: {}", m_path, sqlite3_errmsg(m_db));
    // The path, once per file (a file's rows of several kinds come one after the other).
    const std::pair<uint64_t, uint64_t> key{p.row.id.fs_id, p.row.id.ino};
    if (last_path == nullptr || last_path_key != key) {
      sqlite3_stmt* ps = w.path.get();
      sqlite3_reset(ps);
      sqlite3_bind_int64(ps, 1, as_i64(key.first));
      sqlite3_bind_int64(ps, 2, as_i64(key.second));
      sqlite3_bind_blob(ps, 3, p.path.data(), static_cast<int>(p.path.size()), SQLITE_STATIC);
      if (sqlite3_step(ps) != SQLITE_DONE)
        throw util::Fatal("catalog {}: {}", m_path, sqlite3_errmsg(m_db));
      last_path_key = key;
      last_path = &last_path_key;
    }
    // Tests kill the process here, inside an open transaction, half-way through a batch.
    if (++done == batch.size() / 2) util::pause_point("catalog.mid_transaction", m_path);
  }
  sqlite3_reset(w.content.get());
  sqlite3_reset(w.path.get());
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

CatalogStats Catalog::stats() {
  flush();
  CatalogStats s;
  Stmt st(m_db, "SELECT k.kind || ' ' || k.params, COUNT(*) FROM content c JOIN kinds k "
                "ON k.id = c.kind_id GROUP BY c.kind_id ORDER BY 1");
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    const auto n = as_u64(sqlite3_column_int64(st.get(), 1));
    s.rows += n;
    s.rows_by_kind.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)), n);
  }
  struct stat sb {};
  for (const char* suffix : {"", "-wal"})
    if (::stat((m_path + suffix).c_str(), &sb) == 0) s.file_bytes += as_u64(sb.st_size);
  return s;
}

uint64_t Catalog::prune(const std::vector<uint64_t>& fs_ids,
                        const std::vector<std::pair<uint64_t, uint64_t>>& live) {
  flush();
  exec("CREATE TEMP TABLE IF NOT EXISTS pruned_fs (fs_id INTEGER PRIMARY KEY)");
  exec("DELETE FROM pruned_fs");
  {
    Stmt ins(m_db, "INSERT OR IGNORE INTO pruned_fs VALUES (?1)");
    for (const uint64_t id : fs_ids) {
      sqlite3_reset(ins.get());
      sqlite3_bind_int64(ins.get(), 1, as_i64(id));
      sqlite3_step(ins.get());
    }
  }
  exec("CREATE TEMP TABLE IF NOT EXISTS live (fs_id INTEGER, ino INTEGER, PRIMARY KEY (fs_id, ino)) WITHOUT ROWID");
  exec("DELETE FROM live");
  exec("BEGIN");
  {
    Stmt ins(m_db, "INSERT OR IGNORE INTO live VALUES (?1, ?2)");
    for (const auto& [fs_id, ino] : live) {
      sqlite3_reset(ins.get());
      sqlite3_bind_int64(ins.get(), 1, as_i64(fs_id));
      sqlite3_bind_int64(ins.get(), 2, as_i64(ino));
      sqlite3_step(ins.get());
    }
  }
  exec("DELETE FROM content WHERE fs_id IN (SELECT fs_id FROM pruned_fs) AND NOT EXISTS "
       "(SELECT 1 FROM live WHERE live.fs_id = content.fs_id AND live.ino = content.ino)");
  const auto removed = as_u64(sqlite3_changes64(m_db));
  exec("DELETE FROM paths WHERE fs_id IN (SELECT fs_id FROM pruned_fs) AND NOT EXISTS "
       "(SELECT 1 FROM live WHERE live.fs_id = paths.fs_id AND live.ino = paths.ino)");
  exec("COMMIT");
  return removed;
}

void Catalog::vacuum() {
  flush();
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
