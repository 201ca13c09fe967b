#include "util/pause_point.hpp"

#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <thread>
#include <unistd.h>

namespace wsd::util {

namespace {

struct PauseConfig {
  bool enabled = false;
  std::string name;
  std::string detail;
  bool has_detail = false;
  std::string dir;
};

const PauseConfig& config() {
  static const PauseConfig c = [] {
    PauseConfig p;
    const char* at = std::getenv("WSDEDUP_PAUSE_AT");
    const char* dir = std::getenv("WSDEDUP_PAUSE_DIR");
    if (!at || !dir || !*at) return p;
    p.enabled = true;
    p.dir = dir;
    const std::string spec = at;
    const size_t colon = spec.find(':');
    p.name = spec.substr(0, colon);
    if (colon != std::string::npos) {
      p.detail = spec.substr(colon + 1);
      p.has_detail = true;
    }
    return p;
  }();
  return c;
}

} // namespace

void pause_point(std::string_view name, std::string_view detail) {
  const PauseConfig& c = config();
  if (!c.enabled || name != c.name || (c.has_detail && detail != c.detail)) return;
  const std::string base = c.dir + "/" + std::string(name);
  const int fd = ::open((base + ".reached").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
  const std::string go = base + ".go";
  while (::access(go.c_str(), F_OK) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

} // namespace wsd::util
