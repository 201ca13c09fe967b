#pragma once
// Renders duplicate groups and identical trees: a human summary (largest savings first),
// DESIGN.md's `wsdedup.dupes/1` JSON, and CSV (one row per file).

#include "dupes/duplicate_finder.hpp"
#include "dupes/identical_dirs.hpp"
#include "util/units.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace wsd::dupes {

/// Everything `dupes` found, ready to render.
struct DupesReport {
  const fs::RootSet* roots = nullptr;
  const scan::FileList* files = nullptr;
  const DuplicateSet* dupes = nullptr;
  const std::vector<IdenticalDirGroup>* dirs = nullptr;
  uint64_t min_size = 1;
};

/// Totals over all groups (each inode counted once).
struct DupesTotals {
  uint64_t groups = 0;
  uint64_t duplicate_files = 0;
  uint64_t duplicate_bytes = 0;
  uint64_t reclaimable_bytes = 0;
  uint64_t already_shared_files = 0;
  uint64_t inline_files = 0;
  uint64_t held_by_snapshots_bytes = 0; // storage a snapshot (or outside reflink) keeps allocated
};

DupesTotals dupes_totals(const DuplicateSet& dupes);

struct DupesTextOptions {
  util::ExactBytes exact = util::ExactBytes::no;
  size_t top = 20; // groups and trees listed; 0: all
};

std::string render_dupes_text(const DupesReport& report, const DupesTextOptions& options);

/// Whether dupes_to_json fills "groups" (write_dupes_json streams them instead).
enum class IncludeGroups : uint8_t { no, yes };

nlohmann::ordered_json dupes_to_json(const DupesReport& report, IncludeGroups groups = IncludeGroups::yes);

/// Prints `doc` (dupes_to_json(report, IncludeGroups::no) plus any members the command
/// added) as report::dump_json would print the full document, but writes the groups one at
/// a time: the output is never held in memory (447 k paths of JSON cost ~250 MB as a tree).
void write_dupes_json(const DupesReport& report, nlohmann::ordered_json doc, std::FILE* out);

/// `group,size,reclaimable_bytes,hash,path` rows, RFC 4180 quoting.
std::string render_dupes_csv(const DupesReport& report);

} // namespace wsd::dupes
