#include "prune/workspace_scan.hpp"

#include "scan/classifier.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <climits>
#include <mutex>
#include <unordered_set>

namespace wsd::prune {

namespace {

constexpr uint32_t k_outside = UINT32_MAX;

// The workspace `path` lies in (or is): the one named by a '/'-bounded prefix of it
// (workspaces are sorted by name and never nest).
std::optional<size_t> workspace_holding(const std::vector<WorkspaceInfo>& workspaces, const std::string& path) {
  for (size_t end = 0; end != std::string::npos;) {
    end = path.find('/', end + 1);
    const std::string_view prefix = std::string_view(path).substr(0, end);
    const auto it = std::lower_bound(workspaces.begin(), workspaces.end(), prefix,
                                     [](const WorkspaceInfo& w, std::string_view p) { return w.name < p; });
    if (it != workspaces.end() && it->name == prefix) return static_cast<size_t>(it - workspaces.begin());
  }
  return std::nullopt;
}

class PruneVisitor final : public fs::WalkVisitor {
public:
  PruneVisitor(const fs::RootSet& roots, const scan::WorkspaceMatcher& matcher, unsigned threads)
      : m_roots(roots), m_matcher(matcher), m_threads(threads) {}

  // Tags: 0 outside any workspace, else workspace index + 1.
  fs::DirTag on_entry(unsigned thread, const fs::Entry& e, fs::DirTag parent_tag) override {
    if (e.depth == 0) return 0;
    Local& local = m_threads[thread];
    const fs::FileStat& st = *e.st;
    uint32_t ws = parent_tag == 0 ? k_outside : static_cast<uint32_t>(parent_tag - 1);
    if (ws == k_outside && st.is_dir() && m_matcher.is_workspace(e.rel_path, e.depth)) {
      std::lock_guard lock(m_mutex);
      ws = static_cast<uint32_t>(m_workspaces.size());
      WorkspaceInfo info;
      info.name.assign(e.rel_path);
      info.dev = st.dev;
      info.ino = st.ino;
      info.own_mtime_ns = st.mtime_ns;
      m_workspaces.push_back(std::move(info));
      local.inodes.push_back({st.dev, st.ino, st.blocks, st.mtime_ns, st.nlink, ws, st.type, std::string(e.rel_path)});
      return ws + 1;
    }
    local.inodes.push_back({st.dev, st.ino, st.blocks, st.mtime_ns, st.nlink, ws, st.type, std::string(e.rel_path)});
    return ws == k_outside ? 0 : ws + 1;
  }

  void on_skipped(unsigned thread, const fs::Entry& e, fs::SkipReason why) override {
    m_threads[thread].skipped.emplace_back(
        std::string(e.rel_path),
        why == fs::SkipReason::excluded ? "excluded by --exclude" : "another filesystem is mounted there");
  }

  void on_error(unsigned thread, const fs::WalkError& error) override {
    m_threads[thread].errors.push_back(
        {m_roots.display_path(error.root, error.rel_path), error.op,
         error.message.empty() ? util::errno_text(error.err) : error.message});
    m_threads[thread].error_paths.push_back(error.rel_path);
  }

  WorkspaceScan finish() {
    WorkspaceScan out;
    // Sort workspaces by name and renumber the inode records.
    std::vector<uint32_t> order(m_workspaces.size());
    for (uint32_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return m_workspaces[a].name < m_workspaces[b].name; });
    std::vector<uint32_t> new_index(order.size());
    for (uint32_t k = 0; k < order.size(); ++k) {
      new_index[order[k]] = k;
      out.workspaces.push_back(m_workspaces[order[k]]);
    }
    for (auto& t : m_threads) {
      for (auto& rec : t.inodes) {
        if (rec.workspace != k_outside) rec.workspace = new_index[rec.workspace];
        out.inodes.push_back(std::move(rec));
      }
      for (auto& e : t.errors) out.errors.push_back(std::move(e));
    }
    std::sort(out.inodes.begin(), out.inodes.end(),
              [](const InodeRecord& a, const InodeRecord& b) { return a.rel_path < b.rel_path; });
    // Per workspace: newest mtime below it, du-style bytes, entries.
    std::vector<std::unordered_set<uint64_t>> seen(out.workspaces.size());
    for (const InodeRecord& rec : out.inodes) {
      if (rec.workspace == k_outside) continue;
      WorkspaceInfo& w = out.workspaces[rec.workspace];
      w.entries++;
      if (rec.nlink > 1 && rec.type != fs::EntryType::directory &&
          !seen[rec.workspace].insert(rec.ino).second)
        continue;
      w.allocated_bytes += rec.blocks * 512;
    }
    std::vector<bool> has_entries(out.workspaces.size(), false);
    for (const InodeRecord& rec : out.inodes) {
      if (rec.workspace == k_outside || rec.rel_path == out.workspaces[rec.workspace].name) continue;
      WorkspaceInfo& w = out.workspaces[rec.workspace];
      if (!has_entries[rec.workspace] || rec.mtime_ns > w.newest_mtime_ns) w.newest_mtime_ns = rec.mtime_ns;
      has_entries[rec.workspace] = true;
    }
    for (size_t k = 0; k < out.workspaces.size(); ++k)
      if (!has_entries[k]) out.workspaces[k].newest_mtime_ns = out.workspaces[k].own_mtime_ns;
    for (auto& t : m_threads)
      for (const std::string& path : t.error_paths)
        if (const auto w = workspace_holding(out.workspaces, path)) out.workspaces[*w].errors++;
    for (auto& t : m_threads)
      for (const auto& [path, why] : t.skipped)
        if (const auto w = workspace_holding(out.workspaces, path))
          out.workspaces[*w].protected_entries.push_back(path + ": " + why);
    for (auto& w : out.workspaces) std::sort(w.protected_entries.begin(), w.protected_entries.end());
    std::sort(out.errors.begin(), out.errors.end(),
              [](const ScanError& a, const ScanError& b) { return a.path < b.path; });
    return out;
  }

  struct Local {
    std::vector<InodeRecord> inodes;
    std::vector<ScanError> errors;
    std::vector<std::string> error_paths;
    std::vector<std::pair<std::string, std::string>> skipped; // (rel_path, why)
  };

private:
  const fs::RootSet& m_roots;
  const scan::WorkspaceMatcher& m_matcher;
  std::vector<Local> m_threads;
  std::mutex m_mutex;
  std::vector<WorkspaceInfo> m_workspaces;
};

} // namespace

WorkspaceScan scan_workspaces(const fs::RootSet& roots, const fs::WalkOptions& options,
                              const std::optional<std::string>& workspace_glob,
                              std::optional<unsigned> workspace_depth) {
  const scan::WorkspaceMatcher matcher(workspace_glob, workspace_depth);
  fs::WalkOptions walk_options = options;
  walk_options.threads = fs::resolve_walk_threads(options.threads);
  walk_options.excludes.emplace_back(std::string("/") + k_trash_name);
  PruneVisitor visitor(roots, matcher, walk_options.threads);
  fs::walk(roots, walk_options, visitor, nullptr);
  WorkspaceScan out = visitor.finish();
  fs::FileStat st;
  out.trash_exists = fs::stat_at(roots[0].fd.get(), k_trash_name, st) == 0;
  return out;
}

} // namespace wsd::prune
