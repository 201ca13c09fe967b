#pragma once
// `dedupe --undo JOURNAL`: gives every path a hardlink run linked its own copy back (a copy
// of the shared bytes, with the same metadata, through the same safe replace as dedupe).

#include "util/json_lines_log.hpp"
#include "dedupe/executor.hpp"

namespace wsd::dedupe {

struct UndoReport {
  uint64_t restored = 0;
  uint64_t entries = 0;
  std::vector<Skip> skipped;
};

/// Replays `journal_path` in order. Roots named in it are locked for the run.
UndoReport undo_hardlinks(const std::string& journal_path, util::JsonLinesLog& audit, DryRun dry_run,
                          bool cross_fs);

} // namespace wsd::dedupe
