// `wsdedup verify SRC DST`: are two trees the same (names, types, sizes, content, symlink
// targets, hardlink structure, and with --metadata owner, group, mode, mtime, xattrs/ACLs)?
// Exit 0 identical, 1 different, 2 when something could not be compared.

#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "report/json_path.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "verify/comparer.hpp"
#include "verify/verify_render.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

namespace wsd::cli {

namespace {

struct VerifyArgs {
  CommonOptions common;
  std::string src;
  std::string dst;
  bool metadata = false;
};

int run_verify(const VerifyArgs& args) {
  verify::VerifyOptions options;
  options.walk = make_walk_options(args.common);
  options.metadata = args.metadata ? verify::CompareMetadata::yes : verify::CompareMetadata::no;
  options.read_threads = args.common.threads;
  const std::unique_ptr<catalog::Catalog> catalog = open_catalog(args.common);
  options.catalog = catalog.get();

  verify::VerifyProgress progress;
  util::Progress ticker(
      [&](double) {
        if (progress.phase.load(std::memory_order_relaxed) == 0)
          return fmt::format("verify: listing, {} entries",
                             util::format_count(progress.walk.entries.load()));
        return fmt::format("verify: reading, {} files, {}",
                           util::format_count(progress.content.files.load()),
                           util::format_bytes(progress.content.bytes.load()));
      },
      show_progress(args.common));
  const verify::VerifyReport report = verify::verify_trees(args.src, args.dst, options, &progress);
  ticker.stop();

  std::vector<std::tuple<std::string, std::string, std::string>> errors;
  for (const auto& e : report.errors) errors.emplace_back(e.path, e.op, e.message);
  print_errors(errors);

  if (args.common.json) {
    nlohmann::ordered_json doc = verify::verify_to_json(report);
    if (args.common.stats) {
      doc["stats"]["peak_rss_bytes"] = peak_rss_bytes();
      doc["stats"]["waited_reads"] = report.waited_reads;
    }
    std::fputs(report::dump_json(doc).c_str(), stdout);
  } else {
    std::string text = verify::render_verify_text(
        report, args.common.bytes ? util::ExactBytes::yes : util::ExactBytes::no, args.common.stats);
    if (args.common.stats)
      text += fmt::format("peak memory: {}\n", util::format_bytes(peak_rss_bytes()));
    std::fputs(text.c_str(), stdout);
  }
  if (!report.errors.empty()) return static_cast<int>(util::ExitCode::fatal);
  if (!report.differences.empty()) return static_cast<int>(util::ExitCode::finding);
  return static_cast<int>(util::ExitCode::ok);
}

} // namespace

void register_verify_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Check that DST is an exact copy of SRC (exit 0 identical, 1 different, 2 errors)");
  cmd->add_option("src", args->src, "The original tree")->required()->type_name("SRC");
  cmd->add_option("dst", args->dst, "The copy")->required()->type_name("DST");
  cmd->add_option("--threads,-j", args->common.threads,
                  "Worker threads (default: one per core; walks also keep up to 16 requests "
                  "waiting on the disk)")
      ->type_name("N");
  cmd->add_flag("--cross-fs", args->common.cross_fs,
                "Descend into other filesystems mounted below SRC or DST");
  cmd->add_option("--exclude", args->common.excludes,
                  "Skip entries matching GLOB in both trees (repeatable)")
      ->type_name("GLOB")
      ->take_all()
      ->allow_extra_args(false);
  add_output_options(*cmd, args->common);
  add_catalog_options(*cmd, args->common);
  cmd->add_flag("--metadata", args->metadata,
                "Also compare owner, group, mode, mtime and extended attributes (ACLs included)");
  cmd->final_callback([args, &exit_code] { exit_code = run_verify(*args); });
}

} // namespace wsd::cli
