#include "content/content_reader.hpp"

#include "fs/file_stat.hpp"
#include "fs/safe_open.hpp"
#include "fs/walker.hpp"
#include "util/cpu_slots.hpp"
#include "util/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

namespace wsd::content {

namespace {

constexpr size_t k_alignment = 4096;
constexpr size_t k_batch_jobs = 64; // jobs a reader takes from the queue at once

// What one reader thread's reads need besides the file.
struct ReadContext {
  uint64_t* calls = nullptr;
  util::SlotReads reads; // no slot outside ContentReader::run: reads simply block
};

// One read, counted, with the thread's CPU slot given up while it waits for the disk
// (util::pread_yielding, whose rule on short counts `expected_end` sets).
ssize_t pread_full(int fd, std::byte* buf, size_t len, uint64_t offset, uint64_t expected_end,
                   ReadContext& ctx) {
  if (ctx.calls) ++*ctx.calls;
  return util::pread_yielding(fd, buf, len, offset, expected_end, ctx.reads);
}

ReadResult failure(const char* op, int err) {
  ReadResult r;
  r.outcome = ReadOutcome::error;
  r.op = op;
  r.err = err;
  return r;
}

ReadResult changed() {
  ReadResult r;
  r.outcome = ReadOutcome::changed;
  return r;
}

// Reads [begin, end) in buffer-sized pieces; false with `result` set on a problem.
bool read_range(int fd, uint64_t begin, uint64_t end, std::span<std::byte> buffer,
                ContentConsumer& consumer, ReadResult& result, ReadContext& ctx) {
  uint64_t off = begin;
  while (off < end) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), end - off));
    const ssize_t n = pread_full(fd, buffer.data(), want, off, end, ctx);
    if (n < 0) {
      result = failure("read", errno);
      return false;
    }
    if (static_cast<size_t>(n) < want) { // shrank while we read
      result = changed();
      return false;
    }
    consumer.data(off, buffer.first(want));
    result.bytes_read += want;
    off += want;
  }
  return true;
}

// Walks data extents with SEEK_DATA/SEEK_HOLE. Returns false with `unsupported` set when
// the filesystem cannot tell (then the caller reads everything).
bool read_sparse(int fd, uint64_t size, std::span<std::byte> buffer, ContentConsumer& consumer,
                 ReadResult& result, bool& unsupported, ReadContext& ctx) {
  uint64_t off = 0;
  while (off < size) {
    const off_t data = ::lseek(fd, static_cast<off_t>(off), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) { // only a hole remains
        consumer.hole(off, size - off);
        result.hole_bytes += size - off;
        return true;
      }
      if (off == 0 && (errno == EINVAL || errno == EOPNOTSUPP)) {
        unsupported = true;
        return false;
      }
      result = failure("lseek", errno);
      return false;
    }
    const auto data_start = std::min<uint64_t>(static_cast<uint64_t>(data), size);
    if (data_start > off) {
      consumer.hole(off, data_start - off);
      result.hole_bytes += data_start - off;
    }
    if (data_start >= size) return true;
    const off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) {
      result = failure("lseek", errno);
      return false;
    }
    const uint64_t data_end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    if (!read_range(fd, data_start, data_end, buffer, consumer, result, ctx)) return false;
    off = data_end;
  }
  return true;
}

bool same_identity(const fs::FileStat& st, const FileJob& job) {
  return st.dev == job.dev && st.ino == job.ino && st.size == job.size &&
         (job.mtime_ns == 0 || (st.mtime_ns == job.mtime_ns && st.ctime_ns == job.ctime_ns));
}

