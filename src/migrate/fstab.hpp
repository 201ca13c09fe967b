#pragma once
// Editing /etc/fstab for the switch-over (issue 7): fields are escaped the way fstab(5) and
// getmntent(3) expect (space \040, tab \011, newline \012, backslash \134), and the line for a
// mount point replaces any line already there for it, so running twice never duplicates it.

#include <string>
#include <string_view>

namespace wsd::migrate {

/// One fstab field with space, tab, newline and backslash written as octal escapes.
std::string escape_fstab_field(std::string_view field);

/// The inverse of escape_fstab_field (what getmntent(3) does to a field).
std::string unescape_fstab_field(std::string_view field);

/// The bind-mount line: `TARGET SRC none bind,x-systemd.requires-mounts-for=REQUIRES 0 0`.
std::string bind_mount_line(const std::string& target, const std::string& mountpoint,
                            const std::string& requires_mounts_for);

/// `text` with every line mounting on `mountpoint` (second field, unescaped) replaced by
/// `line`, or `line` appended when there is none. Comments and other lines stay as they are;
/// the result ends with a newline.
std::string replace_fstab_entry(std::string_view text, const std::string& mountpoint,
                                const std::string& line);

} // namespace wsd::migrate
