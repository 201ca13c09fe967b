#pragma once
// CPU slots for threads that read files: more threads than cores keep reads waiting on the
// disk while the cores work, but no more threads than cores run at once. A thread holds a
// slot while it computes and gives it up only while a read waits for the disk: the read is
// first tried against the page cache alone (preadv2 RWF_NOWAIT), so on a warm cache no
// thread ever gives its slot up and the extra threads sleep.

#include <cstddef>
#include <cstdint>
#include <semaphore>
#include <sys/types.h>

namespace wsd::util {

/// Threads that wait on the disk by default (the walk's, the content readers', verify's
/// comparers'), each with one request outstanding; of the readers only the CPU-slot count
/// compute at once. Measured on 2 cores (ext4 on virtio), cold cache: the 503k-entry corpus
/// walked in 3.6 s with 2 threads, 1.95 s with 8, 1.64 s with 16, 1.58 s with 32 (warm 0.48 s
/// with any); its 7 GiB read by estimate in 50.8 s with 2, 21.0 s with 8, 17.8 s with 16
/// (cat: 72 s; 8 cats in parallel: 23 s).
constexpr unsigned k_io_threads_min = 16;

/// The threads for disk-bound work: `requested` when given (capped at 256), else
/// max(`cpu_threads`, k_io_threads_min).
unsigned io_threads(unsigned requested, unsigned cpu_threads);

/// `slots` threads may hold a slot at once.
class CpuSlots {
public:
  explicit CpuSlots(unsigned slots) : m_free(static_cast<std::ptrdiff_t>(slots)) {}
  void acquire() { m_free.acquire(); }
  void release() { m_free.release(); }

private:
  std::counting_semaphore<> m_free;
};

/// One thread's hold on a slot; given back on destruction (also when an exception leaves).
class SlotHold {
public:
  explicit SlotHold(CpuSlots& slots) : m_slots(slots) {}
  SlotHold(const SlotHold&) = delete;
  SlotHold& operator=(const SlotHold&) = delete;
  ~SlotHold() { release(); }
  void acquire() {
    if (!m_held) m_slots.acquire();
    m_held = true;
  }
  void release() {
    if (m_held) m_slots.release();
    m_held = false;
  }

private:
  CpuSlots& m_slots;
  bool m_held = false;
};

/// A reading thread's slot and what its reads learned.
struct SlotReads {
  SlotHold* slot = nullptr; // null: reads simply block (no slot to give up)
  uint64_t waited = 0;      // reads that found their bytes uncached and waited for the disk
  bool nowait = true;       // cleared when a file's filesystem refuses RWF_NOWAIT (until reset)
};

/// pread_once with the slot given up while it waits for the disk: first a RWF_NOWAIT read;
/// what it could not give is read blocking, without the slot. A short count that ends at
/// `expected_end` (the size the walk saw) is taken as end of file, as a blocking read would
/// say (a file that grew past a page boundary the cache does not hold yet is then caught by
/// the caller's later checks of size and times, as any write during a read is); any other
/// short count is completed by the blocking read. Returns the byte count or -1 (errno set).
ssize_t pread_yielding(int fd, void* buf, size_t len, uint64_t offset, uint64_t expected_end,
                       SlotReads& reads);

/// True when the byte at `offset` of `fd` is in the page cache (a RWF_NOWAIT read of it
/// succeeds; one that does not starts its read-ahead). True also where the filesystem
/// cannot tell (then `reads.nowait` is cleared).
bool cached_at(int fd, uint64_t offset, SlotReads& reads);

} // namespace wsd::util
