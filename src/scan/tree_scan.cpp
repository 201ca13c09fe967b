#include "scan/tree_scan.hpp"

#include "fs/inode_table.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>

namespace wsd::scan {

namespace {

// A directory tag packs the category (bits 32..47) and workspace index + 1 (bits 0..31);
// bit 63 marks a tag as set (the roots get 0 from the walker).
constexpr fs::DirTag k_tag_set = fs::DirTag{1} << 63;

fs::DirTag make_tag(CategoryIndex cat, uint32_t ws_plus_one) {
  return k_tag_set | (fs::DirTag{cat} << 32) | ws_plus_one;
}

struct InodeCharge {
  CategoryIndex category = 0;
  uint32_t ws_plus_one = 0;
  uint32_t root = 0;
  fs::FileStat st;
  std::string rel_path; // kept only when files are collected
};

class UsageVisitor final : public fs::WalkVisitor {
public:
  UsageVisitor(const fs::RootSet& roots, const Classifier& classifier,
               const WorkspaceMatcher& workspaces, unsigned threads,
               std::optional<uint64_t> collect_min_size, bool collect_tree_entries)
      : m_roots(roots), m_classifier(classifier), m_workspaces(workspaces),
        m_collect_min_size(collect_min_size),
        m_collect_tree_entries(collect_tree_entries && collect_min_size), m_threads(threads) {}

  fs::DirTag on_entry(unsigned thread, const fs::Entry& e, fs::DirTag parent_tag) override {
    ThreadAcc& acc = m_threads[thread];
    const fs::FileStat& st = *e.st;
    CategoryIndex parent_cat = m_classifier.other();
    uint32_t ws = 0;
    if (parent_tag & k_tag_set) {
      parent_cat = static_cast<CategoryIndex>((parent_tag >> 32) & 0xFFFF);
      ws = static_cast<uint32_t>(parent_tag & 0xFFFFFFFF);
    }
    CategoryIndex cat = parent_cat;
    if (e.depth > 0) cat = std::min(parent_cat, m_classifier.match(e.rel_path, e.name, st.is_dir()));
    if (ws == 0 && st.is_dir() && e.depth > 0 && m_workspaces.is_workspace(e.rel_path, e.depth))
      ws = register_workspace(e.root, e.rel_path);

    if (cat != parent_cat && cat != m_classifier.other()) acc.cell(cat, ws).count++;
    const bool collect = m_collect_min_size && st.is_regular() && st.size >= *m_collect_min_size;
    if (m_collect_tree_entries && e.depth > 0 && (!st.is_regular() || st.nlink > 1))
      acc.tree_entries.push_back({std::string(e.rel_path), e.root, st.type, st.dev, st.ino});
    if (!st.is_dir() && st.nlink > 1) {
      m_inodes.offer({st.dev, st.ino}, m_roots.display_path(e.root, e.rel_path),
                     InodeCharge{cat, ws, e.root, st, collect ? std::string(e.rel_path) : std::string()});
    } else {
      acc.charge(cat, ws, st.size, st.blocks, st.is_dir());
      if (collect) acc.files.push_back({st, std::string(e.rel_path), e.root, ws, cat, 1});
    }
    return make_tag(cat, ws);
  }

  fs::DirTag on_listing(unsigned thread, const fs::Entry& dir, fs::DirTag tag,
                        std::span<const std::string_view> names) override {
    const auto cat = static_cast<CategoryIndex>((tag >> 32) & 0xFFFF);
    if (dir.depth == 0 || cat != m_classifier.other()) return tag;
    if (!Classifier::looks_like_bare_repo(names)) return tag; // the walker sorts names
    const auto ws = static_cast<uint32_t>(tag & 0xFFFFFFFF);
    m_threads[thread].cell(m_classifier.git(), ws).count++;
    return make_tag(m_classifier.git(), ws);
  }

  void on_error(unsigned thread, const fs::WalkError& error) override {
    std::string message = error.message;
    if (message.empty()) message = util::errno_text(error.err);
    m_threads[thread].errors.push_back(
        {m_roots.display_path(error.root, error.rel_path), error.op, message});
  }

  ScanResult finish(const fs::WalkStats& stats, std::vector<std::string> roots,
                    std::string pattern) {
    // Multiply-linked inodes, each charged once to its smallest path.
    ThreadAcc& first = m_threads[0];
    ScanResult result;
    UsageReport& report = result.usage;
    m_inodes.for_each([&](const fs::InodeKey&, const auto& slot) {
      const InodeCharge& c = slot.payload;
      first.charge(c.category, c.ws_plus_one, c.st.size, c.st.blocks, false);
      report.hardlinked_inodes++;
      report.hardlink_extra_names += slot.names - 1;
      if (m_collect_min_size && c.st.is_regular() && c.st.size >= *m_collect_min_size)
        first.files.push_back({c.st, c.rel_path, c.root, c.ws_plus_one, c.category, slot.names});
    });
    if (m_collect_min_size) collect_files(result.files);
    const size_t ncat = m_classifier.category_count();
    const size_t nws = m_workspace_names.size() + 1; // + the (none) row at index 0
    std::vector<Tally> cells(ncat * nws);
    for (auto& t : m_threads) {
      t.errors_into(report.errors);
      for (size_t c = 0; c < ncat; ++c)
        for (size_t w = 0; w < nws && w < t.workspaces(); ++w) cells[c * nws + w].add(t.at(c, w));
    }
    for (size_t c = 0; c < ncat; ++c) {
      CategoryRow row;
      row.name = m_classifier.category_name(static_cast<CategoryIndex>(c));
      row.count_unit = m_classifier.count_unit(static_cast<CategoryIndex>(c));
      for (size_t w = 0; w < nws; ++w) row.tally.add(cells[c * nws + w]);
      report.total.add(row.tally);
      report.categories.push_back(std::move(row));
    }
    report.total.count = 0;
    for (size_t w = 0; w < nws; ++w) {
      WorkspaceRow row;
      row.is_none = w == 0;
      row.name = w == 0 ? "(none)" : m_workspace_names[w - 1];
      for (size_t c = 0; c < ncat; ++c) {
        const Tally& t = cells[c * nws + w];
        row.by_category.push_back(t);
        row.tally.add(t);
      }
      row.tally.count = 0;
      if (w == 0 && row.tally.logical_bytes == 0 && row.tally.files == 0 && row.tally.dirs == 0)
        continue;
      report.workspaces.push_back(std::move(row));
    }
    std::sort(report.workspaces.begin(), report.workspaces.end(), [](const auto& a, const auto& b) {
      if (a.is_none != b.is_none) return b.is_none;
      if (a.tally.allocated_bytes != b.tally.allocated_bytes)
        return a.tally.allocated_bytes > b.tally.allocated_bytes;
      return a.name < b.name;
    });
    std::sort(report.errors.begin(), report.errors.end(),
              [](const auto& a, const auto& b) { return a.path < b.path; });
    report.walk = stats;
    report.roots = std::move(roots);
    report.workspace_pattern = std::move(pattern);
    return result;
  }

