#include "migrate/copy_plan.hpp"

#include "dedupe/temp_names.hpp"
#include "migrate/time_granularity.hpp"

#include <algorithm>
#include <map>
#include <unordered_set>
#include <string_view>
#include <unordered_map>

namespace wsd::migrate {

bool is_migrate_temp_name(std::string_view name) { return dedupe::is_temp_name(name); }

namespace {

using verify::Node;

std::string_view parent_of(std::string_view rel) {
  const size_t slash = rel.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : rel.substr(0, slash);
}

size_t depth_of(std::string_view rel) {
  return rel.empty() ? 0 : static_cast<size_t>(std::count(rel.begin(), rel.end(), '/')) + 1;
}

bool same_owner_mode(const Node& s, const Node& d) {
  return s.st.uid == d.st.uid && s.st.gid == d.st.gid && (s.st.mode & 07777) == (d.st.mode & 07777);
}

class Planner {
public:
  Planner(const verify::TreeListing& src, const verify::TreeListing& dst, int64_t granularity)
      : m_src(src), m_dst(dst), m_granularity(granularity) {
    m_dst_index.reserve(dst.nodes.size());
    for (size_t i = 0; i < dst.nodes.size(); ++i) m_dst_index.emplace(dst.nodes[i].rel_path, i);
  }

  CopyPlan run() {
    group_hardlinks();
    plan_removals();
    for (size_t i = 0; i < m_src.nodes.size(); ++i) plan_entry(i);
    // Hardlinked names, now that every primary's fate is known.
    for (const auto& [name, primary] : m_pending_links) {
      const Node* d = dst_of(m_src.nodes[name].rel_path);
      const Node* dp = dst_of(m_src.nodes[primary].rel_path);
      const bool ok = d != nullptr && dp != nullptr && !m_recopied[primary] &&
                      d->st.type == fs::EntryType::regular && d->st.ino == dp->st.ino &&
                      !m_removed_dst.contains(m_src.nodes[name].rel_path);
      if (ok) {
        ++m_plan.unchanged;
      } else {
        m_plan.links.emplace_back(name, primary);
        touch_parent(m_src.nodes[name].rel_path);
      }
    }
    // Directories: metadata differs, or something below them changes (their mtime moves).
    for (size_t i = 0; i < m_src.nodes.size(); ++i) {
      const Node& s = m_src.nodes[i];
      if (!s.st.is_dir()) continue;
      const Node* d = dst_of(s.rel_path);
      const bool created = d == nullptr || !d->st.is_dir() || m_removed_dst.contains(s.rel_path);
      const bool differs = created || !same_owner_mode(s, *d) || !same_mtime(s, *d) ||
                           s.xattrs != d->xattrs;
      if (differs || m_touched_dirs.contains(s.rel_path)) {
        m_plan.dir_metadata.push_back(i);
      } else {
        ++m_plan.unchanged;
      }
    }
    std::stable_sort(m_plan.dir_metadata.begin(), m_plan.dir_metadata.end(), [&](size_t a, size_t b) {
      return depth_of(m_src.nodes[a].rel_path) > depth_of(m_src.nodes[b].rel_path);
    });
    return std::move(m_plan);
  }

private:
  // The same modification time, as far as the target keeps it.
  bool same_mtime(const Node& s, const Node& d) const {
    return floor_time(s.st.mtime_ns, m_granularity) == floor_time(d.st.mtime_ns, m_granularity);
  }

  const Node* dst_of(std::string_view rel) const {
    const auto it = m_dst_index.find(rel);
    return it == m_dst_index.end() ? nullptr : &m_dst.nodes[it->second];
  }

  void touch_parent(std::string_view rel) {
    if (!rel.empty()) m_touched_dirs.emplace(parent_of(rel));
  }

  // Hardlink groups by SRC (dev, ino): the bytewise smallest name is the primary.
  void group_hardlinks() {
    m_primary.assign(m_src.nodes.size(), SIZE_MAX);
    m_group_size.assign(m_src.nodes.size(), 1);
    m_recopied.assign(m_src.nodes.size(), false);
    std::map<std::pair<uint64_t, uint64_t>, size_t> first;
    for (size_t i = 0; i < m_src.nodes.size(); ++i) {
      const Node& n = m_src.nodes[i];
      if (!n.st.is_regular() || n.st.nlink < 2) continue;
      const auto [it, inserted] = first.emplace(std::make_pair(n.st.dev, n.st.ino), i);
      if (!inserted) {
        m_primary[i] = it->second;
        ++m_group_size[it->second];
      }
    }
  }

