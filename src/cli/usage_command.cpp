// `wsdedup usage ROOT...`: where the bytes are, by category and by workspace.

#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "report/json_path.hpp"
#include "report/usage_render.hpp"
#include "scan/tree_scan.hpp"
#include "util/progress.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

namespace wsd::cli {

namespace {

struct UsageArgs {
  CommonOptions common;
  std::vector<std::string> categories;
  std::string workspaces;
  unsigned depth = 0;
  size_t top = 20;
  bool top_given = false;
};

int run_usage(const UsageArgs& args) {
  const fs::RootSet roots(args.common.roots);
  scan::ScanOptions options;
  options.walk = make_walk_options(args.common);
  options.category_rules = args.categories;
  if (!args.workspaces.empty()) options.workspace_glob = args.workspaces;
  if (args.depth > 0) options.workspace_depth = args.depth;

  fs::WalkProgress progress;
  util::Progress ticker(
      [&](double s) {
        const uint64_t n = progress.entries.load(std::memory_order_relaxed);
        const auto rate = static_cast<uint64_t>(s > 0 ? static_cast<double>(n) / s : 0.0);
        return fmt::format("usage: {} entries, {} apparent, {} entries/s", util::format_count(n),
                           util::format_bytes(progress.bytes.load()), util::format_count(rate));
      },
      show_progress(args.common));
  const scan::UsageReport report = scan::scan_tree(roots, options, &progress).usage;
  ticker.stop();

  ErrorLines errors = scan_error_lines(report);
  print_errors(errors);

  if (wants_document(args.common)) {
    nlohmann::ordered_json doc = report::usage_to_json(report, args.top_given ? args.top : 0);
    if (args.common.stats) doc["stats"]["peak_rss_bytes"] = peak_rss_bytes();
    emit_document(doc, args.common);
  }
  if (!args.common.json) {
    report::UsageRenderOptions ro;
    ro.exact = args.common.bytes ? util::ExactBytes::yes : util::ExactBytes::no;
    ro.top = args.top;
    ro.stats = args.common.stats;
    std::string text = report::render_usage_text(report, ro);
    if (args.common.stats)
      text += fmt::format("peak memory: {}\n", util::format_bytes(peak_rss_bytes()));
    std::fputs(text.c_str(), stdout);
  }
  return 0;
}

} // namespace

void register_usage_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<UsageArgs>();
  CLI::App* cmd = app.add_subcommand(
      "usage", "Where the bytes are: logical and allocated bytes by category and by workspace");
  add_walk_options(*cmd, args->common);
  add_output_options(*cmd, args->common);
  add_report_options(*cmd, args->common);
  cmd->add_option("--category", args->categories,
                  "Add a category rule NAME=GLOB, tried before node_modules and .git "
                  "(repeatable, first match wins)")
      ->type_name("NAME=GLOB")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--workspaces", args->workspaces,
                  "Root-relative glob naming the workspace directories (default: the direct "
                  "children of each root), e.g. 'spec-tasks/*'")
      ->type_name("GLOB");
  cmd->add_option("--depth", args->depth, "Workspaces are the directories at this depth")
      ->type_name("N");
  cmd->add_option("--top", args->top, "Show the N largest workspaces (0: all; default 20)")
      ->type_name("N")
      ->each([args](const std::string&) { args->top_given = true; });
  cmd->final_callback([args, &exit_code] { exit_code = run_usage(*args); });
}

} // namespace wsd::cli
