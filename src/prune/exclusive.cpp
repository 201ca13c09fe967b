#include "prune/exclusive.hpp"

#include "fs/extents.hpp"
#include "fs/inode_table.hpp"
#include "fs/safe_open.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <climits>
#include <unordered_map>

namespace wsd::prune {

uint64_t IntervalSet::add(uint64_t start, uint64_t end) {
  if (end <= start) return 0;
  uint64_t added = end - start;
  auto it = m_ranges.upper_bound(start);
  if (it != m_ranges.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= start) it = prev;
  }
  uint64_t new_start = start, new_end = end;
  while (it != m_ranges.end() && it->first <= end) {
    const uint64_t overlap_start = std::max(start, it->first);
    const uint64_t overlap_end = std::min(end, it->second);
    if (overlap_end > overlap_start) added -= overlap_end - overlap_start;
    new_start = std::min(new_start, it->first);
    new_end = std::max(new_end, it->second);
    it = m_ranges.erase(it);
  }
  m_ranges.emplace(new_start, new_end);
  return added;
}

uint64_t IntervalSet::covered() const {
  uint64_t n = 0;
  for (const auto& [s, e] : m_ranges) n += e - s;
  return n;
}

namespace {

constexpr uint32_t k_outside = UINT32_MAX;

struct InodeUse {
  uint32_t names_in_set = 0;
  uint32_t first_record = 0; // smallest path's record
};

struct SharedRange {
  uint64_t start;
  uint64_t end;
  uint32_t workspace;
};

} // namespace

ExclusiveBytes exclusive_bytes(const fs::RootSet& roots, const WorkspaceScan& scan,
                               const std::vector<bool>& selected, bool cross_fs) {
  const size_t nws = scan.workspaces.size();
  ExclusiveBytes out;
  out.bytes.assign(nws, 0);
  out.upper_bound.assign(nws, false);
  out.hardlinked_outside.assign(nws, 0);
  const int root_fd = roots[0].fd.get();
  const fs::FsKind kind = fs::fs_kind(root_fd);
  const bool check_extents = fs::fs_can_share_extents(kind);
  const auto in_set = [&](const InodeRecord& r) { return r.workspace != k_outside && selected[r.workspace]; };

  // Names of each inode inside the set (records are in path order: the first is the smallest).
  std::unordered_map<fs::InodeKey, InodeUse, fs::InodeKeyHash> uses;
  for (uint32_t k = 0; k < scan.inodes.size(); ++k) {
    const InodeRecord& r = scan.inodes[k];
    if (!in_set(r)) continue;
    auto [it, inserted] = uses.try_emplace(fs::InodeKey{r.dev, r.ino}, InodeUse{0, k});
    it->second.names_in_set++;
  }

  std::vector<SharedRange> shared;
  std::vector<uint32_t> kept_inside; // records of regular files in the set whose inode stays
  const auto extents_of = [&](const InodeRecord& r) -> util::Result<std::vector<fs::Extent>> {
    auto fd = fs::open_beneath(root_fd, r.rel_path, false, cross_fs);
    if (!fd) return util::Result<std::vector<fs::Extent>>::failure(fd.error());
    fs::FileStat st;
    if (fs::stat_fd(fd->get(), st) != 0 || st.ino != r.ino || st.dev != r.dev)
      return util::Result<std::vector<fs::Extent>>::failure(ESTALE);
    return fs::read_extents(fd->get());
  };

  for (const auto& [key, use] : uses) {
    const InodeRecord& r = scan.inodes[use.first_record];
    const uint64_t bytes = r.blocks * 512;
    if (r.type != fs::EntryType::directory && use.names_in_set < r.nlink) {
      out.hardlinked_outside[r.workspace] += bytes;
      if (r.type == fs::EntryType::regular) kept_inside.push_back(use.first_record);
      continue;
    }
    if (!check_extents || r.type != fs::EntryType::regular || bytes == 0) {
      out.bytes[r.workspace] += bytes;
      continue;
    }
    auto extents = extents_of(r);
    if (!extents) {
      out.errors.push_back({roots.display_path(0, r.rel_path), "fiemap", util::errno_text(extents.error())});
      out.bytes[r.workspace] += bytes; // cannot tell: counted whole, as an upper bound
      out.upper_bound[r.workspace] = true;
      continue;
    }
    uint64_t shared_len = 0;
    for (const fs::Extent& e : *extents) {
      if (!fs::is_shared(e) || fs::has_inline_extent({e})) continue;
      shared_len += e.length;
      shared.push_back({e.physical, e.physical + e.length, r.workspace});
    }
    out.bytes[r.workspace] += bytes > shared_len ? bytes - shared_len : 0;
  }

  if (!shared.empty()) {
    // Physical ranges that files outside the set (or kept inodes inside it) still map.
    IntervalSet claimed;
    const auto claim_file = [&](const InodeRecord& r) {
      auto extents = extents_of(r);
      if (!extents) return;
      for (const fs::Extent& e : *extents)
        if (fs::is_shared(e) && !fs::has_inline_extent({e})) claimed.add(e.physical, e.physical + e.length);
    };
    std::unordered_map<fs::InodeKey, bool, fs::InodeKeyHash> done;
    for (const InodeRecord& r : scan.inodes) {
      if (in_set(r) || r.type != fs::EntryType::regular || r.blocks == 0) continue;
      if (!done.try_emplace(fs::InodeKey{r.dev, r.ino}, true).second) continue;
      claim_file(r);
    }
    for (const uint32_t k : kept_inside) claim_file(scan.inodes[k]);
    // Ranges shared only inside the set: freed once, charged to the first workspace (by name).
    std::sort(shared.begin(), shared.end(), [](const SharedRange& a, const SharedRange& b) {
      if (a.workspace != b.workspace) return a.workspace < b.workspace;
      return a.start < b.start;
    });
    for (const SharedRange& s : shared) {
      const uint64_t fresh = claimed.add(s.start, s.end);
      out.bytes[s.workspace] += fresh;
      if (fresh > 0) out.upper_bound[s.workspace] = true;
    }
  }
  for (size_t w = 0; w < nws; ++w) {
    out.total += out.bytes[w];
    if (out.upper_bound[w]) out.any_upper_bound = true;
  }
  const std::string root = roots[0].display;
  if (kind == fs::FsKind::btrfs)
    out.notes.push_back(fmt::format(
        "{} is btrfs: blocks also held by snapshots or by files outside it cannot be seen from "
        "here; where extents are shared, the bytes freed are an upper bound (less will be freed "
        "while a snapshot holds them)",
        root));
  if (kind == fs::FsKind::xfs)
    out.notes.push_back(fmt::format(
        "{} is XFS: reflinked blocks shared with files outside it cannot be seen from here; where "
        "extents are shared, the bytes freed are an upper bound",
        root));
  if (kind == fs::FsKind::zfs)
    out.notes.push_back(fmt::format(
        "{} is ZFS: snapshots keep deleted blocks until they are destroyed, and dedup/block "
        "cloning is not visible through FIEMAP; less may be freed than shown",
        root));
  return out;
}

} // namespace wsd::prune
