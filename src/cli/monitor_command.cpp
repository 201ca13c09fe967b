// `wsdedup monitor TARGET`: what ZFS reports for a dataset's pool (dedup ratio, DDT size, ARC)
// next to a saved estimate; warns (exit 1) before the DDT outgrows its RAM budget.

#include "cli/commands.hpp"
#include "estimate/host_memory.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/json_lines_log.hpp"
#include "util/units.hpp"
#include "zfs/monitor_check.hpp"
#include "zfs/monitor_render.hpp"
#include "zfs/pool_observer.hpp"
#include "zfs/zfs_tool.hpp"

#include <chrono>
#include <cstdio>
#include <memory>

namespace wsd::cli {

namespace {

struct MonitorArgs {
  bool json = false;
  bool bytes = false;
  bool quiet = false;
  std::string target;
  std::string estimate_path;
  double tolerance_percent = 5.0;
  std::string ram_budget;
  std::string history_path;
  std::string prometheus_path;
  std::string arcstats_path = "/proc/spl/kstat/zfs/arcstats";
  bool no_zdb = false;
};

int run_monitor(const MonitorArgs& args) {
  auto target = zfs::parse_dataset_name(args.target);
  if (!target) {
    throw util::Fatal("monitor: \"{}\" is not a ZFS dataset (zfs:POOL/NAME, POOL/NAME or POOL)", args.target);
  }
  zfs::ObserveOptions options;
  options.run_zdb = args.no_zdb ? zfs::RunZdb::no : zfs::RunZdb::yes;
  options.arcstats_path = args.arcstats_path;

  zfs::MonitorResult r;
  r.obs = zfs::observe(*target, options);
  r.notes = r.obs.notes;
  r.tolerance = args.tolerance_percent / 100.0;

  if (!args.ram_budget.empty()) {
    r.budget.bytes = util::parse_size(args.ram_budget);
    r.budget.basis = "--ram-budget";
  } else {
    r.budget = zfs::default_ram_budget(r.obs.arc, estimate::read_host_memory().mem_total);
  }

  if (!args.estimate_path.empty()) {
    r.estimate_path = args.estimate_path;
    r.estimate = zfs::parse_estimate_json(util::read_whole_file(args.estimate_path), args.estimate_path);
    r.comparisons = zfs::compare_with_estimate(*r.estimate, r.obs, r.tolerance, r.notes);
    r.notes.push_back("the DDT and the dedup ratio are per pool; the estimate covers only the tree "
                      "it was run on.");
  }

  if (!args.history_path.empty()) {
    util::JsonLinesLog log(args.history_path); // creates the file on the first run
    r.history = zfs::read_history(args.history_path, r.obs.target.name);
    log.append(zfs::history_line(r.obs), util::Durability::synced);
    zfs::HistoryPoint now;
    now.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    now.dedup_ratio = r.obs.dedup_ratio;
    now.ddt_entries = r.obs.ddt_entries.value;
    now.ddt_in_core = r.obs.ddt_in_core.value;
    r.history.push_back(now);
    r.trend = zfs::compute_trend(r.history, r.budget.bytes);
  }

  r.warnings = zfs::collect_warnings(r.obs, r.budget, r.comparisons, r.trend);

  if (!args.prometheus_path.empty()) {
    util::write_file_atomically(args.prometheus_path, zfs::monitor_to_prometheus(r));
  }
  if (args.json) {
    std::string text = zfs::monitor_to_json(r).dump(2) + "\n";
    std::fputs(text.c_str(), stdout);
  } else if (!args.quiet) {
    std::string text = zfs::render_monitor_text(r, args.bytes ? util::ExactBytes::yes : util::ExactBytes::no);
    std::fputs(text.c_str(), stdout);
  } else {
    for (const zfs::Warning& w : r.warnings) std::fprintf(stderr, "wsdedup: WARNING: %s\n", w.text.c_str());
  }
  return r.warnings.empty() ? 0 : 1;
}

} // namespace

void register_monitor_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<MonitorArgs>();
  CLI::App* cmd = app.add_subcommand(
      "monitor", "What ZFS reports for a dataset (dedup ratio, DDT size, ARC) next to a saved "
                 "estimate; exit 1 when the DDT outgrows its RAM budget or the figures drift");
  cmd->add_option("TARGET", args->target, "The dataset: zfs:POOL/NAME, POOL/NAME or POOL")->required();
  cmd->add_option("--estimate", args->estimate_path,
                  "Compare with this saved `wsdedup estimate --json` document")
      ->type_name("FILE");
  cmd->add_option("--tolerance", args->tolerance_percent,
                  "Relative difference from the estimate that raises a warning, percent (default 5)")
      ->type_name("PCT")
      ->check(CLI::Range(0.0, 1000.0));
  cmd->add_option("--ram-budget", args->ram_budget,
                  "Warn when the DDT's in-core size exceeds this (default: 25% of the ARC maximum, "
                  "else 12.5% of RAM)")
      ->type_name("SIZE");
  cmd->add_option("--history", args->history_path,
                  "Append this run to a JSON-lines file and print the trend over its runs")
      ->type_name("FILE");
  cmd->add_option("--prometheus", args->prometheus_path,
                  "Write Prometheus textfile-collector metrics to FILE (atomically)")
      ->type_name("FILE");
  cmd->add_flag("--no-zdb", args->no_zdb, "Do not run zdb (no histogram; zpool's figures only)");
  cmd->add_option("--arcstats", args->arcstats_path, "")->group(""); // tests: an arcstats fixture
  cmd->add_flag("--json", args->json, "Print the JSON document (schema wsdedup.monitor/1)");
  cmd->add_flag("--bytes", args->bytes, "Exact byte counts instead of binary units");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but warnings (on stderr)");
  cmd->final_callback([args, &exit_code] { exit_code = run_monitor(*args); });
}

} // namespace wsd::cli
