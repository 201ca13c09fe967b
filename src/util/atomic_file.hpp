#pragma once
// Replacing a file so that a reader, a crash or a full disk sees either the old content or the
// new, never a mix: write a temp file beside it, fsync, rename over, fsync the directory.
// Used for every file wsdedup writes for others to read (reports, metrics, fstab).

#include <string>
#include <string_view>
#include <sys/types.h>

namespace wsd::util {

/// Atomically replaces `path` with `text`; the new file gets `mode` (the old file's owner and
/// mode when `keep_existing_mode` and it exists). Throws util::Fatal with
/// `op("path"): text` on any failure; the temp file is removed and `path` left as it was.
void write_file_atomically(const std::string& path, std::string_view text, mode_t mode = 0644,
                           bool keep_existing_mode = false);

/// The whole content of a regular file; throws util::Fatal when it cannot be read.
std::string read_whole_file(const std::string& path);

} // namespace wsd::util
