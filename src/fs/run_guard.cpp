#include "fs/run_guard.hpp"

#include "util/error.hpp"
#include "util/escape.hpp"

#include <cerrno>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace wsd::fs {

void lock_roots(const fs::RootSet& roots) {
  for (const auto& root : roots.roots()) {
    if (::flock(root.fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        throw util::Fatal("another wsdedup run holds the lock on \"{}\"; try again when it is done",
                          util::escape_for_terminal(root.display));
      throw util::Fatal(util::describe_error("flock", root.display, errno));
    }
  }
}

void lower_priority() {
  constexpr int k_who_process = 1;  // IOPRIO_WHO_PROCESS
  constexpr int k_class_idle = 3;   // IOPRIO_CLASS_IDLE
  constexpr int k_class_shift = 13; // IOPRIO_CLASS_SHIFT
  ::syscall(SYS_ioprio_set, k_who_process, 0, k_class_idle << k_class_shift);
  ::setpriority(PRIO_PROCESS, 0, 10);
}

} // namespace wsd::fs
