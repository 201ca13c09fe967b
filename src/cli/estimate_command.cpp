// `wsdedup estimate ROOT...`: what ZFS dedup and compression (and the alternatives) would
// save on this tree, and what the dedup table would cost in RAM. One walk, one read of
// every file (DESIGN.md sections 2, 3 and 5).

#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "catalog/result_memo.hpp"
#include "estimate/estimate_run.hpp"
#include "estimate/host_memory.hpp"
#include "report/estimate_render.hpp"
#include "report/json_path.hpp"
#include "scan/tree_scan.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>

namespace wsd::cli {

namespace {

struct EstimateArgs {
  CommonOptions common;
  std::string recordsizes = "128K";
  uint32_t ashift = 12;
  std::string compression;
  std::string zfs;
  uint32_t copies = 1;
  bool fill_holes = false;
  std::string sample;
  bool cdc = false;
  std::vector<std::string> categories;
  std::string workspaces;
  unsigned depth = 0;
  size_t top = 20;
};

std::vector<uint32_t> parse_recordsizes(const std::string& list) {
  std::vector<uint32_t> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, comma - start);
    const uint64_t v = util::parse_size(item);
    if (v > model::k_max_recordsize || v < model::k_min_block) {
      throw util::Fatal("--recordsize {}: must be a power of two from 512 to 16M", item);
    }
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(static_cast<uint32_t>(v));
    start = comma + 1;
  }
  return out;
}

// "0.01", "1%", "1/100".
double parse_rate(const std::string& text) {
  double v = 0;
  try {
    size_t pos = 0;
    v = std::stod(text, &pos);
    const std::string rest = text.substr(pos);
    if (rest == "%") {
      v /= 100.0;
    } else if (!rest.empty() && rest[0] == '/') {
      v /= std::stod(rest.substr(1));
    } else if (!rest.empty()) {
      throw std::invalid_argument(text);
    }
  } catch (const std::exception&) {
    throw util::Fatal("--sample {}: expected a rate such as 0.01, 1% or 1/100", text);
  }
  if (!(v > 0.0) || v > 1.0) {
    throw util::Fatal("--sample {}: the rate must be above 0 and at most 1", text);
  }
  return v;
}

const model::ZfsProfile& pick_profile(const std::string& name) {
  if (name.empty()) return model::default_profile();
  if (const model::ZfsProfile* p = model::find_profile(name)) return *p;
  std::string known;
  for (const auto& p : model::all_profiles()) known += (known.empty() ? "" : ", ") + std::string(p.name);
  throw util::Fatal("--zfs {}: unknown release profile (known: {})", name, known);
}

model::CompressionSpec pick_compression(const std::string& text, const model::ZfsProfile& profile) {
  // Defaults follow the operators' plan (lz4); zfs-fuse has none, so its default is its `on`.
  const std::string value = text.empty() ? (profile.has_lz4 ? "lz4" : "on") : text;
  if (value == "on") return model::resolve_compression_on(profile);
  if (auto spec = model::parse_compression(value)) return *spec;
  throw util::Fatal("--compression {}: expected off, on, lz4, zstd, zstd-N, gzip, gzip-N, zle or lzjb",
                    value);
}

