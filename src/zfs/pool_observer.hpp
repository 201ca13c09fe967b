#pragma once
// What ZFS itself reports about a dataset and its pool's dedup table, gathered from the
// command-line tools (zpool list/status -D, zdb -DD, zfs get) and the kernel's arcstats, with
// the fallbacks older releases need (zfs-fuse: no `zpool list -p`, no logical* properties).

#include "zfs/zfs_parse.hpp"
#include "zfs/zfs_tool.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wsd::zfs {

/// Whether to run zdb (it reads the pool from disk: root only, and slow on huge DDTs).
enum class RunZdb { no, yes };

/// Where and how to look.
struct ObserveOptions {
  RunZdb run_zdb = RunZdb::yes;
  std::string arcstats_path = "/proc/spl/kstat/zfs/arcstats"; ///< kstat file to read
};

/// ARC size and limits as the kernel exposes them.
struct ArcFigures {
  bool exposed = false;      ///< the kstat file was readable
  std::string source;        ///< its path
  std::optional<uint64_t> size, c_min, c_max, meta_used, meta_limit, metadata_size, dnode_limit;
  std::optional<uint64_t> demand_metadata_hits, demand_metadata_misses;
};

/// A figure with where it came from (for the report's "source" column).
struct Sourced {
  std::optional<uint64_t> value; ///< nullopt: not available
  bool exact = true;             ///< false when parsed back from a rounded human number
  std::string source;            ///< "zdb -DD", "zpool status -D", ...
};

/// Everything monitor reads about one target.
struct Observation {
  DatasetName target;
  // zfs get (raw values as printed; parsed ones below)
  std::map<std::string, std::string> properties;
  Sourced used, logical_used, referenced, logical_referenced, recordsize;
  std::optional<double> compressratio;
  // zpool list
  Sourced pool_size, pool_alloc, pool_free;
  std::optional<double> pool_dedupratio;
  std::string version; ///< "zfs-2.3.3" from `zfs version`, or "" (zfs-fuse, illumos)
  // DDT
  DdtSummary status;                ///< zpool status -D
  std::optional<ZdbDdtReport> zdb;  ///< zdb -DD, when run and it worked
  std::string zdb_problem;          ///< why zdb figures are missing
  Sourced ddt_entries, ddt_in_core, ddt_on_disk;
  std::optional<double> dedup_ratio;    ///< zdb's ratio line, else zpool's dedupratio
  std::string dedup_ratio_source;
  std::optional<double> compress_ratio; ///< zdb's (refLSIZE/refPSIZE of deduped blocks)
  ArcFigures arc;
  std::vector<std::string> notes;
};

/// Runs the tools and reads arcstats; throws util::Fatal when the pool or dataset cannot be
/// read at all (zpool/zfs missing, no such dataset). zdb problems become notes.
Observation observe(const DatasetName& target, const ObserveOptions& options);

/// The DDT figures from already captured tool outputs (the part of observe() unit tests use):
/// status = `zpool status -D`, zdb = `zdb -DD` ("" when not run), version = `zfs version`'s
/// first line or "".
void fill_ddt_figures(Observation& obs, const std::string& status_text, const std::string& zdb_text,
                      const std::string& version);

/// Reads arcstats from `path` (exposed = false when it cannot be read).
ArcFigures read_arcstats(const std::string& path);

/// True when `version` ("zfs-2.3.3-1", "zfs-kmod-2.2.7") is OpenZFS 2.3 or newer: zpool
/// status -D prints DDT sizes as totals there, per-entry averages before.
bool ddt_sizes_are_totals(const std::string& version);

} // namespace wsd::zfs
