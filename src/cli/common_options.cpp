#include "cli/common_options.hpp"

#include "util/error.hpp"
#include "util/escape.hpp"
#include "util/progress.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <sys/resource.h>

namespace wsd::cli {

void add_walk_options(CLI::App& cmd, CommonOptions& options) {
  cmd.add_option("roots", options.roots, "Directories to scan")->required()->type_name("ROOT...");
  cmd.add_option("--threads,-j", options.threads, "Worker threads (default: one per core)")
      ->type_name("N");
  cmd.add_flag("--cross-fs", options.cross_fs,
               "Descend into other filesystems mounted below a root (default: stay on one)");
  cmd.add_option("--exclude", options.excludes,
                 "Skip entries matching GLOB (repeatable; without '/' matches names, with '/' "
                 "root-relative paths; ** crosses directories)")
      ->type_name("GLOB")
      ->take_all()
      ->allow_extra_args(false);
}

void add_output_options(CLI::App& cmd, CommonOptions& options) {
  cmd.add_flag("--json", options.json, "Print one JSON document (stable schema) on stdout");
  cmd.add_flag("--bytes", options.bytes, "Print exact byte counts instead of KiB/MiB/GiB");
  cmd.add_flag("--stats", options.stats, "Print timings, counters and peak memory");
  cmd.add_flag("--quiet,-q", options.quiet, "No progress on stderr");
}

fs::WalkOptions make_walk_options(const CommonOptions& options) {
  fs::WalkOptions w;
  w.threads = options.threads;
  w.cross_fs = options.cross_fs;
  for (const auto& g : options.excludes) w.excludes.emplace_back(g);
  return w;
}

void add_catalog_options(CLI::App& cmd, CommonOptions& options) {
  cmd.add_option("--catalog", options.catalog_path,
                 "Catalog of content hashes, so unchanged files are not read again (default: " +
                     catalog::default_catalog_path() + ")")
      ->type_name("PATH");
  cmd.add_flag("--no-catalog", options.no_catalog, "Neither read nor write the catalog");
}

std::unique_ptr<catalog::Catalog> open_catalog(const CommonOptions& options) {
  if (options.no_catalog) return nullptr;
  const std::string path =
      options.catalog_path.empty() ? catalog::default_catalog_path() : options.catalog_path;
  std::string warning;
  std::unique_ptr<catalog::Catalog> c;
  try {
    c = catalog::Catalog::open(path, &warning);
  } catch (const util::Fatal& e) {
    // The catalog only saves time: a run without it is still correct.
    warning = std::string(e.what()) + "; running without the catalog";
  }
  if (!warning.empty()) std::fprintf(stderr, "wsdedup: warning: %s\n", warning.c_str());
  return c;
}

bool show_progress(const CommonOptions& options) {
  return !options.quiet && util::Progress::stderr_is_terminal();
}

ErrorLines scan_error_lines(const scan::UsageReport& usage) {
  ErrorLines lines;
  for (const auto& e : usage.errors) lines.emplace_back(e.path, e.op, e.message);
  return lines;
}

std::string walk_read_progress_line(std::string_view command, const fs::WalkProgress& walk,
                                    const content::ReaderProgress& read) {
  return fmt::format("{}: {} entries walked, {} files / {} read", command,
                     util::format_count(walk.entries.load()), util::format_count(read.files.load()),
                     util::format_bytes(read.bytes.load()));
}

void print_errors(const ErrorLines& errors) {
  for (const auto& [path, op, text] : errors)
    std::fprintf(stderr, "wsdedup: %s(\"%s\"): %s\n", op.c_str(),
                 util::escape_for_terminal(path).c_str(), text.c_str());
}

uint64_t peak_rss_bytes() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

} // namespace wsd::cli
