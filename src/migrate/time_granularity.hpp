#pragma once
// What mtime precision a target filesystem keeps. zfs-fuse (pool v23 through FUSE) keeps whole
// seconds, so a copy's mtimes are SRC's floored to the second: the planner and the verify step
// of `migrate` compare times at the target's granularity instead of calling every file changed.

#include <cstdint>
#include <string>

namespace wsd::migrate {

/// Sets a known sub-second mtime on a temp file created in `dir_fd` (removed again, the
/// directory's times put back) and
/// returns the coarsest of 1 ns, 10 ns, ..., 1 s, 2 s that explains what was kept; 1 when
/// nothing explains it or the probe fails (then times are compared exactly).
int64_t probe_mtime_granularity(int dir_fd);

/// "1 ns", "1 us", "1 s", ... for messages.
std::string format_granularity(int64_t ns);

/// `ns` floored to a multiple of `granularity_ns` (negative times included).
int64_t floor_time(int64_t ns, int64_t granularity_ns);

} // namespace wsd::migrate
