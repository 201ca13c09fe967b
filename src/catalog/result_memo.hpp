#pragma once
// Result memos (DESIGN.md sections 3 and 6): a command stores the content-derived part of its
// result with the signature of the walk it came from, so a re-run on an unchanged tree costs
// one walk instead of a catalog load and a replay of every row.
//
// The signature is an XXH3-128 over every listed regular file, in FileList order, of what a
// result can depend on: the catalog's filesystem id and the device number, ino, size,
// mtime_ns, ctime_ns, allocated blocks, nlink, names_seen, root index, root-relative path,
// category and workspace (and the category and workspace names). A memo is used only when the
// signature matches and every file last changed (max of mtime and ctime) at least
// k_trust_delay_ns before the memo's run began: the rule row_is_fresh applies to rows, so a
// file rewritten within its timestamps' granularity after that run read it is never missed.
// Anything not derived from file content (usage figures, timings, FIEMAP sharing) is the
// caller's to compute fresh.

#include "catalog/catalog.hpp"
#include "scan/file_list.hpp"

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace wsd::catalog {

/// Whether a signature also covers FileList::tree_entries (device, inode, ctime, type, path)
/// and every directory (for results that depend on the shape of the tree: identical
/// directories, whose symlinks are compared by target).
enum class TreeShape : uint8_t { no, yes };

/// The walk's signature (16 bytes) for `files` as described above.
std::string walk_signature(const scan::FileList& files, const FilesystemIds& ids, TreeShape shape);

/// True when every file of `files` last changed at least k_trust_delay_ns before `created_ns`.
bool files_settled(const scan::FileList& files, const FilesystemIds& ids, int64_t created_ns);

/// The wall clock now, in ns since the epoch (a memo's created_ns is taken before the walk).
int64_t wall_clock_ns();

/// The roots as a memo records them (memos are kept per command and roots, at most a few each).
std::string memo_roots(const std::vector<std::string>& roots);

/// One run's memo of one command (estimate, dupes): after the walk, find() gives the stored
/// value when it stands for this walk; after the work, store() records this run's value.
class MemoSlot {
public:
  /// `catalog` may be null (then nothing is found or stored); `run_began_ns` is the wall
  /// clock before the walk: a memo stored by this run dates from then.
  MemoSlot(Catalog* catalog, std::string command, std::string key, const std::vector<std::string>& roots,
           int64_t run_began_ns);
  /// Whether find() asks the catalog (skip: the caller knows no memo is stored, and the
  /// catalog may be busy with a row preload meanwhile).
  enum class Lookup : uint8_t { look, skip };
  /// The stored value whose signature equals this walk's and whose run began after every
  /// file settled; nullopt otherwise. Call once, after the walk (also with Lookup::skip:
  /// store() needs the walk's signature).
  std::optional<std::string> find(const fs::RootSet& roots, const scan::FileList& files, TreeShape shape,
                                  Lookup lookup = Lookup::look);
  /// The caller decoded what find() gave and uses it.
  void mark_used() { m_state = "used"; }
  /// Stores what `encode` returns unless the memo was used, the catalog could not write, a
  /// file changed after this run began (its bytes may be newer than what the run read), or
  /// `encode` gives nullopt (a result that must not be reused). `encode` runs only if needed.
  void store(const scan::FileList& files, const std::function<std::optional<std::string>()>& encode);
  /// "off", "missed", "used" or "stored" (for --stats).
  const char* state() const { return m_state; }

private:
  Catalog* m_catalog;
  std::string m_command;
  std::string m_key;
  std::string m_roots;
  int64_t m_run_began_ns;
  std::optional<FilesystemIds> m_ids;
  std::string m_signature;
  const char* m_state;
};

/// Appends trivially copyable values and arrays of them to a memo value.
class MemoWriter {
public:
  /// One value's bytes.
  template <class T> void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    m_out.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  /// A count, then each element's bytes.
  template <class T> void put_vector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    put(static_cast<uint64_t>(v.size()));
    if (!v.empty()) m_out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  /// The bytes written.
  std::string take() { return std::move(m_out); }

private:
  std::string m_out;
};

/// Reads what a MemoWriter wrote; ok() turns false (and values stay default) on a short or
/// malformed value.
class MemoReader {
public:
  explicit MemoReader(std::string_view in) : m_in(in) {}
  /// One value.
  template <class T> void get(T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!m_ok || m_in.size() - m_pos < sizeof v) {
      m_ok = false;
      return;
    }
    std::memcpy(&v, m_in.data() + m_pos, sizeof v);
    m_pos += sizeof v;
  }
  /// A count, then its elements.
  template <class T> void get_vector(std::vector<T>& v) {
    uint64_t n = 0;
    get(n);
    if (!m_ok || n > (m_in.size() - m_pos) / sizeof(T)) {
      m_ok = false;
      return;
    }
    v.resize(n);
    if (n == 0) return; // an empty vector's data() may be null: no memcpy
    std::memcpy(v.data(), m_in.data() + m_pos, n * sizeof(T));
    m_pos += n * sizeof(T);
  }
  /// True when every read so far succeeded and, with `at_end`, nothing is left.
  bool ok() const { return m_ok; }
  bool at_end() const { return m_ok && m_pos == m_in.size(); }

private:
  std::string_view m_in;
  size_t m_pos = 0;
  bool m_ok = true;
};

} // namespace wsd::catalog
