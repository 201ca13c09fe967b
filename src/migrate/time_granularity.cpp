#include "migrate/time_granularity.hpp"

#include "dedupe/temp_names.hpp"
#include "fs/file_stat.hpp"
#include "util/fd.hpp"

#include <fmt/format.h>

#include <array>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wsd::migrate {

int64_t floor_time(int64_t ns, int64_t granularity_ns) {
  if (granularity_ns <= 1) return ns;
  const int64_t r = ns % granularity_ns;
  return r < 0 ? ns - r - granularity_ns : ns - r;
}

int64_t probe_mtime_granularity(int dir_fd) {
  // 2001-09-09T01:46:41.987654321Z: odd seconds and every sub-second digit set.
  constexpr int64_t k_sec = 1'000'000'001;
  constexpr int64_t k_nsec = 987'654'321;
  struct stat dir_before {};
  if (::fstat(dir_fd, &dir_before) != 0) return 1;
  const std::string name = dedupe::make_temp_name();
  util::Fd fd(::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return 1;
  const struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(k_sec), k_nsec}};
  fs::FileStat st;
  const bool ok = ::futimens(fd.get(), times) == 0 && fs::stat_fd(fd.get(), st) == 0;
  fd.reset();
  ::unlinkat(dir_fd, name.c_str(), 0);
  // The directory's times as they were, so a finished copy's root does not look changed.
  const struct timespec dir_times[2] = {dir_before.st_atim, dir_before.st_mtim};
  ::futimens(dir_fd, dir_times);
  if (!ok) return 1;
  const int64_t wanted = k_sec * 1'000'000'000 + k_nsec;
  constexpr std::array<int64_t, 11> k_steps = {1,         10,          100,         1'000,        10'000,       100'000,
                                               1'000'000, 10'000'000, 100'000'000, 1'000'000'000, 2'000'000'000};
  for (const int64_t g : k_steps)
    if (floor_time(wanted, g) == st.mtime_ns) return g;
  return 1;
}

std::string format_granularity(int64_t ns) {
  if (ns % 1'000'000'000 == 0) return fmt::format("{} s", ns / 1'000'000'000);
  if (ns % 1'000'000 == 0) return fmt::format("{} ms", ns / 1'000'000);
  if (ns % 1'000 == 0) return fmt::format("{} us", ns / 1'000);
  return fmt::format("{} ns", ns);
}

} // namespace wsd::migrate