ReadResult read_checked(int fd, const FileJob& job, std::span<std::byte> buffer,
                        uint64_t partial_bytes, ContentConsumer& consumer, ReadContext& ctx) {
  fs::FileStat before;
  if (const int err = fs::stat_fd(fd, before); err != 0) return failure("statx", err);
  if (!before.is_regular()) return failure("open", EINVAL);
  if (!same_identity(before, job)) return changed();

  ReadResult result;
  const uint64_t size = job.size;
  if (job.scope == ReadScope::head_tail && size > 2 * partial_bytes) {
    // Two small reads; the consumer sees [0, p) and [size - p, size).
    const auto p = static_cast<size_t>(std::min<uint64_t>(partial_bytes, buffer.size()));
    for (const uint64_t off : {uint64_t{0}, size - p}) {
      const ssize_t n = pread_full(fd, buffer.data(), p, off, off + p, ctx);
      if (n < 0) return failure("read", errno);
      if (static_cast<size_t>(n) != p) return changed();
      consumer.data(off, buffer.first(p));
      result.bytes_read += p;
    }
    // No second statx, as for small files below: a write between the two reads changes
    // mtime/ctime, so nothing keyed by the identity checked above takes the mixed digest
    // (and dupes re-reads every colliding file whole before grouping it).
    return result;
  } else if (size < buffer.size() && before.allocated_bytes() >= size) {
    // A small, fully allocated file: one read of size + 1 also proves it did not grow. No
    // second statx: a write during this one read changes mtime/ctime, so nothing keyed by
    // the identity checked above (catalog rows) can be taken for the new content.
    const ssize_t n = pread_full(fd, buffer.data(), static_cast<size_t>(size) + 1, 0, size, ctx);
    if (n < 0) return failure("read", errno);
    if (static_cast<uint64_t>(n) != size) return changed();
    if (size > 0) consumer.data(0, buffer.first(static_cast<size_t>(size)));
    result.bytes_read = size;
    return result;
  } else {
    if (size > buffer.size()) ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    bool unsupported = false;
    bool ok = true;
    if (before.allocated_bytes() < size)
      ok = read_sparse(fd, size, buffer, consumer, result, unsupported, ctx);
    if (before.allocated_bytes() >= size || unsupported)
      ok = read_range(fd, 0, size, buffer, consumer, result, ctx);
    if (!ok) return result;
  }
  // Changed while we read? (A writer that keeps size and times is caught by whoever acts
  // on the result: dedupe compares bytes in the kernel.)
  fs::FileStat after;
  if (const int err = fs::stat_fd(fd, after); err != 0) return failure("statx", err);
  if (after.size != before.size || after.mtime_ns != before.mtime_ns ||
      after.ctime_ns != before.ctime_ns)
    return changed();
  return result;
}

// A bounded multi-consumer queue of jobs: push blocks while full (back-pressure). Readers
// take jobs in batches of consecutive ones (fewer lock handoffs and wake-ups per file, and
// consecutive jobs in one directory stay with the reader that has that directory open).
class JobQueue {
public:
  JobQueue(size_t capacity, unsigned consumers)
      : m_capacity(std::max<size_t>(capacity, 1)), m_consumers(std::max(consumers, 1U)) {}

  void push(FileJob job) {
    std::unique_lock lock(m_mutex);
    if (m_jobs.size() >= m_capacity) {
      ++m_producer_waiting;
      m_not_full.wait(lock, [&] { return m_jobs.size() < m_capacity; });
      --m_producer_waiting;
    }
    m_jobs.push_back(std::move(job));
    if (m_consumers_waiting > 0) m_not_empty.notify_one();
  }

  /// Moves up to `max` jobs into `out` (cleared first): a fair share of what waits, so the
  /// last jobs still spread over the readers. False when the queue is closed and empty.
  /// A caller holding a CPU slot (`slot`) gives it up while it waits for jobs (never while
  /// it holds the queue's lock: a thread waiting for a slot may want the lock).
  bool pop_batch(std::vector<FileJob>& out, size_t max, util::SlotHold* slot = nullptr) {
    out.clear();
    std::unique_lock lock(m_mutex);
    while (m_jobs.empty() && !m_closed) {
      if (slot) {
        lock.unlock();
        slot->release();
        lock.lock();
      }
      ++m_consumers_waiting;
      m_not_empty.wait(lock, [&] { return !m_jobs.empty() || m_closed; });
      --m_consumers_waiting;
      if (slot) {
        lock.unlock();
        slot->acquire();
        lock.lock();
      }
    }
    if (m_jobs.empty()) return false;
    const size_t share = (m_jobs.size() + m_consumers - 1) / m_consumers;
    const size_t n = std::min(std::max<size_t>(max, 1), share);
    for (size_t i = 0; i < n; ++i) {
      out.push_back(std::move(m_jobs.front()));
      m_jobs.pop_front();
    }
    if (m_producer_waiting > 0) m_not_full.notify_one();
    return true;
  }