int run_estimate_command(const EstimateArgs& args) {
  const model::ZfsProfile& profile = pick_profile(args.zfs);
  // Before the options: a preload running on it must end before the catalog closes.
  const std::unique_ptr<catalog::Catalog> catalog = open_catalog(args.common);
  estimate::EstimateOptions options;
  options.model.profile = &profile;
  options.model.ashift = args.ashift;
  options.model.compression = pick_compression(args.compression, profile);
  options.model.copies = args.copies;
  options.model.recordsizes = parse_recordsizes(args.recordsizes);
  options.model.holes = args.fill_holes ? model::HoleMode::fill : model::HoleMode::keep;
  if (!args.sample.empty()) options.model.sample_rate = parse_rate(args.sample);
  if (args.cdc) options.cdc_averages = {8u << 10, 16u << 10, 64u << 10};
  options.threads = args.common.threads;
  options.cross_fs = args.common.cross_fs;
  options.catalog = catalog.get();
  // With a result memo stored for these options, the run expects to use it (an unchanged
  // tree: one walk) and loads rows only if the walk says otherwise; else the rows load in the
  // background, overlapping the walk below.
  const std::string memo_key = catalog ? estimate::estimate_memo_key(options, args.common.roots) : "";
  const bool memo_stored = catalog && catalog->has_memo("estimate", memo_key);
  if (!memo_stored) options.preload = estimate::preload_catalog_rows(options);
  // Every rule violation (zfs-fuse with lz4, a bad ashift, ...) in one sentence, before any I/O.
  for (uint32_t rs : options.model.recordsizes) {
    model::ModelConfig c;
    c.profile = &profile;
    c.recordsize = rs;
    c.ashift = options.model.ashift;
    c.compression = options.model.compression;
    c.copies = options.model.copies;
    if (auto why = model::validate(c)) throw util::Fatal("{}", *why);
  }

  const fs::RootSet roots(args.common.roots);
  scan::ScanOptions scan_options;
  scan_options.walk = make_walk_options(args.common);
  scan_options.category_rules = args.categories;
  if (!args.workspaces.empty()) scan_options.workspace_glob = args.workspaces;
  if (args.depth > 0) scan_options.workspace_depth = args.depth;
  scan_options.collect_min_size = 1;

  const auto t0 = std::chrono::steady_clock::now();
  const int64_t run_began_ns = catalog::wall_clock_ns(); // a memo stored by this run dates from here
  fs::WalkProgress walk_progress;
  content::ReaderProgress read_progress;
  std::atomic<bool> reading{false}; // read by the progress thread
  util::Progress ticker(
      [&](double s) {
        if (!reading.load()) {
          return fmt::format("estimate: scanning, {} entries",
                             util::format_count(walk_progress.entries.load(std::memory_order_relaxed)));
        }
        const uint64_t b = read_progress.bytes.load(std::memory_order_relaxed);
        return fmt::format("estimate: {} files, {} read, {:.0f} MB/s",
                           util::format_count(read_progress.files.load(std::memory_order_relaxed)),
                           util::format_bytes(b), s > 0 ? static_cast<double>(b) / s / 1e6 : 0.0);
      },
      show_progress(args.common));
  scan::ScanResult scan = scan::scan_tree(roots, scan_options, &walk_progress);
  const double scan_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  reading.store(true);
  // The memo: used when the walk's signature matches and every file settled before the
  // memo's run began; else the run reads (or replays rows) and stores a new one.
  catalog::MemoSlot memo(catalog.get(), "estimate", memo_key, args.common.roots, run_began_ns);
  std::optional<estimate::EstimateResult> memo_result;
  if (const std::optional<std::string> value =
          memo.find(roots, scan.files, catalog::TreeShape::no,
                    memo_stored ? catalog::MemoSlot::Lookup::look : catalog::MemoSlot::Lookup::skip))
    memo_result = estimate::decode_estimate_memo(*value, options);
  if (memo_result) {
    memo.mark_used();
    memo_result->catalog_hits = scan.files.files.size(); // every file answered by the catalog
  }
  const estimate::EstimateResult result =
      memo_result ? std::move(*memo_result) : estimate::run_estimate(roots, scan.files, options, &read_progress);
  ticker.stop();
  memo.store(scan.files, [&] { return estimate::encode_estimate_memo(result); });

  if (catalog && !catalog->write_error().empty()) {
    std::fprintf(stderr, "wsdedup: warning: catalog %s: %s; this run's results were not stored\n",
                 catalog->path().c_str(), catalog->write_error().c_str());
  }
  ErrorLines errors = scan_error_lines(scan.usage);
  for (const auto& e : result.errors) errors.emplace_back(e.path, e.op, e.message);
  print_errors(errors);

  report::EstimateReport rep;
  rep.roots = scan.usage.roots;
  rep.profile = &profile;
  rep.compression = options.model.compression;
  rep.compression_text = args.compression;
  rep.ashift = options.model.ashift;
  rep.copies = options.model.copies;
  rep.fill_holes = args.fill_holes;
  rep.files = &scan.files;
  rep.usage = &scan.usage;
  rep.result = &result;
  rep.host = estimate::read_host_memory();
  rep.scan_seconds = scan_seconds;

  if (wants_document(args.common)) {
    nlohmann::ordered_json doc = report::estimate_to_json(rep);
    for (const auto& e : scan.usage.errors) {
      doc["errors"].push_back({{"path", report::path_to_json(e.path)}, {"op", e.op}, {"message", e.message}});
    }
    if (args.common.stats) {
      doc["stats"] = {{"scan_seconds", scan_seconds},
                      {"read_seconds", result.read_seconds},
                      {"bytes_read", result.reader.bytes},
                      {"files_read", result.reader.files},
                      {"waited_reads", result.reader.waited_reads},
                      {"changed", result.reader.changed},
                      {"read_errors", result.reader.errors},
                      {"catalog_hits", result.catalog_hits},
                      {"catalog_misses", result.catalog_misses},
                      {"result_memo", memo.state()},
                      {"peak_rss_bytes", peak_rss_bytes()}};
      nlohmann::ordered_json idx = nlohmann::ordered_json::array();
      for (const auto& lane : result.lanes) {
        idx.push_back({{"recordsize", lane.config.recordsize},
                       {"index_bytes", lane.index_bytes},
                       {"entries_held", lane.sampled_entries}});
      }
      doc["stats"]["ddt_index"] = idx;
      doc["stats"]["cdc_index_bytes"] = result.cdc_index_bytes;
      doc["stats"]["digest_bytes"] = result.digest_bytes;
      if (catalog) {
        const catalog::WriterStats w = catalog->writer_stats();
        doc["stats"]["catalog_writes"] = {{"batches", w.batches}, {"rows", w.rows},
                                          {"seconds", w.seconds}, {"dropped_rows", w.dropped_rows}};
      }
    }
    emit_document(doc, args.common);
  }
  if (!args.common.json) {
    report::EstimateRenderOptions ro;
    ro.exact = args.common.bytes ? util::ExactBytes::yes : util::ExactBytes::no;
    ro.top = args.top;
    ro.stats = args.common.stats;
    std::string text = report::render_estimate_text(rep, ro);
    if (args.common.stats) {
      text += fmt::format("catalog: {} files from rows, {} read; result memo {}\n",
                          util::format_count(result.catalog_hits),
                          util::format_count(result.catalog_misses), memo.state());
      text += fmt::format("peak memory: {}\n", util::format_bytes(peak_rss_bytes()));
    }
    std::fputs(text.c_str(), stdout);
  }
  return 0;
}

} // namespace

