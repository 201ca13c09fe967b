#pragma once
// Progress on stderr while long work runs, only when stderr is a terminal. A background
// thread redraws one line a few times a second from counters the workers bump.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace wsd::util {

class Progress {
public:
  /// `line` is called on the progress thread and returns the text to show.
  explicit Progress(std::function<std::string(double seconds)> line, bool enabled);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();
  /// Stops and erases the line.
  void stop();

  /// True when stderr is a terminal (and WSDEDUP_NO_PROGRESS is unset).
  static bool stderr_is_terminal();

private:
  std::function<std::string(double)> m_line;
  std::thread m_thread;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
};

} // namespace wsd::util
