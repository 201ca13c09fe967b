#include "cli/common_options.hpp"

#include "report/html_page.hpp"
#include "report/json_path.hpp"
#include "report/report_document.hpp"
#include "report/report_prometheus.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/escape.hpp"
#include "util/progress.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <sys/resource.h>

namespace wsd::cli {

namespace {

// Taken at static initialisation, i.e. when the process starts: the run's duration for
// emit_document without threading a clock through every command.
const auto k_process_start = std::chrono::steady_clock::now();

} // namespace

void add_walk_options(CLI::App& cmd, CommonOptions& options) {
  cmd.add_option("roots", options.roots, "Directories to scan")->required()->type_name("ROOT...");
  cmd.add_option("--threads,-j", options.threads,
                 "Worker threads (default: one per core; walks and file reads also keep up to 16 "
                 "requests waiting on the disk)")
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

void add_report_options(CLI::App& cmd, CommonOptions& options) {
  cmd.add_option("--html", options.html_path,
                 "Also write a self-contained HTML page with charts of the result to FILE")
      ->type_name("FILE");
  cmd.add_option("--prometheus", options.prometheus_path,
                 "Also write Prometheus textfile-collector metrics of the result to FILE")
      ->type_name("FILE");
}

bool wants_document(const CommonOptions& options) {
  return options.json || !options.html_path.empty() || !options.prometheus_path.empty();
}

void emit_document(nlohmann::ordered_json& doc, const CommonOptions& options) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - k_process_start).count();
  // Only with a rendering: a plain --json document stays the same on a re-run (tests and
  // users diff them); with --html/--prometheus the printed JSON carries the same stamp.
  if (!options.html_path.empty() || !options.prometheus_path.empty()) report::stamp_run(doc, seconds);
  if (!options.html_path.empty()) {
    util::write_file_atomically(options.html_path, report::html_from_json(doc));
  }
  if (!options.prometheus_path.empty()) {
    util::write_file_atomically(options.prometheus_path, report::prometheus_from_json(doc, 0));
  }
  if (options.json) std::fputs(report::dump_json(doc).c_str(), stdout);
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

void append_problem_lines(ErrorLines& errors, const fs::RootSet& roots, const scan::FileList& files,
                          const dupes::DuplicateSet& found) {
  for (const auto& p : found.problems) {
    const scan::FileEntry& f = files.files[p.file];
    errors.emplace_back(roots.display_path(f.root, files.rel_path(p.file)), p.op,
                        p.err ? util::errno_text(p.err) : "changed while read, skipped");
  }
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
