#pragma once
// Paths of a scan stored once: every directory is (parent directory, name) and every name is
// a few bytes in big shared chunks, so a file entry names itself with two 32-bit numbers
// (its directory and its name) instead of a heap string of its whole path. A 10-million-file
// tree costs its names' bytes plus 12 bytes per directory, not ~100 bytes of path per file.
//
// Filled concurrently by the walker's threads: each thread bump-allocates names in its own
// chunk through a Cursor (no lock per name); directories are appended under a lock (one per
// directory). Read only after the walk, when nothing is added any more.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace wsd::scan {

/// Where a name is stored in a PathArena (0 is the empty name).
using NameRef = uint32_t;

/// "No directory": the parent of a root.
constexpr uint32_t k_no_dir = UINT32_MAX;

class PathArena {
public:
  /// One directory: its parent (k_no_dir for a root) and its name (empty for a root).
  struct Dir {
    uint32_t parent = k_no_dir;
    NameRef name = 0;
    uint32_t root = 0;
  };

  /// A thread's place to append names; one per thread, never shared.
  class Cursor {
  private:
    friend class PathArena;
    char* m_pos = nullptr;
    char* m_end = nullptr;
    uint64_t m_offset = 0; // global offset of m_pos
  };

  /// Creates one directory per root: directory `r` is root `r`.
  explicit PathArena(size_t roots = 0);
  PathArena(PathArena&&) noexcept;
  PathArena& operator=(PathArena&&) noexcept;
  ~PathArena();

  /// Stores `name` (at most 255 bytes, as NAME_MAX) and returns its reference. Thread-safe
  /// as long as each thread uses its own cursor. Throws Fatal past 4 GiB of names.
  NameRef add_name(Cursor& cursor, std::string_view name);

  /// Appends a directory `name` below `parent`; returns its index. Thread-safe.
  uint32_t add_dir(Cursor& cursor, uint32_t parent, std::string_view name, uint32_t root);

  /// The bytes of a stored name.
  std::string_view name(NameRef ref) const {
    const char* p = m_chunks[ref >> k_chunk_bits].get() + (ref & (k_chunk_size - 1));
    return {p + 1, static_cast<unsigned char>(*p)};
  }

  const Dir& dir(uint32_t index) const { return m_dirs[index]; }
  size_t dir_count() const { return m_dirs.size(); }

  /// Appends the root-relative path of `dir` to `out` ("" for a root, else "a/b").
  void append_dir_path(uint32_t dir, std::string& out) const;

  /// The root-relative path of `dir`.
  std::string dir_path(uint32_t dir) const {
    std::string out;
    append_dir_path(dir, out);
    return out;
  }

  /// The root-relative path of `name` in `dir` ("a/b/name", or "name" in a root).
  std::string path(uint32_t dir, NameRef name) const;

  /// Bytes held (chunks and the directory table), for --stats.
  size_t memory_bytes() const;

private:
  static constexpr unsigned k_chunk_bits = 20; // 1 MiB chunks
  static constexpr size_t k_chunk_size = size_t{1} << k_chunk_bits;
  static constexpr size_t k_max_chunks = size_t{1} << (32 - k_chunk_bits);

  void new_chunk(Cursor& cursor);

  std::unique_ptr<std::array<std::unique_ptr<char[]>, k_max_chunks>> m_chunk_table;
  std::unique_ptr<char[]>* m_chunks = nullptr; // = m_chunk_table->data(); stable while filling
  size_t m_chunk_count = 0;
  std::vector<Dir> m_dirs;
  std::unique_ptr<std::mutex> m_mutex;
};

/// Directory prefixes of a PathArena: "<root prefix>a/b/" for directory a/b below a root,
/// each built once from its parent's the first time it is asked for, all in one buffer. A
/// report or a signature names every directory many times; walking its parent chain each
/// time was a tenth of a dupes re-run.
class DirPrefixes {
public:
  /// `root_prefixes[r]` begins the prefixes below root r (none given: "" for every root,
  /// so prefixes are root-relative).
  explicit DirPrefixes(const PathArena& paths, std::vector<std::string> root_prefixes = {});

  /// Directory `dir`'s prefix; valid until a later call builds another one.
  std::string_view of(uint32_t dir) {
    if (m_begin[dir] == k_unset) build(dir);
    return std::string_view(m_text).substr(m_begin[dir], m_end[dir] - m_begin[dir]);
  }

private:
  static constexpr uint64_t k_unset = UINT64_MAX;
  // Builds the prefixes of `dir` and of its ancestors that lack one (iteratively: no
  // recursion depth limit on deep trees).
  void build(uint32_t dir);

  const PathArena& m_paths;
  std::vector<std::string> m_root_prefixes;
  std::vector<uint64_t> m_begin;
  std::vector<uint64_t> m_end;
  std::string m_text;
};

} // namespace wsd::scan
