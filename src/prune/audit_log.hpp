#pragma once
// The audit log of destructive actions (DESIGN.md invariant 8): JSON lines appended to a
// file, one before each step ("phase":"before") and one after ("after" or "failed"), each
// flushed to disk before the step runs.

#include <nlohmann/json.hpp>

#include <string>

namespace wsd::prune {

class AuditLog {
public:
  /// Opens (creating it and its directory, mode 0600) `path` for appending; throws Fatal.
  explicit AuditLog(std::string path);
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  ~AuditLog();

  /// Appends one line: `fields` plus time, pid, command; fdatasync before returning.
  void write(nlohmann::ordered_json fields);
  const std::string& path() const { return m_path; }

  /// The default location: /var/log/wsdedup/audit.jsonl for root, else
  /// $XDG_STATE_HOME/wsdedup/audit.jsonl (or ~/.local/state/...).
  static std::string default_path();

private:
  std::string m_path;
  int m_fd = -1;
};

} // namespace wsd::prune
