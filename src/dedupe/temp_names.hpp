#pragma once
// Temp names of interrupted runs (DESIGN.md invariant 6): a replacement is built as an
// unnamed O_TMPFILE, gets a name ".wsdedup-tmp.<pid>.<n>" beside its target only for the
// instant before the atomic renameat over it, so a kill leaves at most that recognisable
// name, which the next run removes.

#include "util/json_lines_log.hpp"
#include "fs/roots.hpp"
#include "scan/file_list.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace wsd::dedupe {

/// A fresh temp name for this process.
std::string make_temp_name();

/// True for a name make_temp_name() could have made.
bool is_temp_name(std::string_view name);

/// Last component of a root-relative path.
std::string_view base_name(std::string_view rel_path);

/// Directory part of a root-relative path ("" at the top).
std::string_view dir_name(std::string_view rel_path);

struct TempCleanup {
  uint64_t removed = 0;
  std::vector<std::pair<std::string, std::string>> errors; // path, message
};

/// Unlinks every temp name the scan found (regular files only, fd-relative), logging each.
TempCleanup remove_leftover_temps(const fs::RootSet& roots, const scan::FileList& list,
                                  util::JsonLinesLog& audit, bool cross_fs);

} // namespace wsd::dedupe
