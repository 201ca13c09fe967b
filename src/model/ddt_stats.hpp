#pragma once
// The DDT statistics zdb -DD prints: the refcnt histogram (ddt_histogram_add(): bucket
// highbit64(refcnt) - 1), the Total row, the ratio line of dump_dedup_ratio(), rendered
// byte for byte like zpool_dump_ddt() / dump_ddt_stat(), plus the JSON `ddt` object of
// DESIGN.md's estimate contract.

#include "model/ddt_table.hpp"
#include "model/zfs_profile.hpp"

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace wsd::model {

/// ddt_stat_t: allocated (one per entry) and referenced (x refcnt) totals.
struct DdtStat {
  uint64_t blocks = 0;
  uint64_t lsize = 0;
  uint64_t psize = 0;
  uint64_t dsize = 0;
  uint64_t ref_blocks = 0;
  uint64_t ref_lsize = 0;
  uint64_t ref_psize = 0;
  uint64_t ref_dsize = 0;

  /// ddt_stat_add().
  void add(const DdtStat& other);
  friend bool operator==(const DdtStat&, const DdtStat&) = default;
};

/// Blocks that never reach the DDT, for the before/after accounting.
struct OffTableStat {
  uint64_t embedded_entries = 0; // distinct embedded blocks
  uint64_t embedded_refs = 0;    // embedded block pointers written
  uint64_t embedded_lsize = 0;   // their referenced LSIZE
};

/// The ddt_histogram_t plus the per-class entry counts zdb prints per DDT object.
struct DdtHistogram {
  std::array<DdtStat, 64> buckets{};
  DdtStat total;
  uint64_t unique_entries = 0;    // DDT_CLASS_UNIQUE (refcnt 1)
  uint64_t duplicate_entries = 0; // DDT_CLASS_DUPLICATE (refcnt > 1)
  OffTableStat off_table;

  /// All DDT entries (unique + duplicate).
  uint64_t entries() const { return unique_entries + duplicate_entries; }
};

/// The four numbers of dump_dedup_ratio().
struct DedupRatios {
  double dedup = 0;    // refDSIZE / DSIZE
  double compress = 0; // refLSIZE / refPSIZE
  double copies = 0;   // refDSIZE / refPSIZE
  double combined = 0; // dedup * compress / copies
};

/// The histogram of `table` under `config` (DSIZE from dsize_of()).
DdtHistogram build_histogram(const DedupTable& table, const ModelConfig& config);

/// Bucket index of a reference count: highbit64(refcnt) - 1.
unsigned bucket_of(uint64_t refcnt);

/// dump_dedup_ratio()'s arithmetic (0 everywhere for an empty table).
DedupRatios dedup_ratios(const DdtStat& total);

/// zpool_dump_ddt(): "\n", the two header lines, the column lines, one row per non-empty
/// bucket, the Total row, "\n" — with the number format of `format`.
std::string render_histogram(const DdtHistogram& histogram, ZdbFormat format);

/// dump_dedup_ratio(): "dedup = 1.93, compress = 1.00, copies = 1.00, dedup * compress /
/// copies = 1.93\n\n".
std::string render_ratio_line(const DdtStat& total);

/// Sizes of the DDT ZAP objects, for the per-object lines of zdb -DD.
struct DdtObjectSizes {
  uint64_t unique_in_core = 0;    // mspace of the unique-class ZAP, bytes
  uint64_t duplicate_in_core = 0; // mspace of the duplicate-class ZAP, bytes
};

/// The whole of `zdb -DD POOL` for a pool holding only this table: the per-object lines
/// ("DDT-sha256-zap-duplicate: ...", values of `sizes` where zdb's come from disk), a blank
/// line, "DDT histogram (aggregated over all DDTs):", the histogram and the ratio line; "All
/// DDTs are empty\n" for none.
std::string render_zdb_dd(const DdtHistogram& histogram, ZdbFormat format,
                          const DdtObjectSizes& sizes);

/// RAM figures for the JSON contract (ddt_ram.hpp computes them).
struct DdtRamFigures {
  uint64_t legacy = 0;              // legacy ZAP layout, bytes (zdb's "in core" x entries)
  uint64_t legacy_conservative = 0; // 320 B per entry, the usual planning figure
  uint64_t fast_dedup = 0;          // OpenZFS 2.3 FDT ZAP layout, bytes
};

/// The `ddt` object of the estimate JSON: entries, histogram [{refcnt_min, allocated
/// {blocks, lsize, psize, dsize}, referenced {...}}], dedup_ratio, compress_ratio,
/// copies_ratio, ram_bytes {legacy, legacy_conservative, fast_dedup}.
nlohmann::json ddt_to_json(const DdtHistogram& histogram, const DdtRamFigures& ram);

} // namespace wsd::model
