#include "catalog/result_memo.hpp"

#include "util/digest_stream.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

namespace wsd::catalog {
namespace {

// The memo key: fixed-size fields and length-prefixed strings, one XXH3-128 over all of them.
class Hasher {
public:
  void add(const void* data, size_t n) { m_stream.update(data, n); }
  template <class T> void add_value(const T& v) { add(&v, sizeof v); }
  // A length, then the bytes: no two sequences of strings feed the same bytes.
  void add_string(std::string_view s) {
    add_value(static_cast<uint64_t>(s.size()));
    add(s.data(), s.size());
  }
  std::string digest() const {
    const util::Digest128 d = m_stream.digest();
    std::string out(16, '\0');
    std::memcpy(out.data(), &d.low, 8);
    std::memcpy(out.data() + 8, &d.high, 8);
    return out;
  }

private:
  util::DigestStream m_stream;
};

// One listed file's fields, packed so padding never feeds the hash.
#pragma pack(push, 1)
struct FileRecord {
  uint64_t fs_id;
  uint64_t dev;
  uint64_t ino;
  uint64_t size;
  uint64_t blocks;
  int64_t mtime_ns;
  int64_t ctime_ns;
  uint32_t nlink;
  uint32_t names_seen;
  uint32_t workspace;
  uint32_t category;
  uint16_t root;
};
struct TreeRecord {
  uint64_t dev;
  uint64_t ino;
  int64_t ctime_ns; // a symlink retargeted on a reused inode number still differs here
  uint8_t type;
};
#pragma pack(pop)

// A directory's root-relative path ("" for a root, else "a/b") from its prefix ("a/b/").
std::string_view dir_path(std::string_view prefix) {
  return prefix.empty() ? prefix : prefix.substr(0, prefix.size() - 1);
}

} // namespace

int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string walk_signature(const scan::FileList& files, const FilesystemIds& ids, TreeShape shape) {
  Hasher h;
  h.add_value(static_cast<uint64_t>(files.category_names.size()));
  for (const std::string& n : files.category_names) h.add_string(n);
  h.add_value(static_cast<uint64_t>(files.workspace_names.size()));
  for (const std::string& n : files.workspace_names) h.add_string(n);
  h.add_value(static_cast<uint64_t>(files.files.size()));
  scan::DirPrefixes prefixes(files.paths);
  for (size_t i = 0; i < files.files.size(); ++i) {
    const scan::FileEntry& f = files.files[i];
    const FileRecord r{ids.of(f.st.dev), f.st.dev,      f.st.ino, f.st.size, f.st.blocks,
                       f.st.mtime_ns,    f.st.ctime_ns, f.nlink,  f.names_seen, f.workspace,
                       static_cast<uint32_t>(f.category), f.root};
    h.add_value(r);
    h.add_string(dir_path(prefixes.of(f.dir)));
    h.add_string(files.paths.name(f.name));
  }
  if (shape == TreeShape::yes) {
    h.add_value(static_cast<uint64_t>(files.tree_entries.size()));
    for (const scan::TreeEntry& e : files.tree_entries) {
      const TreeRecord r{e.dev, e.ino, e.ctime_ns, static_cast<uint8_t>(e.type)};
      h.add_value(r);
      h.add_string(dir_path(prefixes.of(e.dir)));
      h.add_string(files.paths.name(e.name));
    }
    // Every directory (empty ones included), in path order: directory indices follow the
    // walk's thread timing, paths do not.
    for (uint32_t d = 0; d < files.paths.dir_count(); ++d)
      (void)prefixes.of(d); // all built: views stay valid
    std::vector<std::pair<uint32_t, std::string_view>> dirs;
    dirs.reserve(files.paths.dir_count());
    for (uint32_t d = 0; d < files.paths.dir_count(); ++d)
      dirs.emplace_back(files.paths.dir(d).root, dir_path(prefixes.of(d)));
    std::sort(dirs.begin(), dirs.end());
    h.add_value(static_cast<uint64_t>(dirs.size()));
    for (const auto& [root, path] : dirs) {
      h.add_value(root);
      h.add_string(path);
    }
  }
  return h.digest();
}

bool files_settled(const scan::FileList& files, const FilesystemIds& ids, int64_t created_ns) {
  Row row;
  row.computed_ns = created_ns;
  for (size_t i = 0; i < files.files.size(); ++i) {
    const scan::FileEntry& f = files.files[i];
    row.id = FileIdentity::of(ids.of(f.st.dev), f.st);
    if (!row_is_fresh(row, row.id)) return false; // the rows' rule, on the memo's time
  }
  return true;
}

std::string memo_roots(const std::vector<std::string>& roots) {
  std::string out;
  for (const std::string& r : roots) out += r + '\n';
  return out;
}

MemoSlot::MemoSlot(Catalog* catalog, std::string command, std::string key, const std::vector<std::string>& roots,
                   int64_t run_began_ns)
    : m_catalog(catalog), m_command(std::move(command)), m_key(std::move(key)), m_roots(memo_roots(roots)),
      m_run_began_ns(run_began_ns), m_state(catalog ? "missed" : "off") {}

std::optional<std::string> MemoSlot::find(const fs::RootSet& roots, const scan::FileList& files, TreeShape shape,
                                          Lookup lookup) {
  if (!m_catalog) return std::nullopt;
  m_ids.emplace(roots);
  m_signature = walk_signature(files, *m_ids, shape);
  if (lookup == Lookup::skip) return std::nullopt;
  std::optional<Memo> memo = m_catalog->find_memo(m_command, m_key);
  if (!memo || memo->signature != m_signature || !files_settled(files, *m_ids, memo->created_ns)) return std::nullopt;
  return std::move(memo->value);
}

void MemoSlot::store(const scan::FileList& files, const std::function<std::optional<std::string>()>& encode) {
  if (!m_catalog || !m_ids || std::string_view(m_state) == "used" || !m_catalog->write_error().empty() ||
      !files_settled(files, *m_ids, m_run_began_ns))
    return;
  std::optional<std::string> value = encode();
  if (!value) return;
  const Memo memo{m_run_began_ns, m_signature, std::move(*value)};
  if (m_catalog->put_memo(m_command, m_roots, m_key, memo)) m_state = "stored";
}

} // namespace wsd::catalog
