#include "dupes/identical_dirs.hpp"

#include "fs/inode_table.hpp"
#include "fs/safe_open.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <unistd.h>
#include <unordered_map>

namespace wsd::dupes {

namespace {

using content::Digest128;

struct Child {
  std::string_view name;
  fs::EntryType type;
  Digest128 token;
};

struct Node {
  uint64_t logical = 0;
  uint64_t allocated = 0;
  uint64_t files = 0;
  uint64_t entries = 0;
  Digest128 token;
};

Digest128 tagged_hash(char tag, std::string_view bytes, std::string& buf) {
  buf.assign(1, tag);
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
  const scan::PathArena& paths = list.paths;
  const auto ndirs = static_cast<uint32_t>(paths.dir_count());
  std::vector<Node> nodes(ndirs);
  std::string scratch;

  // Children of every directory, grouped by directory, as one 32-bit number each: a file
  // index, then tree entries after the files, then directories after those.
  const auto nfiles = static_cast<uint64_t>(list.files.size());
  const uint64_t tree_base = nfiles;
  const uint64_t dir_base = tree_base + list.tree_entries.size();
  if (dir_base + ndirs > UINT32_MAX) throw std::length_error("find_identical_dirs: too many entries");
  std::unordered_map<fs::InodeKey, uint32_t, fs::InodeKeyHash> linked;
  std::vector<uint32_t> offsets(size_t{ndirs} + 2, 0);
  for (uint32_t i = 0; i < list.files.size(); ++i) {
    const scan::FileEntry& f = list.files[i];
    if (f.nlink > 1) {
      linked.emplace(fs::InodeKey{f.st.dev, f.st.ino}, i);
      continue; // every name is in tree_entries
    }
    offsets[f.dir + 2]++;
  }
  for (const auto& e : list.tree_entries) offsets[e.dir + 2]++;
  for (uint32_t d = 0; d < ndirs; ++d)
    if (paths.dir(d).parent != scan::k_no_dir) offsets[paths.dir(d).parent + 2]++;
  for (size_t d = 2; d < offsets.size(); ++d) offsets[d] += offsets[d - 1];
  std::vector<uint32_t> items(offsets.back());
  auto put = [&](uint32_t dir, uint64_t item) { items[offsets[dir + 1]++] = static_cast<uint32_t>(item); };
  for (uint32_t i = 0; i < list.files.size(); ++i)
    if (list.files[i].nlink <= 1) put(list.files[i].dir, i);
  for (uint32_t i = 0; i < list.tree_entries.size(); ++i) put(list.tree_entries[i].dir, tree_base + i);
  for (uint32_t d = 0; d < ndirs; ++d)
    if (paths.dir(d).parent != scan::k_no_dir) put(paths.dir(d).parent, dir_base + d);

  // Content tokens of regular files.
  auto file_token = [&](uint32_t i) {
    const scan::FileEntry& f = list.files[i];
    if (dupes.group_of[i] != k_no_group) {
      const Digest128 d = dupes.groups[dupes.group_of[i]].digest;
      std::string buf(raw(f.st.size));
      buf.append(raw(d));
      return tagged_hash('G', buf, scratch);
    }
    if (f.st.size == 0) return tagged_hash('E', {}, scratch);
    return tagged_hash('U', raw(i), scratch); // unique content: its directory is unique too
  };
  uint32_t unknown = 0;
  std::vector<Child> children;
  std::string buf;
  // Bottom-up Merkle hashes: a directory's index is always above its parent's.
  for (uint32_t d = ndirs; d-- > 0;) {
    Node& n = nodes[d];
    children.clear();
    auto add_file = [&](std::string_view name, uint32_t i) {
      const scan::FileEntry& f = list.files[i];
      children.push_back({name, fs::EntryType::regular, file_token(i)});
      n.logical += f.st.size;
      n.allocated += f.st.allocated_bytes();
      n.files++;
      n.entries++;
    };
    for (uint32_t k = offsets[d]; k < offsets[d + 1]; ++k) {
      const uint32_t item = items[k];
      if (item < tree_base) {
        add_file(paths.name(list.files[item].name), item);
        continue;
      }
      if (item >= dir_base) {
        const auto i = static_cast<uint32_t>(item - dir_base);
        const Node& c = nodes[i];
        children.push_back({paths.name(paths.dir(i).name), fs::EntryType::directory, c.token});
        n.logical += c.logical;
        n.allocated += c.allocated;
        n.files += c.files;
        n.entries += c.entries + 1;
        continue;
      }
      const scan::TreeEntry& e = list.tree_entries[item - tree_base];
      const std::string_view name = paths.name(e.name);
      if (e.type == fs::EntryType::regular) {
        const auto it = linked.find({e.dev, e.ino});
        if (it != linked.end()) {
          add_file(name, it->second);
          continue;
        }
        children.push_back({name, e.type, tagged_hash('X', raw(++unknown), scratch)});
        n.entries++;
        continue;
      }
      Digest128 token = tagged_hash('X', raw(++unknown), scratch);
      if (e.type == fs::EntryType::symlink) {
        auto dir = fs::open_beneath(roots[paths.dir(d).root].fd.get(), paths.dir_path(d), true, cross_fs);
        if (dir) {
          char target[PATH_MAX];
          const std::string cname(name);
          const ssize_t len = ::readlinkat(dir->get(), cname.c_str(), target, sizeof target);
          if (len >= 0) token = tagged_hash('L', std::string_view(target, static_cast<size_t>(len)), scratch);
        }
      } else {
        token = tagged_hash('S', raw(e.type), scratch); // fifo, socket, device: same type, same token
      }
      children.push_back({name, e.type, token});
      n.entries++;
    }
    std::sort(children.begin(), children.end(),
              [](const Child& a, const Child& b) { return a.name < b.name; });
    buf.clear();
    for (const Child& c : children) {
      buf.append(raw(static_cast<uint32_t>(c.name.size())));
      buf.append(c.name);
      buf.append(raw(c.type));
      buf.append(raw(c.token));
    }
    n.token = tagged_hash('D', buf, scratch);
  }
  std::vector<uint32_t>().swap(items); // `items = {}` would keep the capacity

  // Groups of equal tokens holding some bytes; only the outermost.
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < ndirs; ++i)
    if (nodes[i].logical > 0) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (nodes[a].token != nodes[b].token) return nodes[a].token < nodes[b].token;
    return a < b;
  });
  std::vector<uint32_t> group_size(ndirs, 1);
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
        const uint32_t p = paths.dir(order[k]).parent;
        nested = p != scan::k_no_dir && group_size[p] >= 2;
      }
      if (!nested) {
        IdenticalDirGroup g;
        for (size_t k = i; k < j; ++k) g.dirs.push_back({paths.dir(order[k]).root, paths.dir_path(order[k])});
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
