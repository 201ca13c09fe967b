#include "verify/pair_compare.hpp"

#include "fs/file_stat.hpp"
#include "fs/safe_open.hpp"
#include "fs/walker.hpp"
#include "util/cpu_slots.hpp"
#include "util/digest_stream.hpp"
#include "util/fd.hpp"
#include "util/pause_point.hpp"
#include "util/sigbus_guard.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <span>
#include <string_view>
#include <sched.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

namespace wsd::verify {

namespace {

// Files at least this many chunks long are a unit of work of their own, so that one large
// file does not hold up the end of the run behind a directory of small ones.
constexpr uint64_t k_own_group_chunks = 8;

uint64_t own_group_bytes(const PairCompareOptions& options) {
  return k_own_group_chunks * std::max<size_t>(options.chunk_bytes, 4096);
}

// A directory's group is closed at this many bytes (and a new one started), so that no
// group is long enough to leave one worker alone at the end of the run.
constexpr uint64_t k_group_bytes = uint64_t{16} << 20;

// A directory's files to compare (or one large file).
struct Group {
  std::string_view parent; // rel path of the directory, "" for the roots
  std::vector<uint32_t> tasks;
  uint64_t bytes = 0;
};

std::string_view parent_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view name_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A read-only private mapping of a whole file; unmapped on destruction.
class Mapping {
public:
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (m_data) ::munmap(m_data, m_size);
  }
  // Maps `size` bytes of `fd`; returns 0 or errno.
  int map(int fd, size_t size, MapPrefault prefault) {
    // A file much larger than this is faulted in as compared (read-ahead), not populated at
    // once: populating reads all of it before the first comparison (wasted when an early
    // byte differs) and, larger than the page cache, evicts its own beginning.
    constexpr size_t k_populate_max = size_t{64} << 20;
    if (prefault == MapPrefault::populate && size > k_populate_max) prefault = MapPrefault::none;
    const int flags = MAP_PRIVATE | (prefault == MapPrefault::populate ? MAP_POPULATE : 0);
    void* p = ::mmap(nullptr, size, PROT_READ, flags, fd, 0);
    if (p == MAP_FAILED) return errno;
    m_data = p;
    m_size = size;
    if (prefault == MapPrefault::willneed) ::madvise(p, size, MADV_WILLNEED);
    if (prefault != MapPrefault::populate) ::madvise(p, size, MADV_SEQUENTIAL);
    return 0;
  }
  const char* data() const { return static_cast<const char*>(m_data); }

private:
  void* m_data = nullptr;
  size_t m_size = 0;
};

class Worker {
public:
  Worker(const fs::RootSet& roots, const PairCompareOptions& options,
         const std::vector<PairTask>& tasks, std::vector<PairResult>& results,
         content::ReaderProgress* progress)
      : m_roots(roots), m_options(options), m_tasks(tasks), m_results(results),
        m_progress(progress), m_chunk(std::max<size_t>(options.chunk_bytes, 4096)),
        m_buf{std::make_unique_for_overwrite<char[]>(m_chunk + 1),
              std::make_unique_for_overwrite<char[]>(m_chunk + 1)},
        m_hash(options.hash == HashWhileComparing::yes), m_own_group_bytes(own_group_bytes(options)) {}

