#include "cli/cli.hpp"

#include "cli/commands.hpp"
#include "util/error.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <sys/resource.h>

namespace wsd::cli {

namespace {

// The walker holds directory fds and the content pipeline file fds: take what the hard
// limit allows.
void raise_fd_limit() {
  struct rlimit lim {};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

} // namespace

int run(int argc, char** argv) {
  raise_fd_limit();
  CLI::App app{"wsdedup: measure and reclaim duplicated workspace storage", "wsdedup"};
  app.set_version_flag("--version", "wsdedup 0.1.0");
  app.require_subcommand(1);
  int exit_code = 0;
  register_usage_command(app, exit_code);
  register_dupes_command(app, exit_code);
  register_dedupe_command(app, exit_code);
  register_verify_command(app, exit_code);
  register_prune_command(app, exit_code);
  register_estimate_command(app, exit_code);
  register_catalog_command(app, exit_code);
  register_report_command(app, exit_code);
  register_generate_docs_command(app, exit_code);
  register_migrate_command(app, exit_code);
  register_monitor_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(util::ExitCode::fatal);
  } catch (const util::Fatal& e) {
    std::fprintf(stderr, "wsdedup: %s\n", e.what());
    return static_cast<int>(util::ExitCode::fatal);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wsdedup: internal error: %s\n", e.what());
    return static_cast<int>(util::ExitCode::fatal);
  }
  return exit_code;
}

} // namespace wsd::cli
