#pragma once
// Which workspaces a prune run chooses: by task status (a JSON status file), by age (newest
// mtime of anything inside), keeping the N newest. Given together, a workspace must meet
// every rule to go.

#include "prune/workspace_scan.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace wsd::prune {

struct Policy {
  std::optional<std::map<std::string, std::string>> statuses; // from --status-file
  std::set<std::string> delete_statuses;                      // --status
  std::optional<int64_t> older_than_seconds;                  // --older-than
  std::optional<size_t> keep_newest;                          // --keep
  std::string status_file;                                    // for messages
};

/// Reads a status file: one JSON object mapping workspace name to a status string.
/// Throws util::Fatal with a message naming the file and the problem.
std::map<std::string, std::string> load_status_file(const std::string& path);

/// Splits "done,archived" into statuses; throws Fatal when empty.
std::set<std::string> parse_status_list(const std::string& text);

/// The decision for one workspace.
struct Decision {
  bool selected = false;
  std::optional<std::string> status;  // from the status file, when it names the workspace
  int64_t age_seconds = 0;
  std::vector<std::string> kept_because; // empty when selected
};

/// One decision per workspace of `scan`, same order. `now_ns` is the current time.
std::vector<Decision> apply_policy(const Policy& policy, const WorkspaceScan& scan, int64_t now_ns);

} // namespace wsd::prune
