#pragma once
// Which processes use a set of inodes (DESIGN.md invariant 7): every /proc/PID/{cwd,root,
// fd/*,map_files/*} is stat()ed (the kernel resolves these magic links to the very inode the
// process holds) and matched by (st_dev, st_ino), never by path, since a process in a
// container or one whose directory was renamed sees other paths. Used by prune and migrate.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace wsd::fs {

/// One way one process holds one inode.
struct ProcessUse {
  int pid = 0;
  std::string comm; // /proc/PID/comm
  std::string how;  // "cwd", "root", "fd 3", "mapped file"
  uint64_t dev = 0;
  uint64_t ino = 0;
};

/// Scans every process (but this one) and returns the uses whose inode `wanted(dev, ino)`
/// accepts. Processes that exit meanwhile or cannot be inspected are skipped; `uninspectable`
/// (optional) counts those whose fds could not be read (EACCES when not root).
std::vector<ProcessUse> find_process_uses(const std::function<bool(uint64_t, uint64_t)>& wanted,
                                          uint64_t* uninspectable = nullptr);

} // namespace wsd::fs
