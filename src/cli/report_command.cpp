// `wsdedup report FILE.json`: re-renders a saved `--json` result of usage, estimate, dupes,
// dedupe, verify or prune as human text, a self-contained HTML page or Prometheus metrics.

#include "cli/commands.hpp"
#include "report/html_page.hpp"
#include "report/report_document.hpp"
#include "report/report_prometheus.hpp"
#include "report/report_text.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/escape.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>

namespace wsd::cli {

namespace {

struct ReportArgs {
  std::string input;
  std::string html_path;
  std::string prometheus_path;
  bool bytes = false;
};

nlohmann::ordered_json load_document(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    text = util::read_whole_file(path);
  }
  nlohmann::ordered_json doc;
  try {
    doc = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::ordered_json::parse_error& e) {
    throw util::Fatal("parse(\"{}\"): not JSON: {}", util::escape_for_terminal(path), e.what());
  }
  if (report::document_kind(doc) == report::DocumentKind::unknown) {
    throw util::Fatal("report(\"{}\"): not a wsdedup document of a known schema (\"schema\": \"{}\"); "
                      "known: wsdedup.{{usage,estimate,dupes,dedupe,verify,prune}}/1",
                      util::escape_for_terminal(path), util::escape_for_terminal(report::string_at(doc, "schema")));
  }
  return doc;
}

/// When the saved document has no run stamp: the file's modification time (the run wrote it).
double file_time(const std::string& path) {
  struct stat st {};
  if (path == "-" || ::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
}

int run_report(const ReportArgs& args) {
  const nlohmann::ordered_json doc = load_document(args.input);
  if (!args.html_path.empty()) util::write_file_atomically(args.html_path, report::html_from_json(doc));
  if (!args.prometheus_path.empty()) {
    util::write_file_atomically(args.prometheus_path, report::prometheus_from_json(doc, file_time(args.input)));
  }
  if (args.html_path.empty() && args.prometheus_path.empty()) {
    const std::string text =
        report::text_from_json(doc, args.bytes ? util::ExactBytes::yes : util::ExactBytes::no);
    std::fputs(text.c_str(), stdout);
  }
  return 0;
}

} // namespace

void register_report_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Re-render a saved --json result (usage, estimate, dupes, dedupe, verify, prune) as "
                "text, a self-contained HTML page or Prometheus textfile metrics");
  cmd->add_option("document", args->input, "The saved JSON document ('-': standard input)")
      ->required()
      ->type_name("FILE.json");
  cmd->add_option("--html", args->html_path, "Write a self-contained HTML page with charts to FILE")
      ->type_name("FILE");
  cmd->add_option("--prometheus", args->prometheus_path,
                  "Write Prometheus textfile-collector metrics to FILE (for node-exporter)")
      ->type_name("FILE");
  cmd->add_flag("--bytes", args->bytes, "Print exact byte counts instead of KiB/MiB/GiB");
  cmd->footer("With neither --html nor --prometheus, prints the human report on stdout.");
  cmd->final_callback([args, &exit_code] { exit_code = run_report(*args); });
}

} // namespace wsd::cli
