#pragma once
// The kernel calls that share storage between files, wrapped so they never throw:
// FIDEDUPERANGE (the kernel compares the bytes under lock, then shares them), FICLONE (only
// ever into a new temp file, DESIGN.md invariant 2), write leases (invariant 3) and a
// per-filesystem capability probe.

#include "util/error.hpp"

#include <cstdint>
#include <span>

namespace wsd::fs {

/// What FIDEDUPERANGE answered for a whole file.
enum class DedupeStatus : uint8_t {
  shared,  // every byte asked for is now shared
  differs, // the kernel found different bytes: an answer, not an error
  error,   // see DedupeResult::err
};

struct DedupeResult {
  DedupeStatus status = DedupeStatus::error;
  uint64_t bytes_deduped = 0;
  int err = 0;
  uint32_t calls = 0;
};

/// Shares [0, length) of `dst_fd` with the same range of `src_fd` (bees' loop: at most
/// `max_per_call` bytes per call, continue from what the kernel reports as deduped, check the
/// destination's status each time).
DedupeResult dedupe_range(int src_fd, int dst_fd, uint64_t length,
                          uint64_t max_per_call = 16ULL << 20);

/// One destination of dedupe_ranges: its fd, and afterwards what the kernel answered for it.
struct DedupeTarget {
  int fd = -1;
  DedupeResult result;
};

/// The most destinations one FIDEDUPERANGE call takes (its argument must fit in a page).
constexpr size_t k_max_dedupe_targets = 120;

/// Shares [0, length) of every target with the same range of `src_fd`: one FIDEDUPERANGE
/// per `max_per_call` chunk covers all targets still going (the kernel compares and shares
/// each under lock and answers per destination). A target the kernel shares less of than
/// asked continues alone (dedupe_range's loop); "differs" and errors stop only that target.
/// At most k_max_dedupe_targets per call: more are processed in batches.
void dedupe_ranges(int src_fd, std::span<DedupeTarget> targets, uint64_t length,
                   uint64_t max_per_call = 16ULL << 20);

/// FICLONE: makes `dst_fd` (a file this process just created) share all of `src_fd`.
/// Returns 0 or errno.
int clone_whole_file(int src_fd, int dst_fd);

/// Takes a write lease on `fd` (F_SETLEASE F_WRLCK): refused (EAGAIN) while any other
/// descriptor of the file is open anywhere. Ignores SIGIO so a lease break never kills us.
/// Returns 0 or errno.
int take_write_lease(int fd);

/// True while our write lease on `fd` is intact (nobody tried to open the file since).
bool write_lease_held(int fd);

/// Releases the lease (F_UNLCK); harmless without one.
void release_lease(int fd);

/// What a filesystem supports, learned with a 64 KiB scratch pair (O_TMPFILE: never named,
/// so nothing is left behind if we are killed).
struct ShareCapability {
  bool dedupe_range = false; // FIDEDUPERANGE shares identical ranges
  bool clone = false;        // FICLONE works
  int dedupe_err = 0;        // why not
  int clone_err = 0;
};

/// Probes the filesystem of directory `dirfd`, creating the scratch files in it.
ShareCapability probe_share_capability(int dirfd);

} // namespace wsd::fs
