#pragma once
// Opening paths that untrusted code may be rearranging under us (DESIGN.md invariant 5):
// every open is relative to a directory fd, never follows a symlink, and never leaves the
// directory it starts from.

#include "util/error.hpp"
#include "util/fd.hpp"

#include <string_view>

namespace wsd::fs {


/// openat(dirfd, name) of a single component, O_NOFOLLOW. `directory` adds O_DIRECTORY.
/// Retries without O_NOATIME when the kernel refuses it (EPERM for non-owners).
util::Result<util::Fd> open_child(int dirfd, const char* name, bool directory);

/// Opens `rel_path` (components separated by '/', no "..") beneath `dirfd`, following no
/// symlink in any component and crossing no mount unless `cross_fs`. Uses openat2
/// (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and falls back to a component-by-component walk.
util::Result<util::Fd> open_beneath(int dirfd, std::string_view rel_path, bool directory,
                                    bool cross_fs = true);

} // namespace wsd::fs
