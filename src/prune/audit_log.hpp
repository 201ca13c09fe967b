#pragma once
// prune's view of the shared audit log (util::JsonLinesLog, the same file dedupe writes):
// one line before each step ("phase":"before") and one after ("after" or "failed"), each
// on disk before the step runs.

#include "util/json_lines_log.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace wsd::prune {

class AuditLog {
public:
  /// Opens (creating it and its directory, mode 0600) `path` for appending; throws Fatal.
  explicit AuditLog(std::string path);
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  /// Appends one line: time, pid, "command":"prune", then `fields`; on disk before returning.
  void write(nlohmann::ordered_json fields);
  const std::string& path() const { return m_path; }

  /// The default location: /var/log/wsdedup/audit.jsonl for root, else
  /// $XDG_STATE_HOME/wsdedup/audit.jsonl (or ~/.local/state/...).
  static std::string default_path();

private:
  std::string m_path;
  util::JsonLinesLog m_log;
};

} // namespace wsd::prune
