#pragma once
// The one walk every command starts with: usage by category and by workspace, and the
// regular files for the content pipeline.

#include "fs/roots.hpp"
#include "fs/walker.hpp"
#include "scan/classifier.hpp"
#include "scan/file_list.hpp"
#include "scan/usage_report.hpp"

namespace wsd::scan {

struct ScanOptions {
  fs::WalkOptions walk;
  std::vector<std::string> category_rules; // NAME=GLOB
  std::optional<std::string> workspace_glob;
  std::optional<unsigned> workspace_depth;
  /// Also collect regular files of at least this size (nullopt: collect none).
  std::optional<uint64_t> collect_min_size;
  /// With collect_min_size: also record FileList::tree_entries (every non-regular entry and
  /// every name of a multiply-linked regular file).
  bool collect_tree_entries = false;
};

struct ScanResult {
  UsageReport usage;
  FileList files; // empty unless ScanOptions::collect_min_size is set
};

/// Walks `roots` once: the usage report and, if asked, the regular files.
/// `progress` may be null.
ScanResult scan_tree(const fs::RootSet& roots, const ScanOptions& options,
                     fs::WalkProgress* progress);

} // namespace wsd::scan
