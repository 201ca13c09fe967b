#pragma once
// One function per command registers its subcommand; the subcommand's callback runs it and
// stores the exit code. Adding a command: a new cli/<name>_command.cpp and a line in cli.cpp.

#include <CLI/CLI.hpp>

namespace wsd::cli {

void register_usage_command(CLI::App& app, int& exit_code);
void register_dupes_command(CLI::App& app, int& exit_code);
void register_dedupe_command(CLI::App& app, int& exit_code);
void register_verify_command(CLI::App& app, int& exit_code);
void register_prune_command(CLI::App& app, int& exit_code);
void register_estimate_command(CLI::App& app, int& exit_code);
void register_catalog_command(CLI::App& app, int& exit_code);
void register_report_command(CLI::App& app, int& exit_code);
void register_generate_docs_command(CLI::App& app, int& exit_code);
void register_migrate_command(CLI::App& app, int& exit_code);
void register_monitor_command(CLI::App& app, int& exit_code);

} // namespace wsd::cli
