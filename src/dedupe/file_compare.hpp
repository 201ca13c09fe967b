#pragma once
// Byte-for-byte comparison of two open files (not a hash: DESIGN.md invariant 4), and the
// metadata a replacement file must carry (owner, mode, xattrs and ACLs, times).

#include "fs/file_stat.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace wsd::dedupe {

/// Reads `a_fd` through the content pipeline and `b_fd` beside it; true when both hold the
/// same `size` bytes (holes read as zeros). An error is an errno (ESTALE: `a` changed).
util::Result<bool> same_bytes(int a_fd, const fs::FileStat& a_st, int b_fd);

/// All extended attributes of an open file (names include their namespace).
util::Result<std::map<std::string, std::string>> read_xattrs(int fd);

/// Gives `dst_fd` the metadata of `src_st`/`src_fd` in invariant 3's order: chown, chmod,
/// xattrs (ACLs included), then times. Returns 0 or errno.
int copy_metadata(int src_fd, const fs::FileStat& src_st, int dst_fd);

/// Why two files cannot be hardlinked (owner, group, mode, mtime or xattrs differ), or "".
std::string metadata_difference(int a_fd, const fs::FileStat& a, int b_fd, const fs::FileStat& b);

} // namespace wsd::dedupe
