#include "dupes/duplicate_finder.hpp"

#include "content/cached_hashes.hpp"
#include "dupes/listed_opener.hpp"
#include "catalog/result_memo.hpp"
#include "fs/btrfs_extents.hpp"
#include "fs/btrfs_inline.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <linux/fiemap.h>
#include <map>
#include <memory>
#include <optional>
#include <malloc.h>
#include <thread>

namespace wsd::dupes {

namespace {

using Clock = std::chrono::steady_clock;

// Frees a vector's buffer (`v = {}` would pick the initializer-list assignment, which keeps
// the capacity).
template <typename V>
void release(V& v) {
  V().swap(v);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What the read pass learnt of a candidate's extents (DuplicateSet::member_hints).
constexpr uint8_t k_extents_unknown = 0; // not looked at (not read: a catalog or memo hit)
constexpr uint8_t k_extents_private = 1; // no extent flagged SHARED: shares storage with nothing
constexpr uint8_t k_extents_inline = 2;  // stored inline in metadata
constexpr uint8_t k_extents_shared = 3;  // read, and shares something (or FIEMAP failed): FIEMAP again

// The hint for the open file `fd`, from its extents' flags.
uint8_t extent_hint(int fd) {
  const auto flags = fs::read_extent_flags(fd, fs::SyncFirst::yes); // files may be freshly written
  if (!flags) return k_extents_shared; // e.g. no FIEMAP: the check says so
  if (flags->any & FIEMAP_EXTENT_DATA_INLINE) return k_extents_inline;
  if (flags->any & (FIEMAP_EXTENT_SHARED | FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC)) return k_extents_shared;
  return k_extents_private;
}

struct HashPass {
  std::vector<content::Digest128> digests;
  std::vector<bool> ok;
  uint64_t bytes = 0;
  uint64_t waited_reads = 0;
  uint64_t skipped = 0; // left unopened (ReaderOptions::skip_unopened)
};

// Hashes files[which[k]] with `scope_of(size)`, through the content pipeline. `which` should
// be in list order: consecutive jobs then share directories, which the reader opens once.
template <typename ScopeOf>
HashPass hash_files(const fs::RootSet& roots, const scan::FileList& list,
                    const std::vector<uint32_t>& which, const FinderOptions& options,
                    ScopeOf scope_of, std::vector<FileProblem>& problems,
                    FinderProgress* progress, uint64_t& catalog_hits,
                    std::function<void(const content::FileJob&, int)> after_read = {},
                    std::function<bool(const content::FileJob&, int)> skip_unopened = {}) {
  content::ReaderOptions ro;
  ro.after_read = std::move(after_read);
  ro.skip_unopened = std::move(skip_unopened);
  ro.threads = options.threads;
  ro.partial_bytes = options.partial_bytes;
  ro.cross_fs = options.cross_fs;
  ro.dir_path = [&list](uint32_t dir) { return list.paths.dir_path(dir); };
  content::DigestTable table(which.size());
  std::vector<content::JobFailure> failures;
  const content::CachedHashStats cached = content::hash_jobs_with_catalog(
      roots, which.size(),
      [&](size_t k) {
        const scan::FileEntry& f = list.files[which[k]];
        return content::FileJob::in_dir(k, f.root, f.dir, list.paths.name(f.name), f.st,
                                        scope_of(f.st.size));
      },
      ro, options.catalog, table, &failures, progress);
  catalog_hits += cached.catalog_hits;
  HashPass pass;
  pass.digests = std::move(table.digests);
  pass.ok.resize(which.size());
  pass.bytes = cached.reader.bytes;
  pass.waited_reads = cached.reader.waited_reads;
  for (size_t k = 0; k < which.size(); ++k) {
    pass.ok[k] = table.outcomes[k] == content::ReadOutcome::ok;
    pass.skipped += table.outcomes[k] == content::ReadOutcome::skipped;
  }
  for (const content::JobFailure& f : failures) {
    const content::ReadResult& r = f.result;
    problems.push_back({which[f.index], r.outcome == content::ReadOutcome::changed ? "read" : r.op,
                        r.outcome == content::ReadOutcome::changed ? 0 : r.err});
  }
  return pass;
}

// Invariant 9: an extent flagged FIEMAP_EXTENT_SHARED whose physical start no other member
// maps is referenced from outside the group (a btrfs snapshot holding the files, or a reflink
// copy elsewhere): sharing that member leaves the extent allocated. Records such bytes per
// member that would otherwise be freed (cluster heads after the first, not inline).
// `domains`: each member's address space (members of other filesystems never map "here").
void note_held_elsewhere(const DuplicateGroup& group, const uint32_t* shares, const uint8_t* inline_extent,
                         const std::vector<std::vector<fs::Extent>>& extents, const std::vector<uint64_t>& domains,
                         std::vector<std::pair<uint32_t, uint64_t>>& held_out) {
  std::vector<std::pair<uint64_t, uint64_t>> starts; // (domain, physical start) of every member's extents
  for (size_t m = 0; m < extents.size(); ++m)
    for (const fs::Extent& e : extents[m])
      if (e.physical != 0) starts.emplace_back(domains[m], e.physical);
  std::sort(starts.begin(), starts.end());
  for (uint32_t m = 1; m < extents.size(); ++m) {
    if (shares[m] != m || inline_extent[m] != 0) continue;
    uint64_t held = 0;
    for (const fs::Extent& e : extents[m]) {
      if (!fs::is_shared(e) || e.physical == 0) continue;
      const auto range = std::equal_range(starts.begin(), starts.end(), std::make_pair(domains[m], e.physical));
      if (range.second - range.first == 1) held += e.length; // only this member maps it here
    }
    if (held > 0) held_out.emplace_back(group.files[m], held);
  }
}

// Asks the btrfs subvolume tree what FIEMAP would otherwise tell: whether a small file is
// stored inline (at a third of FIEMAP's cost), and for groups nobody read this run, each
// member's extent map (maps_from_tree). Shared by the threads of one pass until a search is
// refused (EPERM: no CAP_SYS_ADMIN; then every caller falls back to FIEMAP). With a catalog it also remembers
// the answer "inline" (rows of kind k_inline_kind, no value): btrfs chooses inline storage
// when it writes a small file back and leaves it until the file is written or truncated
// again, which changes its ctime, so a fresh row (catalog::row_is_fresh) answers without a
// search -- a dedupe re-run otherwise asks again about each of the corpus's 320k inline
// files. Only "inline" is stored: "not inline" may be a file not written back yet. A stale
// row could only keep a file from being shared, never change one.
class TreeProbe {
public:
  /// `asked`: the files (FileList indexes) the pass may ask about, whose rows are loaded.
  TreeProbe(const fs::RootSet& roots, const std::vector<fs::FsKind>& kinds, const scan::FileList& list,
              catalog::Catalog* catalog, std::span<const uint32_t> asked)
      : m_roots(roots), m_kinds(kinds), m_list(list), m_catalog(catalog) {
    m_path_options.dir_path = [&list](uint32_t dir) { return list.paths.dir_path(dir); };
    if (m_catalog == nullptr || std::find(kinds.begin(), kinds.end(), fs::FsKind::btrfs) == kinds.end()) return;
    m_ids.emplace(roots);
    std::vector<std::pair<uint64_t, uint64_t>> keys;
    for (uint32_t file : asked) {
      const scan::FileEntry& f = list.files[file];
      if (applies(f.root, f.st.dev, f.st.size)) keys.emplace_back(m_ids->of(f.st.dev), f.st.ino);
    }
    if (keys.empty()) return;
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    m_rows = m_catalog->load(std::string(k_inline_kind), "", &keys);
  }

  /// Worth asking: a small file on a btrfs root, of the root's own subvolume (the question
  /// may go through the file's directory, and an inode number means nothing in another tree).
  bool applies(uint32_t root, uint64_t dev, uint64_t size) const {
    return m_kinds[root] == fs::FsKind::btrfs && size <= fs::k_btrfs_max_inline && dev == m_roots[root].st.dev &&
           m_allowed.load(std::memory_order_relaxed);
  }

  /// Whether every member of `group` may be mapped from the tree (btrfs_tree_extents): none
  /// was read with a SHARED extent this run (those are compared by FIEMAP, as their hint
  /// was), all are on the root's own subvolume, and none changed in the last minute, so no
  /// data of theirs is still waiting for writeback (the tree has no extent for it yet).
  bool maps_from_tree(const DuplicateGroup& group, const uint8_t* hints, int64_t now_ns) const {
    if (!m_tree_allowed.load(std::memory_order_relaxed)) return false;
    for (size_t m = 0; m < group.files.size(); ++m) {
      const scan::FileEntry& f = m_list.files[group.files[m]];
      if (m_kinds[f.root] != fs::FsKind::btrfs || f.st.dev != m_roots[f.root].st.dev) return false;
      if (hints != nullptr && hints[m] == k_extents_shared) return false;
      if (std::max(f.st.mtime_ns, f.st.ctime_ns) > now_ns - m_written_back_ns) return false;
    }
    return true;
  }

  /// The extents of list file `file` from the tree (asked through its root, on the same
  /// subvolume); nullopt when the search failed (after EPERM, maps_from_tree says no).
  std::optional<std::vector<fs::Extent>> tree_extents(uint32_t file) {
    const scan::FileEntry& f = m_list.files[file];
    auto ext = fs::btrfs_tree_extents(m_roots[f.root].fd.get(), f.st.ino);
    if (!ext) {
      if (ext.error() == EPERM) m_tree_allowed.store(false, std::memory_order_relaxed);
      return std::nullopt;
    }
    return std::move(*ext);
  }

  /// True when a fresh catalog row says list file `file` is inline (no search needed).
  bool known_inline(uint32_t file) const {
    if (!m_ids) return false;
    const scan::FileEntry& f = m_list.files[file];
    return m_rows.find(catalog::FileIdentity::of(m_ids->of(f.st.dev), f.st)).has_value();
  }

  /// True only when a fresh row or the tree says so for certain; `fd` is list file `file`
  /// or its directory. A "yes" from the tree is stored in the catalog.
  bool is_inline(int fd, uint32_t file) {
    if (known_inline(file)) return true;
    const scan::FileEntry& f = m_list.files[file];
    const int64_t asked_ns = catalog::wall_clock_ns(); // the row's answer dates from before the search
    const auto in_tree = fs::btrfs_is_inline(fd, f.st.ino, f.st.size);
    if (!in_tree && in_tree.error() == EPERM) m_allowed.store(false, std::memory_order_relaxed);
    if (!in_tree || !*in_tree) return false;
    if (m_ids) {
      catalog::Row row;
      row.id = catalog::FileIdentity::of(m_ids->of(f.st.dev), f.st);
      row.computed_ns = asked_ns;
      m_catalog->put(std::string(k_inline_kind), "", std::move(row), stored_path(file));
    }
    return true;
  }

private:
  // The path a row of list file `file` stores, its directory's part built once per run of
  // files in one directory by each thread (a first dedupe stores ~320k such rows).
  std::string_view stored_path(uint32_t file) {
    thread_local uint64_t owner = 0; // the probe whose paths `paths` builds (ids, not addresses: never reused)
    thread_local std::optional<content::StoredPaths> paths;
    if (owner != m_id) {
      paths.emplace(*m_ids, m_path_options);
      owner = m_id;
    }
    const scan::FileEntry& f = m_list.files[file];
    return paths->of(content::FileJob::in_dir(file, f.root, f.dir, m_list.paths.name(f.name), f.st));
  }

  static uint64_t next_id() {
    static std::atomic<uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
  }

  const uint64_t m_id = next_id();
  const fs::RootSet& m_roots;
  const std::vector<fs::FsKind>& m_kinds;
  const scan::FileList& m_list;
  content::ReaderOptions m_path_options; // dir_path only, for StoredPaths
  catalog::Catalog* m_catalog;
  std::optional<catalog::FilesystemIds> m_ids; // set when rows are read and written
  catalog::Catalog::Snapshot m_rows;
  std::atomic<bool> m_allowed{true};
  std::atomic<bool> m_tree_allowed{true};
  int64_t m_written_back_ns = written_back_ns();

  // How long after its last change a file's data is taken as written back: dirty data is
  // written back within 30 s by default (vm.dirty_expire_centisecs), so twice that, unless
  // $WSDEDUP_WRITEBACK_SECONDS says otherwise (a host with a longer expiry; tests).
  static int64_t written_back_ns() {
    int64_t seconds = 60;
    if (const char* env = std::getenv("WSDEDUP_WRITEBACK_SECONDS"); env != nullptr && *env != '\0') {
      char* end = nullptr;
      const long long v = std::strtoll(env, &end, 10);
      if (*end == '\0' && v >= 0 && v < 1'000'000) seconds = v;
    }
    return seconds * 1'000'000'000;
  }
};

// Marks members that already share physical extents with an earlier member: `shares` and
// `inline_extent` are the group's writable per-member arrays (DuplicateSet's storage).
// Members without a hint (their hash came from the catalog or a memo: not read) are asked
// `probe` through their directory before being opened for FIEMAP. A group that
// probe.maps_from_tree is mapped from the subvolume tree instead (a re-run over a deduplicated
// tree: no open, no back-reference walk); only its members left sharing with no earlier one
// are then asked FIEMAP, for the SHARED flags that say what else holds their extents.
void check_sharing(const fs::RootSet& roots, const scan::FileList& list, ListedOpener& opener,
                   const DuplicateGroup& group, const uint8_t* hints, uint32_t* shares,
                   uint8_t* inline_extent, std::vector<FileProblem>& problems,
                   std::vector<std::string>& notes, std::vector<std::pair<uint32_t, uint64_t>>& held,
                   uint64_t& checks, TreeProbe& probe, int64_t now_ns, const std::vector<uint64_t>& storage) {
  std::vector<std::vector<fs::Extent>> extents(group.files.size());
  // Each member's address space: its root's storage id, or (another device: --cross-fs, or
  // an id unknown) one of its own. Physical addresses compare only within one.
  std::vector<uint64_t> domains(group.files.size());
  for (size_t m = 0; m < group.files.size(); ++m) {
    const scan::FileEntry& f = list.files[group.files[m]];
    const bool on_root = f.st.dev == roots[f.root].st.dev && storage[f.root] != 0;
    domains[m] = on_root ? storage[f.root] : ((uint64_t{1} << 63) | f.st.dev);
  }
  const bool by_tree = probe.maps_from_tree(group, hints, now_ns);
  std::vector<uint8_t> from_tree(by_tree ? group.files.size() : 0, 0);
  // FIEMAP of member m (SHARED flags and all); false when it failed (recorded) or the
  // filesystem has none (`stop`: noted, nothing more to learn for the group).
  bool stop = false;
  auto fiemap = [&](size_t m) {
    const scan::FileEntry& f = list.files[group.files[m]];
    auto fd = opener.open(group.files[m]);
    if (!fd) {
      problems.push_back({group.files[m], "open", fd.error()});
      return false;
    }
    auto ext = fs::read_extents(fd->get(), fs::SyncFirst::yes); // files may be freshly written
    checks++;
    if (!ext) {
      if (ext.error() == EOPNOTSUPP || ext.error() == ENOTTY) {
        const std::string note = fmt::format(
            "{}: no FIEMAP on this filesystem, so storage already shared between files "
            "cannot be told apart from savings",
            roots.display_path(f.root, ""));
        if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
        stop = true;
        return false;
      }
      problems.push_back({group.files[m], "fiemap", ext.error()});
      return false;
    }
    inline_extent[m] = fs::has_inline_extent(*ext) ? 1 : 0;
    extents[m] = std::move(*ext);
    return true;
  };
  for (size_t m = 0; m < group.files.size(); ++m) {
    // Known from the read (a member sharing nothing needs no list: it cannot match another).
    if (hints != nullptr && hints[m] != k_extents_unknown && hints[m] != k_extents_shared) {
      inline_extent[m] = hints[m] == k_extents_inline ? 1 : 0;
      checks++;
      continue;
    }
    const scan::FileEntry& f = list.files[group.files[m]];
    if (probe.applies(f.root, f.st.dev, f.st.size)) {
      bool in_tree = probe.known_inline(group.files[m]);
      if (!in_tree) {
        auto dir = opener.directory_of(group.files[m]);
        in_tree = dir && probe.is_inline(*dir, group.files[m]);
      }
      if (in_tree) { // no extent another member could share
        inline_extent[m] = 1;
        checks++;
        continue;
      }
    }
    if (by_tree) {
      if (auto ext = probe.tree_extents(group.files[m])) {
        inline_extent[m] = fs::has_inline_extent(*ext) ? 1 : 0;
        extents[m] = std::move(*ext);
        from_tree[m] = 1;
        checks++;
        continue;
      }
    }
    if (!fiemap(m) && stop) return;
  }
  for (size_t m = 1; m < group.files.size(); ++m) {
    for (size_t k = 0; k < m; ++k) {
      if (shares[k] != k || domains[k] != domains[m]) continue; // cluster heads of the same filesystem only
      if (fs::same_physical_extents(extents[m], extents[k])) {
        shares[m] = static_cast<uint32_t>(k);
        break;
      }
    }
  }
  // The tree knows no SHARED flag: members that would free storage get FIEMAP's map.
  for (size_t m = 1; m < from_tree.size(); ++m) {
    if (from_tree[m] == 0 || shares[m] != m || inline_extent[m] != 0) continue;
    if (!fiemap(m) && stop) return;
  }
  note_held_elsewhere(group, shares, inline_extent, extents, domains, held);
}

} // namespace

DuplicateSet find_duplicates(const fs::RootSet& roots, const scan::FileList& list,
                             const FinderOptions& options, FinderProgress* progress) {
  DuplicateSet out;
  const auto& files = list.files;
  const uint64_t min_size = std::max<uint64_t>(options.min_size, 1);
  auto size_of = [&](uint32_t file) { return files[file].st.size; };

  // Memory (DESIGN.md section 6): besides the FileList, the passes hold one list-order array
  // of candidates (4 bytes each), one array of candidate positions kept in (size, digest)
  // order that finally becomes the groups' member array (4 bytes), and the digests (16 bytes
  // + the pipeline's outcome byte). Sizes are read from the FileList, never copied.

  // 1. Size groups, one member per inode (overlapping roots can list an inode twice).
  std::vector<uint32_t> keys;
  {
    size_t n = 0;
    for (uint32_t i = 0; i < files.size(); ++i) n += files[i].st.size >= min_size;
    keys.reserve(n);
  }
  for (uint32_t i = 0; i < files.size(); ++i)
    if (files[i].st.size >= min_size) keys.push_back(i);
  std::sort(keys.begin(), keys.end(), [&](uint32_t a, uint32_t b) {
    const auto& x = files[a].st;
    const auto& y = files[b].st;
    if (x.size != y.size) return x.size > y.size;
    if (x.dev != y.dev) return x.dev < y.dev;
    if (x.ino != y.ino) return x.ino < y.ino;
    return a < b;
  });
  keys.erase(std::unique(keys.begin(), keys.end(),
                         [&](uint32_t a, uint32_t b) {
                           return files[a].st.dev == files[b].st.dev && files[a].st.ino == files[b].st.ino;
                         }),
             keys.end());
  // Keeps the runs (of equal size, or of equal size and digest) with two members or more,
  // in place; `same(a, b)` compares neighbours.
  auto keep_collisions = [](std::vector<uint32_t>& v, auto same) {
    size_t w = 0;
    for (size_t i = 0; i < v.size();) {
      size_t j = i + 1;
      while (j < v.size() && same(v[i], v[j])) ++j;
      if (j - i >= 2)
        for (size_t k = i; k < j; ++k) v[w++] = v[k];
      i = j;
    }
    v.resize(w);
  };
  keep_collisions(keys, [&](uint32_t a, uint32_t b) { return size_of(a) == size_of(b); });
  std::vector<uint32_t> candidates(keys.begin(), keys.end()); // FileList indexes, list order
  std::sort(candidates.begin(), candidates.end()); // read in list (directory) order
  out.stats.candidates = candidates.size();
  // keys: candidate positions (not file indexes) from now on, still in size order
  for (uint32_t& k : keys)
    k = static_cast<uint32_t>(std::lower_bound(candidates.begin(), candidates.end(), k) - candidates.begin());
  auto csize = [&](uint32_t pos) { return files[candidates[pos]].st.size; };

  // 2. Partial hash (small files: the whole file, which is then final). Where extents will
  // be checked, the reader also takes each file's FIEMAP flags while it has the file open:
  // most members then need no second open (btrfs: most are small, inline files).
  std::vector<uint8_t> hints;
  std::vector<uint8_t> can_share; // per root
  std::vector<fs::FsKind> kinds;  // per root
  for (const auto& r : roots.roots()) {
    kinds.push_back(fs::fs_kind(r.fd.get()));
    can_share.push_back(fs::fs_can_share_extents(kinds.back()) ? 1 : 0);
  }
  const bool hinting =
      options.check_sharing == CheckSharing::yes && std::find(can_share.begin(), can_share.end(), 1) != can_share.end();
  const bool skipping = options.inline_files == InlineFiles::leave_unread &&
                        std::find(kinds.begin(), kinds.end(), fs::FsKind::btrfs) != kinds.end();
  TreeProbe probe(roots, kinds, list, options.catalog,
                    hinting || skipping ? std::span<const uint32_t>(candidates) : std::span<const uint32_t>());
  std::function<void(const content::FileJob&, int)> take_hint;
  if (hinting) {
    hints.assign(candidates.size(), k_extents_unknown); // each reader thread writes only its jobs' bytes
    // btrfs: most small files are inline, which the tree tells; FIEMAP for the rest.
    take_hint = [&](const content::FileJob& job, int fd) {
      if (can_share[job.root] == 0) return;
      const bool in_tree =
          probe.applies(job.root, job.dev, job.size) && probe.is_inline(fd, candidates[job.id]);
      hints[job.id] = in_tree ? k_extents_inline : extent_hint(fd);
    };
  }
  // Dedupe: a btrfs inline file is asked about through its directory, and left unopened.
  std::function<bool(const content::FileJob&, int)> skip_inline;
  if (skipping) {
    skip_inline = [&](const content::FileJob& job, int dir_fd) {
      return probe.applies(job.root, job.dev, job.size) && probe.is_inline(dir_fd, candidates[job.id]);
    };
  }
  const uint64_t small_limit = 2 * options.partial_bytes;
  auto start = Clock::now();
  HashPass first = hash_files(
      roots, list, candidates, options,
      [&](uint64_t size) {
        return size <= small_limit ? content::ReadScope::whole : content::ReadScope::head_tail;
      },
      out.problems, progress, out.stats.catalog_hits, std::move(take_hint), std::move(skip_inline));
  out.stats.inline_unread = first.skipped;
  out.stats.partial_hashed = candidates.size() - first.skipped;
  out.stats.bytes_read += first.bytes;
  out.stats.waited_reads += first.waited_reads;
  out.stats.seconds_partial = seconds_since(start);
  ::malloc_trim(0); // the reader threads' buffers

  // One digest per candidate: the partial digest, replaced by the full one where read.
  std::vector<content::Digest128> digest = std::move(first.digests);
  std::vector<bool> ok = std::move(first.ok);
  first = HashPass{};
  keys.erase(std::remove_if(keys.begin(), keys.end(), [&](uint32_t k) { return !ok[k]; }), keys.end());
  // Sorts each run of equal size by (digest, position): keys end up in (size descending,
  // digest, position) order. `only_large` skips runs of small files (already final).
  auto sort_size_runs = [&](bool only_large) {
    for (size_t i = 0; i < keys.size();) {
      const uint64_t size = csize(keys[i]);
      size_t j = i + 1;
      while (j < keys.size() && csize(keys[j]) == size) ++j;
      if (j - i >= 2 && (!only_large || size > small_limit))
        std::sort(keys.begin() + static_cast<long>(i), keys.begin() + static_cast<long>(j),
                  [&](uint32_t a, uint32_t b) {
                    if (digest[a] != digest[b]) return digest[a] < digest[b];
                    return a < b;
                  });
      i = j;
    }
  };
  auto same_key = [&](uint32_t a, uint32_t b) { return digest[a] == digest[b] && csize(a) == csize(b); };
  sort_size_runs(false);
  keep_collisions(keys, same_key);

  // 3. Full hash of large files whose size and partial hash collide.
  std::vector<uint32_t> second; // candidate positions, ascending (= list order)
  for (uint32_t k : keys)
    if (csize(k) > small_limit) second.push_back(k);
  std::sort(second.begin(), second.end());
  std::vector<uint32_t> second_files(second.size());
  for (size_t k = 0; k < second.size(); ++k) second_files[k] = candidates[second[k]];
  start = Clock::now();
  HashPass full = hash_files(
      roots, list, second_files, options, [](uint64_t) { return content::ReadScope::whole; },
      out.problems, progress, out.stats.catalog_hits);
  out.stats.full_hashed = second.size();
  out.stats.bytes_read += full.bytes;
  out.stats.waited_reads += full.waited_reads;
  out.stats.seconds_full = seconds_since(start);
  release(second_files);
  std::vector<content::Digest128> partial_of_second(second.size()); // by position in `second`
  for (size_t k = 0; k < second.size(); ++k) {
    partial_of_second[k] = digest[second[k]];
    if (full.ok[k]) digest[second[k]] = full.digests[k];
    else ok[second[k]] = false;
  }
  full = HashPass{};
  ::malloc_trim(0);
  keys.erase(std::remove_if(keys.begin(), keys.end(), [&](uint32_t k) { return !ok[k]; }), keys.end());
  release(ok);
  sort_size_runs(true);
  keep_collisions(keys, same_key);

  // 4. Groups. Their members become one flat array (keys itself, turned into file indexes,
  // each group in path order); each group's digests go to a small array first, so the
  // per-candidate arrays are freed before the group records (128 bytes each) are made.
  if (keys.capacity() - keys.size() > keys.size() / 8) keys.shrink_to_fit();
  struct Run {
    content::Digest128 digest;
    content::Digest128 partial_digest;
    uint32_t end = 0; // one past its last member in keys
    bool has_partial = false;
  };
  std::vector<Run> runs;
  {
    size_t count = 0;
    for (size_t i = 0; i < keys.size(); ++count) {
      size_t j = i + 1;
      while (j < keys.size() && same_key(keys[i], keys[j])) ++j;
      i = j;
    }
    runs.reserve(count);
  }
  for (size_t i = 0; i < keys.size();) {
    size_t j = i + 1;
    while (j < keys.size() && same_key(keys[i], keys[j])) ++j;
    Run run;
    run.digest = digest[keys[i]];
    run.end = static_cast<uint32_t>(j);
    const auto at = std::lower_bound(second.begin(), second.end(), keys[i]);
    if (at != second.end() && *at == keys[i]) {
      run.partial_digest = partial_of_second[static_cast<size_t>(at - second.begin())];
      run.has_partial = true;
    }
    runs.push_back(run);
    for (size_t k = i; k < j; ++k) keys[k] = candidates[keys[k]];
    std::sort(keys.begin() + static_cast<long>(i), keys.begin() + static_cast<long>(j)); // FileList order = (root, path)
    i = j;
  }
  if (!hints.empty()) {
    out.member_hints.resize(keys.size());
    for (size_t k = 0; k < keys.size(); ++k)
      out.member_hints[k] = hints[static_cast<size_t>(
          std::lower_bound(candidates.begin(), candidates.end(), keys[k]) - candidates.begin())];
    release(hints);
  }
  release(digest);
  release(candidates);
  release(second);
  release(partial_of_second);
  out.members = std::move(keys);
  out.groups.reserve(runs.size());
  uint32_t begin = 0;
  for (const Run& run : runs) {
    DuplicateGroup g;
    g.size = files[out.members[begin]].st.size;
    g.digest = run.digest;
    g.partial_digest = run.partial_digest;
    g.has_partial = run.has_partial;
    g.files = std::span<const uint32_t>(out.members.data() + begin, run.end - begin);
    out.groups.push_back(g);
    begin = run.end;
  }
  release(runs);
  ::malloc_trim(0);
  confirm_groups(roots, list, options, out);
  return out;
}

void confirm_groups(const fs::RootSet& roots, const scan::FileList& list, const FinderOptions& options,
                    DuplicateSet& out) {
  const auto& files = list.files;
  const auto start = Clock::now();
  std::vector<fs::FsKind> kinds;
  for (const auto& r : roots.roots()) kinds.push_back(fs::fs_kind(r.fd.get()));
  // Rows for the members the read pass told nothing about (catalog and memo hits).
  std::vector<uint32_t> unhinted;
  if (options.check_sharing == CheckSharing::yes)
    for (size_t k = 0; k < out.members.size(); ++k)
      if (out.member_hints.empty() || out.member_hints[k] == k_extents_unknown) unhinted.push_back(out.members[k]);
  TreeProbe probe(roots, kinds, list, options.catalog, unhinted);
  release(unhinted);
  // Groups in path order of their first member: members of consecutive groups then sit in
  // the same directories (one package's files across workspaces), which the opener caches.
  std::vector<uint32_t> by_path(out.groups.size());
  for (uint32_t gi = 0; gi < by_path.size(); ++gi) by_path[gi] = gi;
  std::sort(by_path.begin(), by_path.end(),
            [&](uint32_t a, uint32_t b) { return out.groups[a].files[0] < out.groups[b].files[0]; });
  // FIEMAP is kernel work (btrfs walks back references to flag shared extents): spread the
  // groups over the reader threads, each with a contiguous slice of by_path (its own opener,
  // problems and notes, merged in slice order below).
  const bool checking = options.check_sharing == CheckSharing::yes;
  unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  uint64_t members = 0;
  for (const DuplicateGroup& g : out.groups) members += g.files.size();
  threads = static_cast<unsigned>(std::min<uint64_t>(threads, std::max<uint64_t>(1, members / 512)));
  struct Slice {
    size_t begin = 0, end = 0;
    std::vector<FileProblem> problems;
    std::vector<std::string> notes;
    std::vector<std::pair<uint32_t, uint64_t>> held;
    uint64_t checks = 0;
  };
  std::vector<Slice> slices(threads);
  // Only where extents are looked at do the per-member marks exist (elsewhere they would
  // cost 5 bytes per member for nothing).
  if (checking && std::any_of(kinds.begin(), kinds.end(), [](fs::FsKind k) { return fs::fs_can_share_extents(k); })) {
    out.member_shares.resize(out.members.size());
    out.member_inline.resize(out.members.size());
  }
  {
    size_t at = 0;
    uint64_t seen = 0;
    for (unsigned t = 0; t < threads; ++t) {
      slices[t].begin = at;
      const uint64_t goal = members * (t + 1) / threads;
      while (at < by_path.size() && (seen < goal || t + 1 == threads)) seen += out.groups[by_path[at++]].files.size();
      slices[t].end = at;
    }
  }
  const int64_t now_ns = catalog::wall_clock_ns();
  std::vector<uint64_t> storage; // per root: fs::storage_id
  for (const auto& r : roots.roots()) storage.push_back(fs::storage_id(r.fd.get()));
  auto check_slice = [&](Slice& slice) {
    ListedOpener opener(roots, list, options.cross_fs, 256);
    for (size_t k = slice.begin; k < slice.end; ++k) {
      DuplicateGroup& g = out.groups[by_path[k]];
      if (!checking || !fs::fs_can_share_extents(kinds[files[g.files[0]].root])) continue;
      const auto offset = static_cast<size_t>(g.files.data() - out.members.data());
      uint32_t* shares = out.member_shares.data() + offset;
      uint8_t* inline_extent = out.member_inline.data() + offset;
      for (uint32_t m = 0; m < g.files.size(); ++m) shares[m] = m;
      const uint8_t* hints = out.member_hints.empty() ? nullptr : out.member_hints.data() + offset;
      check_sharing(roots, list, opener, g, hints, shares, inline_extent, slice.problems, slice.notes, slice.held,
                    slice.checks, probe, now_ns, storage);
      g.shares_with = std::span<const uint32_t>(shares, g.files.size());
      g.inline_extent = std::span<const uint8_t>(inline_extent, g.files.size());
    }
  };
  {
    std::vector<std::thread> workers;
    for (unsigned t = 1; t < threads; ++t) workers.emplace_back(check_slice, std::ref(slices[t]));
    check_slice(slices[0]);
    for (std::thread& w : workers) w.join();
  }
  for (Slice& slice : slices) {
    out.problems.insert(out.problems.end(), slice.problems.begin(), slice.problems.end());
    for (std::string& n : slice.notes)
      if (std::find(out.notes.begin(), out.notes.end(), n) == out.notes.end()) out.notes.push_back(std::move(n));
    out.stats.extent_checks += slice.checks;
    out.held_elsewhere.insert(out.held_elsewhere.end(), slice.held.begin(), slice.held.end());
  }
  std::sort(out.held_elsewhere.begin(), out.held_elsewhere.end());
  release(out.member_hints);
  for (DuplicateGroup& g : out.groups) {
    for (uint32_t m = 0; m < g.files.size(); ++m) {
      if (g.shared_with(m) != m) {
        g.already_shared++;
      } else if (g.is_inline(m)) {
        g.inline_files++; // btrfs: in metadata, no extent to share
      } else if (m > 0) {
        const uint64_t alloc = files[g.files[m]].st.allocated_bytes();
        const uint64_t held = std::min(alloc, out.held_bytes(g.files[m]));
        g.reclaimable_bytes += alloc - held;
        g.held_bytes_total += held;
      }
    }
    g.duplicate_bytes = g.size * (g.files.size() - 1);
  }
  out.stats.seconds_extents = seconds_since(start);
  std::sort(out.groups.begin(), out.groups.end(), [](const DuplicateGroup& a, const DuplicateGroup& b) {
    if (a.reclaimable_bytes != b.reclaimable_bytes) return a.reclaimable_bytes > b.reclaimable_bytes;
    if (a.duplicate_bytes != b.duplicate_bytes) return a.duplicate_bytes > b.duplicate_bytes;
    return a.files[0] < b.files[0];
  });
  out.group_of.assign(files.size(), k_no_group); // now: in memory the sorting arrays freed
  for (uint32_t gi = 0; gi < out.groups.size(); ++gi)
    for (uint32_t f : out.groups[gi].files) out.group_of[f] = gi;
  std::sort(out.problems.begin(), out.problems.end(),
            [](const FileProblem& a, const FileProblem& b) { return a.file < b.file; });
}

} // namespace wsd::dupes
