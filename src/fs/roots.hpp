#pragma once
// The directories a command was asked to look at, opened once and held for the whole run.
// Everything else is opened relative to these descriptors.

#include "fs/file_stat.hpp"
#include "util/fd.hpp"

#include <string>
#include <vector>

namespace wsd::fs {

struct Root {
  std::string display; // as the user wrote it, trailing slashes removed ("/" stays "/")
  util::Fd fd;         // O_DIRECTORY, opened without following a final symlink
  FileStat st;
};

class RootSet {
public:
  /// Opens every root. Throws Fatal for a missing root, a root that is not a directory or
  /// is a symlink. A root given twice (same device and inode) is kept once.
  explicit RootSet(const std::vector<std::string>& paths);

  size_t size() const { return m_roots.size(); }
  const Root& operator[](size_t i) const { return m_roots[i]; }
  const std::vector<Root>& roots() const { return m_roots; }

  /// "root/rel" for messages (just the root for an empty rel).
  std::string display_path(size_t root, std::string_view rel_path) const;

private:
  std::vector<Root> m_roots;
};

} // namespace wsd::fs
