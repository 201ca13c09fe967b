#pragma once
// monitor's judgement: what ZFS reports against a saved `wsdedup estimate --json`, the DDT's
// in-core size against a RAM budget (the "performance cliff": once the DDT no longer fits
// in the ARC, every write of a new block reads the DDT from disk), and the trend over the
// runs recorded in a history file.

#include "zfs/pool_observer.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wsd::zfs {

/// The figures of an estimate document (schema wsdedup.estimate/1) monitor compares.
struct EstimateFigures {
  std::string profile;
  std::string compression;
  uint64_t recordsize = 0;
  uint64_t entries = 0;
  double dedup_ratio = 0;
  double compress_ratio = 0;
  uint64_t ram_legacy = 0;
  uint64_t ram_fast_dedup = 0;
  uint64_t ram_conservative = 0;
  bool sampled = false;
};

/// Reads the estimate JSON text; throws util::Fatal naming `path` when it is not one.
EstimateFigures parse_estimate_json(const std::string& text, const std::string& path);

/// One predicted-vs-actual line.
struct Comparison {
  std::string figure;     ///< "dedup ratio", "DDT entries", ...
  std::string key;        ///< JSON key: "dedup_ratio", "ddt_entries", ...
  double predicted = 0;
  double actual = 0;
  double difference = 0;  ///< (actual - predicted) / predicted, 0 when both are 0
  bool within = true;     ///< |difference| <= tolerance (or within the printed rounding)
  bool informational = false; ///< shown, never a warning (the in-core size: both sides estimate)
  std::string meaning;    ///< what a difference usually means ("" when within)
};

/// Predicted against actual: DDT entries, dedup ratio, compress ratio, DDT in-core bytes,
/// plus the settings that must agree (recordsize, compression). `tolerance` is relative
/// (0.05 = 5 %). Figures ZFS did not report are left out.
std::vector<Comparison> compare_with_estimate(const EstimateFigures& est, const Observation& obs,
                                              double tolerance, std::vector<std::string>& notes);

/// The RAM budget the DDT must stay under, and why that much.
struct RamBudget {
  uint64_t bytes = 0;
  std::string basis; ///< "--ram-budget", "25% of ARC c_max (...)", ...
};

/// The default budget: a quarter of the ARC's maximum size when the kernel exposes it, else an
/// eighth of MemTotal (OpenZFS' default c_max is half of RAM on Linux); 0 when neither is known.
RamBudget default_ram_budget(const ArcFigures& arc, uint64_t mem_total);

/// One recorded run of the history file.
struct HistoryPoint {
  int64_t time_ms = 0;
  std::optional<double> dedup_ratio;
  std::optional<uint64_t> ddt_entries;
  std::optional<uint64_t> ddt_in_core;
};

/// The history line for this run (JsonLinesLog adds "time" and "pid").
nlohmann::ordered_json history_line(const Observation& obs);

/// The runs of a history file recorded for `target` (other targets' lines are skipped).
std::vector<HistoryPoint> read_history(const std::string& path, const std::string& target);

/// The trend over recorded runs.
struct Trend {
  size_t runs = 0;
  double days = 0;                          ///< first to last run
  std::optional<double> entries_per_day;    ///< linear fit over the runs
  std::optional<double> in_core_per_day;    ///< bytes per day, linear fit
  std::optional<double> days_to_budget;     ///< at that rate, when in-core reaches the budget
  std::optional<double> first_ratio, last_ratio;
};

/// Least-squares growth per day of the recorded figures, and the days left before the budget.
Trend compute_trend(const std::vector<HistoryPoint>& points, uint64_t budget);

/// A monitor warning (each one makes the exit code 1).
struct Warning {
  std::string key;  ///< "ddt_over_budget", "estimate_mismatch", ...
  std::string text; ///< the message with its numbers
};

/// The warnings of this run: DDT in core over the budget, over the ARC's metadata limit,
/// growth that reaches the budget within 14 days, and estimate figures outside tolerance.
std::vector<Warning> collect_warnings(const Observation& obs, const RamBudget& budget,
                                      const std::vector<Comparison>& comparisons,
                                      const std::optional<Trend>& trend);

} // namespace wsd::zfs
