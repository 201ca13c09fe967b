#include "catalog/catalog.hpp"

#include "util/error.hpp"
#include "util/pause_point.hpp"
#include "util/xxhash.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <algorithm>
#include <atomic>
#include <bit>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <climits>
#include <unistd.h>

namespace wsd::catalog {

namespace detail {

// The catalog file is damaged (found by SQLite, or by a segment's checksum): the caller moves
// it aside and rebuilds it.
class CorruptCatalog : public util::Fatal {
public:
  explicit CorruptCatalog(const std::string& what) : util::Fatal(what) {}
};

// A segment blob's checksum. SQLite checks no blob bytes: a damaged page in the middle of a
// blob is found here, before any of its rows is trusted.
int64_t segment_sum(std::string_view data) {
  return static_cast<int64_t>(XXH3_64bits(data.data(), data.size()));
}

bool is_corrupt(int rc) {
  return (rc & 0xFF) == SQLITE_CORRUPT || (rc & 0xFF) == SQLITE_NOTADB;
}

// Throws CorruptCatalog when SQLite says the file is damaged, else Fatal.
[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  if (is_corrupt(rc)) throw CorruptCatalog(fmt::format("{}: {}", what, sqlite3_errstr(rc)));
  throw util::Fatal("catalog: {}: {}", what, sqlite3_errmsg(db));
}

// Statement guard.
class Stmt {
public:
  Stmt(sqlite3* db, const char* sql) {
    if (const int rc = sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr); rc != SQLITE_OK)
      fail(db, sqlite3_extended_errcode(db), sql);
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
      : segment(db, "INSERT INTO segments (kind_id, rows, data, sum) VALUES (?1, ?2, ?3, ?4)"),
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
    if (const int rc = sqlite3_step(m_add_kind.get()); rc != SQLITE_DONE) fail(m_db, rc, "kinds");
    if (const int rc = sqlite3_step(m_find_kind.get()); rc != SQLITE_ROW) fail(m_db, rc, "kinds");
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
    sqlite3_bind_int64(st, 4, segment_sum(data));
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) fail(m_db, rc, "segments");
  }

  Stmt segment;

private:
  Stmt m_add_kind;
  Stmt m_find_kind;
  sqlite3* m_db;
  std::unordered_map<std::string, int64_t> m_ids;
};

} // namespace detail

using detail::CorruptCatalog;
using detail::Stmt;
using detail::WriterStatements;

