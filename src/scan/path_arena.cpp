#include "scan/path_arena.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace wsd::scan {

PathArena::PathArena(size_t roots)
    : m_chunk_table(std::make_unique<std::array<std::unique_ptr<char[]>, k_max_chunks>>()),
      m_chunks(m_chunk_table->data()), m_mutex(std::make_unique<std::mutex>()) {
  // Chunk 0 starts with the empty name, so NameRef 0 is "".
  m_chunks[0] = std::unique_ptr<char[]>(new char[k_chunk_size]);
  m_chunks[0][0] = 0;
  m_chunk_count = 1;
  m_dirs.reserve(std::max<size_t>(roots, 16));
  for (size_t r = 0; r < roots; ++r) m_dirs.push_back({k_no_dir, 0, static_cast<uint32_t>(r)});
}

PathArena::PathArena(PathArena&&) noexcept = default;
PathArena& PathArena::operator=(PathArena&&) noexcept = default;
PathArena::~PathArena() = default;

void PathArena::new_chunk(Cursor& cursor) {
  std::lock_guard lock(*m_mutex);
  if (m_chunk_count == k_max_chunks)
    throw util::Fatal("more than 4 GiB of file names: the tree is too large for one run");
  const size_t index = m_chunk_count++;
  m_chunks[index] = std::unique_ptr<char[]>(new char[k_chunk_size]); // untouched pages cost no RAM
  cursor.m_pos = m_chunks[index].get();
  cursor.m_end = cursor.m_pos + k_chunk_size;
  cursor.m_offset = uint64_t{index} << k_chunk_bits;
}

NameRef PathArena::add_name(Cursor& cursor, std::string_view name) {
  if (name.empty()) return 0;
  const size_t len = std::min<size_t>(name.size(), 255);
  if (static_cast<size_t>(cursor.m_end - cursor.m_pos) < len + 1) new_chunk(cursor);
  const auto ref = static_cast<NameRef>(cursor.m_offset);
  cursor.m_pos[0] = static_cast<char>(static_cast<unsigned char>(len));
  std::memcpy(cursor.m_pos + 1, name.data(), len);
  cursor.m_pos += len + 1;
  cursor.m_offset += len + 1;
  return ref;
}

uint32_t PathArena::add_dir(Cursor& cursor, uint32_t parent, std::string_view name, uint32_t root) {
  const NameRef ref = add_name(cursor, name);
  std::lock_guard lock(*m_mutex);
  m_dirs.push_back({parent, ref, root});
  return static_cast<uint32_t>(m_dirs.size() - 1);
}

void PathArena::append_dir_path(uint32_t dir, std::string& out) const {
  // Collect the chain bottom-up (all but the root), then append top-down. Called for every
  // catalog row and report path: a stack array covers real depths without an allocation.
  constexpr size_t k_small = 64;
  std::array<uint32_t, k_small> small;
  std::vector<uint32_t> deep;
  size_t n = 0;
  for (uint32_t d = dir; d != k_no_dir && m_dirs[d].parent != k_no_dir; d = m_dirs[d].parent) {
    if (n < k_small) {
      small[n] = d;
    } else {
      if (deep.empty()) deep.assign(small.begin(), small.end());
      deep.push_back(d);
    }
    ++n;
  }
  const uint32_t* chain = deep.empty() ? small.data() : deep.data();
  for (size_t k = n; k-- > 0;) {
    out.append(name(m_dirs[chain[k]].name));
    if (k > 0) out += '/';
  }
}

std::string PathArena::path(uint32_t dir, NameRef name_ref) const {
  std::string out;
  out.reserve(96);
  append_dir_path(dir, out);
  if (!out.empty()) out += '/';
  out.append(name(name_ref));
  return out;
}

size_t PathArena::memory_bytes() const {
  return m_chunk_count * k_chunk_size + m_dirs.capacity() * sizeof(Dir);
}

DirPrefixes::DirPrefixes(const PathArena& paths, std::vector<std::string> root_prefixes)
    : m_paths(paths), m_root_prefixes(std::move(root_prefixes)),
      m_begin(paths.dir_count(), k_unset), m_end(paths.dir_count(), 0) {}

void DirPrefixes::build(uint32_t dir) {
  std::vector<uint32_t> chain; // dir and its unbuilt ancestors, bottom-up
  for (uint32_t d = dir; d != k_no_dir && m_begin[d] == k_unset; d = m_paths.dir(d).parent)
    chain.push_back(d);
  for (size_t k = chain.size(); k-- > 0;) {
    const uint32_t d = chain[k];
    const PathArena::Dir& entry = m_paths.dir(d);
    const uint64_t begin = m_text.size();
    if (entry.parent == k_no_dir) {
      if (!m_root_prefixes.empty()) m_text.append(m_root_prefixes.at(entry.root));
    } else {
      const std::string above(of(entry.parent)); // built already; m_text may reallocate below
      m_text.append(above);
      m_text.append(m_paths.name(entry.name));
      m_text += '/';
    }
    m_begin[d] = begin;
    m_end[d] = m_text.size();
  }
}

} // namespace wsd::scan
