#pragma once
// The estimate pipeline (DESIGN.md sections 3 and 5): after the scan, one read of every
// file feeds, in the same pass, the ZFS model for each recordsize (with the per-block
// attribution to categories and workspaces on each), the whole-file hash
// (XXH3-128) for the reflink and hardlink alternatives, and optionally FastCDC chunking.

#include "catalog/catalog.hpp"
#include "content/content_reader.hpp"
#include "content/file_hasher.hpp"
#include "estimate/attribution.hpp"
#include "estimate/chunk_model.hpp"
#include "fs/roots.hpp"
#include "model/ddt_ram.hpp"
#include "model/ddt_stats.hpp"
#include "model/zfs_model.hpp"
#include "scan/file_list.hpp"
#include "scan/usage_report.hpp"

#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

namespace wsd::estimate {

struct CatalogPreload;

/// What to run.
struct EstimateOptions {
  model::ModelOptions model;
  std::vector<uint32_t> cdc_averages; // empty: no CDC
  unsigned threads = 0;               // content reader threads (0: one per core)
  bool cross_fs = false;
  /// Rows of unchanged files replace their reads, and every file read is stored (null: no
  /// catalog); with CDC, each average's chunks too.
  catalog::Catalog* catalog = nullptr;
  /// Rows of `catalog` already being loaded (preload_catalog_rows); null: loaded by the run.
  std::shared_ptr<CatalogPreload> preload;
};

/// The catalog rows a run needs (whole-file digests, each lane's blocks, each CDC average's
/// chunks), loading on a
/// background thread. Start it before the scan, so the load overlaps the walk.
struct CatalogPreload {
  std::vector<std::string> lane_params; // zfs-blocks params per recordsize lane
  catalog::Catalog::Snapshot digests;
  std::vector<catalog::Catalog::Snapshot> lanes;
  std::vector<std::string> cdc_params; // cdc-chunks params per CDC average
  std::vector<catalog::Catalog::Snapshot> cdc;
  std::future<void> loaded; // ready when the snapshots are filled (get() rethrows)
};

/// Starts loading what a run with `options` (its catalog set) needs; null without a catalog.
std::shared_ptr<CatalogPreload> preload_catalog_rows(const EstimateOptions& options);

/// The model's answer for one recordsize.
struct LaneResult {
  model::ModelConfig config;
  model::DdtHistogram histogram; // scaled to the whole tree when sampled
  model::DdtRamEstimate ram;     // scaled likewise
  model::ModelCounters counters;
  uint64_t sampled_entries = 0;  // DDT entries actually held (= entries unless sampled)
  double entries_bound = 0;      // two standard errors when sampled (else 0)
  double dsize_bound = 0;
  double ref_dsize_bound = 0;
  uint64_t index_bytes = 0;      // bytes of the lane's DedupTable
  AttributionResult attribution; // per category and per workspace, at this recordsize
};

/// Whole-file sharing: files identical in content (and, for hardlinks, in metadata).
struct WholeFileResult {
  uint64_t groups = 0;          // sets of two or more sharable files
  uint64_t duplicate_files = 0; // files beyond the first of each set
  uint64_t saved_bytes = 0;     // their allocated bytes today (what du counts)
  uint64_t saved_logical = 0;   // their apparent size
};

/// One CDC average's totals.
struct CdcResult {
  uint32_t average = 0;
  ChunkTotals totals;
};

/// Everything `estimate` measured.
struct EstimateResult {
  std::vector<LaneResult> lanes;
  AttributionResult attribution; // = lanes[0].attribution (the first recordsize)
  WholeFileResult reflink;
  WholeFileResult hardlink;
  std::vector<CdcResult> cdc;
  uint64_t files = 0;           // regular files of size >= 1 (one per inode)
  uint64_t logical_bytes = 0;
  uint64_t allocated_bytes = 0; // their allocated bytes today: the "before"
  content::ReaderStats reader;
  std::vector<scan::ReportedError> errors; // files that could not be read
  double sample_rate = 1.0;     // the rate applied (1: every block)
  double read_seconds = 0;
  uint64_t cdc_index_bytes = 0;
  uint64_t digest_bytes = 0;    // per-file hash table
  uint64_t catalog_hits = 0;    // files replayed from the catalog (not read)
  uint64_t catalog_misses = 0;  // files read (no fresh, complete rows)
};

/// Reads every file of `files` once and models it. `progress` may be null.
EstimateResult run_estimate(const fs::RootSet& roots, const scan::FileList& files,
                            const EstimateOptions& options, content::ReaderProgress* progress);

/// The result-memo key of a run with `options` on `roots` (catalog/result_memo.hpp): every
/// option that changes the result, and the memo's format version.
std::string estimate_memo_key(const EstimateOptions& options, const std::vector<std::string>& roots);

/// The content-derived part of `result` as a memo value; nullopt when `result` must not be
/// memoized (files that could not be read or changed while read).
std::optional<std::string> encode_estimate_memo(const EstimateResult& result);

/// The result a memo value stands for under `options` (its lanes' configs from `options`);
/// nullopt when the value is malformed. Reader figures and timings stay zero.
std::optional<EstimateResult> decode_estimate_memo(std::string_view value, const EstimateOptions& options);

/// Whole-file sharing among `files` given their digests (ok[i] false: not read).
/// ByMetadata::yes also requires owner, group, mode and mtime to match (hardlinks).
enum class ByMetadata : uint8_t { no, yes };
WholeFileResult whole_file_sharing(const scan::FileList& files,
                                   const std::vector<content::Digest128>& digests,
                                   const std::vector<bool>& ok, ByMetadata by_metadata);

} // namespace wsd::estimate
