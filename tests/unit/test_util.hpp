#pragma once
// Helpers for unit tests: a fresh temporary directory per test, file creation.

#include <string>
#include <string_view>

namespace wsd::test {

/// A directory created for one test and removed (recursively) afterwards.
class TempDir {
public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return m_path; }
  /// path() + "/" + rel
  std::string operator/(std::string_view rel) const;

private:
  std::string m_path;
};

/// Writes `content` to `path` (creating parent directories).
void write_file(const std::string& path, std::string_view content);

/// Creates directories like mkdir -p.
void make_dirs(const std::string& path);

/// Deterministic pseudo-random bytes.
std::string random_bytes(size_t n, uint64_t seed);

/// Writes the file's dirty pages and drops its clean ones from the page cache; true when
/// mincore then finds its first page gone (not so on tmpfs, say).
bool drop_from_cache(const std::string& path);

} // namespace wsd::test
