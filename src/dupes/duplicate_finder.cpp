#include "dupes/duplicate_finder.hpp"

#include "content/cached_hashes.hpp"
#include "fs/safe_open.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <memory>

namespace wsd::dupes {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct HashPass {
  std::vector<content::Digest128> digests;
  std::vector<bool> ok;
  uint64_t bytes = 0;
};

// Hashes files[which[k]] with `scope_of(size)`, through the content pipeline.
template <typename ScopeOf>
HashPass hash_files(const fs::RootSet& roots, const scan::FileList& list,
                    const std::vector<uint32_t>& which, const FinderOptions& options,
                    ScopeOf scope_of, std::vector<FileProblem>& problems,
                    FinderProgress* progress, uint64_t& catalog_hits) {
  content::ReaderOptions ro;
  ro.threads = options.threads;
  ro.partial_bytes = options.partial_bytes;
  ro.cross_fs = options.cross_fs;
  content::DigestTable table(which.size());
  std::vector<content::FileJob> jobs;
  jobs.reserve(which.size());
  for (size_t k = 0; k < which.size(); ++k) {
    const scan::FileEntry& f = list.files[which[k]];
    jobs.push_back(content::FileJob::of(k, f.root, f.rel_path, f.st, scope_of(f.st.size)));
  }
  std::vector<content::ReadResult> results;
  const content::CachedHashStats cached = content::hash_with_catalog(
      roots, jobs, ro, options.catalog, table, &results, progress);
  const content::ReaderStats& stats = cached.reader;
  catalog_hits += cached.catalog_hits;
  HashPass pass;
  pass.digests = std::move(table.digests);
  pass.ok.resize(which.size());
  pass.bytes = stats.bytes;
  for (size_t k = 0; k < which.size(); ++k) {
    pass.ok[k] = table.outcomes[k] == content::ReadOutcome::ok;
    if (!pass.ok[k]) {
      const content::ReadResult& r = results[k];
      problems.push_back({which[k], r.outcome == content::ReadOutcome::changed ? "read" : r.op,
                          r.outcome == content::ReadOutcome::changed ? 0 : r.err});
    }
  }
  return pass;
}

// Marks members that already share physical extents with an earlier member.
void check_sharing(const fs::RootSet& roots, const scan::FileList& list,
                   const FinderOptions& options, DuplicateGroup& group,
                   std::vector<FileProblem>& problems, std::vector<std::string>& notes,
                   uint64_t& checks) {
  std::vector<std::vector<fs::Extent>> extents(group.files.size());
  for (size_t m = 0; m < group.files.size(); ++m) {
    const scan::FileEntry& f = list.files[group.files[m]];
    auto fd = open_listed_file(roots, f, options.cross_fs);
    if (!fd) {
      problems.push_back({group.files[m], "open", fd.error()});
      continue;
    }
    auto ext = fs::read_extents(fd->get());
    checks++;
    if (!ext) {
      if (ext.error() == EOPNOTSUPP || ext.error() == ENOTTY) {
        const std::string note = fmt::format(
            "{}: no FIEMAP on this filesystem, so storage already shared between files "
            "cannot be told apart from savings",
            roots.display_path(f.root, ""));
        if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
        return;
      }
      problems.push_back({group.files[m], "fiemap", ext.error()});
      continue;
    }
    group.inline_extent[m] = fs::has_inline_extent(*ext);
    extents[m] = std::move(*ext);
  }
  for (size_t m = 1; m < group.files.size(); ++m) {
    for (size_t k = 0; k < m; ++k) {
      if (group.shares_with[k] != k) continue; // compare with cluster heads only
      if (fs::same_physical_extents(extents[m], extents[k])) {
        group.shares_with[m] = static_cast<uint32_t>(k);
        break;
      }
    }
  }
}

} // namespace

util::Result<util::Fd> open_listed_file(const fs::RootSet& roots, const scan::FileEntry& file,
                                        bool cross_fs) {
  auto fd = fs::open_beneath(roots[file.root].fd.get(), file.rel_path, false, cross_fs);
  if (!fd) return fd;
  fs::FileStat st;
  if (const int err = fs::stat_fd(fd->get(), st); err != 0)
    return util::Result<util::Fd>::failure(err);
  if (st.dev != file.st.dev || st.ino != file.st.ino || st.size != file.st.size ||
      st.mtime_ns != file.st.mtime_ns || st.ctime_ns != file.st.ctime_ns || !st.is_regular())
    return util::Result<util::Fd>::failure(ESTALE);
  return fd;
}