  void run_group(const Group& g) {
    int dir_fds[2] = {-1, -1};
    int dir_err[2] = {0, 0};
    const int root_fds[2] = {m_roots[0].fd.get(), m_roots[m_roots.size() - 1].fd.get()};
    util::pause_point("verify.open_dir", g.parent);
    for (int side = 0; side < 2; ++side) {
      if (g.parent.empty()) {
        dir_fds[side] = root_fds[side]; // files directly in the roots: open relative to them
        continue;
      }
      dir_err[side] = open_dir(side, root_fds[side], g.parent, dir_fds[side]);
    }
    uint64_t files = 0, bytes = 0;
    // Every file of the group is read after this instant (what a catalog row's computed_ns
    // must not exceed).
    const int64_t started_ns = m_hash ? wall_clock_ns() : 0;
    for (const uint32_t t : g.tasks) {
      PairResult& r = m_results[t];
      const PairTask& task = m_tasks[t];
      const fs::FileStat* listed[2] = {&task.src->st, &task.dst->st};
      // The name is the tail of the NUL-terminated rel_path: no copy for openat.
      const std::string& rel = task.src->rel_path;
      const char* const name = rel.c_str() + (rel.size() - name_of(rel).size());
      util::Fd fds[2];
      bool failed = false;
      for (uint8_t side = 0; side < 2 && !failed; ++side) {
        if (dir_err[side] != 0) {
          fail(r, side, "open", dir_err[side]);
          failed = true;
          break;
        }
        auto fd = fs::open_child(dir_fds[side], name, false);
        if (!fd) {
          fail(r, side, "open", fd.error());
          failed = true;
          break;
        }
        fds[side] = std::move(*fd);
        const bool deferred = side == 0 ? task.src->stat_deferred : task.dst->stat_deferred;
        fs::FileStat& now = r.stats[side];
        if (const int err = fs::stat_fd(fds[side].get(), now); err != 0) {
          fail(r, side, "statx", err);
          failed = true;
        } else if (deferred ? !now.is_regular() : !fs::same_file_version(now, *listed[side])) {
          changed(r, side);
          failed = true;
        }
        if (deferred) listed[side] = &now; // the listing had no size or times: this is the version read
        else now = {};
      }
      if (failed) continue;
      if ((task.src->stat_deferred || task.dst->stat_deferred) && settled_unread(listed, r)) continue;
      files += 2;
      bytes += 2 * compare_open(fds, listed, task.src->rel_path, r);
      if (r.hashed) r.read_started_ns = started_ns;
    }
    if (m_progress) {
      m_progress->files.fetch_add(files, std::memory_order_relaxed);
      m_progress->bytes.fetch_add(bytes, std::memory_order_relaxed);
    }
    m_stats.files += files;
    m_stats.bytes += bytes;
  }

  /// The CPU slot this worker's thread holds while it computes (see util/cpu_slots.hpp).
  void hold(util::SlotHold* slot) {
    m_slot = slot;
    for (auto& r : m_reads) r.slot = slot;
  }

  const PairCompareStats& stats() const { return m_stats; }
  uint64_t waited_reads() const { return m_reads[0].waited + m_reads[1].waited; }

private:
  // An open directory of one tree, kept while later groups lie below it.
  struct OpenDir {
    std::string path; // rel path
    util::Fd fd;
  };

  // Opens directory `path` of one side into `fd_out` (owned by the cache); returns 0 or
  // errno. The worker keeps the chain of directories from the root down to its last one
  // open; groups come in tree order, so the next directory is usually below one of them:
  // only the components past it are opened, one at a time (each beneath its parent,
  // following no symlink, crossing no mount unless cross_fs), and stay open for the next.
  int open_dir(int side, int root_fd, std::string_view path, int& fd_out) {
    std::vector<OpenDir>& chain = m_dirs[side]; // chain[k] is the parent of chain[k + 1]
    const auto is_at_or_below = [&](const std::string& base) {
      return path.size() >= base.size() && path.compare(0, base.size(), base) == 0 &&
             (path.size() == base.size() || path[base.size()] == '/');
    };
    while (!chain.empty() && !is_at_or_below(chain.back().path)) chain.pop_back();
    while (chain.empty() || chain.back().path.size() < path.size()) {
      const size_t from = chain.empty() ? 0 : chain.back().path.size() + 1;
      const size_t slash = path.find('/', from);
      const size_t end = slash == std::string_view::npos ? path.size() : slash;
      const int at = chain.empty() ? root_fd : chain.back().fd.get();
      auto d = fs::open_beneath(at, path.substr(from, end - from), true, m_options.cross_fs);
      if (!d) return d.error();
      chain.push_back({std::string(path.substr(0, end)), std::move(*d)});
    }
    fd_out = chain.back().fd.get();
    return 0;
  }

