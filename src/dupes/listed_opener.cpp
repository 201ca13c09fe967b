#include "dupes/listed_opener.hpp"

#include "fs/file_stat.hpp"
#include "fs/safe_open.hpp"

#include <algorithm>
#include <cerrno>
#include <string>

namespace wsd::dupes {

ListedOpener::ListedOpener(const fs::RootSet& roots, const scan::FileList& list, bool cross_fs, size_t capacity)
    : m_roots(roots), m_list(list), m_cross_fs(cross_fs), m_capacity(std::max<size_t>(capacity, 1)) {}

util::Result<int> ListedOpener::dir_fd(uint32_t root, uint32_t dir) {
  ++m_clock;
  const uint64_t key = (static_cast<uint64_t>(root) << 32) | dir;
  if (const auto it = m_slot.find(key); it != m_slot.end()) {
    Dir& d = m_dirs[it->second];
    d.used = m_clock;
    return d.fd.get();
  }
  // Beneath the root, no symlink in any component, no mount crossed unless cross_fs.
  auto fd = fs::open_beneath(m_roots[root].fd.get(), m_list.paths.dir_path(dir), true, m_cross_fs);
  if (!fd) return util::Result<int>::failure(fd.error());
  size_t slot = m_dirs.size();
  if (m_dirs.size() >= m_capacity) { // evict the least recently used
    slot = static_cast<size_t>(std::min_element(m_dirs.begin(), m_dirs.end(),
                                                [](const Dir& a, const Dir& b) { return a.used < b.used; }) -
                               m_dirs.begin());
    m_slot.erase((static_cast<uint64_t>(m_dirs[slot].root) << 32) | m_dirs[slot].dir);
    m_dirs[slot] = Dir{root, dir, m_clock, std::move(*fd)};
  } else {
    m_dirs.push_back({root, dir, m_clock, std::move(*fd)});
  }
  m_slot.emplace(key, slot);
  return m_dirs[slot].fd.get();
}

util::Result<util::Fd> ListedOpener::open(uint32_t index) {
  const scan::FileEntry& file = m_list.files[index];
  auto dir = dir_fd(file.root, file.dir);
  if (!dir) return util::Result<util::Fd>::failure(dir.error());
  const std::string name(m_list.paths.name(file.name));
  auto fd = fs::open_child(*dir, name.c_str(), false); // O_NOFOLLOW: a symlink fails (ELOOP)
  if (!fd) return fd;
  // One fstat on the opened descriptor is the identity check (DESIGN.md invariant 3).
  fs::FileStat st;
  if (const int err = fs::stat_fd(fd->get(), st); err != 0) return util::Result<util::Fd>::failure(err);
  if (!fs::same_file_version(st, file.st)) return util::Result<util::Fd>::failure(ESTALE);
  return fd;
}

} // namespace wsd::dupes
