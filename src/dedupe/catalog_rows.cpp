#include "dedupe/catalog_rows.hpp"

#include "content/cached_hashes.hpp"
#include "fs/dedupe_ioctl.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>

namespace wsd::dedupe {

namespace {

int64_t clock_ns(clockid_t id) {
  struct timespec ts {};
  ::clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool same_identity(const fs::FileStat& a, const fs::FileStat& b) {
  return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime_ns == b.mtime_ns &&
         a.ctime_ns == b.ctime_ns;
}

// The longest finish() waits for the ctime clock to tick past the last change.
constexpr auto k_max_settle_wait = std::chrono::milliseconds(100);

} // namespace

int64_t wall_clock_ns() { return clock_ns(CLOCK_REALTIME); }

ChangedRows::ChangedRows(catalog::Catalog* catalog, const fs::RootSet& roots, int64_t run_start_ns)
    : m_catalog(catalog), m_ids(roots), m_run_start_ns(run_start_ns) {}

ChangedRows::~ChangedRows() {
  for (Entry& e : m_pending) fs::release_lease(e.fd.get());
}

bool ChangedRows::source_trusted(const fs::FileStat& st) const {
  return std::max(st.mtime_ns, st.ctime_ns) + catalog::k_trust_delay_ns <= m_run_start_ns;
}

void ChangedRows::add(util::Fd fd, const fs::FileStat& st, const dupes::DuplicateGroup& group,
                      std::string path) {
  if (!m_catalog) return;
  if (!fd || !fs::write_lease_held(fd.get())) {
    fs::release_lease(fd.get());
    m_stats.dropped++;
    return;
  }
  m_pending.push_back({std::move(fd), st, group.digest, group.partial_digest, group.has_partial, std::move(path)});
  poll();
}

bool ChangedRows::settle(Entry& e, int64_t coarse_now_ns, int64_t wall_now_ns) {
  if (!fs::write_lease_held(e.fd.get())) { // someone opened it: we cannot vouch for it
    fs::release_lease(e.fd.get());
    m_stats.dropped++;
    return true;
  }
  // A write now would stamp ctime with the coarse clock: wait until that clock is past ours.
  if (e.st.ctime_ns > coarse_now_ns + 1'000'000'000) { // a clock step: give up on this one
    fs::release_lease(e.fd.get());
    m_stats.dropped++;
    return true;
  }
  if (coarse_now_ns <= e.st.ctime_ns) return false;
  const int64_t last_change = std::max(e.st.mtime_ns, e.st.ctime_ns);
  fs::FileStat now;
  // The lease is checked after the tick passed: still intact means nobody opened it since
  // before the verification.
  const bool ok = fs::stat_fd(e.fd.get(), now) == 0 && same_identity(now, e.st) && fs::write_lease_held(e.fd.get());
  fs::release_lease(e.fd.get());
  if (!ok) {
    m_stats.dropped++;
    return true;
  }
  catalog::Row row;
  row.id = catalog::FileIdentity::of(m_ids.of(e.st.dev), e.st);
  row.computed_ns = std::max(wall_now_ns, last_change + catalog::k_trust_delay_ns);
  row.value = content::digest_row_value(e.digest);
  m_catalog->put(content::hash_kind(content::ReadScope::whole), "", row, e.path);
  m_stats.rows++;
  if (e.has_partial) {
    row.value = content::digest_row_value(e.partial);
    m_catalog->put(content::hash_kind(content::ReadScope::head_tail), "", std::move(row), e.path);
    m_stats.rows++;
  }
  m_stats.files++;
  return true;
}

void ChangedRows::poll() {
  if (m_pending.empty()) return;
  const int64_t coarse = clock_ns(CLOCK_REALTIME_COARSE);
  const int64_t wall = wall_clock_ns();
  std::deque<Entry> waiting;
  for (Entry& e : m_pending)
    if (!settle(e, coarse, wall)) waiting.push_back(std::move(e));
  m_pending = std::move(waiting);
}

void ChangedRows::finish() {
  const auto deadline = std::chrono::steady_clock::now() + k_max_settle_wait;
  poll();
  while (!m_pending.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    poll();
  }
  for (Entry& e : m_pending) { // the clock never passed their ctime (set in the future?)
    fs::release_lease(e.fd.get());
    m_stats.dropped++;
  }
  m_pending.clear();
  if (m_catalog) m_catalog->flush();
}

} // namespace wsd::dedupe
