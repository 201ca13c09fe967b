#include "util/json_lines_log.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace wsd::util {

JsonLinesLog::JsonLinesLog(const std::string& path) : m_path(path) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw util::Fatal(util::describe_error("open", path, errno));
  m_fd = util::Fd(fd);
  m_pid = static_cast<long>(::getpid());
}

JsonLinesLog::JsonLinesLog(JsonLinesLog&& other) noexcept
    : m_fd(std::move(other.m_fd)), m_path(std::move(other.m_path)), m_pending(std::move(other.m_pending)),
      m_pid(other.m_pid) {
  other.m_pending.clear();
}

JsonLinesLog& JsonLinesLog::operator=(JsonLinesLog&& other) noexcept {
  if (this != &other) {
    try {
      flush();
    } catch (const util::Fatal&) {
      // nothing better to do with lines of a log being replaced
    }
    m_fd = std::move(other.m_fd);
    m_path = std::move(other.m_path);
    m_pending = std::move(other.m_pending);
    other.m_pending.clear();
    m_pid = other.m_pid;
  }
  return *this;
}

JsonLinesLog::~JsonLinesLog() {
  try {
    flush();
  } catch (const util::Fatal&) {
    // a destructor cannot report; flush() explicitly to see the error
  }
}

void JsonLinesLog::write_all(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(m_fd.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw util::Fatal(util::describe_error("write", m_path, errno));
    }
    done += static_cast<size_t>(n);
  }
}

void JsonLinesLog::flush() {
  if (!m_fd || m_pending.empty()) return;
  std::string text;
  text.swap(m_pending);
  write_all(text);
}

std::string JsonLinesLog::render(const nlohmann::ordered_json& line) const {
  if (!line.is_object() || line.empty()) return render_members({});
  // The line's own members: its dump without the braces.
  const std::string body = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return render_members(std::string_view(body).substr(1, body.size() - 2));
}

std::string JsonLinesLog::render_members(std::string_view members) const {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  // "time" and "pid" first, then the line's own members.
  std::string out = "{\"time\":" + std::to_string(ms) + ",\"pid\":" + std::to_string(m_pid);
  if (!members.empty()) {
    out += ',';
    out += members;
  }
  out += "}\n";
  return out;
}

void JsonLinesLog::append_text(std::string_view text, Durability durability) {
  if (!m_fd) return;
  m_pending += text;
  if (durability == Durability::batched) return;
  flush();
  if (durability == Durability::synced && ::fdatasync(m_fd.get()) != 0)
    throw util::Fatal(util::describe_error("fdatasync", m_path, errno));
}

void JsonLinesLog::append(const nlohmann::ordered_json& line, Durability durability) {
  if (!m_fd) return;
  append_text(render(line), durability);
}

std::vector<nlohmann::ordered_json> read_json_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw util::Fatal(util::describe_error("open", path, errno));
  std::vector<nlohmann::ordered_json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::ordered_json::parse(line));
    } catch (const nlohmann::ordered_json::exception&) {
      // a torn line from a crash: skip
    }
  }
  return out;
}

std::string default_log_dir() {
  if (::geteuid() == 0) return "/var/log/wsdedup";
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/wsdedup";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/state/wsdedup";
  return "/tmp/wsdedup";
}

} // namespace wsd::util
