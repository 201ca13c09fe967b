// `wsdedup dupes ROOT...`: groups of identical files and identical directory trees.

#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "dupes/duplicate_finder.hpp"
#include "dupes/dupes_render.hpp"
#include "dupes/identical_dirs.hpp"
#include "report/json_path.hpp"
#include "scan/tree_scan.hpp"
#include "util/progress.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <malloc.h>
#include <memory>

namespace wsd::cli {

namespace {

struct DupesArgs {
  CommonOptions common;
  std::string min_size = "1";
  bool csv = false;
  size_t top = 20;
  bool no_dirs = false;
};

int run_dupes(const DupesArgs& args) {
  // A fixed threshold (the default one rises to the largest block freed so far): the walk's
  // and the finder's large arrays are then their own mappings, given back when freed, so
  // one pass's arrays never stay resident under the next one's (DESIGN.md section 6).
  ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  const auto start = std::chrono::steady_clock::now();
  const fs::RootSet roots(args.common.roots);
  const uint64_t min_size = std::max<uint64_t>(util::parse_size(args.min_size), 1);
  scan::ScanOptions options;
  options.walk = make_walk_options(args.common);
  options.collect_min_size = args.no_dirs ? min_size : 0;
  options.collect_tree_entries = !args.no_dirs;

  fs::WalkProgress walk_progress;
  dupes::FinderProgress read_progress;
  util::Progress ticker(
      [&](double) { return walk_read_progress_line("dupes", walk_progress, read_progress); },
      show_progress(args.common));
  scan::ScanResult scanned = scan::scan_tree(roots, options, &walk_progress);
  ::malloc_trim(0); // the walk's transient memory back to the kernel before hashing
  const double walk_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t walk_peak_rss = args.common.stats ? peak_rss_bytes() : 0;
  dupes::FinderOptions fo;
  fo.min_size = min_size;
  fo.threads = args.common.threads;
  fo.cross_fs = args.common.cross_fs;
  const std::unique_ptr<catalog::Catalog> catalog = open_catalog(args.common);
  fo.catalog = catalog.get();
  const dupes::DuplicateSet found = dupes::find_duplicates(roots, scanned.files, fo, &read_progress);
  std::vector<dupes::IdenticalDirGroup> dirs;
  if (!args.no_dirs) dirs = dupes::find_identical_dirs(roots, scanned.files, found, args.common.cross_fs);
  std::vector<scan::TreeEntry>().swap(scanned.files.tree_entries); // only the tree analysis reads them
  ticker.stop();

  ErrorLines errors = scan_error_lines(scanned.usage);
  append_problem_lines(errors, roots, scanned.files, found);
  print_errors(errors);

  dupes::DupesReport report{&roots, &scanned.files, &found, &dirs, min_size};
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (wants_document(args.common)) {
    // A plain --json streams the groups (the document would hold every path twice);
    // --html/--prometheus renderers need the whole tree.
    const bool stream = args.common.json && args.common.html_path.empty() && args.common.prometheus_path.empty();
    nlohmann::ordered_json doc =
        dupes::dupes_to_json(report, stream ? dupes::IncludeGroups::no : dupes::IncludeGroups::yes);
    for (const auto& e : scanned.usage.errors)
      doc["errors"].push_back({{"path", report::path_to_json(e.path)}, {"op", e.op}, {"error", e.message}});
    if (args.common.stats) {
      doc["stats"] = {{"files_listed", scanned.files.files.size()},
                      {"candidates", found.stats.candidates},
                      {"partial_hashed", found.stats.partial_hashed},
                      {"full_hashed", found.stats.full_hashed},
                      {"bytes_read", found.stats.bytes_read},
                      {"extent_checks", found.stats.extent_checks},
                      {"catalog_hits", found.stats.catalog_hits},
                      {"seconds", seconds},
                      {"peak_rss_bytes", peak_rss_bytes()}};
    }
    if (stream) dupes::write_dupes_json(report, std::move(doc), stdout);
    else emit_document(doc, args.common);
  }
  if (!args.common.json && args.csv) {
    std::fputs(dupes::render_dupes_csv(report).c_str(), stdout);
  } else if (!args.common.json) {
    dupes::DupesTextOptions to;
    to.exact = args.common.bytes ? util::ExactBytes::yes : util::ExactBytes::no;
    to.top = args.top;
    std::string text = dupes::render_dupes_text(report, to);
    if (args.common.stats) {
      const auto& s = found.stats;
      text += fmt::format(
          "walk {:.2f} s ({} files listed); partial hash {:.2f} s ({} files); full hash {:.2f} s "
          "({} files); {} read; extent checks {:.2f} s ({}); total {:.2f} s; peak memory {} "
          "({} after the walk)\n",
          walk_seconds, util::format_count(scanned.files.files.size()), s.seconds_partial,
          util::format_count(s.partial_hashed), s.seconds_full, util::format_count(s.full_hashed),
          util::format_bytes(s.bytes_read), s.seconds_extents, util::format_count(s.extent_checks),
          seconds, util::format_bytes(peak_rss_bytes()), util::format_bytes(walk_peak_rss));
    }
    std::fputs(text.c_str(), stdout);
  }
  return 0;
}

} // namespace

void register_dupes_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DupesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "dupes", "Groups of identical files (size, then partial hash, then full hash) and "
               "identical directory trees");
  add_walk_options(*cmd, args->common);
  add_output_options(*cmd, args->common);
  add_report_options(*cmd, args->common);
  add_catalog_options(*cmd, args->common);
  cmd->add_option("--min-size", args->min_size,
                  "Ignore files smaller than SIZE (default 1: empty files are never grouped)")
      ->type_name("SIZE");
  cmd->add_flag("--csv", args->csv, "Print one CSV row per file of every group");
  cmd->add_option("--top", args->top, "Groups and trees listed in the human output (0: all)")
      ->type_name("N");
  cmd->add_flag("--no-dirs", args->no_dirs, "Skip the identical-directory-tree analysis");
  cmd->final_callback([args, &exit_code] { exit_code = run_dupes(*args); });
}

} // namespace wsd::cli
