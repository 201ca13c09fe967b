#include "content/cached_hashes.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>


namespace wsd::content {

namespace {

std::string encode(const Digest128& d) {
  std::string s(16, '\0');
  std::memcpy(s.data(), &d.low, 8);
  std::memcpy(s.data() + 8, &d.high, 8);
  return s;
}

bool decode(std::string_view s, Digest128& d) {
  if (s.size() != 16) return false;
  std::memcpy(&d.low, s.data(), 8);
  std::memcpy(&d.high, s.data() + 8, 8);
  return true;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using FsIds = catalog::FilesystemIds;

// Collects the jobs that failed, from every reader thread.
struct FailureSink {
  std::mutex mutex;
  std::vector<JobFailure>* out = nullptr;
  void add(uint64_t index, const ReadResult& result) {
    std::lock_guard lock(mutex);
    out->push_back({index, result});
  }
};

// Hashes like file_hasher and also stores each successful digest in the catalog.
class StoringHasher final : public ContentConsumer {
public:
  StoringHasher(DigestTable& table, catalog::Catalog* catalog, const FsIds& ids, const ReaderOptions& options,
                std::vector<ReadResult>* results, FailureSink* failures)
      : m_inner(make_file_hasher(table)), m_table(table), m_catalog(catalog), m_ids(ids),
        m_paths(ids, options), m_results(results), m_failures(failures) {}
  void begin(const FileJob& job) override {
    m_started_ns = now_ns();
    m_inner->begin(job);
  }
  void data(uint64_t off, std::span<const std::byte> b) override { m_inner->data(off, b); }
  void hole(uint64_t off, uint64_t len) override { m_inner->hole(off, len); }
  void end(const FileJob& job, const ReadResult& result) override {
    m_inner->end(job, result);
    if (m_results) m_results->at(job.id) = result;
    if (m_failures && result.outcome != ReadOutcome::ok && result.outcome != ReadOutcome::skipped)
      m_failures->add(job.id, result);
    if (!m_catalog || result.outcome != ReadOutcome::ok || job.mtime_ns == 0) return;
    catalog::Row row;
    row.id = {m_ids.of(job.dev), job.ino, job.size, job.mtime_ns, job.ctime_ns};
    row.computed_ns = m_started_ns; // the read began here: later changes are not in it
    row.value = encode(m_table.digests[job.id]);
    m_catalog->put(hash_kind(job.scope), "", std::move(row), m_paths.of(job));
  }

private:
  std::unique_ptr<ContentConsumer> m_inner;
  DigestTable& m_table;
  catalog::Catalog* m_catalog;
  const FsIds& m_ids;
  StoredPaths m_paths; // the rows' paths; jobs named by directory need the reader's dir_path
  std::vector<ReadResult>* m_results;
  FailureSink* m_failures;
  int64_t m_started_ns = 0;
};

} // namespace

std::string_view StoredPaths::of(const FileJob& job) {
  if (job.dir == k_no_dir || !m_options.dir_path) {
    m_path = m_ids.stored_path(job.root, job.dev, job_path(job, m_options));
    return m_path;
  }
  if (!m_dir_valid || job.dir != m_dir || job.root != m_dir_root || job.dev != m_dir_dev) {
    std::string dir = m_options.dir_path(job.dir);
    if (!dir.empty()) dir += '/';
    m_dir_prefix = m_ids.stored_path(job.root, job.dev, dir);
    m_dir = job.dir;
    m_dir_root = job.root;
    m_dir_dev = job.dev;
    m_dir_valid = true;
  }
  m_path.assign(m_dir_prefix); // reuses the buffer: no allocation per row
  m_path.append(job.name);
  return m_path;
}

std::string digest_row_value(const Digest128& digest) { return encode(digest); }

const std::string& hash_kind(ReadScope scope) {
  // Named once: it is passed for every catalog row, and the head/tail name is too long for
  // std::string's inline buffer (one allocation per row otherwise).
  static const std::string whole = "xxh3-128";
  static const std::string head_tail = "xxh3-128-head-tail";
  return scope == ReadScope::whole ? whole : head_tail;
}

CachedHashStats hash_with_catalog(const fs::RootSet& roots, const std::vector<FileJob>& jobs,
                                  const ReaderOptions& options, catalog::Catalog* catalog,
                                  DigestTable& out, std::vector<ReadResult>* results,
                                  ReaderProgress* progress) {
  CachedHashStats stats;
  if (results) results->assign(jobs.size() == 0 ? 0 : out.digests.size(), ReadResult{});
  const FsIds ids(roots);
  std::vector<const FileJob*> misses;
  if (catalog) {
    std::map<ReadScope, catalog::Catalog::Snapshot> snapshots;
    for (const auto& j : jobs)
      if (!snapshots.count(j.scope)) snapshots.emplace(j.scope, catalog->load(hash_kind(j.scope), ""));
    for (const auto& j : jobs) {
      const auto row =
          snapshots.at(j.scope).find({ids.of(j.dev), j.ino, j.size, j.mtime_ns, j.ctime_ns});
      Digest128 d;
      if (row && j.mtime_ns != 0 && decode(row->value, d)) {
        out.digests.at(j.id) = d;
        out.outcomes.at(j.id) = ReadOutcome::ok;
        ++stats.catalog_hits;
      } else {
        misses.push_back(&j);
      }
    }
  } else {
    for (const auto& j : jobs) misses.push_back(&j);
  }
  stats.catalog_misses = misses.size();
  ContentReader reader(roots, options);
  stats.reader = reader.run(
      [&](const auto& push) { for (const FileJob* j : misses) push(*j); },
      [&](unsigned) { return std::make_unique<StoringHasher>(out, catalog, ids, options, results, nullptr); },
      progress);
  if (catalog) catalog->flush();
  return stats;
}

CachedHashStats hash_jobs_with_catalog(const fs::RootSet& roots, size_t count,
                                       const std::function<FileJob(size_t)>& job_of,
                                       const ReaderOptions& options, catalog::Catalog* catalog,
                                       DigestTable& out, std::vector<JobFailure>* failures,
                                       ReaderProgress* progress) {
  CachedHashStats stats;
  const FsIds ids(roots);
  std::vector<uint32_t> misses; // job indexes to read
  if (catalog) {
    // Only the rows of these jobs' files are loaded: the catalog may hold many more rows of
    // the kind (estimate's whole-file digests of every file, when dupes asks for a few).
    std::map<ReadScope, std::vector<std::pair<uint64_t, uint64_t>>> wanted;
    for (size_t k = 0; k < count; ++k) {
      const FileJob j = job_of(k);
      wanted[j.scope].emplace_back(ids.of(j.dev), j.ino);
    }
    std::map<ReadScope, catalog::Catalog::Snapshot> snapshots;
    for (auto& [scope, keys] : wanted) {
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      snapshots.emplace(scope, catalog->load(hash_kind(scope), "", &keys));
      std::vector<std::pair<uint64_t, uint64_t>>().swap(keys);
    }
    for (size_t k = 0; k < count; ++k) {
      const FileJob j = job_of(k);
      const auto row = snapshots.at(j.scope).find({ids.of(j.dev), j.ino, j.size, j.mtime_ns, j.ctime_ns});
      Digest128 d;
      if (row && j.mtime_ns != 0 && decode(row->value, d)) {
        out.digests.at(k) = d;
        out.outcomes.at(k) = ReadOutcome::ok;
        ++stats.catalog_hits;
      } else {
        misses.push_back(static_cast<uint32_t>(k));
      }
    }
  } else {
    misses.resize(count);
    for (size_t k = 0; k < count; ++k) misses[k] = static_cast<uint32_t>(k);
  }
  stats.catalog_misses = misses.size();
  FailureSink sink;
  sink.out = failures;
  ContentReader reader(roots, options);
  stats.reader = reader.run(
      [&](const auto& push) { for (const uint32_t k : misses) push(job_of(k)); },
      [&](unsigned) {
        return std::make_unique<StoringHasher>(out, catalog, ids, options, nullptr, failures ? &sink : nullptr);
      },
      progress);
  if (catalog) catalog->flush();
  return stats;
}

} // namespace wsd::content
