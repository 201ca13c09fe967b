#include "util/sigbus_guard.hpp"

#include <csetjmp>
#include <csignal>
#include <cstdint>
#include <mutex>

namespace wsd::util {

namespace {

// What the current thread's guard registered; read by the handler on the same thread.
struct Guard {
  sigjmp_buf jump;
  std::span<const GuardedRange> ranges;
  volatile sig_atomic_t active = 0;
  volatile int faulted = -1;
};

// initial-exec: the handler reads it without a lazy TLS allocation.
[[gnu::tls_model("initial-exec")]] thread_local Guard* t_guard = nullptr;

struct sigaction g_previous {};
std::once_flag g_installed;
bool g_in_place = false;

void on_sigbus(int sig, siginfo_t* info, void* uctx) {
  Guard* const g = t_guard;
  // Only a fault the kernel raised (si_code > 0) on this thread, inside its ranges.
  if (g && g->active && info && info->si_code > 0) {
    const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
    for (size_t k = 0; k < g->ranges.size(); ++k) {
      const auto begin = reinterpret_cast<uintptr_t>(g->ranges[k].begin);
      if (addr >= begin && addr - begin < g->ranges[k].size) {
        g->active = 0;
        g->faulted = static_cast<int>(k);
        siglongjmp(g->jump, 1);
      }
    }
  }
  // Not ours: whoever handled SIGBUS before, else the default action (re-raised at once:
  // SA_NODEFER keeps SIGBUS unblocked in here).
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, uctx);
    return;
  }
  if ((g_previous.sa_flags & SA_SIGINFO) == 0 && g_previous.sa_handler != SIG_DFL &&
      g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGBUS, &dfl, nullptr);
  ::raise(SIGBUS);
}

} // namespace

bool install_sigbus_handler() {
  std::call_once(g_installed, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(SIGBUS, &sa, &g_previous) != 0) return;
    // A sanitizer runtime may accept the call and keep its own handler: ask what is in place.
    struct sigaction now {};
    g_in_place = ::sigaction(SIGBUS, nullptr, &now) == 0 && (now.sa_flags & SA_SIGINFO) != 0 &&
                 now.sa_sigaction == on_sigbus;
  });
  return g_in_place;
}

int run_sigbus_guarded(std::span<const GuardedRange> ranges, void (*fn)(void*), void* ctx) {
  install_sigbus_handler();
  Guard guard;
  guard.ranges = ranges;
  t_guard = &guard;
  // No signal mask to restore (savemask 0): SA_NODEFER leaves SIGBUS unblocked in the
  // handler, so the jump out of it leaves the mask as it was, and costs no system call.
  if (sigsetjmp(guard.jump, 0) != 0) {
    t_guard = nullptr;
    return guard.faulted;
  }
  guard.active = 1;
  fn(ctx);
  guard.active = 0;
  t_guard = nullptr;
  return -1;
}

} // namespace wsd::util