void register_estimate_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<EstimateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "estimate", "What ZFS dedup/compression, reflinks, hardlinks and CDC would save here, and "
                  "the dedup table's RAM (zdb -DD's numbers, exactly)");
  add_walk_options(*cmd, args->common);
  add_output_options(*cmd, args->common);
  add_report_options(*cmd, args->common);
  add_catalog_options(*cmd, args->common);
  cmd->add_option("--recordsize", args->recordsizes,
                  "Recordsizes to model, comma-separated, all in one read (default 128K)")
      ->type_name("LIST");
  cmd->add_option("--ashift", args->ashift, "Sector size shift of the vdevs (default 12)")
      ->type_name("N");
  cmd->add_option("--compression", args->compression,
                  "off, on, lz4 (default), zstd[-N], gzip[-N], zle, lzjb")
      ->type_name("ALGO");
  cmd->add_option("--zfs", args->zfs,
                  "Release profile: openzfs-2.3.3 (default, newest), openzfs-2.3.0, openzfs-2.2, "
                  "zfs-fuse, or a release number such as 2.1.11")
      ->type_name("PROFILE");
  cmd->add_option("--copies", args->copies, "The dataset's copies property (1-3)")->type_name("N");
  cmd->add_flag("--fill-holes", args->fill_holes,
                "Model a copy that writes sparse regions as zeros (rsync without -S)");
  cmd->add_option("--sample", args->sample,
                  "Model only this fraction of distinct blocks, chosen by content hash (e.g. 1%): "
                  "memory shrinks with it; estimates print with error bounds")
      ->type_name("RATE");
  cmd->add_flag("--cdc", args->cdc,
                "Also model content-defined chunking (FastCDC, average 8, 16 and 64 KiB)");
  cmd->add_option("--category", args->categories,
                  "Add a category rule NAME=GLOB (repeatable, first match wins)")
      ->type_name("NAME=GLOB")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--workspaces", args->workspaces,
                  "Root-relative glob naming the workspace directories (default: the direct "
                  "children of each root)")
      ->type_name("GLOB");
  cmd->add_option("--depth", args->depth, "Workspaces are the directories at this depth")
      ->type_name("N");
  cmd->add_option("--top", args->top, "Show the N workspaces with most unique bytes (0: all)")
      ->type_name("N");
  cmd->final_callback([args, &exit_code] { exit_code = run_estimate_command(*args); });
}

} // namespace wsd::cli
