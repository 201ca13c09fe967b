#include "cli/cli.hpp"

int main(int argc, char** argv) { return wsd::cli::run(argc, argv); }
