#pragma once
// Carrying out a prune (DESIGN.md invariants 5, 7, 8): a lock on the root, a trash folder on
// the same filesystem (ROOT/.wsdedup-trash, 0700), each workspace renamed into it after its
// identity and users are checked again, then deleted fd-relative (fs::remove_tree). Entries
// left in the trash by an interrupted run are deleted first. Every rename and delete is in
// the audit log before and after.

#include "fs/roots.hpp"
#include "prune/audit_log.hpp"
#include "prune/workspace_scan.hpp"
#include "util/fd.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace wsd::prune {

/// What happened to one workspace (or one leftover trash entry).
struct DeleteOutcome {
  std::string name;         // workspace name, or the trash entry for a leftover
  std::string trash_name;   // its name inside the trash folder
  bool deleted = false;
  std::string skipped;      // why nothing was done (empty when it was attempted)
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t bytes = 0;       // allocated bytes of the unlinked files (last links)
  std::vector<std::string> errors;
};

class PruneExecutor {
public:
  /// Opens or creates the trash folder; throws Fatal if it is not a directory owned by us
  /// and closed to others.
  PruneExecutor(const fs::RootSet& roots, AuditLog& audit);

  /// Deletes whatever an interrupted run left in the trash.
  std::vector<DeleteOutcome> finish_leftovers();

  /// Names left in the trash (for a dry run's report).
  std::vector<std::string> leftovers() const;

  /// Renames the workspace into the trash and deletes it. `in_use` is asked just before the
  /// rename and returns a description of the users, or "" when none.
  DeleteOutcome remove_workspace(const WorkspaceInfo& ws, const std::function<std::string()>& in_use);

private:
  DeleteOutcome delete_trash_entry(const std::string& trash_name, const std::string& label);

  const fs::RootSet& m_roots;
  AuditLog& m_audit;
  util::Fd m_trash;
  uint64_t m_counter = 0;
};

} // namespace wsd::prune
