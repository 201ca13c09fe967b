#include "util/progress.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace wsd::util {

Progress::Progress(std::function<std::string(double)> line, bool enabled) : m_line(std::move(line)) {
  if (!enabled) return;
  m_thread = std::thread([this] {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(m_mutex);
    while (!m_cv.wait_for(lock, std::chrono::milliseconds(250), [this] { return m_stop; })) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const std::string text = m_line(s);
      std::fprintf(stderr, "\r\033[K%s", text.c_str());
      std::fflush(stderr);
    }
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  });
}

Progress::~Progress() { stop(); }

void Progress::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

bool Progress::stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1 && std::getenv("WSDEDUP_NO_PROGRESS") == nullptr;
}

} // namespace wsd::util
