#pragma once
// The content pipeline (DESIGN.md section 3): reads each file once and feeds every consumer
// the command composed, in that one pass.
//
// A producer hands FileJobs to a bounded queue (back-pressure: producing blocks while
// `queue_capacity` jobs wait); `threads` readers open each file beneath its root
// (openat2, no symlinks), check it is still the inode the walk saw, and read it with large
// preads into a per-thread buffer. Sparse files are read extent by extent with
// SEEK_DATA/SEEK_HOLE: consumers see data() for bytes and hole() for ranges that read as
// zeros without being stored. A small file costs one read: pread(size + 1) also proves it
// did not grow. Every file gets begin(), then data()/hole() covering [0, size) in order (or
// the head and tail ranges for a partial read), then end() with the outcome.

#include "fs/file_stat.hpp"
#include "fs/roots.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace wsd::content {

/// What to read of a file.
enum class ReadScope : uint8_t {
  whole,     // every byte
  head_tail, // the first and last `partial_bytes` (the whole file when it is small)
};

/// FileJob::dir when the job names its file by `rel_path`.
constexpr uint32_t k_no_dir = UINT32_MAX;

struct FileJob {
  uint64_t id = 0;     // caller's index; results are stored by it, so order never matters
  uint32_t root = 0;   // index into the RootSet
  std::string rel_path; // the file below the root, unless `dir` is set
  uint64_t dev = 0;    // identity the walk saw: the file is skipped if these changed
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0; // 0: not checked
  int64_t ctime_ns = 0;
  ReadScope scope = ReadScope::whole;
  /// Set: the file is `name` in directory `dir`, whose path ReaderOptions::dir_path gives
  /// (no path string per job; the reader keeps the directory open for the next job in it).
  uint32_t dir = k_no_dir;
  std::string_view name; // must outlive the run (e.g. a scan::PathArena name)

  /// The job for a file the walk saw: its identity is what the reader will insist on.
  static FileJob of(uint64_t id, uint32_t root, std::string rel_path, const fs::FileStat& st,
                    ReadScope scope = ReadScope::whole) {
    return {id, root, std::move(rel_path), st.dev, st.ino, st.size, st.mtime_ns, st.ctime_ns, scope, k_no_dir, {}};
  }
  /// The job for file `name` in directory `dir` (see ReaderOptions::dir_path).
  static FileJob in_dir(uint64_t id, uint32_t root, uint32_t dir, std::string_view name,
                        const fs::FileStat& st, ReadScope scope = ReadScope::whole) {
    return {id, root, {}, st.dev, st.ino, st.size, st.mtime_ns, st.ctime_ns, scope, dir, name};
  }
};

enum class ReadOutcome : uint8_t {
  ok,
  changed, // different inode, size or times than the walk saw, or changed while read
  error,   // open/read failed; `err` says why
  skipped, // left unopened by ReaderOptions::skip_unopened (not a failure)
};

struct ReadResult {
  ReadOutcome outcome = ReadOutcome::ok;
  int err = 0;            // errno for ReadOutcome::error
  const char* op = "";    // the failed operation for ReadOutcome::error
  uint64_t bytes_read = 0;
  uint64_t hole_bytes = 0;
};

/// Receives one file's content. One instance per reader thread, so no locking inside.
class ContentConsumer {
public:
  virtual ~ContentConsumer() = default;
  virtual void begin(const FileJob& job) = 0;
  /// Bytes at `offset`; successive calls are contiguous and ascending.
  virtual void data(uint64_t offset, std::span<const std::byte> bytes) = 0;
  /// `length` bytes at `offset` that are a hole (read as zeros).
  virtual void hole(uint64_t offset, uint64_t length) = 0;
  /// Called once per job, also when it failed (the consumer then discards what it got).
  virtual void end(const FileJob& job, const ReadResult& result) = 0;
};

/// Makes the consumer for reader thread `thread`.
using ConsumerFactory = std::function<std::unique_ptr<ContentConsumer>(unsigned thread)>;

struct ReaderOptions {
  unsigned threads = 0;             // CPU slots: readers computing at once (0: one per core)
  unsigned io_threads = 0;          // readers (0: max(threads, util::k_io_threads_min)); one
                                    // gives its CPU slot up while a read waits for the disk
  size_t buffer_bytes = 1 << 20;    // per-thread read buffer (multiple of 4096)
  size_t queue_capacity = 4096;     // jobs waiting at most
  uint64_t partial_bytes = 4096;    // head/tail size for ReadScope::head_tail
  bool cross_fs = false;            // allow opening across mounts below the root
  /// The root-relative path of directory `dir`, for jobs with FileJob::dir set.
  std::function<std::string(uint32_t dir)> dir_path;
  /// Set: called on the reader thread with the still-open file after each read that
  /// succeeded, e.g. so dupes takes a file's FIEMAP without opening it again.
  std::function<void(const FileJob& job, int fd)> after_read;
  /// Set: called on the reader thread, for jobs named by directory, with the job's open
  /// directory before the file is opened; true leaves the file unopened and ends the job
  /// with ReadOutcome::skipped (e.g. dedupe needs no bytes of a btrfs inline file).
  std::function<bool(const FileJob& job, int dir_fd)> skip_unopened;
};

/// The root-relative path of a job's file (for messages and catalog rows).
std::string job_path(const FileJob& job, const ReaderOptions& options);

struct ReaderStats {
  uint64_t files = 0;
  uint64_t bytes = 0;       // data bytes read
  uint64_t hole_bytes = 0;
  uint64_t read_calls = 0;
  uint64_t waited_reads = 0; // reads whose bytes were not cached: read with the CPU slot given up
  uint64_t changed = 0;
  uint64_t errors = 0;
};

/// Live counters for a progress line.
struct ReaderProgress {
  std::atomic<uint64_t> files{0};
  std::atomic<uint64_t> bytes{0};
};

/// Reads files for consumers. run() calls `produce(push)`: the producer calls push(job) for
/// each file (blocking while the queue is full) and returns when done.
class ContentReader {
public:
  ContentReader(const fs::RootSet& roots, ReaderOptions options);

  ReaderStats run(const std::function<void(const std::function<void(FileJob)>& push)>& produce,
                  const ConsumerFactory& factory, ReaderProgress* progress = nullptr);

  /// A reader thread's open directory (see open_job).
  struct DirCache;

private:
  util::Result<util::Fd> open_job(const FileJob& job, DirCache& cache) const;
  int open_dir(const FileJob& job, DirCache& cache) const; // 0 or errno

  const fs::RootSet& m_roots;
  ReaderOptions m_options;
};

/// The reader threads `options` resolve to (see ReaderOptions::io_threads).
unsigned reader_threads(const ReaderOptions& options);

/// Reads one already-open regular file through `consumer` on the calling thread (used by
/// the reader threads and by commands that hold the fd themselves, e.g. dedupe).
/// `buffer` must be at least 4096 bytes.
ReadResult read_open_file(int fd, const FileJob& job, std::span<std::byte> buffer,
                          uint64_t partial_bytes, ContentConsumer& consumer,
                          uint64_t* read_calls = nullptr);

} // namespace wsd::content
