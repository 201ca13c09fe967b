#pragma once
// Replacing a path by a file that shares storage, safely (DESIGN.md invariants 3-6): the
// replacement is built unnamed (O_TMPFILE) or linked from an fd we verified, the target is
// held under a write lease from verification to the rename, its identity is re-checked just
// before an atomic renameat in the same directory fd, and each step is audit-logged.

#include "util/json_lines_log.hpp"
#include "fs/roots.hpp"
#include "util/fd.hpp"

#include <string>

namespace wsd::dedupe {

/// What replaces the target.
enum class ReplaceKind : uint8_t {
  clone,        // a FICLONE of the keeper, with the target's metadata
  hardlink,     // another name of the keeper itself
  private_copy, // a copy of the target's own bytes (undo of a hardlink)
};

/// The path to replace, as the scan saw it.
struct ReplaceTarget {
  uint32_t root = 0;
  std::string rel_path;
  fs::FileStat expected; // dev, ino, size, mtime, ctime must still match
};

struct ReplaceOutcome {
  ReplaceOutcome() = default;
  ReplaceOutcome(bool done_, std::string reason_) : done(done_), reason(std::move(reason_)) {}
  bool done = false;
  std::string reason; // why not, for the skipped list
  /// Clone, when done: the new file, under our write lease since before its bytes were
  /// verified (not leased if the lease was refused), and its identity after the rename.
  util::Fd new_fd;
  fs::FileStat new_st;
};

/// Replaces `target` (see ReplaceKind); `keeper_fd` is ignored for private_copy. In hardlink
/// mode `journal` gets a synced line before the link. `pause_tag` names the pause points.
ReplaceOutcome replace_path(const fs::RootSet& roots, const ReplaceTarget& target,
                            ReplaceKind kind, int keeper_fd, const fs::FileStat& keeper_st,
                            util::JsonLinesLog& audit, util::JsonLinesLog* journal,
                            const nlohmann::ordered_json& journal_line, bool cross_fs);

/// Human reason for an errno from a sharing step ("immutable attribute", "no space left", ...).
std::string reason_for_errno(const char* op, int err, int fd = -1);

} // namespace wsd::dedupe
