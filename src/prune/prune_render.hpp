#pragma once
// The result of a prune run and its renderings: a table for people, wsdedup.prune/1 JSON.

#include "fs/in_use.hpp"
#include "prune/executor.hpp"
#include "prune/exclusive.hpp"
#include "prune/policy.hpp"
#include "util/units.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace wsd::prune {

struct PruneReport {
  std::string root;
  bool apply = false;
  std::string audit_log; // when applied
  const Policy* policy = nullptr;
  const WorkspaceScan* scan = nullptr;
  std::vector<Decision> decisions;
  ExclusiveBytes exclusive;
  std::vector<std::vector<fs::ProcessUse>> users; // per workspace
  std::vector<DeleteOutcome> outcomes;            // per workspace (empty name: not attempted)
  std::vector<DeleteOutcome> leftovers;           // trash entries of an interrupted run
  std::vector<std::string> pending_leftovers;     // dry run: what --apply would finish
  std::vector<std::string> notes;
};

/// "bash (pid 123, cwd), vim (pid 9, fd 4)".
std::string describe_users(const std::vector<fs::ProcessUse>& users);

/// The wsdedup.prune/1 document.
nlohmann::ordered_json prune_to_json(const PruneReport& report);

/// The table and summary.
std::string render_prune_text(const PruneReport& report, util::ExactBytes exact);

/// True when something that was attempted failed (exit 2).
bool prune_had_errors(const PruneReport& report);

} // namespace wsd::prune
