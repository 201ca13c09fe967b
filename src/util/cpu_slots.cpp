#include "util/cpu_slots.hpp"

#include "util/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/uio.h>

namespace wsd::util {

namespace {

// One RWF_NOWAIT pread: the byte count, or -1 with errno (EAGAIN: nothing cached there).
ssize_t pread_nowait(int fd, void* buf, size_t len, uint64_t offset) {
  struct iovec iov {
    buf, len
  };
  ssize_t n;
  do {
    n = ::preadv2(fd, &iov, 1, static_cast<off_t>(offset), RWF_NOWAIT);
  } while (n < 0 && errno == EINTR);
  return n;
}

bool nowait_refused(int err) {
  return err == EOPNOTSUPP || err == EINVAL;
}

} // namespace

unsigned io_threads(unsigned requested, unsigned cpu_threads) {
  if (requested > 0) return std::min(requested, 256u);
  return std::max(cpu_threads, k_io_threads_min);
}

ssize_t pread_yielding(int fd, void* buf, size_t len, uint64_t offset, uint64_t expected_end,
                       SlotReads& reads) {
  if (!reads.slot || !reads.nowait) return pread_once(fd, buf, len, offset);
  ssize_t got = pread_nowait(fd, buf, len, offset);
  if (got >= 0 &&
      (static_cast<size_t>(got) == len || offset + static_cast<uint64_t>(got) == expected_end))
    return got;
  if (got < 0) {
    if (nowait_refused(errno)) {
      reads.nowait = false; // this filesystem cannot say: read as before, slot held
      return pread_once(fd, buf, len, offset);
    }
    if (errno != EAGAIN) return -1;
    got = 0;
  }
  ++reads.waited;
  reads.slot->release();
  const ssize_t rest = pread_once(fd, static_cast<char*>(buf) + got, len - static_cast<size_t>(got),
                                  offset + static_cast<uint64_t>(got));
  const int err = errno;
  reads.slot->acquire();
  if (rest < 0) {
    errno = err;
    return -1;
  }
  return got + rest;
}

bool cached_at(int fd, uint64_t offset, SlotReads& reads) {
  if (!reads.nowait) return true;
  char byte;
  if (pread_nowait(fd, &byte, 1, offset) >= 0) return true;
  if (errno == EAGAIN) return false;
  if (nowait_refused(errno)) reads.nowait = false;
  return true;
}

} // namespace wsd::util
