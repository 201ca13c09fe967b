#pragma once
// Whole-file (or head/tail) XXH3-128 digests with the catalog in front of the pipeline:
// a job whose file has a fresh catalog row is answered without reading it; the others are
// read once through the ContentReader and their digests stored for the next run.

#include "catalog/catalog.hpp"
#include "content/content_reader.hpp"
#include "content/file_hasher.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace wsd::content {

/// The path a catalog row stores for a job (catalog::FilesystemIds::stored_path). Jobs named
/// by directory and name (FileJob::in_dir) reuse their directory's stored prefix from the
/// previous job: jobs come in list order, so consecutive ones share directories and no row
/// rebuilds its directory's path. One per reader thread (not thread-safe).
class StoredPaths {
public:
  StoredPaths(const catalog::FilesystemIds& ids, const ReaderOptions& options) : m_ids(ids), m_options(options) {}
  /// The path a row of `job` stores; valid until the next call.
  std::string_view of(const FileJob& job);

private:
  const catalog::FilesystemIds& m_ids;
  const ReaderOptions& m_options;
  bool m_dir_valid = false; // m_dir_prefix is the stored prefix of (m_dir_root, m_dir_dev, m_dir)
  uint32_t m_dir = k_no_dir;
  uint32_t m_dir_root = 0;
  uint64_t m_dir_dev = 0;
  std::string m_dir_prefix;
  std::string m_path; // what of() returned last
};

struct CachedHashStats {
  uint64_t catalog_hits = 0;
  uint64_t catalog_misses = 0;
  ReaderStats reader;
};

/// Fills `out` (one slot per job id) for every job; each job's scope picks its kind of row.
/// `catalog` may be null (no caching). `results`, if given, receives each read's ReadResult
/// (catalog hits keep the default: ok).
CachedHashStats hash_with_catalog(const fs::RootSet& roots, const std::vector<FileJob>& jobs,
                                  const ReaderOptions& options, catalog::Catalog* catalog,
                                  DigestTable& out, std::vector<ReadResult>* results = nullptr,
                                  ReaderProgress* progress = nullptr);

/// A job that could not be read (or changed while read).
struct JobFailure {
  uint64_t index = 0;
  ReadResult result;
};

/// Like hash_with_catalog for `count` jobs made on demand by `job_of(k)` (whose id must be
/// k), so no job list is held: only jobs in flight exist. Failed jobs go to `failures` (may
/// be null), in no particular order.
CachedHashStats hash_jobs_with_catalog(const fs::RootSet& roots, size_t count,
                                       const std::function<FileJob(size_t)>& job_of,
                                       const ReaderOptions& options, catalog::Catalog* catalog,
                                       DigestTable& out, std::vector<JobFailure>* failures,
                                       ReaderProgress* progress = nullptr);

/// The catalog row value of a digest (what hash_with_catalog stores and decodes), for
/// commands that know a file's digest without reading it (dedupe after sharing).
std::string digest_row_value(const Digest128& digest);

/// The catalog kind for a scope ("xxh3-128" or "xxh3-128-head-tail").
const std::string& hash_kind(ReadScope scope);

} // namespace wsd::content