  // A pair whose sizes were unknown until now: true when it is settled without a read
  // (sizes differ, nothing to read, one inode) or left for later (large: a unit of work
  // of its own; sparse: the content pipeline skips its holes).
  bool settled_unread(const fs::FileStat* const (&st)[2], PairResult& r) const {
    const uint64_t size = st[0]->size;
    if (size != st[1]->size) r.outcome = PairOutcome::size_differs;
    else if (size == 0 || (st[0]->dev == st[1]->dev && st[0]->ino == st[1]->ino)) r.outcome = PairOutcome::same;
    else if (size >= m_own_group_bytes ||
             (size >= k_sparse_pipeline_min &&
              (st[0]->allocated_bytes() < size || st[1]->allocated_bytes() < size)))
      r.outcome = PairOutcome::later;
    else return false;
    return true;
  }

  static void fail(PairResult& r, uint8_t side, const char* op, int err) {
    if (err == ENOENT) return changed(r, side); // vanished since the listing
    r.outcome = PairOutcome::error;
    r.side = side;
    r.op = op;
    r.err = err;
  }

  static void changed(PairResult& r, uint8_t side) {
    r.outcome = PairOutcome::changed;
    r.side = side;
  }

  // Reads both open files and compares them; returns the bytes read per side.
  uint64_t compare_open(const util::Fd (&fds)[2], const fs::FileStat* const (&listed)[2],
                        std::string_view rel_path, PairResult& r) {
    const uint64_t size = listed[0]->size;
    if (!m_hash && size >= k_sparse_pipeline_min &&
        (listed[0]->allocated_bytes() < size || listed[1]->allocated_bytes() < size)) {
      uint64_t read = 0;
      if (compare_by_data_map(fds, listed, r, read)) return read;
      // The filesystem cannot tell its holes: read everything.
    }
    if (m_options.mmap_min_bytes != 0 && size >= m_options.mmap_min_bytes && size <= SIZE_MAX) {
      uint64_t done = 0;
      // Pages of a mapping are read as they are faulted in, with no read call to give the
      // slot up around: a pair whose first page is not cached is compared without the slot
      // (its memcmp mostly waits on the disk).
      const bool cold = m_slot && (!util::cached_at(fds[0].get(), 0, m_reads[0]) ||
                                   !util::cached_at(fds[1].get(), 0, m_reads[1]));
      if (cold) {
        ++m_reads[0].waited;
        m_slot->release();
      }
      const bool mapped = compare_mapped(fds, size, rel_path, r, done);
      if (cold) m_slot->acquire();
      if (mapped) {
        if (r.outcome == PairOutcome::different) confirm_difference(fds, listed, r);
        if (r.outcome != PairOutcome::same || done != size) return done;
        return check_unchanged(fds, listed, r) ? size : done;
      }
      // Could not map (a filesystem without mmap): read it instead.
    }
    if (size < m_chunk) {
      // One read of size + 1 per side also proves the file did not grow; a write during it
      // changes mtime/ctime, which nothing here keeps, so no second statx (as the content
      // reader does for small files).
      for (uint8_t side = 0; side < 2; ++side) {
        const ssize_t n =
            util::pread_yielding(fds[side].get(), m_buf[side].get(), static_cast<size_t>(size) + 1,
                                 0, size, m_reads[side]);
        if (n < 0) {
          fail(r, side, "read", errno);
          return 0;
        }
        if (static_cast<uint64_t>(n) != size) {
          changed(r, side);
          return 0;
        }
      }
      if (std::memcmp(m_buf[0].get(), m_buf[1].get(), static_cast<size_t>(size)) != 0)
        r.outcome = PairOutcome::different;
      if (m_hash) {
        r.digests[0] = content::hash_bytes(std::as_bytes(std::span(m_buf[0].get(), static_cast<size_t>(size))));
        r.digests[1] = r.outcome == PairOutcome::different
                           ? content::hash_bytes(std::as_bytes(std::span(m_buf[1].get(), static_cast<size_t>(size))))
                           : r.digests[0]; // the same bytes
        r.hashed = true;
      }
      return size;
    }
    for (const auto& fd : fds) ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    if (m_hash) m_state.reset();
    uint64_t off = 0;
    for (; off < size; off += m_chunk) {
      const auto want = static_cast<size_t>(std::min<uint64_t>(m_chunk, size - off));
      if (!read_both(fds, want, off, r)) return off;
      if (std::memcmp(m_buf[0].get(), m_buf[1].get(), want) != 0) {
        // The answer is known; the rest need not be read (so no digests either).
        r.outcome = PairOutcome::different;
        confirm_difference(fds, listed, r);
        return off + want;
      }
      if (m_hash) // equal chunks: hash one, both sides have the same bytes
        m_state.update(m_buf[0].get(), want);
    }
    return check_unchanged(fds, listed, r) ? size : off;
  }

