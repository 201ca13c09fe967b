#include "catalog/catalog.hpp"

#include "util/error.hpp"

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

namespace {

constexpr int k_schema_version = 1;
constexpr size_t k_batch_rows = 2000;

const char* const k_schema = R"SQL(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS content (
  fs_id INTEGER NOT NULL, ino INTEGER NOT NULL, kind TEXT NOT NULL, params TEXT NOT NULL,
  size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
  computed_ns INTEGER NOT NULL, value BLOB NOT NULL, path BLOB,
  PRIMARY KEY (fs_id, ino, kind, params)) WITHOUT ROWID;
)SQL";

int64_t as_i64(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t as_u64(int64_t v) { return static_cast<uint64_t>(v); }

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

bool exec_ok(sqlite3* db, const char* sql, std::string* error = nullptr) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK && error) *error = msg ? msg : sqlite3_errstr(rc);
  sqlite3_free(msg);
  return rc == SQLITE_OK;
}

// Opens and checks a catalog; nullptr with `why` set when it is unusable.
sqlite3* try_open(const std::string& path, std::string& why) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 30000); // another run holds the write lock: wait for it
  if (!exec_ok(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", &why) ||
      !exec_ok(db, k_schema, &why)) {
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
    if (!exec_ok(db, sql.c_str(), &why)) {
      sqlite3_close(db);
      return nullptr;
    }
  } else if (version != k_schema_version) {
    why = "schema version " + std::to_string(version) + ", this wsdedup uses " +
          std::to_string(k_schema_version);
    sqlite3_close(db);
    return nullptr;
  }
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
  sqlite3* db = try_open(path, why);
  if (!db) {
    const std::string aside = path + ".corrupt-" + std::to_string(now_ns() / 1'000'000'000);
    if (::rename(path.c_str(), aside.c_str()) != 0 && errno != ENOENT)
      throw util::Fatal("catalog {} is unusable ({}) and cannot be moved aside: {}", path, why,
                        util::errno_text(errno));
    for (const char* suffix : {"-wal", "-shm"}) ::unlink((path + suffix).c_str());
    if (warning)
      *warning = "catalog " + path + " was unusable (" + why + "); moved to " + aside +
                 " and rebuilt";
    db = try_open(path, why);
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
  Stmt st(m_db, "SELECT fs_id, ino, size, mtime_ns, ctime_ns, computed_ns, value FROM content "
                "WHERE kind = ?1 AND params = ?2");
  sqlite3_bind_text(st.get(), 1, kind.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.get(), 2, params.c_str(), -1, SQLITE_TRANSIENT);
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
  m_cv.notify_all();
  m_flushed.wait(lock, [&] { return m_committed == m_enqueued; });
}

void Catalog::writer_loop() {
  Stmt insert(m_db, "INSERT OR REPLACE INTO content (fs_id, ino, kind, params, size, mtime_ns, "
                    "ctime_ns, computed_ns, value, path) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
  std::vector<Pending> batch;
  while (true) {
    {
      std::unique_lock lock(m_mutex);
      // Wait for a full batch, a flush request or stop; commit what is there every 200 ms.
      m_cv.wait_for(lock, std::chrono::milliseconds(200),
                    [&] { return m_stop || m_queue.size() >= k_batch_rows; });
      if (m_queue.empty()) {
        m_flushed.notify_all();
        if (m_stop) return;
        continue;
      }
      batch.swap(m_queue);
    }
    exec("BEGIN IMMEDIATE");
    for (const auto& p : batch) {
      sqlite3_stmt* s = insert.get();
      sqlite3_reset(s);
      sqlite3_bind_int64(s, 1, as_i64(p.row.id.fs_id));
      sqlite3_bind_int64(s, 2, as_i64(p.row.id.ino));
      sqlite3_bind_text(s, 3, p.kind.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 4, p.params.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(s, 5, as_i64(p.row.id.size));
      sqlite3_bind_int64(s, 6, p.row.id.mtime_ns);
      sqlite3_bind_int64(s, 7, p.row.id.ctime_ns);
      sqlite3_bind_int64(s, 8, p.row.computed_ns);
      sqlite3_bind_blob(s, 9, p.row.value.data(), static_cast<int>(p.row.value.size()), SQLITE_STATIC);
      sqlite3_bind_blob(s, 10, p.path.data(), static_cast<int>(p.path.size()), SQLITE_STATIC);
      if (sqlite3_step(s) != SQLITE_DONE) {
        exec("ROLLBACK");
        throw util::Fatal("catalog {}: {}", m_path, sqlite3_errmsg(m_db));
      }
    }
    exec("COMMIT");
    {
      std::lock_guard lock(m_mutex);
      m_committed += batch.size();
      if (m_committed == m_enqueued) m_flushed.notify_all();
    }
    batch.clear();
  }
}

CatalogStats Catalog::stats() {
  flush();
  CatalogStats s;
  Stmt st(m_db, "SELECT kind || ' ' || params, COUNT(*) FROM content GROUP BY kind, params ORDER BY 1");
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

std::string default_catalog_path() {
  if (::geteuid() == 0) return "/var/cache/wsdedup/catalog.db";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/wsdedup/catalog.db";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/wsdedup/catalog.db";
  return "/tmp/wsdedup-catalog-" + std::to_string(::geteuid()) + ".db";
}

} // namespace wsd::catalog