  void close() {
    std::lock_guard lock(m_mutex);
    m_closed = true;
    m_not_empty.notify_all();
  }

private:
  size_t m_capacity;
  size_t m_consumers;
  std::mutex m_mutex;
  std::condition_variable m_not_full;
  std::condition_variable m_not_empty;
  std::deque<FileJob> m_jobs;
  unsigned m_producer_waiting = 0;
  unsigned m_consumers_waiting = 0;
  bool m_closed = false;
};

struct AlignedBuffer {
  explicit AlignedBuffer(size_t n)
      : size(std::max<size_t>((n + k_alignment - 1) / k_alignment * k_alignment, k_alignment)),
        data(static_cast<std::byte*>(std::aligned_alloc(k_alignment, size))) {
    if (!data) throw std::bad_alloc();
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(data); }
  size_t size;
  std::byte* data;
};

} // namespace

// The directory a reader thread opened last: jobs in one directory open relative to it.
struct ContentReader::DirCache {
  uint32_t root = 0;
  uint32_t dir = k_no_dir;
  util::Fd fd;
  std::string name; // NUL-terminated copy of the job's name
};

std::string job_path(const FileJob& job, const ReaderOptions& options) {
  if (job.dir == k_no_dir || !options.dir_path) return job.rel_path;
  std::string path = options.dir_path(job.dir);
  if (!path.empty()) path += '/';
  path.append(job.name);
  return path;
}

namespace {

ReadResult read_job(int fd, const FileJob& job, std::span<std::byte> buffer, uint64_t partial_bytes,
                    ContentConsumer& consumer, ReadContext& ctx) {
  consumer.begin(job);
  // One byte of the buffer is reserved for the size + 1 probe of small files.
  const ReadResult result =
      read_checked(fd, job, buffer.first(buffer.size() - 1), partial_bytes, consumer, ctx);
  consumer.end(job, result);
  return result;
}

} // namespace

ReadResult read_open_file(int fd, const FileJob& job, std::span<std::byte> buffer,
                          uint64_t partial_bytes, ContentConsumer& consumer, uint64_t* read_calls) {
  ReadContext ctx;
  ctx.calls = read_calls;
  return read_job(fd, job, buffer, partial_bytes, consumer, ctx);
}

unsigned reader_threads(const ReaderOptions& options) {
  return util::io_threads(options.io_threads, fs::resolve_threads(options.threads));
}

ContentReader::ContentReader(const fs::RootSet& roots, ReaderOptions options)
    : m_roots(roots), m_options(std::move(options)) {}

// Opens a job's file beneath its root without following symlinks. A job named by directory
// and name opens the directory once (openat2 beneath the root) and the file relative to it
// (openat O_NOFOLLOW of one component); the identity check after the open is the same.
util::Result<util::Fd> ContentReader::open_job(const FileJob& job, DirCache& cache) const {
  const int root_fd = m_roots[job.root].fd.get();
  if (job.dir == k_no_dir || !m_options.dir_path)
    return fs::open_beneath(root_fd, job.rel_path, false, m_options.cross_fs);
  if (const int err = open_dir(job, cache); err != 0) return util::Result<util::Fd>::failure(err);
  cache.name.assign(job.name);
  return fs::open_child(cache.fd.get(), cache.name.c_str(), false);
}

// Makes `cache` hold the directory of a job named by directory and name.
int ContentReader::open_dir(const FileJob& job, DirCache& cache) const {
  if (cache.fd && cache.dir == job.dir && cache.root == job.root) return 0;
  cache.fd = util::Fd();
  cache.dir = k_no_dir;
  auto dir = fs::open_beneath(m_roots[job.root].fd.get(), m_options.dir_path(job.dir), true, m_options.cross_fs);
  if (!dir) return dir.error();
  cache.fd = std::move(*dir);
  cache.dir = job.dir;
  cache.root = job.root;
  return 0;
}

