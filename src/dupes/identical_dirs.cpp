#include "dupes/identical_dirs.hpp"

#include "fs/inode_table.hpp"
#include "fs/safe_open.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <unistd.h>
#include <unordered_map>

namespace wsd::dupes {

namespace {

using content::Digest128;

struct Child {
  std::string name;
  fs::EntryType type;
  Digest128 token;
};

struct Node {
  uint32_t root = 0;
  std::string rel_path;
  uint32_t depth = 0;
  uint32_t parent = UINT32_MAX;
  std::vector<Child> children;
  uint64_t logical = 0;
  uint64_t allocated = 0;
  uint64_t files = 0;
  uint64_t entries = 0;
  Digest128 token;
};

std::string node_key(uint32_t root, std::string_view rel_path) {
  std::string key(reinterpret_cast<const char*>(&root), sizeof root);
  key.append(rel_path);
  return key;
}

std::string_view parent_of(std::string_view rel_path) {
  const size_t slash = rel_path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : rel_path.substr(0, slash);
}

std::string_view name_of(std::string_view rel_path) {
  const size_t slash = rel_path.rfind('/');
  return slash == std::string_view::npos ? rel_path : rel_path.substr(slash + 1);
}

Digest128 tagged_hash(char tag, std::string_view bytes) {
  std::string buf(1, tag);
  buf.append(bytes);
  return content::hash_bytes(std::as_bytes(std::span(buf.data(), buf.size())));
}

template <typename T>
std::string_view raw(const T& value) {
  return {reinterpret_cast<const char*>(&value), sizeof value};
}

} // namespace

std::vector<IdenticalDirGroup> find_identical_dirs(const fs::RootSet& roots,
                                                   const scan::FileList& list,
                                                   const DuplicateSet& dupes, bool cross_fs) {
  std::vector<Node> nodes;
  std::unordered_map<std::string, uint32_t> index;
  auto add_node = [&](uint32_t root, std::string_view rel_path) {
    const auto [it, inserted] = index.emplace(node_key(root, rel_path), static_cast<uint32_t>(nodes.size()));
    if (inserted) {
      Node n;
      n.root = root;
      n.rel_path = std::string(rel_path);
      n.depth = rel_path.empty() ? 0 : static_cast<uint32_t>(std::count(rel_path.begin(), rel_path.end(), '/') + 1);
      nodes.push_back(std::move(n));
    }
    return it->second;
  };
  for (uint32_t r = 0; r < roots.size(); ++r) add_node(r, "");
  for (const auto& e : list.tree_entries)
    if (e.type == fs::EntryType::directory) add_node(e.root, e.rel_path);
  auto parent_node = [&](uint32_t root, std::string_view rel_path) -> Node* {
    const auto it = index.find(node_key(root, parent_of(rel_path)));
    return it == index.end() ? nullptr : &nodes[it->second];
  };

  // Content tokens of regular files.
  auto file_token = [&](uint32_t i) {
    const scan::FileEntry& f = list.files[i];
    if (dupes.group_of[i] != k_no_group) {
      const Digest128 d = dupes.groups[dupes.group_of[i]].digest;
      std::string buf(raw(f.st.size));
      buf.append(raw(d));
      return tagged_hash('G', buf);
    }
    if (f.st.size == 0) return tagged_hash('E', {});
    return tagged_hash('U', raw(i)); // unique content: its directory is unique too
  };
  auto add_file = [&](Node& parent, std::string_view rel_path, uint32_t i) {
    const scan::FileEntry& f = list.files[i];
    parent.children.push_back({std::string(name_of(rel_path)), fs::EntryType::regular, file_token(i)});
    parent.logical += f.st.size;
    parent.allocated += f.st.allocated_bytes();
    parent.files++;
    parent.entries++;
  };
  std::unordered_map<fs::InodeKey, uint32_t, fs::InodeKeyHash> linked;
  for (uint32_t i = 0; i < list.files.size(); ++i) {
    const scan::FileEntry& f = list.files[i];
    if (f.st.nlink > 1) {
      linked.emplace(fs::InodeKey{f.st.dev, f.st.ino}, i);
      continue; // every name is in tree_entries
    }
    if (Node* p = parent_node(f.root, f.rel_path)) add_file(*p, f.rel_path, i);
  }
  uint32_t unknown = 0;
  for (const auto& e : list.tree_entries) {
    if (e.type == fs::EntryType::directory) continue;
    Node* p = parent_node(e.root, e.rel_path);
    if (!p) continue;
    if (e.type == fs::EntryType::regular) {
      const auto it = linked.find({e.dev, e.ino});
      if (it != linked.end()) {
        add_file(*p, e.rel_path, it->second);
        continue;
      }
      p->children.push_back({std::string(name_of(e.rel_path)), e.type, tagged_hash('X', raw(++unknown))});
      p->entries++;
      continue;
    }
    Digest128 token = tagged_hash('X', raw(++unknown));
    if (e.type == fs::EntryType::symlink) {
      auto dir = fs::open_beneath(roots[e.root].fd.get(), parent_of(e.rel_path), true, cross_fs);
      if (dir) {
        char target[PATH_MAX];
        const std::string name(name_of(e.rel_path));
        const ssize_t n = ::readlinkat(dir->get(), name.c_str(), target, sizeof target);
        if (n >= 0) token = tagged_hash('L', std::string_view(target, static_cast<size_t>(n)));
      }
    } else if (e.type != fs::EntryType::regular) {
      token = tagged_hash('S', raw(e.type)); // fifo, socket, device: same type, same token
    }
    p->children.push_back({std::string(name_of(e.rel_path)), e.type, token});
    p->entries++;
  }

  // Bottom-up Merkle hashes.
  std::vector<uint32_t> by_depth(nodes.size());
  for (uint32_t i = 0; i < nodes.size(); ++i) by_depth[i] = i;
  std::sort(by_depth.begin(), by_depth.end(),
            [&](uint32_t a, uint32_t b) { return nodes[a].depth > nodes[b].depth; });
  for (uint32_t i : by_depth) {
    Node& n = nodes[i];
    std::sort(n.children.begin(), n.children.end(),
              [](const Child& a, const Child& b) { return a.name < b.name; });
    std::string buf;
    for (const Child& c : n.children) {
      buf.append(raw(static_cast<uint32_t>(c.name.size())));
      buf.append(c.name);
      buf.append(raw(c.type));
      buf.append(raw(c.token));
    }
    n.token = tagged_hash('D', buf);
    n.children = {};
    if (n.depth == 0) continue;
    const auto it = index.find(node_key(n.root, parent_of(n.rel_path)));
    if (it == index.end()) continue;
    Node& p = nodes[it->second];
    n.parent = it->second;
    p.children.push_back({std::string(name_of(n.rel_path)), fs::EntryType::directory, n.token});
    p.logical += n.logical;
    p.allocated += n.allocated;
    p.files += n.files;
    p.entries += n.entries + 1;
  }

  // Groups of equal tokens holding some bytes; only the outermost.
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].logical > 0) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (nodes[a].token != nodes[b].token) return nodes[a].token < nodes[b].token;
    return a < b;
  });
  std::vector<uint32_t> group_size(nodes.size(), 1);
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && nodes[order[j]].token == nodes[order[i]].token) ++j;
    for (size_t k = i; k < j; ++k) group_size[order[k]] = static_cast<uint32_t>(j - i);
    i = j;
  }
  std::vector<IdenticalDirGroup> out;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && nodes[order[j]].token == nodes[order[i]].token) ++j;
    if (j - i >= 2) {
      bool nested = true; // every member's parent is itself one of identical dirs
      for (size_t k = i; k < j && nested; ++k) {
        const uint32_t p = nodes[order[k]].parent;
        nested = p != UINT32_MAX && group_size[p] >= 2;
      }
      if (!nested) {
        IdenticalDirGroup g;
        for (size_t k = i; k < j; ++k) g.dirs.push_back({nodes[order[k]].root, nodes[order[k]].rel_path});
        std::sort(g.dirs.begin(), g.dirs.end(), [](const DirRef& a, const DirRef& b) {
          if (a.root != b.root) return a.root < b.root;
          return a.rel_path < b.rel_path;
        });
        const Node& first = nodes[order[i]];
        g.logical_bytes = first.logical;
        g.allocated_bytes = first.allocated;
        g.files = first.files;
        g.entries = first.entries;
        out.push_back(std::move(g));
      }
    }
    i = j;
  }
  std::sort(out.begin(), out.end(), [](const IdenticalDirGroup& a, const IdenticalDirGroup& b) {
    const uint64_t sa = a.allocated_bytes * (a.dirs.size() - 1);
    const uint64_t sb = b.allocated_bytes * (b.dirs.size() - 1);
    if (sa != sb) return sa > sb;
    return a.dirs[0].root != b.dirs[0].root ? a.dirs[0].root < b.dirs[0].root
                                            : a.dirs[0].rel_path < b.dirs[0].rel_path;
  });
  return out;
}

} // namespace wsd::dupes
