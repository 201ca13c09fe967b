#pragma once
// The switch-over of `migrate --apply` (issue 7): refuse while a process uses SRC (matched by
// (dev, ino) through fs/in_use), move SRC aside to a sibling `SRC.wsdedup-old-<UTC time>`
// (never deleted), create an empty mount point with SRC's owner and mode, bind-mount the
// copy on it (mount(2) MS_BIND through /proc/self/fd of descriptors we hold), and persist the
// bind mount in fstab (written atomically after a backup). Each step is audited before and
// after through `log`.

#include "fs/in_use.hpp"
#include "fs/walker.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace wsd::migrate {

/// Appends one audit line (action, phase, details).
using AuditFn = std::function<void(nlohmann::ordered_json line)>;

struct SwitchOptions {
  std::string src;                 // absolute, no trailing slash
  std::string copy_dir;            // absolute: the folder holding the copy (bind source)
  std::string requires_mounts_for; // the dataset's mountpoint, or copy_dir for a folder
  std::string fstab_path = "/etc/fstab";
  bool edit_fstab = true;
  std::string timestamp;           // "20260102T030405Z"
};

struct SwitchResult {
  std::string old_path;     // where SRC went
  std::string fstab_line;   // the line written (or that would be written)
  std::string fstab_backup; // empty with --no-fstab
};

/// Every process that uses an inode of the tree under `src` (walked like every command).
std::vector<fs::ProcessUse> processes_using_tree(const std::string& src, const fs::WalkOptions& walk);

/// "20260102T030405Z" for now.
std::string utc_timestamp();

/// Carries the switch-over out; throws util::Fatal with the reason (a process uses SRC, a step
/// failed: then what was done is undone where it can be, and the message says what remains).
SwitchResult switch_over(const SwitchOptions& options, const fs::WalkOptions& walk, const AuditFn& log);

} // namespace wsd::migrate