ReaderStats ContentReader::run(
    const std::function<void(const std::function<void(FileJob)>& push)>& produce,
    const ConsumerFactory& factory, ReaderProgress* progress) {
  const unsigned threads = reader_threads(m_options);
  util::CpuSlots slots(fs::resolve_threads(m_options.threads));
  JobQueue queue(m_options.queue_capacity, threads);
  std::vector<ReaderStats> per_thread(threads);
  std::vector<std::thread> workers;
  std::exception_ptr failure_ptr;
  std::mutex failure_mutex;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      util::SlotHold slot(slots);
      try {
        slot.acquire();
        AlignedBuffer buffer(m_options.buffer_bytes + k_alignment);
        const std::span<std::byte> span(buffer.data, buffer.size);
        std::unique_ptr<ContentConsumer> consumer = factory(t);
        ReaderStats& stats = per_thread[t];
        ReadContext ctx;
        ctx.calls = &stats.read_calls;
        ctx.reads.slot = &slot;
        uint64_t nowait_dev = ~uint64_t{0}; // the device `ctx.reads.nowait` was learned on
        std::vector<FileJob> batch;
        batch.reserve(k_batch_jobs);
        DirCache cache;
        while (queue.pop_batch(batch, k_batch_jobs, &slot)) {
          uint64_t batch_bytes = 0;
          for (const FileJob& job : batch) {
            ReadResult result;
            if (m_options.skip_unopened && job.dir != k_no_dir && m_options.dir_path &&
                open_dir(job, cache) == 0 && m_options.skip_unopened(job, cache.fd.get())) {
              consumer->begin(job);
              result.outcome = ReadOutcome::skipped;
              consumer->end(job, result);
              stats.files++;
              continue;
            }
            auto fd = open_job(job, cache);
            if (!fd) {
              consumer->begin(job);
              result = failure("open", fd.error());
              if (fd.error() == ENOENT) result = changed();
              consumer->end(job, result);
            } else {
              if (job.dev != nowait_dev) { // RWF_NOWAIT support is the filesystem's
                ctx.reads.nowait = true;
                nowait_dev = job.dev;
              }
              result = read_job(fd->get(), job, span, m_options.partial_bytes, *consumer, ctx);
              if (m_options.after_read && result.outcome == ReadOutcome::ok)
                m_options.after_read(job, fd->get());
            }
            stats.files++;
            stats.bytes += result.bytes_read;
            stats.hole_bytes += result.hole_bytes;
            if (result.outcome == ReadOutcome::changed) stats.changed++;
            if (result.outcome == ReadOutcome::error) stats.errors++;
            batch_bytes += result.bytes_read;
          }
          if (progress) {
            progress->files.fetch_add(batch.size(), std::memory_order_relaxed);
            progress->bytes.fetch_add(batch_bytes, std::memory_order_relaxed);
          }
        }
        stats.waited_reads = ctx.reads.waited;
      } catch (...) {
        slot.release();
        std::lock_guard lock(failure_mutex);
        if (!failure_ptr) failure_ptr = std::current_exception();
        std::vector<FileJob> drain;
        while (queue.pop_batch(drain, k_batch_jobs)) {
        } // keep the producer from blocking forever
      }
    });
  }
  try {
    produce([&](FileJob job) { queue.push(std::move(job)); });
  } catch (...) {
    queue.close();
    for (auto& w : workers) w.join();
    throw;
  }
  queue.close();
  for (auto& w : workers) w.join();
  if (failure_ptr) std::rethrow_exception(failure_ptr);
  ReaderStats total;
  for (const auto& s : per_thread) {
    total.files += s.files;
    total.bytes += s.bytes;
    total.hole_bytes += s.hole_bytes;
    total.read_calls += s.read_calls;
    total.waited_reads += s.waited_reads;
    total.changed += s.changed;
    total.errors += s.errors;
  }
  return total;
}

} // namespace wsd::content
