#include "scan/tree_scan.hpp"

#include "fs/inode_table.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <thread>

namespace wsd::scan {

namespace {

// A directory tag packs the category (bits 56..62), the workspace index + 1 (bits 32..55)
// and the directory's index in the PathArena (bits 0..31, when files are collected); bit 63
// marks a tag as set (the roots get 0 from the walker).
constexpr fs::DirTag k_tag_set = fs::DirTag{1} << 63;
constexpr size_t k_max_categories = 127;
constexpr uint32_t k_max_workspaces = (uint32_t{1} << 24) - 1;

fs::DirTag make_tag(CategoryIndex cat, uint32_t ws_plus_one, uint32_t dir) {
  return k_tag_set | (fs::DirTag{cat} << 56) | (fs::DirTag{ws_plus_one} << 32) | dir;
}
CategoryIndex tag_category(fs::DirTag tag) { return static_cast<CategoryIndex>((tag >> 56) & 0x7F); }
uint32_t tag_workspace(fs::DirTag tag) { return static_cast<uint32_t>((tag >> 32) & 0xFFFFFF); }
uint32_t tag_dir(fs::DirTag tag) { return static_cast<uint32_t>(tag & 0xFFFFFFFF); }

// Sibling order that makes a depth-first walk list paths in bytewise order: a directory
// sorts as its name followed by '/' (every path below it starts so), a file as its name.
bool sibling_less(std::string_view a, bool a_dir, std::string_view b, bool b_dir) {
  const size_t n = std::min(a.size(), b.size());
  const int c = n ? std::memcmp(a.data(), b.data(), n) : 0;
  if (c != 0) return c < 0;
  if (a.size() == b.size()) return !a_dir && b_dir;
  if (a.size() < b.size()) return a_dir ? '/' < static_cast<unsigned char>(b[n]) : true;
  return b_dir ? static_cast<unsigned char>(a[n]) < '/' : false;
}

// Reorders `items` in place so that items[k] becomes the old items[order[k]].
template <typename Array>
void apply_order(Array& items, const std::vector<uint32_t>& order) {
  std::vector<bool> done(order.size());
  for (size_t s = 0; s < order.size(); ++s) {
    if (done[s]) continue;
    auto saved = items[s];
    size_t k = s;
    while (true) {
      done[k] = true;
      const size_t src = order[k];
      if (src == s) {
        items[k] = saved;
        break;
      }
      items[k] = items[src];
      k = src;
    }
  }
}

struct InodeCharge {
  CategoryIndex category = 0;
  uint32_t ws_plus_one = 0;
  uint32_t root = 0;
  fs::FileStat st;
  uint32_t dir = 0;  // where the name is, when files are collected
  NameRef name = 0;
};

class UsageVisitor final : public fs::WalkVisitor {
public:
  UsageVisitor(const fs::RootSet& roots, const Classifier& classifier,
               const WorkspaceMatcher& workspaces, unsigned threads,
               std::optional<uint64_t> collect_min_size, bool collect_tree_entries)
      : m_roots(roots), m_classifier(classifier), m_workspaces(workspaces),
        m_collect_min_size(collect_min_size),
        m_collect_tree_entries(collect_tree_entries && collect_min_size), m_threads(threads),
        m_cursors(threads), m_paths(roots.size()) {
    if (roots.size() > UINT16_MAX) throw util::Fatal(fmt::format("at most {} roots", UINT16_MAX));
    if (classifier.category_count() > k_max_categories)
      throw util::Fatal(fmt::format("at most {} categories", k_max_categories));
  }