  void collect_files(FileList& list) {
    size_t n = 0;
    for (const auto& t : m_threads) n += t.files.size();
    list.files.reserve(n);
    for (auto& t : m_threads) {
      for (auto& f : t.files) list.files.push_back(std::move(f));
      t.files = {};
    }
    std::sort(list.files.begin(), list.files.end(), [](const FileEntry& a, const FileEntry& b) {
      if (a.root != b.root) return a.root < b.root;
      return a.rel_path < b.rel_path;
    });
    for (auto& t : m_threads) {
      for (auto& e : t.tree_entries) list.tree_entries.push_back(std::move(e));
      t.tree_entries = {};
    }
    std::sort(list.tree_entries.begin(), list.tree_entries.end(),
              [](const TreeEntry& a, const TreeEntry& b) {
                if (a.root != b.root) return a.root < b.root;
                return a.rel_path < b.rel_path;
              });
    list.workspace_names = m_workspace_names;
    for (size_t c = 0; c < m_classifier.category_count(); ++c)
      list.category_names.push_back(m_classifier.category_name(static_cast<CategoryIndex>(c)));
  }

private:
  // Per-thread tallies: a (workspace x category) grid, grown as workspaces appear;
  // workspace 0 is "(none)".
  struct ThreadAcc {
    size_t ncat = 0;
    std::vector<std::vector<Tally>> by_ws; // [ws][cat]
    std::vector<ReportedError> errors;
    std::vector<FileEntry> files;
    std::vector<TreeEntry> tree_entries;

    Tally& cell(CategoryIndex cat, uint32_t ws) {
      if (ws >= by_ws.size()) by_ws.resize(ws + 1, std::vector<Tally>(ncat));
      return by_ws[ws][cat];
    }
    void charge(CategoryIndex cat, uint32_t ws, uint64_t size, uint64_t blocks, bool dir) {
      Tally& t = cell(cat, ws);
      t.logical_bytes += size;
      t.allocated_bytes += blocks * 512;
      (dir ? t.dirs : t.files)++;
    }
    size_t workspaces() const { return by_ws.size(); }
    Tally at(size_t cat, size_t ws) const { return by_ws[ws][cat]; }
    void errors_into(std::vector<ReportedError>& out) {
      for (auto& e : errors) out.push_back(std::move(e));
    }
  };

  uint32_t register_workspace(uint32_t root, std::string_view rel_path) {
    std::string name = m_roots.size() > 1 ? m_roots.display_path(root, rel_path)
                                          : std::string(rel_path);
    std::lock_guard lock(m_ws_mutex);
    m_workspace_names.push_back(std::move(name));
    return static_cast<uint32_t>(m_workspace_names.size());
  }

  const fs::RootSet& m_roots;
  const Classifier& m_classifier;
  const WorkspaceMatcher& m_workspaces;
  std::optional<uint64_t> m_collect_min_size;
  bool m_collect_tree_entries = false;
  std::vector<ThreadAcc> m_threads;
  fs::InodeTable<InodeCharge> m_inodes;
  std::mutex m_ws_mutex;
  std::vector<std::string> m_workspace_names;

public:
  void init(size_t ncat) {
    for (auto& t : m_threads) t.ncat = ncat;
  }
};

} // namespace

ScanResult scan_tree(const fs::RootSet& roots, const ScanOptions& options,
                     fs::WalkProgress* progress) {
  const auto start = std::chrono::steady_clock::now();
  const Classifier classifier(options.category_rules);
  const WorkspaceMatcher workspaces(options.workspace_glob, options.workspace_depth);
  const unsigned threads = fs::resolve_threads(options.walk.threads);
  fs::WalkOptions walk_options = options.walk;
  walk_options.threads = threads;
  UsageVisitor visitor(roots, classifier, workspaces, threads, options.collect_min_size,
                       options.collect_tree_entries);
  visitor.init(classifier.category_count());
  const fs::WalkStats stats = fs::walk(roots, walk_options, visitor, progress);
  std::vector<std::string> root_names;
  for (const auto& r : roots.roots()) root_names.push_back(r.display);
  ScanResult result = visitor.finish(stats, std::move(root_names), workspaces.pattern());
  result.usage.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

} // namespace wsd::scan