  // DST entries SRC does not have, or has with another type.
  void plan_removals() {
    std::unordered_map<std::string_view, size_t> src_index;
    src_index.reserve(m_src.nodes.size());
    for (size_t i = 0; i < m_src.nodes.size(); ++i) src_index.emplace(m_src.nodes[i].rel_path, i);
    for (const Node& d : m_dst.nodes) {
      if (d.rel_path.empty()) continue;
      // Below a removed directory: goes with it.
      bool below_removed = false;
      for (std::string_view p = parent_of(d.rel_path); !p.empty(); p = parent_of(p)) {
        if (m_removed_dst.contains(p)) {
          below_removed = true;
          break;
        }
      }
      if (below_removed) continue;
      const auto it = src_index.find(d.rel_path);
      if (it != src_index.end() && m_src.nodes[it->second].st.type == d.st.type) {
        if (d.st.is_regular()) ++m_dst_names[d.st.ino]; // names of this DST inode that stay
        continue;
      }
      m_removed_dst.emplace(d.rel_path);
      m_plan.removals.push_back(d.rel_path);
      if (it == src_index.end() && is_migrate_temp_name(dedupe::base_name(d.rel_path))) ++m_plan.temps_removed;
      touch_parent(d.rel_path);
    }
  }

  void plan_entry(size_t i) {
    const Node& s = m_src.nodes[i];
    const Node* d = dst_of(s.rel_path);
    if (d != nullptr && m_removed_dst.contains(s.rel_path)) d = nullptr;
    switch (s.st.type) {
    case fs::EntryType::directory:
      if (d == nullptr && !s.rel_path.empty()) {
        m_plan.mkdirs.push_back(i);
        touch_parent(s.rel_path);
      }
      return;
    case fs::EntryType::regular: {
      if (m_primary[i] != SIZE_MAX) {
        m_pending_links.emplace_back(i, m_primary[i]);
        return;
      }
      // A DST inode shared with names outside this SRC group must be copied apart.
      const bool data_same = d != nullptr && d->st.size == s.st.size && same_mtime(s, *d) &&
                             m_dst_names[d->st.ino] <= m_group_size[i];
      if (!data_same) {
        m_plan.copies.push_back(i);
        m_plan.bytes_to_copy += s.st.size;
        m_recopied[i] = true;
        touch_parent(s.rel_path);
      } else if (!same_owner_mode(s, *d) || s.xattrs != d->xattrs) {
        m_plan.metadata_fixes.push_back(i);
        touch_parent(s.rel_path);
      } else {
        ++m_plan.unchanged;
      }
      return;
    }
    case fs::EntryType::symlink:
      keep_or_create(i, d != nullptr && d->link_target == s.link_target && d->st.uid == s.st.uid &&
                            d->st.gid == s.st.gid && same_mtime(s, *d));
      return;
    default:
      keep_or_create(i, d != nullptr && same_owner_mode(s, *d) && same_mtime(s, *d) &&
                            d->xattrs == s.xattrs && d->rdev == s.rdev);
      return;
    }
  }

  // A symlink or special file is recreated whole unless DST already has it as it is.
  void keep_or_create(size_t i, bool same) {
    if (same) {
      ++m_plan.unchanged;
      return;
    }
    m_plan.creates.push_back(i);
    touch_parent(m_src.nodes[i].rel_path);
  }

  const verify::TreeListing& m_src;
  const verify::TreeListing& m_dst;
  int64_t m_granularity;
  std::unordered_map<std::string_view, size_t> m_dst_index;
  std::unordered_set<std::string_view> m_removed_dst;
  std::unordered_set<std::string_view> m_touched_dirs;
  std::vector<size_t> m_primary;
  std::vector<size_t> m_group_size;
  std::unordered_map<uint64_t, size_t> m_dst_names;
  std::vector<bool> m_recopied;
  std::vector<std::pair<size_t, size_t>> m_pending_links;
  CopyPlan m_plan;
};

} // namespace

CopyPlan plan_copy(const verify::TreeListing& src, const verify::TreeListing& dst,
                   int64_t mtime_granularity_ns) {
  return Planner(src, dst, mtime_granularity_ns).run();
}

} // namespace wsd::migrate