  fs::DirTag on_entry(unsigned thread, const fs::Entry& e, fs::DirTag parent_tag) override {
    ThreadAcc& acc = m_threads[thread];
    const fs::FileStat& st = *e.st;
    CategoryIndex parent_cat = m_classifier.other();
    uint32_t ws = 0;
    uint32_t parent_dir = e.root;
    if (parent_tag & k_tag_set) {
      parent_cat = tag_category(parent_tag);
      ws = tag_workspace(parent_tag);
      parent_dir = tag_dir(parent_tag);
    }
    CategoryIndex cat = parent_cat;
    if (e.depth > 0) cat = std::min(parent_cat, m_classifier.match(e.rel_path, e.name, st.is_dir()));
    if (ws == 0 && st.is_dir() && e.depth > 0 && m_workspaces.is_workspace(e.rel_path, e.depth))
      ws = register_workspace(e.root, e.rel_path);

    if (cat != parent_cat && cat != m_classifier.other()) acc.cell(cat, ws).count++;
    const bool collect = m_collect_min_size && st.is_regular() && st.size >= *m_collect_min_size;
    uint32_t dir = e.root; // this entry's own directory index (for a directory)
    NameRef name = 0;
    if (m_collect_min_size && e.depth > 0) {
      PathArena::Cursor& cursor = m_cursors[thread];
      if (st.is_dir()) {
        dir = m_paths.add_dir(cursor, parent_dir, e.name, e.root);
      } else if (collect || (m_collect_tree_entries && (!st.is_regular() || st.nlink > 1))) {
        name = m_paths.add_name(cursor, e.name);
        if (m_collect_tree_entries && (!st.is_regular() || st.nlink > 1))
          acc.tree_entries.push_back({parent_dir, name, st.type, st.dev, st.ino, st.ctime_ns});
      }
    }
    if (!st.is_dir() && st.nlink > 1) {
      m_inodes.offer({st.dev, st.ino}, m_roots.display_path(e.root, e.rel_path),
                     InodeCharge{cat, ws, e.root, st, parent_dir, name});
    } else {
      acc.charge(cat, ws, st.size, st.blocks, st.is_dir());
      if (collect) acc.files.push_back({FileMeta::of(st), parent_dir, name, ws, static_cast<uint16_t>(e.root), cat, st.nlink, 1});
    }
    return make_tag(cat, ws, st.is_dir() ? dir : 0);
  }

  fs::DirTag on_listing(unsigned thread, const fs::Entry& dir, fs::DirTag tag,
                        std::span<const std::string_view> names) override {
    const CategoryIndex cat = tag_category(tag);
    if (dir.depth == 0 || cat != m_classifier.other()) return tag;
    if (!Classifier::looks_like_bare_repo(names)) return tag; // the walker sorts names
    const uint32_t ws = tag_workspace(tag);
    m_threads[thread].cell(m_classifier.git(), ws).count++;
    return make_tag(m_classifier.git(), ws, tag_dir(tag));
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
        first.files.push_back({FileMeta::of(c.st), c.dir, c.name, c.ws_plus_one, static_cast<uint16_t>(c.root),
                               c.category, c.st.nlink, slot.names});
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
    // Merge the threads' lists without holding two copies: the largest becomes the list,
    // the others are appended from their ends while their pages are given back.
    size_t largest = 0, total = 0;
    for (size_t t = 0; t < m_threads.size(); ++t) {
      total += m_threads[t].files.size();
      if (m_threads[t].files.size() > m_threads[largest].files.size()) largest = t;
    }
    list.files = std::move(m_threads[largest].files);
    list.files.reserve(total);
    for (auto& t : m_threads) {
      while (!t.files.empty()) {
        const size_t n = std::min<size_t>(t.files.size(), 16384);
        for (size_t k = t.files.size() - n; k < t.files.size(); ++k) list.files.push_back(t.files[k]);
        t.files.truncate(t.files.size() - n);
      }
      t.files.clear();
      for (auto& e : t.tree_entries) list.tree_entries.push_back(e);
      t.tree_entries = {};
    }
    list.paths = std::move(m_paths);
    // As many sorting threads as the walk had, up to the cores (--threads 1 means one).
    sort_in_path_order(list, std::min<size_t>(m_threads.size(),
                                              std::max(1u, std::thread::hardware_concurrency())));
    list.workspace_names = m_workspace_names;
    for (size_t c = 0; c < m_classifier.category_count(); ++c)
      list.category_names.push_back(m_classifier.category_name(static_cast<CategoryIndex>(c)));
  }

  // Lists from this many entries sort their directories on several threads.
  static constexpr size_t k_parallel_sort_min = 65536;