  // Reads `want` bytes at `at` of both files into m_buf; false with `r` set (an error, or a
  // file shorter than that now: changed) otherwise.
  bool read_both(const util::Fd (&fds)[2], size_t want, uint64_t at, PairResult& r) {
    for (uint8_t side = 0; side < 2; ++side) {
      const ssize_t n = util::pread_yielding(fds[side].get(), m_buf[side].get(), want, at,
                                             at + want, m_reads[side]);
      if (n < 0) {
        fail(r, side, "read", errno);
        return false;
      }
      if (static_cast<size_t>(n) != want) {
        changed(r, side);
        return false;
      }
    }
    return true;
  }

  // A sparse pair, not hashed: only regions where either file has data are read and
  // compared (a hole on one side reads as zeros); a region that is a hole in both is equal
  // unread. `read` gets the bytes read per side. False, having read nothing, when the
  // filesystem cannot tell holes (SEEK_DATA unsupported).
  bool compare_by_data_map(const util::Fd (&fds)[2], const fs::FileStat* const (&listed)[2],
                           PairResult& r, uint64_t& read) {
    const uint64_t size = listed[0]->size;
    read = 0;
    for (uint64_t off = 0; off < size;) {
      uint64_t next[2]; // each side's next data at or after `off` (size: none)
      for (uint8_t side = 0; side < 2; ++side) {
        const off_t d = ::lseek(fds[side].get(), static_cast<off_t>(off), SEEK_DATA);
        if (d >= 0) {
          next[side] = std::min<uint64_t>(static_cast<uint64_t>(d), size);
        } else if (errno == ENXIO) {
          next[side] = size;
        } else if (off == 0 && (errno == EINVAL || errno == EOPNOTSUPP)) {
          return false;
        } else {
          fail(r, side, "lseek", errno);
          return true;
        }
      }
      const uint64_t start = std::min(next[0], next[1]);
      if (start >= size) break;
      uint64_t end = size; // [start, end): data on one side at least, one kind on each
      for (uint8_t side = 0; side < 2; ++side) {
        if (next[side] > start) {
          end = std::min(end, next[side]); // a hole on this side until then
          continue;
        }
        const off_t h = ::lseek(fds[side].get(), static_cast<off_t>(start), SEEK_HOLE);
        if (h < 0) {
          fail(r, side, "lseek", errno);
          return true;
        }
        end = std::min<uint64_t>(end, static_cast<uint64_t>(h));
      }
      for (uint64_t at = start; at < end; at += m_chunk) {
        const auto want = static_cast<size_t>(std::min<uint64_t>(m_chunk, end - at));
        if (!read_both(fds, want, at, r)) return true;
        read += want;
        if (std::memcmp(m_buf[0].get(), m_buf[1].get(), want) != 0) {
          r.outcome = PairOutcome::different;
          confirm_difference(fds, listed, r);
          return true;
        }
      }
      off = end;
    }
    check_unchanged(fds, listed, r);
    return true;
  }

