#include "prune/audit_log.hpp"

#include "report/json_path.hpp"
#include "util/error.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fmt/chrono.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wsd::prune {

AuditLog::AuditLog(std::string path) : m_path(std::move(path)) {
  const std::filesystem::path p(m_path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
  }
  m_fd = ::open(m_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (m_fd < 0)
    throw util::Fatal("audit log: {} (nothing is deleted without an audit log; choose one with "
                      "--audit-log)",
                      util::describe_error("open", m_path, errno));
}

AuditLog::~AuditLog() {
  if (m_fd >= 0) ::close(m_fd);
}

void AuditLog::write(nlohmann::ordered_json fields) {
  nlohmann::ordered_json line;
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  line["time"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z",
                             std::chrono::floor<std::chrono::seconds>(now), ms % 1000);
  line["pid"] = ::getpid();
  line["command"] = "prune";
  for (auto& [k, v] : fields.items()) line[k] = v;
  const std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(m_fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw util::Fatal("audit log: {}", util::describe_error("write", m_path, errno));
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(m_fd) != 0 && errno != EINVAL)
    throw util::Fatal("audit log: {}", util::describe_error("fdatasync", m_path, errno));
}

std::string AuditLog::default_path() {
  if (::geteuid() == 0) return "/var/log/wsdedup/audit.jsonl";
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state)
    return std::string(state) + "/wsdedup/audit.jsonl";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/state/wsdedup/audit.jsonl";
}

} // namespace wsd::prune
