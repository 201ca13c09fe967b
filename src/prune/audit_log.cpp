#include "prune/audit_log.hpp"

#include "util/error.hpp"

namespace wsd::prune {

AuditLog::AuditLog(std::string path) : m_path(std::move(path)) {
  try {
    m_log = util::JsonLinesLog(m_path);
  } catch (const util::Fatal& e) {
    throw util::Fatal("audit log: {} (nothing is deleted without an audit log; choose one with "
                      "--audit-log)",
                      e.what());
  }
}

void AuditLog::write(nlohmann::ordered_json fields) {
  nlohmann::ordered_json line;
  line["command"] = "prune";
  for (auto& [k, v] : fields.items()) line[k] = v;
  m_log.append(std::move(line), util::Durability::synced);
}

std::string AuditLog::default_path() { return util::default_log_dir() + "/audit.jsonl"; }

} // namespace wsd::prune