  // Maps both files and compares the mappings chunk by chunk (hashing equal chunks when
  // m_hash); `done` gets the bytes compared per side. Returns false, having read nothing,
  // when a file cannot be mapped. A SIGBUS from either mapping (the file was truncated
  // meanwhile) ends the comparison as "changed", never as a crash or a match.
  bool compare_mapped(const util::Fd (&fds)[2], uint64_t size64, std::string_view rel_path,
                      PairResult& r, uint64_t& done) {
    if (!util::install_sigbus_handler()) return false; // truncation would crash: read instead
    const auto size = static_cast<size_t>(size64);
    Mapping maps[2];
    for (int side = 0; side < 2; ++side)
      if (maps[side].map(fds[side].get(), size, m_options.prefault) != 0) return false;
    util::pause_point("verify.mapped", rel_path);
    if (m_hash) m_state.reset();
    const char* const a = maps[0].data();
    const char* const b = maps[1].data();
    const size_t step = m_chunk;
    size_t off = 0;
    bool differ = false;
    const bool hash = m_hash;
    util::DigestStream& state = m_state;
    auto compare = [&] {
      for (; off < size; off += step) {
        const size_t want = std::min(step, size - off);
        if (std::memcmp(a + off, b + off, want) != 0) {
          differ = true; // the answer is known: the rest need not be read
          off += want;
          return;
        }
        if (hash) state.update(a + off, want); // both sides have these bytes
      }
    };
    const util::GuardedRange ranges[2] = {{a, size}, {b, size}};
    const int faulted = util::run_sigbus_guarded(ranges, compare);
    done = std::min<uint64_t>(off, size);
    if (faulted >= 0) {
      changed(r, static_cast<uint8_t>(faulted));
      return true;
    }
    if (differ) {
      r.outcome = PairOutcome::different;
      return true;
    }
    if (m_hash) {
      r.digests[0] = r.digests[1] = m_state.digest();
      r.hashed = true;
    }
    return true;
  }

  // A difference counts only if neither file changed since the listing (a file truncated
  // inside its last mapped page reads zeros there, not SIGBUS; one rewritten while read
  // mixes old and new bytes): otherwise `r` says which side changed.
  void confirm_difference(const util::Fd (&fds)[2], const fs::FileStat* const (&listed)[2],
                          PairResult& r) {
    for (uint8_t side = 0; side < 2; ++side) {
      fs::FileStat now;
      if (const int err = fs::stat_fd(fds[side].get(), now); err != 0) return fail(r, side, "statx", err);
      if (!fs::same_file_version(now, *listed[side])) return changed(r, side);
    }
  }

  // After a full read: neither file grew nor changed since the listing (else `r` says
  // which changed, and any digests are dropped).
  bool check_unchanged(const util::Fd (&fds)[2], const fs::FileStat* const (&listed)[2],
                       PairResult& r) {
    const uint64_t size = listed[0]->size;
    for (uint8_t side = 0; side < 2; ++side) {
      char extra = 0;
      fs::FileStat after;
      bool ok = true;
      if (util::pread_yielding(fds[side].get(), &extra, 1, size, size, m_reads[side]) != 0) {
        changed(r, side);
        ok = false;
      } else if (const int err = fs::stat_fd(fds[side].get(), after); err != 0) {
        fail(r, side, "statx", err);
        ok = false;
      } else if (!fs::same_file_version(after, *listed[side])) {
        changed(r, side);
        ok = false;
      }
      if (!ok) {
        r.hashed = false;
        return false;
      }
    }
    if (m_hash && !r.hashed) {
      r.digests[0] = r.digests[1] = m_state.digest();
      r.hashed = true;
    }
    return true;
  }

  const fs::RootSet& m_roots;
  const PairCompareOptions& m_options;
  const std::vector<PairTask>& m_tasks;
  std::vector<PairResult>& m_results;
  content::ReaderProgress* m_progress;
  size_t m_chunk;
  std::unique_ptr<char[]> m_buf[2];
  bool m_hash;
  uint64_t m_own_group_bytes;
  util::DigestStream m_state; // large files: chunks are hashed only while both sides agree
  std::vector<OpenDir> m_dirs[2];
  PairCompareStats m_stats;
  util::SlotHold* m_slot = nullptr;
  util::SlotReads m_reads[2]; // per side: a filesystem that refuses RWF_NOWAIT is one side's
};

} // namespace

