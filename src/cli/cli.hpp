#pragma once
// The command line: parses arguments, runs one command, maps errors to exit codes.

namespace wsd::cli {

/// Runs wsdedup with the given arguments; returns the process exit code.
int run(int argc, char** argv);

} // namespace wsd::cli