namespace {

constexpr int k_schema_version = 6; // 5 + the memos table (a version 5 file is upgraded)
// Rows per write transaction, and the queue's bound in bytes (put() waits beyond it).
constexpr uint64_t k_batch_rows = 16384;
constexpr size_t k_max_queued_bytes = size_t{64} << 20;
// A thread hands its staged rows to the writer's queue after this many rows or bytes (each
// hand-over is one segment per kind: larger stages mean fewer, larger blobs).
constexpr uint64_t k_stage_rows = 4096;
constexpr size_t k_stage_bytes = size_t{1} << 20;
// Numbers the catalogs of this process, so a thread's cached stager is never taken for
// another catalog's (an address may be reused, a number is not).
std::atomic<uint64_t> g_catalog_serial{0};
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

// Version 5: (kind, params) interned in `kinds`; rows appended in segments, each a blob of
// records and `sum`, the blob's XXH3-64, checked on every read. A record is stored as its
// differences from the previous record of its segment (so each segment decodes alone):
//   varint flags (1: fs_id follows, else the previous one's; 2: a path is stored),
//   [fs_id: 8 bytes], zigzag varint ino - previous ino, varint size,
//   zigzag varint mtime_ns - previous mtime_ns, zigzag varint ctime_ns - mtime_ns,
//   zigzag varint computed_ns - previous computed_ns, varint value length, value,
//   [varint bytes shared with the previous stored path, varint rest length, rest].
// A file in a walk-ordered batch costs ~15 bytes of identity plus its value and the new tail
// of its path. A later record of the same (kind, fs_id, ino) supersedes an earlier one. The
// path (relative to the top of its filesystem, "/a/b", when the caller knows it) is for
// reports and `catalog prune`, never a key.
const char* const k_schema = R"SQL(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kinds (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL, UNIQUE (kind, params));
CREATE TABLE IF NOT EXISTS segments (
  id INTEGER PRIMARY KEY, kind_id INTEGER NOT NULL, rows INTEGER NOT NULL, data BLOB NOT NULL,
  sum INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS segments_by_kind ON segments (kind_id, id);
CREATE TABLE IF NOT EXISTS memos (
  id INTEGER PRIMARY KEY, command TEXT NOT NULL, roots TEXT NOT NULL, key TEXT NOT NULL,
  created_ns INTEGER NOT NULL, signature BLOB NOT NULL, value BLOB NOT NULL, sum INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS memos_by_key ON memos (command, key, id);
)SQL";

bool get_varint(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (unsigned shift = 0; shift < 64 && pos < in.size(); shift += 7) {
    const auto b = static_cast<uint8_t>(in[pos++]);
    v |= uint64_t{b & 0x7Fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Signed differences as varints: small magnitudes of either sign stay short.
uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}
int64_t wrapping_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// Record flags (the record's first varint).
constexpr uint64_t k_flag_fs_id = 1; // 8 bytes of fs_id follow (else: the previous record's)
constexpr uint64_t k_flag_path = 2;  // the record stores a path (else: none)

// The state both ends of a segment carry from one record to the next: records are stored as
// differences from the previous record of their segment (schema 5).
struct DeltaState {
  uint64_t fs_id = 0;
  uint64_t ino = 0;
  int64_t mtime_ns = 0;
  int64_t computed_ns = 0;
  std::string path; // the last stored path
};

// The length of the longest common prefix of `a` and `b`, 8 bytes at a time (paths of one
// directory share most of their bytes; a byte loop was most of the cost of storing a row).
size_t common_prefix(std::string_view a, std::string_view b) {
  const size_t limit = std::min(a.size(), b.size());
  size_t i = 0;
  for (; i + 8 <= limit; i += 8) {
    uint64_t x = 0, y = 0;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) {
      // The first differing byte is the lowest one on a little-endian machine.
      const int bit = std::endian::native == std::endian::little ? std::countr_zero(x ^ y)
                                                                 : std::countl_zero(x ^ y);
      return i + static_cast<size_t>(bit) / 8;
    }
  }
  while (i < limit && a[i] == b[i]) ++i;
  return i;
}

} // namespace

namespace detail {

// Appends records to one segment.
class SegmentEncoder {
public:
  void add(std::string& out, const FileIdentity& id, int64_t computed_ns,
           std::string_view value, std::string_view path) {
    // The fixed fields into a local buffer, appended at once (this runs once per row).
    char head[1 + 8 + 7 * 10];
    char* p = head;
    auto varint = [&p](uint64_t v) {
      while (v >= 0x80) {
        *p++ = static_cast<char>((v & 0x7F) | 0x80);
        v >>= 7;
      }
      *p++ = static_cast<char>(v);
    };
    uint64_t flags = 0;
    if (id.fs_id != m_prev.fs_id) flags |= k_flag_fs_id;
    if (!path.empty()) flags |= k_flag_path;
    varint(flags);
    if (flags & k_flag_fs_id) {
      std::memcpy(p, &id.fs_id, 8);
      p += 8;
    }
    varint(zigzag(static_cast<int64_t>(id.ino - m_prev.ino)));
    varint(id.size);
    varint(zigzag(wrapping_sub(id.mtime_ns, m_prev.mtime_ns)));
    varint(zigzag(wrapping_sub(id.ctime_ns, id.mtime_ns)));
    varint(zigzag(wrapping_sub(computed_ns, m_prev.computed_ns)));
    varint(value.size());
    out.append(head, static_cast<size_t>(p - head));
    out.append(value);
    if (flags & k_flag_path) {
      // The bytes shared with the previous path, then the rest.
      const size_t common = common_prefix(path, m_prev.path);
      p = head;
      varint(common);
      varint(path.size() - common);
      out.append(head, static_cast<size_t>(p - head));
      out.append(path.substr(common));
      m_prev.path.resize(common);
      m_prev.path.append(path.substr(common));
    }
    m_prev.fs_id = id.fs_id;
    m_prev.ino = id.ino;
    m_prev.mtime_ns = id.mtime_ns;
    m_prev.computed_ns = computed_ns;
    ++m_rows;
  }
  uint64_t rows() const { return m_rows; }

private:
  DeltaState m_prev;
  uint64_t m_rows = 0;
};

} // namespace detail

using detail::SegmentEncoder;

namespace {

// One record read from a segment.
struct RecordView {
  FileIdentity id;
  int64_t computed_ns = 0;
  std::string_view value; // into the segment
  std::string_view path;  // into the decoder (valid until its next record); "" when none
};

// Whether a decoder rebuilds the stored paths (RecordView::path) or skips their bytes.
enum class PathMode { keep, skip };

// Reads one segment's records in order.
class SegmentDecoder {
public:
  explicit SegmentDecoder(std::string_view seg, PathMode paths = PathMode::keep)
      : m_seg(seg), m_paths(paths) {}
  /// The next record; false at the end or on malformed bytes (then malformed() is true).
  bool next(RecordView& r) {
    if (m_pos == m_seg.size()) return false;
    uint64_t flags = 0, v = 0;
    if (!get_varint(m_seg, m_pos, flags) || flags > 3) return fail();
    if (flags & k_flag_fs_id) {
      if (m_seg.size() - m_pos < 8) return fail();
      std::memcpy(&m_prev.fs_id, m_seg.data() + m_pos, 8);
      m_pos += 8;
    }
    r.id.fs_id = m_prev.fs_id;
    if (!get_varint(m_seg, m_pos, v)) return fail();
    r.id.ino = m_prev.ino + static_cast<uint64_t>(unzigzag(v));
    if (!get_varint(m_seg, m_pos, r.id.size)) return fail();
    if (!get_varint(m_seg, m_pos, v)) return fail();
    r.id.mtime_ns = wrapping_add(m_prev.mtime_ns, unzigzag(v));
    if (!get_varint(m_seg, m_pos, v)) return fail();
    r.id.ctime_ns = wrapping_add(r.id.mtime_ns, unzigzag(v));
    if (!get_varint(m_seg, m_pos, v)) return fail();
    r.computed_ns = wrapping_add(m_prev.computed_ns, unzigzag(v));
    if (!get_varint(m_seg, m_pos, v) || v > m_seg.size() - m_pos) return fail();
    r.value = m_seg.substr(m_pos, v);
    m_pos += v;
    r.path = {};
    if (flags & k_flag_path) {
      uint64_t common = 0;
      if (!get_varint(m_seg, m_pos, common)) return fail();
      if (m_paths == PathMode::skip) {
        if (!get_varint(m_seg, m_pos, v) || v > m_seg.size() - m_pos) return fail();
        m_pos += v;
      } else {
        if (common > m_prev.path.size()) return fail();
        if (!get_varint(m_seg, m_pos, v) || v > m_seg.size() - m_pos) return fail();
        m_prev.path.resize(common);
        m_prev.path.append(m_seg.substr(m_pos, v));
        m_pos += v;
        r.path = m_prev.path;
      }
    }
    m_prev.ino = r.id.ino;
    m_prev.mtime_ns = r.id.mtime_ns;
    m_prev.computed_ns = r.computed_ns;
    return true;
  }
  bool malformed() const { return m_malformed; }

private:
  bool fail() {
    m_malformed = true;
    m_pos = m_seg.size();
    return false;
  }
  std::string_view m_seg;
  PathMode m_paths;
  size_t m_pos = 0;
  DeltaState m_prev;
  bool m_malformed = false;
};

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
  } else if (version == 5) {
    // Version 6 only adds the memos table (made above): the rows stay.
    const std::string sql = "UPDATE meta SET value = '" + std::to_string(k_schema_version) +
                            "' WHERE key = 'schema_version'";
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

namespace {

// Moves the unusable catalog at `path` aside (its WAL and shared memory go) and creates a
// new one there; `warning` says so. When no new file can be made, an in-memory catalog
// stands in (this run is correct, the next one reads everything again).
sqlite3* rebuild_file(const std::string& path, const std::string& why, std::string& warning) {
  const std::string aside = path + ".corrupt-" + std::to_string(now_ns() / 1'000'000'000);
  if (::rename(path.c_str(), aside.c_str()) != 0 && errno != ENOENT)
    throw util::Fatal("catalog {} is unusable ({}) and cannot be moved aside: {}", path, why,
                      util::errno_text(errno));
  for (const char* suffix : {"-wal", "-shm"}) ::unlink((path + suffix).c_str());
  warning = "catalog " + path + " was unusable (" + why + "); moved to " + aside + " and rebuilt";
  std::string why_new;
  OpenFailure failure = OpenFailure::none;
  if (sqlite3* db = try_open(path, why_new, failure)) return db;
  if (sqlite3* db = try_open(":memory:", why_new, failure)) {
    warning += " in memory only (" + why_new + ")";
    return db;
  }
  throw util::Fatal("catalog {}: {}", path, why_new);
}

} // namespace

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
    std::string text;
    db = rebuild_file(path, why, text);
    if (warning) *warning = text;
  }
  return std::unique_ptr<Catalog>(new Catalog(path, db));
}

void Catalog::rebuild_locked(const std::string& why) {
  m_statements.reset();
  sqlite3_close_v2(m_db);
  m_db = nullptr;
  std::string warning;
  m_db = rebuild_file(m_path, why, warning);
  std::fprintf(stderr, "wsdedup: warning: %s\n", warning.c_str());
  ++m_rebuilds;
}

// One thread's staged rows: only that thread and hand-overs (m_mutex held, then this
// mutex) touch them, so put() takes no lock other threads contend for.
struct Catalog::Stager {
  std::mutex mutex;
  std::vector<Buffer> buffers; // one open segment per (kind, params)
  size_t last = 0;             // the buffer the previous row went to
  uint64_t rows = 0;
  size_t bytes = 0;
};

Catalog::Catalog(std::string path, sqlite3* db)
    : m_path(std::move(path)), m_db(db), m_serial(++g_catalog_serial) {
  m_writer = std::thread([this] { writer_loop(); });
}

Catalog::~Catalog() {
  {
    std::lock_guard lock(m_mutex);
    hand_over_all_locked(); // every staged row reaches the writer before it stops
    m_stop = true;
  }
  m_cv.notify_all();
  m_room.notify_all();
  if (m_writer.joinable()) m_writer.join();
  m_statements.reset();
  sqlite3_close(m_db);
}

void Catalog::exec(const char* sql) {
  std::string error;
  if (!exec_ok(m_db, sql, &error)) throw util::Fatal("catalog {}: {}", m_path, error);
}

template <class Each> void Catalog::for_each_segment(int64_t kind_id, Each&& each) {
  Stmt st(m_db, "SELECT data, sum FROM segments WHERE kind_id = ?1 ORDER BY id");
  sqlite3_bind_int64(st.get(), 1, kind_id);
  int rc = 0;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(st.get(), 0));
    const std::string_view seg(data ? data : "", static_cast<size_t>(sqlite3_column_bytes(st.get(), 0)));
    if (detail::segment_sum(seg) != sqlite3_column_int64(st.get(), 1))
      throw CorruptCatalog("a segment's checksum does not match its bytes");
    each(seg);
  }
  if (rc != SQLITE_DONE) detail::fail(m_db, rc, "segments");
}

