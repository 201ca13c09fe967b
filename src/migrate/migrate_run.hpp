#pragma once
// `migrate SRC --to TARGET`, step by step (issue 7): target (folder, or a ZFS dataset created
// when missing), bulk copy while the service runs, then either verify and stop (without
// --apply) or stop command, final pass, verify (content and metadata; refuses to go on if
// anything differs), switch-over, start command. Once the stop command ran, the start command
// runs whatever happens after it. Every step is audited and reported.

#include "migrate/copy_engine.hpp"
#include "verify/comparer.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace wsd::migrate {

enum class Apply : uint8_t { no, yes };
enum class DryRun : uint8_t { no, yes };
enum class EditFstab : uint8_t { no, yes };
enum class Verify : uint8_t { no, yes };
/// idle: idle I/O class and nice 10 (DESIGN.md invariant 8), so the service keeps the disk.
enum class Priority : uint8_t { idle, normal };

struct MigrateOptions {
  std::string src;
  std::string to;            // a folder, or zfs:POOL/NAME
  Apply apply = Apply::no;
  DryRun dry_run = DryRun::no;
  EditFstab fstab = EditFstab::yes;
  Verify verify = Verify::yes;
  Priority priority = Priority::idle;
  std::string fstab_path = "/etc/fstab";
  std::string stop_cmd;
  std::string start_cmd;
  std::string plan_file;     // a saved `estimate --json`
  std::string dedup;         // dataset properties ("" = from the plan, else the default)
  std::string compression;
  std::string recordsize;
  std::string audit_log;     // "" = the default
  PassOptions pass;
};

/// One step of the run as it is reported (and, for --dry-run, the runbook).
struct Step {
  std::string name;     // "target", "bulk_copy", "stop", "final_copy", "verify", "switch_over", "start"
  std::string status;   // "done", "skipped", "failed", "planned"
  std::string detail;   // a human sentence (a command line for --dry-run)
  double seconds = 0;
};

struct MigrateReport {
  std::string src;
  std::string target;
  std::string dataset;          // for zfs:
  std::string copy_dir;         // where the copy goes
  bool dry_run = false;
  bool apply = false;
  std::vector<Step> steps;
  std::vector<PassStats> passes;
  std::optional<verify::VerifyReport> verify;
  bool switched = false;
  std::string old_path;
  std::string fstab_line;
  std::string fstab_backup;
  std::string audit_log;
  std::string failure;          // why the run stopped (exit 2)
  // --dry-run numbers
  uint64_t src_files = 0;
  uint64_t src_dirs = 0;
  uint64_t src_logical_bytes = 0;
  uint64_t src_allocated_bytes = 0;
  std::optional<nlohmann::ordered_json> plan_estimate; // dedup/compress ratio, DDT RAM
  int64_t mtime_granularity_ns = 1; // what the target keeps (probed); times compared at it
  int exit_code = 0;
};

/// Live state for a progress line.
struct MigrateProgress {
  PassProgress pass;
  verify::VerifyProgress verify;
  std::atomic<int> step{0}; // 0 copying, 1 verifying
};

/// Runs (or with --dry-run describes) the whole migration; throws util::Fatal before the
/// stop command ran; after it, failures are reported in `failure` with exit code 2.
MigrateReport run_migrate(const MigrateOptions& options, MigrateProgress* progress);

/// The dataset properties for `zfs create` from the options and the saved estimate's "model".
std::vector<std::pair<std::string, std::string>> dataset_properties(const MigrateOptions& options,
                                                                    const nlohmann::ordered_json* plan);

} // namespace wsd::migrate