DuplicateSet find_duplicates(const fs::RootSet& roots, const scan::FileList& list,
                             const FinderOptions& options, FinderProgress* progress) {
  DuplicateSet out;
  const auto& files = list.files;
  out.group_of.assign(files.size(), k_no_group);
  const uint64_t min_size = std::max<uint64_t>(options.min_size, 1);

  // 1. Size groups, one member per inode (overlapping roots can list an inode twice).
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < files.size(); ++i)
    if (files[i].st.size >= min_size) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const auto& x = files[a].st;
    const auto& y = files[b].st;
    if (x.size != y.size) return x.size > y.size;
    if (x.dev != y.dev) return x.dev < y.dev;
    if (x.ino != y.ino) return x.ino < y.ino;
    return a < b;
  });
  order.erase(std::unique(order.begin(), order.end(),
                          [&](uint32_t a, uint32_t b) {
                            return files[a].st.dev == files[b].st.dev &&
                                   files[a].st.ino == files[b].st.ino;
                          }),
              order.end());
  std::vector<uint32_t> candidates;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && files[order[j]].st.size == files[order[i]].st.size) ++j;
    if (j - i >= 2) candidates.insert(candidates.end(), order.begin() + static_cast<long>(i),
                                      order.begin() + static_cast<long>(j));
    i = j;
  }
  out.stats.candidates = candidates.size();

  // 2. Partial hash (small files: the whole file, which is then final).
  const uint64_t small_limit = 2 * options.partial_bytes;
  auto start = Clock::now();
  HashPass first = hash_files(
      roots, list, candidates, options,
      [&](uint64_t size) {
        return size <= small_limit ? content::ReadScope::whole : content::ReadScope::head_tail;
      },
      out.problems, progress, out.stats.catalog_hits);
  out.stats.partial_hashed = candidates.size();
  out.stats.bytes_read += first.bytes;
  out.stats.seconds_partial = seconds_since(start);

  struct Keyed {
    uint64_t size;
    content::Digest128 digest;
    uint32_t file;
  };
  std::vector<Keyed> keyed;
  for (size_t k = 0; k < candidates.size(); ++k)
    if (first.ok[k]) keyed.push_back({files[candidates[k]].st.size, first.digests[k], candidates[k]});
  auto by_key = [](const Keyed& a, const Keyed& b) {
    if (a.size != b.size) return a.size > b.size;
    if (a.digest != b.digest) return a.digest < b.digest;
    return a.file < b.file;
  };
  std::sort(keyed.begin(), keyed.end(), by_key);

  // 3. Full hash of large files whose size and partial hash collide.
  std::vector<uint32_t> second;
  std::vector<Keyed> final_keyed;
  for (size_t i = 0; i < keyed.size();) {
    size_t j = i;
    while (j < keyed.size() && keyed[j].size == keyed[i].size && keyed[j].digest == keyed[i].digest) ++j;
    if (j - i >= 2) {
      for (size_t k = i; k < j; ++k) {
        if (keyed[k].size <= small_limit) final_keyed.push_back(keyed[k]);
        else second.push_back(keyed[k].file);
      }
    }
    i = j;
  }
  start = Clock::now();
  HashPass full = hash_files(
      roots, list, second, options, [](uint64_t) { return content::ReadScope::whole; },
      out.problems, progress, out.stats.catalog_hits);
  out.stats.full_hashed = second.size();
  out.stats.bytes_read += full.bytes;
  out.stats.seconds_full = seconds_since(start);
  for (size_t k = 0; k < second.size(); ++k)
    if (full.ok[k]) final_keyed.push_back({files[second[k]].st.size, full.digests[k], second[k]});
  std::sort(final_keyed.begin(), final_keyed.end(), by_key);

  // 4. Groups; then storage already shared.
  for (size_t i = 0; i < final_keyed.size();) {
    size_t j = i;
    while (j < final_keyed.size() && final_keyed[j].size == final_keyed[i].size &&
           final_keyed[j].digest == final_keyed[i].digest)
      ++j;
    if (j - i >= 2) {
      DuplicateGroup g;
      g.size = final_keyed[i].size;
      g.digest = final_keyed[i].digest;
      for (size_t k = i; k < j; ++k) g.files.push_back(final_keyed[k].file);
      std::sort(g.files.begin(), g.files.end()); // FileList order = (root, path)
      out.groups.push_back(std::move(g));
    }
    i = j;
  }
  start = Clock::now();
  std::vector<fs::FsKind> kinds;
  for (const auto& r : roots.roots()) kinds.push_back(fs::fs_kind(r.fd.get()));
  for (DuplicateGroup& g : out.groups) {
    g.shares_with.resize(g.files.size());
    g.inline_extent.assign(g.files.size(), false);
    for (uint32_t m = 0; m < g.files.size(); ++m) g.shares_with[m] = m;
    const bool can_share = fs::fs_can_share_extents(kinds[files[g.files[0]].root]);
    if (options.check_sharing == CheckSharing::yes && can_share)
      check_sharing(roots, list, options, g, out.problems, out.notes, out.stats.extent_checks);
    for (uint32_t m = 0; m < g.files.size(); ++m) {
      if (g.shares_with[m] != m) {
        g.already_shared++;
      } else if (g.inline_extent[m]) {
        g.inline_files++; // btrfs: in metadata, no extent to share
      } else if (m > 0) {
        g.reclaimable_bytes += files[g.files[m]].st.allocated_bytes();
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
  for (uint32_t gi = 0; gi < out.groups.size(); ++gi)
    for (uint32_t f : out.groups[gi].files) out.group_of[f] = gi;
  std::sort(out.problems.begin(), out.problems.end(),
            [](const FileProblem& a, const FileProblem& b) { return a.file < b.file; });
  return out;
}

} // namespace wsd::dupes
