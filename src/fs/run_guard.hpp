#pragma once
// What a destructive run takes before it touches anything (DESIGN.md invariant 8): a lock
// per root so two runs never act on the same tree, and idle I/O priority plus nice so
// production workloads keep the disk and the CPU.

#include "fs/roots.hpp"

namespace wsd::fs {

/// Whether to lower our priority.
enum class Politeness : uint8_t { normal, idle };

/// Takes an exclusive flock on every root's directory fd (released when the RootSet's fds
/// close), so two destructive runs (dedupe, prune, undo) never act on one tree at once.
/// Throws Fatal naming the root another run holds.
void lock_roots(const fs::RootSet& roots);

/// Idle I/O class (ioprio_set) and nice 10 for this process and the threads it starts later.
void lower_priority();

} // namespace wsd::fs
