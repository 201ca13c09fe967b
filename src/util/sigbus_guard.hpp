#pragma once
// Reading a file through a memory mapping while another process may truncate it: an access
// past the file's new end raises SIGBUS. run_sigbus_guarded() runs a function with the
// calling thread's mappings registered; a SIGBUS whose fault address lies inside one of them
// jumps back out of the function (siglongjmp to a thread-local sigjmp_buf) and the caller
// learns which mapping failed. Any other SIGBUS goes to the handler installed before ours
// (e.g. AddressSanitizer's), or, when there was none, kills the process as it would have.

#include <cstddef>
#include <span>

namespace wsd::util {

/// One mapped range the current thread reads.
struct GuardedRange {
  const void* begin = nullptr;
  size_t size = 0;
};

/// Installs the process-wide SIGBUS handler (once; thread-safe); false when it could not be
/// put in place (e.g. AddressSanitizer with allow_user_segv_handler=0 keeps its own): then
/// mappings must not be read where they may be truncated.
bool install_sigbus_handler();

/// Runs `fn(ctx)` (install_sigbus_handler() must have returned true); returns -1 when it
/// completed, or the index in `ranges` of the mapping whose access raised SIGBUS (fn was cut
/// short there). `fn` must not hold objects with destructors
/// or locks across accesses to the ranges (a jump skips them); guards do not nest.
int run_sigbus_guarded(std::span<const GuardedRange> ranges, void (*fn)(void*), void* ctx);

/// The same for a callable (called by reference).
template <class F>
int run_sigbus_guarded(std::span<const GuardedRange> ranges, F& f) {
  return run_sigbus_guarded(ranges, [](void* p) { (*static_cast<F*>(p))(); }, &f);
}

} // namespace wsd::util