Catalog::Snapshot Catalog::load(const std::string& kind, const std::string& params,
                                const std::vector<std::pair<uint64_t, uint64_t>>* only) {
  std::lock_guard lock(m_db_mutex);
  try {
    return load_locked(kind, params, only);
  } catch (const CorruptCatalog& e) {
    // Found while reading rows, not at open: this run reads every file, as with no catalog.
    rebuild_locked(e.what());
    return {};
  }
}

Catalog::Snapshot Catalog::load_locked(const std::string& kind, const std::string& params,
                                       const std::vector<std::pair<uint64_t, uint64_t>>* only) {
  Snapshot snap;
  int64_t kind_id = 0;
  {
    Stmt st(m_db, "SELECT id FROM kinds WHERE kind = ?1 AND params = ?2");
    sqlite3_bind_text(st.get(), 1, kind.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st.get(), 2, params.c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) return snap; // never stored
    if (rc != SQLITE_ROW) detail::fail(m_db, rc, "kinds");
    kind_id = sqlite3_column_int64(st.get(), 0);
  }
  {
    Stmt st(m_db, "SELECT SUM(rows), SUM(length(data)) FROM segments WHERE kind_id = ?1");
    sqlite3_bind_int64(st.get(), 1, kind_id);
    if (sqlite3_step(st.get()) == SQLITE_ROW) {
      const auto rows = static_cast<size_t>(std::max<int64_t>(0, sqlite3_column_int64(st.get(), 0)));
      const auto bytes = static_cast<size_t>(std::max<int64_t>(0, sqlite3_column_int64(st.get(), 1)));
      // With `only`, the files asked for bound the rows kept (a few superseded ones aside).
      snap.m_entries.reserve(only ? std::min(rows, only->size() + only->size() / 8) : rows);
      snap.m_values.reserve(only && rows > 0 ? bytes / 2 / rows * std::min(rows, only->size()) : bytes / 2);
    }
  }
  constexpr uint64_t k_not_fresh = ~uint64_t{0};
  for_each_segment(kind_id, [&](std::string_view seg) {
    SegmentDecoder decoder(seg, PathMode::skip); // lookups never need the stored paths
    RecordView r;
    while (decoder.next(r)) {
      if (only && !std::binary_search(only->begin(), only->end(), std::pair{r.id.fs_id, r.id.ino}))
        continue;
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
  // Shrinking copies every entry (tens of MB on a large tree): only worth it when many
  // superseded or stale rows were dropped. The values' slack is at most the reserve.
  const size_t loaded = e.size();
  e.resize(out);
  if (out < loaded - loaded / 4) e.shrink_to_fit();
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

Catalog::Stager& Catalog::stager() {
  struct Cached {
    uint64_t serial = 0;
    Stager* stager = nullptr;
  };
  thread_local Cached cached;
  if (cached.serial == m_serial) return *cached.stager;
  std::lock_guard lock(m_mutex);
  const auto me = std::this_thread::get_id();
  Stager* found = nullptr;
  for (auto& [id, st] : m_stagers)
    if (id == me) found = st.get();
  if (found == nullptr) found = m_stagers.emplace_back(me, std::make_unique<Stager>()).second.get();
  cached = {m_serial, found};
  return *found;
}

uint64_t Catalog::hand_over_locked(Stager& st) {
  std::lock_guard lock(st.mutex);
  const uint64_t rows = st.rows;
  for (Buffer& b : st.buffers) {
    if (b.rows == 0) continue;
    m_queued_bytes += b.bytes.size();
    m_queue.push_back(Buffer{b.kind, b.params, std::move(b.bytes), b.rows, std::move(b.encoder)});
    b.bytes.clear();
    b.rows = 0;
    b.encoder = std::make_unique<SegmentEncoder>(); // the next segment decodes alone
  }
  st.rows = 0;
  st.bytes = 0;
  m_enqueued += rows;
  return rows;
}

void Catalog::hand_over_all_locked() {
  for (auto& entry : m_stagers) hand_over_locked(*entry.second);
}

void Catalog::put(const std::string& kind, const std::string& params, const Row& row,
                  std::string_view path) {
  Stager& st = stager();
  bool full = false;
  {
    std::lock_guard lock(st.mutex);
    Buffer* buffer = nullptr;
    if (st.last < st.buffers.size() && st.buffers[st.last].kind == kind && st.buffers[st.last].params == params) {
      buffer = &st.buffers[st.last];
    } else {
      for (size_t i = 0; i < st.buffers.size() && buffer == nullptr; ++i)
        if (st.buffers[i].kind == kind && st.buffers[i].params == params) {
          buffer = &st.buffers[i];
          st.last = i;
        }
      if (buffer == nullptr) {
        st.last = st.buffers.size();
        buffer = &st.buffers.emplace_back(Buffer{kind, params, {}, 0, std::make_unique<SegmentEncoder>()});
      }
    }
    const size_t before = buffer->bytes.size();
    buffer->encoder->add(buffer->bytes, row.id, row.computed_ns, row.value, path);
    st.bytes += buffer->bytes.size() - before;
    ++buffer->rows;
    ++st.rows;
    full = st.rows >= k_stage_rows || st.bytes >= k_stage_bytes;
  }
  if (!full) return;
  bool wake = false;
  {
    std::unique_lock lock(m_mutex);
    // Back-pressure: a writer far behind (another run holds the lock) must not let queued
    // rows grow with the tree.
    m_room.wait(lock, [&] { return m_queued_bytes < k_max_queued_bytes || m_stop; });
    const uint64_t pending = m_enqueued - m_committed;
    hand_over_locked(st);
    // Wake the writer once a full batch is waiting (a wake per hand-over costs little, but
    // batches stay large).
    wake = pending < k_batch_rows && m_enqueued - m_committed >= k_batch_rows;
  }
  if (wake) m_cv.notify_one();
}

void Catalog::flush() {
  std::unique_lock lock(m_mutex);
  hand_over_all_locked();
  if (m_committed == m_enqueued) return;
  m_flush_requested = true;
  m_cv.notify_all();
  m_flushed.wait(lock, [&] { return m_committed == m_enqueued; });
}

void Catalog::writer_loop() {
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
    bool dropped = false;
    {
      std::lock_guard db_lock(m_db_mutex);
      try {
        if (m_write_error.empty()) {
          if (!m_statements) m_statements = std::make_unique<WriterStatements>(m_db);
          write_batch(*m_statements, batch);
        }
      } catch (const CorruptCatalog& e) {
        // A damaged file found by a write: this batch goes, later ones go to a new file.
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
        rebuild_locked(e.what());
        dropped = true;
      } catch (const std::exception& e) {
        // The catalog only saves time: a write that fails (disk full, lock held too long)
        // stops the writes of this run, never the run. Rolled back, so nothing half-written.
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
        error = e.what();
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    {
      std::lock_guard lock(m_mutex);
      if (!error.empty() && m_write_error.empty()) m_write_error = error;
      if (m_write_error.empty() && !dropped) {
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
  // Every record decoded (values and paths copied into one pool), then the last of each
  // file kept; a malformed tail of a segment is dropped here.
  struct Ref {
    FileIdentity id;
    int64_t computed_ns;
    size_t value_at, value_len, path_at, path_len;
  };
  std::vector<Ref> refs;
  std::string pool;
  for_each_segment(kind_id, [&](std::string_view seg) {
    SegmentDecoder decoder(seg);
    RecordView r;
    while (decoder.next(r)) {
      refs.push_back({r.id, r.computed_ns, pool.size(), r.value.size(), pool.size() + r.value.size(),
                      r.path.size()});
      pool.append(r.value);
      pool.append(r.path);
    }
  });
  std::stable_sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
    return a.id.fs_id < b.id.fs_id || (a.id.fs_id == b.id.fs_id && a.id.ino < b.id.ino);
  });
  LiveRows out;
  SegmentEncoder encoder;
  const std::string_view all(pool);
  for (size_t i = 0; i < refs.size(); ++i) {
    if (i + 1 < refs.size() && refs[i + 1].id.fs_id == refs[i].id.fs_id && refs[i + 1].id.ino == refs[i].id.ino)
      continue;
    ++out.live;
    const Ref& f = refs[i];
    const RecordView r{f.id, f.computed_ns, all.substr(f.value_at, f.value_len), all.substr(f.path_at, f.path_len)};
    if (!keep(r)) continue;
    if (out.segments.empty() || encoder.rows() == k_rewrite_segment_rows) {
      out.segments.emplace_back();
      encoder = SegmentEncoder();
    }
    encoder.add(out.segments.back().first, r.id, r.computed_ns, r.value, r.path);
    out.segments.back().second = encoder.rows();
    ++out.kept;
  }
  return out;
}

template <class Keep> uint64_t Catalog::rewrite_all(Keep&& keep) {
  flush();
  std::lock_guard lock(m_db_mutex);
  try {
    return rewrite_all_locked(keep);
  } catch (const CorruptCatalog& e) {
    sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    rebuild_locked(e.what());
    return 0;
  }
}

template <class Keep> uint64_t Catalog::rewrite_all_locked(Keep& keep) {
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
      for (const auto& [bytes, rows] : kept.segments) w.insert_segment(kind_id, rows, bytes);
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
  std::lock_guard lock(m_db_mutex);
  try {
    return stats_locked();
  } catch (const CorruptCatalog& e) {
    rebuild_locked(e.what());
    return stats_locked();
  }
}

CatalogStats Catalog::stats_locked() {
  CatalogStats s;
  std::vector<std::pair<int64_t, std::string>> kinds;
  {
    Stmt st(m_db, "SELECT id, kind || ' ' || params FROM kinds ORDER BY 2");
    while (sqlite3_step(st.get()) == SQLITE_ROW)
      kinds.emplace_back(sqlite3_column_int64(st.get(), 0),
                         reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 1)));
  }
  for (const auto& [id, name] : kinds) {
    const uint64_t n = live_rows(id, [](const RecordView&) { return false; }).live; // count only
    if (n == 0) continue;
    s.rows += n;
    s.rows_by_kind.emplace_back(name, n);
  }
  {
    Stmt st(m_db, "SELECT count(*) FROM memos");
    if (sqlite3_step(st.get()) == SQLITE_ROW) s.memos = as_u64(sqlite3_column_int64(st.get(), 0));
  }
  struct stat sb {};
  for (const char* suffix : {"", "-wal"})
    if (::stat((m_path + suffix).c_str(), &sb) == 0) s.file_bytes += as_u64(sb.st_size);
  return s;
}

bool PruneScope::covers(std::string_view path) const {
  if (top == "/") return true;
  if (top.empty() || path.size() < top.size() || path.compare(0, top.size(), top) != 0) return false;
  return path.size() == top.size() || path[top.size()] == '/';
}

uint64_t Catalog::prune(const std::vector<PruneScope>& scopes,
                        const std::vector<std::pair<uint64_t, uint64_t>>& live) {
  std::vector<std::pair<uint64_t, uint64_t>> alive = live;
  std::sort(alive.begin(), alive.end());
  auto seen = [&](const RecordView& r) {
    return std::binary_search(alive.begin(), alive.end(), std::pair(r.id.fs_id, r.id.ino));
  };
  auto covered = [&](const RecordView& r) {
    for (const PruneScope& s : scopes)
      if (s.fs_id == r.id.fs_id && s.covers(r.path)) return true;
    return false;
  };
  // Rows stored without a path (a file's further kinds: blocks, chunks) go with the file's
  // row that has one: first the files not seen whose stored path a walk covered.
  std::vector<std::pair<uint64_t, uint64_t>> gone;
  flush();
  {
    std::lock_guard lock(m_db_mutex);
    try {
      std::vector<int64_t> kind_ids;
      Stmt st(m_db, "SELECT DISTINCT kind_id FROM segments");
      while (sqlite3_step(st.get()) == SQLITE_ROW) kind_ids.push_back(sqlite3_column_int64(st.get(), 0));
      for (const int64_t kind_id : kind_ids)
        live_rows(kind_id, [&](const RecordView& r) {
          if (!r.path.empty() && !seen(r) && covered(r)) gone.emplace_back(r.id.fs_id, r.id.ino);
          return false; // nothing re-encoded: this pass only looks
        });
    } catch (const CorruptCatalog& e) {
      rebuild_locked(e.what());
      return 0;
    }
  }
  std::sort(gone.begin(), gone.end());
  return rewrite_all([&](const RecordView& r) {
    if (seen(r)) return true;
    // Not seen: gone only if one of the walks covered where the row's file was.
    if (!r.path.empty()) return !covered(r);
    return !std::binary_search(gone.begin(), gone.end(), std::pair(r.id.fs_id, r.id.ino));
  });
}

namespace {

int64_t memo_sum(const Memo& m) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  XXH3_64bits_update(state, &m.created_ns, sizeof m.created_ns);
  XXH3_64bits_update(state, m.signature.data(), m.signature.size());
  XXH3_64bits_update(state, m.value.data(), m.value.size());
  const auto sum = static_cast<int64_t>(XXH3_64bits_digest(state));
  XXH3_freeState(state);
  return sum;
}

std::string column_bytes(sqlite3_stmt* st, int column) {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(st, column));
  return std::string(data ? data : "", static_cast<size_t>(sqlite3_column_bytes(st, column)));
}

} // namespace

std::optional<Memo> Catalog::find_memo(const std::string& command, const std::string& key) {
  std::lock_guard lock(m_db_mutex);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(m_db,
                         "SELECT created_ns, signature, value, sum FROM memos WHERE command = ?1 "
                         "AND key = ?2 ORDER BY id DESC LIMIT 1",
                         -1, &st, nullptr) != SQLITE_OK) {
    sqlite3_finalize(st);
    return std::nullopt;
  }
  sqlite3_bind_text(st, 1, command.data(), static_cast<int>(command.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  std::optional<Memo> out;
  const int rc = sqlite3_step(st);
  if (detail::is_corrupt(rc)) {
    sqlite3_finalize(st);
    rebuild_locked(sqlite3_errstr(rc)); // as when rows are read: moved aside, rebuilt
    return std::nullopt;
  }
  if (rc == SQLITE_ROW) {
    Memo m;
    m.created_ns = sqlite3_column_int64(st, 0);
    m.signature = column_bytes(st, 1);
    m.value = column_bytes(st, 2);
    if (memo_sum(m) == sqlite3_column_int64(st, 3)) out = std::move(m); // else damaged: unused
  }
  sqlite3_finalize(st);
  return out;
}

bool Catalog::has_memo(const std::string& command, const std::string& key) {
  std::lock_guard lock(m_db_mutex);
  sqlite3_stmt* st = nullptr;
  bool found = false;
  // Reads both of the memos' b-trees (the table through max(id), the index through the
  // lookup), so damage there is found, and the file rebuilt, at the start of every run.
  if (sqlite3_prepare_v2(m_db,
                         "SELECT (SELECT max(id) FROM memos), EXISTS (SELECT 1 FROM memos WHERE "
                         "command = ?1 AND key = ?2)",
                         -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, command.data(), static_cast<int>(command.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(st);
    found = rc == SQLITE_ROW && sqlite3_column_int(st, 1) != 0;
    if (detail::is_corrupt(rc)) {
      sqlite3_finalize(st);
      rebuild_locked(sqlite3_errstr(rc)); // as when rows are read: moved aside, rebuilt
      return false;
    }
  }
  sqlite3_finalize(st);
  return found;
}

bool Catalog::put_memo(const std::string& command, const std::string& roots, const std::string& key,
                       const Memo& memo) {
  flush(); // the rows this result came from go first
  std::lock_guard lock(m_db_mutex);
  if (!exec_ok(m_db, "BEGIN IMMEDIATE")) return false;
  bool ok = false;
  {
    // Only the newest memo of a key is ever used: it replaces the older ones.
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db, "DELETE FROM memos WHERE command = ?1 AND key = ?2", -1, &st,
                           nullptr) == SQLITE_OK) {
      sqlite3_bind_text(st, 1, command.data(), static_cast<int>(command.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
      ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
  }
  if (ok) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db,
                           "INSERT INTO memos (command, roots, key, created_ns, signature, value, sum) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &st, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(st, 1, command.data(), static_cast<int>(command.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 2, roots.data(), static_cast<int>(roots.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 3, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
      sqlite3_bind_int64(st, 4, memo.created_ns);
      sqlite3_bind_blob64(st, 5, memo.signature.data(), memo.signature.size(), SQLITE_STATIC);
      sqlite3_bind_blob64(st, 6, memo.value.data(), memo.value.size(), SQLITE_STATIC);
      sqlite3_bind_int64(st, 7, memo_sum(memo));
      ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
  }
  // The newest few per (command, roots) (other option sets on the same tree).
  ok = ok && exec_ok(m_db,
                     ("DELETE FROM memos WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
                      "(PARTITION BY command, roots ORDER BY id DESC) AS n FROM memos) WHERE n > " +
                      std::to_string(k_memos_kept) + ")")
                         .c_str());
  if (ok && exec_ok(m_db, "COMMIT")) return true;
  sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
  return false;
}

void Catalog::trim_memos_locked() {
  exec(("DELETE FROM memos WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
        "(PARTITION BY command, roots ORDER BY id DESC) AS n FROM memos) WHERE n > " +
        std::to_string(k_memos_kept) + ")")
           .c_str());
}

void Catalog::vacuum() {
  rewrite_all([](const RecordView&) { return true; }); // drops superseded rows
  std::lock_guard lock(m_db_mutex);
  trim_memos_locked();
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
  for (const auto& r : roots.roots()) {
    m_by_dev.emplace_back(r.st.dev, filesystem_id(r.fd.get()));
    m_root_devs.push_back(r.st.dev);
    m_tops.push_back(path_in_filesystem(r.fd.get(), r.st.dev));
  }
}

std::string FilesystemIds::stored_path(size_t root, uint64_t dev, std::string_view rel_path) const {
  const std::string& top = m_tops.at(root);
  if (top.empty() || dev != m_root_devs.at(root)) return std::string(rel_path);
  std::string out;
  out.reserve(top.size() + 1 + rel_path.size());
  out = top;
  if (out.back() != '/') out += '/';
  out.append(rel_path);
  return out;
}

namespace {

// Undoes mountinfo's octal escapes (\040 for a space, and so on).
std::string unescape_mountinfo(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 3 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '3') {
      out += static_cast<char>((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 + (in[i + 3] - '0'));
      i += 3;
    } else {
      out += in[i];
    }
  }
  return out;
}

// True when `path` is `dir` or lies below it.
bool is_under(std::string_view path, std::string_view dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  return path.substr(0, dir.size()) == dir && (path.size() == dir.size() || path[dir.size()] == '/');
}

} // namespace

std::string path_in_filesystem(int fd, uint64_t dev) {
  char link[PATH_MAX + 1];
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(proc.c_str(), link, PATH_MAX);
  if (n <= 0) return {};
  const std::string path(link, static_cast<size_t>(n));
  if (path[0] != '/' || path.ends_with(" (deleted)")) return {};
  std::ifstream in("/proc/self/mountinfo");
  // The mount is found by its id where statx tells it (Linux 5.8): a btrfs file's st_dev is
  // its subvolume's own anonymous device, never the one mountinfo lists for the mount.
  std::string want_id;
  struct statx sx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID) != 0)
    want_id = std::to_string(sx.stx_mnt_id);
  const std::string want = std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  std::string line, best_root, best_point;
  bool found = false;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point ...
    std::istringstream fields(line);
    std::string id, parent, majmin, root, point;
    if (!(fields >> id >> parent >> majmin >> root >> point)) continue;
    if (want_id.empty() ? majmin != want : id != want_id) continue;
    root = unescape_mountinfo(root);
    point = unescape_mountinfo(point);
    if (!is_under(path, point) || (found && point.size() <= best_point.size())) continue;
    best_root = root;
    best_point = point;
    found = true;
  }
  if (!found || best_root.empty() || best_root[0] != '/') return {};
  std::string out = best_root == "/" ? "" : best_root;
  out += best_point == "/" ? path : path.substr(best_point.size());
  return out.empty() ? "/" : out;
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
