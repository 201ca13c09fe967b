#pragma once
// Parsers for what the ZFS tools print about dedup: `zpool status -D`, `zdb -DD`, `zpool list
// -H`, `zfs get -H`, and the kernel's arcstats kstat. Two generations of formats are read:
// the legacy one (illumos, zfs-fuse, OpenZFS up to 2.2: DDT object sizes are per-entry
// averages) and OpenZFS 2.3+ (sizes are totals; zdb prints "dspace=..; mspace=..;
// entries=.."). Human numbers (zfs_nicenum: "1.03M") are parsed back to a value plus the
// interval the exact number lies in.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsd::zfs {

/// A number as a ZFS tool printed it: exact, or rounded by zfs_nicenum (then `low`..`high`
/// bounds the exact value, and `value` is the midpoint estimate).
struct PrintedNumber {
  uint64_t value = 0; ///< best estimate (exact when `exact`)
  uint64_t low = 0;   ///< the smallest exact value that prints this way
  uint64_t high = 0;  ///< the largest exact value that prints this way
  bool exact = true;  ///< printed in full (no unit suffix, no rounding)
  std::string text;   ///< as printed

  /// True when `n` could have been printed as this text.
  bool admits(uint64_t n) const { return n >= low && n <= high; }
};

/// Parses "1234", "512B", "1.03M", "37", "128K", "2.5G", "-"/"0" (zfs_nicenum, 1024-based,
/// units B K M G T P E); nullopt for anything else.
std::optional<PrintedNumber> parse_nicenum(std::string_view text);

/// Whether the DDT object sizes a tool printed are per-entry averages or totals.
enum class DdtSizeScale { per_entry, total };

/// "DDT entries N, size X on disk, Y in core" of `zpool status -D` (print_dedup_stats).
struct DdtSummary {
  bool present = false;      ///< a dedup line was found
  uint64_t entries = 0;      ///< "DDT entries N" (0 for "no DDT entries")
  PrintedNumber on_disk;     ///< as printed
  PrintedNumber in_core;     ///< as printed
  std::optional<PrintedNumber> cached; ///< OpenZFS 2.3+: ", X cached (P%)"
};

/// One row of a DDT histogram (bucket refcnt or the Total row), numbers as printed.
struct DdtHistogramRow {
  std::string refcnt; ///< "1", "2", "1K", or "Total"
  uint64_t refcnt_min = 0; ///< the bucket's lower bound (0 for Total)
  PrintedNumber blocks, lsize, psize, dsize;
  PrintedNumber ref_blocks, ref_lsize, ref_psize, ref_dsize;
};

/// One DDT object line of `zdb -DD` ("DDT-sha256-zap-unique: ...").
struct DdtObjectLine {
  std::string name;       ///< "DDT-sha256-zap-unique"
  uint64_t entries = 0;
  uint64_t on_disk = 0;   ///< bytes as printed (per entry when scale is per_entry)
  uint64_t in_core = 0;   ///< bytes as printed (per entry when scale is per_entry)
  DdtSizeScale scale = DdtSizeScale::per_entry;

  /// Total in-core bytes of the object (per-entry figures multiplied back; zdb truncated the
  /// average, so this is low by less than `entries` bytes).
  uint64_t in_core_total() const { return scale == DdtSizeScale::total ? in_core : in_core * entries; }
  /// Total on-disk bytes, the same way.
  uint64_t on_disk_total() const { return scale == DdtSizeScale::total ? on_disk : on_disk * entries; }
};

/// The ratio line of zdb's dump_dedup_ratio() ("dedup = 1.86, compress = 1.34, ...").
struct DdtRatioLine {
  double dedup = 0;
  double compress = 0;
  double copies = 0;
  double combined = 0;
};

/// Everything `zdb -DD POOL` (or -DDD) prints that monitor uses.
struct ZdbDdtReport {
  bool empty = false;                     ///< "All DDTs are empty"
  std::vector<DdtObjectLine> objects;     ///< per DDT object (unique/duplicate class)
  std::vector<DdtHistogramRow> histogram; ///< the aggregated histogram: buckets then Total
  std::optional<DdtRatioLine> ratios;     ///< the ratio line
  std::string format; ///< OpenZFS 2.3+: "LEGACY" or "FDT" (fast dedup) from "DDT-sha256: version=..."

  /// Sum of the objects' entries.
  uint64_t entries() const;
  /// Sum of the objects' in-core bytes (totals).
  uint64_t in_core_bytes() const;
  /// Sum of the objects' on-disk bytes (totals).
  uint64_t on_disk_bytes() const;
  /// The Total row of the aggregated histogram, if printed.
  const DdtHistogramRow* total_row() const;
};

/// Parses `zpool status -D POOL` output (only the dedup line and nothing else).
DdtSummary parse_zpool_status_dedup(std::string_view text);

/// Parses `zdb -DD POOL` / `zdb -DDD POOL`; the aggregated histogram is the one after "DDT
/// histogram (aggregated over all DDTs):" (per-object histograms of -DDD are skipped).
ZdbDdtReport parse_zdb_ddt(std::string_view text);

/// Parses a DDT histogram table (the lines from "bucket" through the Total row).
std::vector<DdtHistogramRow> parse_ddt_histogram(std::string_view text);

/// Parses a ratio such as "1.86x", "1.86" or "1.00x"; nullopt otherwise.
std::optional<double> parse_ratio(std::string_view text);

/// Parses a `zfs get -H`/`zpool get -H` line table with 2 (property, value) or 4 (name,
/// property, value, source) tab-separated columns into property -> value.
std::map<std::string, std::string> parse_get_output(std::string_view text);

/// Parses a kstat file such as /proc/spl/kstat/zfs/arcstats ("name type data" rows after a
/// header) into name -> value; rows whose data is not an unsigned number are skipped.
std::map<std::string, uint64_t> parse_kstat(std::string_view text);

/// Splits text into lines (without the '\n').
std::vector<std::string_view> split_lines(std::string_view text);

/// Splits a line at runs of blanks (space, tab, CR, LF).
std::vector<std::string_view> split_words(std::string_view line);

} // namespace wsd::zfs
