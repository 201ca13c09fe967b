#include "verify/comparer.hpp"

#include "content/cached_hashes.hpp"

#include "content/file_hasher.hpp"
#include "fs/inode_table.hpp"
#include "fs/roots.hpp"
#include "util/error.hpp"
#include "util/escape.hpp"
#include "verify/pair_compare.hpp"
#include "verify/tree_listing.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <chrono>
#include <fmt/format.h>
#include <future>
#include <sys/sysmacros.h>
#include <optional>
#include <unordered_map>

namespace wsd::verify {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string quoted(std::string_view s) { return "\"" + util::escape_for_terminal(s) + "\""; }

std::string format_mode(uint32_t mode) { return fmt::format("{:04o}", mode & 07777); }

std::string format_time(int64_t ns) {
  return fmt::format("{}.{:09d}", ns / 1'000'000'000, ns % 1'000'000'000 < 0 ? 0 : ns % 1'000'000'000);
}

// A paired path: indices into the SRC and DST listings.
struct Pair {
  size_t src = 0;
  size_t dst = 0;
  size_t diff = SIZE_MAX; // index into differences, once it has one
  bool settled = false;   // content already compared (or failed) when stats were taken
};

class Comparison {
public:
  // `snapshot`: the catalog's whole-file rows (loaded while the trees were listed), or null.
  Comparison(const fs::RootSet& roots, Listings& listings, const VerifyOptions& options,
             const catalog::Catalog::Snapshot* snapshot, VerifyReport& report)
      : m_roots(roots), m_src(listings.trees.front().nodes), m_dst(listings.trees.back().nodes),
        m_options(options), m_snapshot(snapshot), m_report(report) {}

  void merge() {
    size_t i = 0, j = 0;
    while (i < m_src.size() || j < m_dst.size()) {
      const bool take_src =
          j >= m_dst.size() || (i < m_src.size() && path_less(m_src[i].rel_path, m_dst[j].rel_path));
      const bool take_dst =
          i >= m_src.size() || (j < m_dst.size() && path_less(m_dst[j].rel_path, m_src[i].rel_path));
      if (take_src) {
        Difference d = one_sided(m_src, i, DiffKind::missing);
        d.src_type = m_src[i].st.type;
        i = skip_below(m_src, i, d.entries_below);
        m_report.differences.push_back(std::move(d));
      } else if (take_dst) {
        Difference d = one_sided(m_dst, j, DiffKind::extra);
        d.dst_type = m_dst[j].st.type;
        j = skip_below(m_dst, j, d.entries_below);
        m_report.differences.push_back(std::move(d));
      } else {
        const Node& s = m_src[i];
        const Node& t = m_dst[j];
        if (s.st.type != t.st.type) {
          Difference d;
          d.path = s.rel_path;
          d.src_type = s.st.type;
          d.dst_type = t.st.type;
          add(d, "type", fmt::format("{} in SRC, {} in DST", fs::entry_type_name(s.st.type),
                                     fs::entry_type_name(t.st.type)));
          uint64_t below_src = 0, below_dst = 0;
          i = skip_below(m_src, i, below_src);
          j = skip_below(m_dst, j, below_dst);
          d.entries_below = below_src + below_dst;
          m_report.differences.push_back(std::move(d));
          continue;
        }
        m_pairs.push_back({i, j});
        compare_pair(m_pairs.back());
        ++i;
        ++j;
      }
    }
    m_report.paired = m_pairs.size();
  }

  void compare_hardlinks() {
    // Per side: inode -> the pairs whose path is a name of it.
    std::unordered_map<fs::InodeKey, std::vector<size_t>, fs::InodeKeyHash> src_groups, dst_groups;
    for (size_t p = 0; p < m_pairs.size(); ++p) {
      const fs::FileStat& s = m_src[m_pairs[p].src].st;
      const fs::FileStat& t = m_dst[m_pairs[p].dst].st;
      if (s.is_dir() || (s.nlink < 2 && t.nlink < 2)) continue;
      m_report.hardlinked_paths++;
      if (s.nlink > 1) src_groups[{s.dev, s.ino}].push_back(p);
      if (t.nlink > 1) dst_groups[{t.dev, t.ino}].push_back(p);
    }
    static const std::vector<size_t> k_none;
    for (size_t p = 0; p < m_pairs.size(); ++p) {
      const fs::FileStat& s = m_src[m_pairs[p].src].st;
      const fs::FileStat& t = m_dst[m_pairs[p].dst].st;
      if (s.is_dir() || (s.nlink < 2 && t.nlink < 2)) continue;
      const auto sit = src_groups.find({s.dev, s.ino});
      const auto dit = dst_groups.find({t.dev, t.ino});
      const std::vector<size_t>& gs = sit == src_groups.end() ? k_none : sit->second;
      const std::vector<size_t>& gd = dit == dst_groups.end() ? k_none : dit->second;
      std::vector<size_t> only_src, only_dst; // groups are in pair order, hence sorted
      std::set_difference(gs.begin(), gs.end(), gd.begin(), gd.end(), std::back_inserter(only_src));
      std::set_difference(gd.begin(), gd.end(), gs.begin(), gs.end(), std::back_inserter(only_dst));
      std::erase(only_src, p);
      std::erase(only_dst, p);
      if (only_src.empty() && only_dst.empty()) continue;
      std::string detail;
      if (!only_src.empty())
        detail = fmt::format("hardlinked in SRC with {}, not in DST", name_list(only_src));
      if (!only_dst.empty())
        detail += fmt::format("{}hardlinked in DST with {}, not in SRC", detail.empty() ? "" : "; ",
                              name_list(only_dst));
      add(diff_for(m_pairs[p]), "hardlinks", detail);
    }
  }

  // Pairs of regular files listed without their stat (WalkOptions::defer_file_stat): both
  // files are opened, the stats taken from the open files fill in the listing, and small
  // pairs are compared there and then (one lookup per file, not two). Sizes that differ are
  // told here; large and sparse pairs are left to compare_content, now with their stats.
  // Runs before compare_hardlinks, which needs the link counts.
  void settle_deferred(VerifyProgress* progress) {
    std::vector<PairTask> tasks;
    std::vector<size_t> task_pair;
    for (size_t p = 0; p < m_pairs.size(); ++p) {
      const Node& s = m_src[m_pairs[p].src];
      const Node& t = m_dst[m_pairs[p].dst];
      if (!s.st.is_regular() || (!s.stat_deferred && !t.stat_deferred)) continue;
      tasks.push_back({&s, &t});
      task_pair.push_back(p);
    }
    if (tasks.empty()) return;
    if (progress) progress->phase.store(1, std::memory_order_relaxed);
    std::vector<PairResult> results;
    const PairCompareStats ps = compare_pairs(m_roots, tasks, pair_options(HashWhileComparing::no),
                                              results, progress ? &progress->content : nullptr);
    m_report.files_hashed += ps.files;
    m_report.bytes_hashed += ps.bytes;
    m_report.waited_reads += ps.waited_reads;
    for (size_t k = 0; k < tasks.size(); ++k) {
      const PairResult& r = results[k];
      Pair& pair = m_pairs[task_pair[k]];
      Node& s = m_src[pair.src];
      Node& t = m_dst[pair.dst];
      pair.settled = r.outcome != PairOutcome::later;
      if (r.outcome == PairOutcome::error || r.outcome == PairOutcome::changed) {
        report_failure(r, tasks[k]);
        continue;
      }
      Node* const sides[2] = {&s, &t};
      for (int side = 0; side < 2; ++side) {
        if (sides[side]->stat_deferred) sides[side]->st = r.stats[side];
        sides[side]->stat_deferred = false;
      }
      if (r.outcome == PairOutcome::size_differs)
        add(diff_for(pair), "size", fmt::format("{} bytes in SRC, {} in DST", s.st.size, t.st.size));
      else if (r.outcome == PairOutcome::different)
        m_settled_different.push_back(task_pair[k]);
    }
  }

  // Reads what must be read. Where the catalog has fresh rows for both files of a pair, their
  // digests answer without a read; where it has one, the other file is read and hashed (and
  // its row stored); with a catalog, sparse large files go through the content pipeline (it
  // skips holes); every other pair is read side by side and compared byte for byte (with a
  // catalog also hashed as read, and a row stored for each side, so the next run reads
  // neither file; without one, a sparse pair only where either file has data).
  void compare_content(VerifyProgress* progress) {
    const auto dst_root = static_cast<uint32_t>(m_roots.size() - 1);
    std::vector<size_t> candidates;
    for (size_t p = 0; p < m_pairs.size(); ++p) {
      const Node& s = m_src[m_pairs[p].src];
      const Node& t = m_dst[m_pairs[p].dst];
      if (m_pairs[p].settled || !s.st.is_regular() || s.st.size != t.st.size || s.st.size == 0) continue;
      if (s.st.dev == t.st.dev && s.st.ino == t.st.ino) continue; // the same inode
      candidates.push_back(p);
    }

    // The catalog's rows, looked up once for both sides.
    std::optional<catalog::FilesystemIds> ids;
    if (m_options.catalog) ids.emplace(m_roots);
    const catalog::Catalog::Snapshot* snapshot = m_snapshot;
    const auto row_of = [&](const Node& n) -> std::optional<std::string_view> {
      if (!snapshot || n.st.mtime_ns == 0 || snapshot->size() == 0) return std::nullopt;
      const auto row = snapshot->find(catalog::FileIdentity::of(ids->of(n.st.dev), n.st));
      if (!row) return std::nullopt;
      return row->value;
    };

    // Hash jobs (one per inode and side), for pairs the catalog half answers and sparse ones.
    struct HashedPair {
      size_t pair = 0;
      uint64_t src_job = UINT64_MAX; // UINT64_MAX: the side's digest is `src_row`/`dst_row`
      uint64_t dst_job = UINT64_MAX;
      std::string_view src_row;
      std::string_view dst_row;
    };
    for (const size_t p : m_settled_different)
      add(diff_for(m_pairs[p]), "content",
          fmt::format("same size ({} bytes), different content", m_src[m_pairs[p].src].st.size));
    std::vector<content::FileJob> jobs;
    std::vector<HashedPair> hashed;
    std::vector<PairTask> pairwise;
    std::vector<size_t> pairwise_pair;
    std::unordered_map<fs::InodeKey, uint64_t, fs::InodeKeyHash> job_of[2];
    std::vector<std::string_view> dir_paths; // root-relative, shared by both trees
    std::unordered_map<std::string_view, uint32_t> dir_ids;
    const auto job_for = [&](const Node& n, int side) {
      auto [it, inserted] = job_of[side].try_emplace(fs::InodeKey{n.st.dev, n.st.ino}, jobs.size());
      if (inserted) {
        const std::string_view path = n.rel_path;
        const size_t slash = path.rfind('/');
        const std::string_view parent = slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
        const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
        auto [d, fresh] = dir_ids.try_emplace(parent, static_cast<uint32_t>(dir_paths.size()));
        if (fresh) dir_paths.push_back(parent);
        jobs.push_back(content::FileJob::in_dir(jobs.size(), side == 0 ? 0 : dst_root, d->second, name, n.st));
      }
      return it->second;
    };
    for (const size_t p : candidates) {
      const Node& s = m_src[m_pairs[p].src];
      const Node& t = m_dst[m_pairs[p].dst];
      const auto src_row = row_of(s);
      const auto dst_row = row_of(t);
      if (src_row && dst_row) {
        m_report.catalog_hits += 2;
        if (*src_row != *dst_row)
          add(diff_for(m_pairs[p]), "content",
              fmt::format("same size ({} bytes), different content", s.st.size));
        continue;
      }
      const bool sparse = s.st.size >= k_sparse_pipeline_min &&
                          (s.st.allocated_bytes() < s.st.size || t.st.allocated_bytes() < t.st.size);
      // A sparse pair without rows: with a catalog hashed through the pipeline (holes as
      // zeros, unread) so rows answer the next run; without one compared side by side over
      // the regions where either file has data (pair_compare).
      if (src_row || dst_row || (sparse && m_options.catalog)) {
        HashedPair h;
        h.pair = p;
        if (src_row) {
          ++m_report.catalog_hits;
          h.src_row = *src_row;
        } else {
          h.src_job = job_for(s, 0);
        }
        if (dst_row) {
          ++m_report.catalog_hits;
          h.dst_row = *dst_row;
        } else {
          h.dst_job = job_for(t, 1);
        }
        hashed.push_back(h);
        continue;
      }
      pairwise.push_back({&s, &t});
      pairwise_pair.push_back(p);
    }
    if (progress) progress->phase.store(1, std::memory_order_relaxed);

    // Side by side, byte for byte.
    // With a catalog, what is read is hashed too, so the next run reads neither file.
    const PairCompareOptions po =
        pair_options(m_options.catalog ? HashWhileComparing::yes : HashWhileComparing::no);
    std::vector<PairResult> pair_results;
    const PairCompareStats ps =
        compare_pairs(m_roots, pairwise, po, pair_results, progress ? &progress->content : nullptr);
    m_report.files_hashed += ps.files;
    m_report.bytes_hashed += ps.bytes;
    m_report.waited_reads += ps.waited_reads;
    for (size_t k = 0; k < pairwise.size(); ++k) {
      const PairResult& r = pair_results[k];
      Pair& pair = m_pairs[pairwise_pair[k]];
      if (r.hashed) {
        store_row(*pairwise[k].src, 0, r.digests[0], r.read_started_ns, *ids);
        store_row(*pairwise[k].dst, dst_root, r.digests[1], r.read_started_ns, *ids);
      }
      if (r.outcome == PairOutcome::different) {
        add(diff_for(pair), "content",
            fmt::format("same size ({} bytes), different content", pairwise[k].src->st.size));
      } else if (r.outcome == PairOutcome::error || r.outcome == PairOutcome::changed) {
        report_failure(r, pairwise[k]);
      }
    }

    if (m_options.catalog) m_options.catalog->flush();

    // Through the content pipeline: hashed, rows stored for the next run.
    if (jobs.empty()) return;
    content::DigestTable table(jobs.size());
    std::vector<content::ReadResult> results;
    content::ReaderOptions ro;
    ro.threads = m_options.read_threads;
    ro.cross_fs = m_options.walk.cross_fs;
    ro.dir_path = [&dir_paths](uint32_t dir) { return std::string(dir_paths[dir]); };
    const content::CachedHashStats cached = content::hash_with_catalog(
        m_roots, jobs, ro, m_options.catalog, table, &results,
        progress ? &progress->content : nullptr);
    m_report.catalog_hits += cached.catalog_hits;
    m_report.files_hashed += cached.reader.files;
    m_report.bytes_hashed += cached.reader.bytes; // data read; holes are hashed as zeros without reading
    m_report.waited_reads += cached.reader.waited_reads;
    std::vector<bool> reported(results.size(), false);
    const auto ok = [&](uint64_t job, uint32_t root, const Node& n) {
      const content::ReadResult& r = results[job];
      if (r.outcome == content::ReadOutcome::ok) return true;
      if (!reported[job]) {
        reported[job] = true;
        if (r.outcome == content::ReadOutcome::error)
          m_report.errors.push_back({m_roots.display_path(root, n.rel_path), r.op,
                                     util::errno_text(r.err)});
        else
          m_report.errors.push_back({m_roots.display_path(root, n.rel_path), "read",
                                     "changed while being verified"});
      }
      return false;
    };
    for (const HashedPair& h : hashed) {
      const Node& s = m_src[m_pairs[h.pair].src];
      const Node& t = m_dst[m_pairs[h.pair].dst];
      const bool src_ok = h.src_job == UINT64_MAX || ok(h.src_job, 0, s);
      const bool dst_ok = h.dst_job == UINT64_MAX || ok(h.dst_job, dst_root, t);
      if (!src_ok || !dst_ok) continue;
      const std::string src_value = h.src_job == UINT64_MAX
                                        ? std::string(h.src_row)
                                        : content::digest_row_value(table.digests[h.src_job]);
      const std::string dst_value = h.dst_job == UINT64_MAX
                                        ? std::string(h.dst_row)
                                        : content::digest_row_value(table.digests[h.dst_job]);
      if (src_value != dst_value)
        add(diff_for(m_pairs[h.pair]), "content",
            fmt::format("same size ({} bytes), different content", s.st.size));
    }
  }

  void finish() {
    std::sort(m_report.differences.begin(), m_report.differences.end(),
              [](const Difference& a, const Difference& b) { return path_less(a.path, b.path); });
  }

private:
  PairCompareOptions pair_options(HashWhileComparing hash) const {
    PairCompareOptions po;
    po.threads = m_options.read_threads;
    po.cross_fs = m_options.walk.cross_fs;
    po.hash = hash;
    return po;
  }

  // An error or a change met while comparing a pair, as the report's error.
  void report_failure(const PairResult& r, const PairTask& task) {
    const Node& n = r.side == 0 ? *task.src : *task.dst;
    const std::string path =
        m_roots.display_path(r.side == 0 ? 0 : static_cast<uint32_t>(m_roots.size() - 1), n.rel_path);
    if (r.outcome == PairOutcome::error)
      m_report.errors.push_back({path, r.op, util::errno_text(r.err)});
    else
      m_report.errors.push_back({path, "read", "changed while being verified"});
  }

  // Queues the catalog row of a file read (and hashed) at `read_started_ns`, when the
  // catalog would trust it (catalog::row_is_fresh: hashed 2 s after its last change).
  void store_row(const Node& n, uint32_t root, const content::Digest128& digest,
                 int64_t read_started_ns, const catalog::FilesystemIds& ids) {
    if (n.st.mtime_ns == 0) return; // no usable identity (as content/cached_hashes)
    catalog::Row row;
    row.id = catalog::FileIdentity::of(ids.of(n.st.dev), n.st);
    row.computed_ns = read_started_ns;
    if (!catalog::row_is_fresh(row, row.id)) return; // a later load would drop it anyway
    row.value = content::digest_row_value(digest);
    m_options.catalog->put(content::hash_kind(content::ReadScope::whole), "", std::move(row),
                           ids.stored_path(root, n.st.dev, n.rel_path));
  }

  Difference one_sided(const std::vector<Node>& nodes, size_t i, DiffKind kind) {
    Difference d;
    d.path = nodes[i].rel_path;
    d.kind = kind;
    return d;
  }

  // Index past `i` and everything below it (when a directory); counts what was skipped.
  static size_t skip_below(const std::vector<Node>& nodes, size_t i, uint64_t& below) {
    const std::string& base = nodes[i].rel_path;
    size_t k = i + 1;
    if (nodes[i].st.is_dir()) {
      while (k < nodes.size() && (base.empty() || (nodes[k].rel_path.size() > base.size() &&
                                                   nodes[k].rel_path.compare(0, base.size(), base) == 0 &&
                                                   nodes[k].rel_path[base.size()] == '/')))
        ++k;
    }
    below = k - i - 1;
    return k;
  }

  // A time floored to the granularity both sides keep (VerifyOptions::mtime_granularity_ns).
  int64_t truncate_time(int64_t ns) const {
    const int64_t g = std::max<int64_t>(1, m_options.mtime_granularity_ns);
    const int64_t r = ns % g;
    return r < 0 ? ns - r - g : ns - r;
  }

  static void add(Difference& d, std::string reason, std::string detail) {
    d.reasons.push_back(std::move(reason));
    d.details.push_back(std::move(detail));
  }

  Difference& diff_for(Pair& p) {
    if (p.diff == SIZE_MAX) {
      p.diff = m_report.differences.size();
      Difference d;
      d.path = m_src[p.src].rel_path;
      d.src_type = m_src[p.src].st.type;
      d.dst_type = m_dst[p.dst].st.type;
      m_report.differences.push_back(std::move(d));
    }
    return m_report.differences[p.diff];
  }

  std::string name_list(const std::vector<size_t>& pairs) const {
    constexpr size_t k_shown = 5;
    std::string out;
    for (size_t k = 0; k < pairs.size() && k < k_shown; ++k)
      out += (k ? ", " : "") + quoted(m_src[m_pairs[pairs[k]].src].rel_path);
    if (pairs.size() > k_shown) out += fmt::format(" and {} more", pairs.size() - k_shown);
    return out;
  }

  void compare_pair(Pair& p) {
    const Node& s = m_src[p.src];
    const Node& t = m_dst[p.dst];
    if (s.st.is_regular() && !s.stat_deferred && !t.stat_deferred && s.st.size != t.st.size)
      add(diff_for(p), "size", fmt::format("{} bytes in SRC, {} in DST", s.st.size, t.st.size));
    if (s.st.type == fs::EntryType::symlink && s.link_target != t.link_target)
      add(diff_for(p), "symlink_target",
          fmt::format("-> {} in SRC, -> {} in DST", quoted(s.link_target), quoted(t.link_target)));
    if ((s.st.type == fs::EntryType::char_device || s.st.type == fs::EntryType::block_device) &&
        s.rdev != t.rdev)
      add(diff_for(p), "rdev",
          fmt::format("device {}:{} in SRC, {}:{} in DST", major(s.rdev), minor(s.rdev), major(t.rdev),
                      minor(t.rdev)));
    if (m_options.metadata == CompareMetadata::no) return;
    if (s.st.uid != t.st.uid)
      add(diff_for(p), "owner", fmt::format("uid {} in SRC, {} in DST", s.st.uid, t.st.uid));
    if (s.st.gid != t.st.gid)
      add(diff_for(p), "group", fmt::format("gid {} in SRC, {} in DST", s.st.gid, t.st.gid));
    if ((s.st.mode & 07777) != (t.st.mode & 07777) && s.st.type != fs::EntryType::symlink)
      add(diff_for(p), "mode",
          fmt::format("{} in SRC, {} in DST", format_mode(s.st.mode), format_mode(t.st.mode)));
    if (truncate_time(s.st.mtime_ns) != truncate_time(t.st.mtime_ns))
      add(diff_for(p), "mtime", fmt::format("{} in SRC, {} in DST", format_time(s.st.mtime_ns),
                                            format_time(t.st.mtime_ns)));
    if (s.xattrs != t.xattrs) add(diff_for(p), "xattrs", xattr_detail(s, t));
  }

  static std::string xattr_detail(const Node& s, const Node& t) {
    std::vector<std::string> names;
    size_t i = 0, j = 0;
    while (i < s.xattrs.size() || j < t.xattrs.size()) {
      if (j >= t.xattrs.size() || (i < s.xattrs.size() && s.xattrs[i].first < t.xattrs[j].first)) {
        names.push_back(s.xattrs[i++].first + " only in SRC");
      } else if (i >= s.xattrs.size() || t.xattrs[j].first < s.xattrs[i].first) {
        names.push_back(t.xattrs[j++].first + " only in DST");
      } else {
        if (s.xattrs[i].second != t.xattrs[j].second) names.push_back(s.xattrs[i].first + " differs");
        ++i;
        ++j;
      }
    }
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + util::escape_for_terminal(n);
    return out;
  }

  const fs::RootSet& m_roots;
  std::vector<Node>& m_src; // stats of deferred nodes are filled in by settle_deferred
  std::vector<Node>& m_dst;
  std::vector<size_t> m_settled_different; // pairs settle_deferred found different in content
  const VerifyOptions& m_options;
  const catalog::Catalog::Snapshot* m_snapshot;
  VerifyReport& m_report;
  std::vector<Pair> m_pairs;
};

} // namespace

std::string_view diff_kind_name(DiffKind kind) {
  switch (kind) {
  case DiffKind::missing: return "missing";
  case DiffKind::extra: return "extra";
  case DiffKind::different: return "different";
  }
  return "different";
}

bool path_less(std::string_view a, std::string_view b) {
  // Sibling paths share long prefixes: skip the equal part 8 bytes at a time, then order by
  // the first differing byte with '/' lowest (so "a/x" sorts before "a-b", as a walk lists).
  const size_t n = std::min(a.size(), b.size());
  size_t k = 0;
  for (; k + 8 <= n; k += 8) {
    uint64_t x = 0, y = 0;
    std::memcpy(&x, a.data() + k, 8);
    std::memcpy(&y, b.data() + k, 8);
    if (x != y) {
      k += static_cast<size_t>(std::countr_zero(x ^ y)) / 8; // little-endian: lowest byte first
      break;
    }
  }
  for (; k < n; ++k) {
    const auto x = static_cast<unsigned char>(a[k]);
    const auto y = static_cast<unsigned char>(b[k]);
    if (x == y) continue;
    if (x == '/') return true;
    if (y == '/') return false;
    return x < y;
  }
  return a.size() < b.size();
}

VerifyReport verify_trees(const std::string& src, const std::string& dst,
                          const VerifyOptions& options, VerifyProgress* progress) {
  const fs::RootSet roots({src, dst});
  VerifyReport report;
  report.src = roots[0].display;
  report.dst = roots[roots.size() - 1].display;
  report.metadata = options.metadata == CompareMetadata::yes;

  // The catalog's rows are loaded (SQLite reads, decoding) while the trees are listed.
  std::future<catalog::Catalog::Snapshot> loading;
  if (options.catalog)
    loading = std::async(std::launch::async, [catalog = options.catalog] {
      return catalog->load(content::hash_kind(content::ReadScope::whole), "");
    });
  const auto walk_start = Clock::now();
  // Without a catalog (no rows to look up by stat) and without --metadata, regular files
  // are stat'ed where they are opened for the comparison, not also in the listing.
  fs::WalkOptions walk = options.walk;
  walk.defer_file_stat = options.catalog == nullptr && options.metadata == CompareMetadata::no;
  Listings listings = list_trees(
      roots, walk,
      options.metadata == CompareMetadata::yes ? ReadXattrs::yes : ReadXattrs::no,
      progress ? &progress->walk : nullptr, ListingOrder::component);
  for (auto& e : listings.errors) report.errors.push_back({e.path, e.op, e.message});
  report.src_entries = listings.trees.front().nodes.size();
  report.dst_entries = listings.trees.back().nodes.size();
  report.walk_seconds = seconds_since(walk_start);

  const auto content_start = Clock::now();
  std::optional<catalog::Catalog::Snapshot> snapshot;
  if (loading.valid()) snapshot.emplace(loading.get());
  Comparison comparison(roots, listings, options, snapshot ? &*snapshot : nullptr, report);
  comparison.merge();
  comparison.settle_deferred(progress);
  comparison.compare_hardlinks();
  comparison.compare_content(progress);
  comparison.finish();
  report.content_seconds = seconds_since(content_start);
  std::sort(report.errors.begin(), report.errors.end(),
            [](const VerifyError& a, const VerifyError& b) { return a.path < b.path; });
  return report;
}

} // namespace wsd::verify