PairCompareStats compare_pairs(const fs::RootSet& roots, const std::vector<PairTask>& tasks,
                               const PairCompareOptions& options, std::vector<PairResult>& results,
                               content::ReaderProgress* progress) {
  results.assign(tasks.size(), PairResult{});
  PairCompareStats total;
  if (tasks.empty()) return total;

  // Group by directory (the same in both trees); a large file is a group of its own.
  const uint64_t own_bytes = own_group_bytes(options);
  std::vector<Group> groups;
  std::unordered_map<std::string_view, size_t> group_of;
  std::string_view last_parent;
  size_t last_group = SIZE_MAX; // tasks come in path order: most follow a sibling
  for (size_t t = 0; t < tasks.size(); ++t) {
    const std::string_view parent = parent_of(tasks[t].src->rel_path);
    const uint64_t size = tasks[t].src->st.size;
    size_t g = 0;
    if (size >= own_bytes) {
      g = groups.size();
      groups.push_back({parent, {}, 0});
    } else if (last_group != SIZE_MAX && parent == last_parent && groups[last_group].bytes < k_group_bytes) {
      g = last_group;
    } else {
      auto [it, fresh] = group_of.try_emplace(parent, groups.size());
      if (!fresh && groups[it->second].bytes >= k_group_bytes) {
        it->second = groups.size(); // full: the directory's next files start another group
        fresh = true;
      }
      if (fresh) groups.push_back({parent, {}, 0});
      g = it->second;
      last_parent = parent; // the directory's current group, as group_of holds it
      last_group = g;
    }
    groups[g].tasks.push_back(static_cast<uint32_t>(t));
    groups[g].bytes += size + 4096; // an open costs about as much as reading a page
  }
  // Groups over k_group_bytes (large files, full directories) first, largest first; then
  // the others in tree order (tasks come in path order), so each worker's open ancestors
  // serve its next group. Those are short (<= k_group_bytes), so both workers finish together.
  std::stable_partition(groups.begin(), groups.end(),
                        [](const Group& g) { return g.bytes > k_group_bytes; });
  const auto first_dir_group =
      std::find_if(groups.begin(), groups.end(), [](const Group& g) { return g.bytes <= k_group_bytes; });
  std::stable_sort(groups.begin(), first_dir_group,
                   [](const Group& a, const Group& b) { return a.bytes > b.bytes; });

  // `slots` threads compute at once; the others wait on the disk (util/cpu_slots.hpp).
  const auto most = static_cast<unsigned>(std::min<size_t>(groups.size(), 256));
  const unsigned slots =
      std::max(1u, std::min<unsigned>(fs::resolve_threads(options.threads), most));
  const unsigned threads =
      std::max(1u, std::min(util::io_threads(options.io_threads, slots), most));
  util::CpuSlots cpu(slots);
  std::atomic<size_t> next{0};
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < threads; ++i)
    workers.push_back(std::make_unique<Worker>(roots, options, tasks, results, progress));
  const auto work = [&](Worker& w) {
    for (size_t g = next.fetch_add(1, std::memory_order_relaxed); g < groups.size();
         g = next.fetch_add(1, std::memory_order_relaxed))
      w.run_group(groups[g]);
  };
  {
    // Each worker is a thread of its own with a private copy of the fd table
    // (unshare(CLONE_FILES)): its opens and closes then take no lock another worker holds,
    // and fd lookups skip the reference counts a shared table needs. Its directory and file
    // fds are its own anyway; the copy is closed when the thread ends.
    std::vector<std::jthread> pool;
    for (unsigned i = 0; i < threads; ++i)
      pool.emplace_back([&, i] {
        if (threads > 1) ::unshare(CLONE_FILES);
        util::SlotHold slot(cpu);
        slot.acquire();
        workers[i]->hold(&slot);
        work(*workers[i]);
        workers[i]->hold(nullptr);
      });
  }
  for (const auto& w : workers) {
    total.files += w->stats().files;
    total.bytes += w->stats().bytes;
    total.waited_reads += w->waited_reads();
  }
  return total;
}

} // namespace wsd::verify