  // Sorts files and tree entries by (root, rel_path) without building paths: a depth-first
  // walk of the directory table whose siblings are in sibling_less order. Large lists use up
  // to `threads` threads.
  static void sort_in_path_order(FileList& list, size_t threads) {
    const PathArena& paths = list.paths;
    const size_t ndirs = paths.dir_count();
    enum : uint64_t { k_file = 0, k_tree = 1, k_dir = 2 };
    std::vector<uint32_t> offsets(ndirs + 2, 0);
    for (const FileEntry& f : list.files) offsets[f.dir + 2]++;
    for (const TreeEntry& e : list.tree_entries) offsets[e.dir + 2]++;
    for (uint32_t d = 0; d < ndirs; ++d)
      if (paths.dir(d).parent != k_no_dir) offsets[paths.dir(d).parent + 2]++;
    for (size_t d = 2; d < offsets.size(); ++d) offsets[d] += offsets[d - 1];
    std::vector<uint64_t> items(offsets.back());
    auto put = [&](uint32_t dir, uint64_t item) { items[offsets[dir + 1]++] = item; };
    for (uint32_t i = 0; i < list.files.size(); ++i) put(list.files[i].dir, (k_file << 32) | i);
    for (uint32_t i = 0; i < list.tree_entries.size(); ++i) put(list.tree_entries[i].dir, (k_tree << 32) | i);
    for (uint32_t d = 0; d < ndirs; ++d)
      if (paths.dir(d).parent != k_no_dir) put(paths.dir(d).parent, (k_dir << 32) | d);
    // offsets[d] .. offsets[d + 1] are now directory d's children.
    auto name_of = [&](uint64_t item) {
      const auto i = static_cast<uint32_t>(item);
      switch (item >> 32) {
      case k_file: return paths.name(list.files[i].name);
      case k_tree: return paths.name(list.tree_entries[i].name);
      default: return paths.name(paths.dir(i).name);
      }
    };
    const auto sort_dirs = [&](size_t from, size_t to) {
      for (size_t d = from; d < to; ++d)
        std::sort(items.begin() + offsets[d], items.begin() + offsets[d + 1],
                  [&](uint64_t a, uint64_t b) {
                    return sibling_less(name_of(a), (a >> 32) == k_dir, name_of(b),
                                        (b >> 32) == k_dir);
                  });
    };
    // Directories sort independently: on a large tree they are split between the cores by
    // entry count (this runs after the walk, when nothing else does; ~35 ms alone for 500k
    // entries).
    const size_t parts = items.size() < k_parallel_sort_min ? 1 : std::max<size_t>(threads, 1);
    std::vector<std::jthread> helpers;
    for (size_t part = 0, from = 0; part < parts; ++part) {
      size_t to = ndirs;
      if (part + 1 < parts) {
        const uint64_t want = items.size() * (part + 1) / parts; // entries before this part's end
        const auto ends = offsets.begin() + 1; // ends[d]: where directory d's entries end
        to = static_cast<size_t>(
            std::upper_bound(ends, ends + static_cast<std::ptrdiff_t>(ndirs), want) - ends);
        to = std::max(to, from);
      }
      if (part + 1 < parts)
        helpers.emplace_back(sort_dirs, from, to);
      else
        sort_dirs(from, to);
      from = to;
    }
    helpers.clear(); // joins
    std::vector<uint32_t> file_order, tree_order;
    file_order.reserve(list.files.size());
    tree_order.reserve(list.tree_entries.size());
    std::vector<std::pair<uint32_t, uint32_t>> stack; // (dir, next child position)
    for (uint32_t r = 0; r < ndirs && paths.dir(r).parent == k_no_dir; ++r) {
      stack.push_back({r, offsets[r]});
      while (!stack.empty()) {
        auto& [d, pos] = stack.back();
        if (pos == offsets[d + 1]) {
          stack.pop_back();
          continue;
        }
        const uint64_t item = items[pos++];
        const auto i = static_cast<uint32_t>(item);
        if ((item >> 32) == k_file) file_order.push_back(i);
        else if ((item >> 32) == k_tree) tree_order.push_back(i);
        else stack.push_back({i, offsets[i]});
      }
    }
    items = {};
    apply_order(list.files, file_order);
    apply_order(list.tree_entries, tree_order);
  }

private:
  // Per-thread tallies: a (workspace x category) grid, grown as workspaces appear;
  // workspace 0 is "(none)".
  struct ThreadAcc {
    size_t ncat = 0;
    std::vector<std::vector<Tally>> by_ws; // [ws][cat]
    std::vector<ReportedError> errors;
    MappedArray<FileEntry> files;
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
    if (m_workspace_names.size() >= k_max_workspaces)
      throw util::Fatal(fmt::format("more than {} workspaces", k_max_workspaces));
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
  std::vector<PathArena::Cursor> m_cursors; // one per thread
  PathArena m_paths;

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
  const unsigned threads = fs::resolve_walk_threads(options.walk.threads);
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
