#pragma once
// Options every command shares (DESIGN.md section 2), declared once.

#include "catalog/catalog.hpp"
#include "content/content_reader.hpp"
#include "dupes/duplicate_finder.hpp"
#include "fs/walker.hpp"
#include "scan/usage_report.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace wsd::cli {

struct CommonOptions {
  std::vector<std::string> roots;
  unsigned threads = 0;
  bool cross_fs = false;
  std::vector<std::string> excludes;
  bool json = false;
  bool bytes = false;
  bool stats = false;
  bool quiet = false;
  std::string catalog_path; // empty: the default location
  bool no_catalog = false;
  std::string html_path;       // --html FILE: the page rendered from the JSON document
  std::string prometheus_path; // --prometheus FILE: textfile-collector metrics from it
};

/// Adds ROOT... and the walk options to a subcommand.
void add_walk_options(CLI::App& cmd, CommonOptions& options);

/// Adds --json, --bytes, --stats, --quiet.
void add_output_options(CLI::App& cmd, CommonOptions& options);

fs::WalkOptions make_walk_options(const CommonOptions& options);

/// Adds --html FILE and --prometheus FILE: renderings of the command's JSON document.
void add_report_options(CLI::App& cmd, CommonOptions& options);

/// True when the command must build its JSON document (--json, --html or --prometheus).
bool wants_document(const CommonOptions& options);

/// With --html or --prometheus, stamps doc["run"] (finish time, seconds since the process
/// started) and writes those files (each atomically) from it; prints it on stdout with --json.
void emit_document(nlohmann::ordered_json& doc, const CommonOptions& options);

/// Adds --catalog PATH and --no-catalog.
void add_catalog_options(CLI::App& cmd, CommonOptions& options);

/// Opens the catalog the options ask for (null with --no-catalog); warns on stderr when a
/// corrupt catalog had to be rebuilt.
std::unique_ptr<catalog::Catalog> open_catalog(const CommonOptions& options);

/// Whether progress goes to stderr (a terminal, and not --quiet).
bool show_progress(const CommonOptions& options);

/// Per-path errors as (display path, op, text), in the order they are printed.
using ErrorLines = std::vector<std::tuple<std::string, std::string, std::string>>;

/// The walk's per-path errors, to which a command appends its own.
ErrorLines scan_error_lines(const scan::UsageReport& usage);

/// Appends the files the duplicate finder could not read (or that changed while read).
void append_problem_lines(ErrorLines& errors, const fs::RootSet& roots, const scan::FileList& files,
                          const dupes::DuplicateSet& found);

/// Prints per-path errors to stderr as `wsdedup: op("path"): text`.
void print_errors(const ErrorLines& errors);

/// The progress line of a command that walks then reads: "dupes: N entries walked, ...".
std::string walk_read_progress_line(std::string_view command, const fs::WalkProgress& walk,
                                    const content::ReaderProgress& read);

/// Peak resident memory of this process in bytes.
uint64_t peak_rss_bytes();

} // namespace wsd::cli
