#pragma once
// Shell-style globs for --exclude, --category, --workspaces and --only.
//
// A pattern without '/' matches an entry's name at any depth (as in .gitignore);
// a pattern with '/' matches the whole path relative to the root ("spec-tasks/*").
// '*' and '?' never match '/', "**" matches across directories ("**/" may match nothing),
// "[a-z]" and "[!a-z]" are classes. A trailing '/' restricts the pattern to directories.

#include <string>
#include <string_view>

namespace wsd::util {

class Glob {
public:
  /// Compiles `pattern`; throws Fatal on an unterminated class.
  explicit Glob(std::string pattern);

  /// Does the entry at `rel_path` (root-relative, no leading '/'; its last component
  /// is the name) match?
  bool matches(std::string_view rel_path, bool is_dir) const;

  const std::string& pattern() const { return m_pattern; }

private:
  std::string m_pattern;
  std::string m_body; // pattern without leading "/" and trailing '/'
  bool m_anchored = false;
  bool m_dir_only = false;
};

/// Matches `text` against glob `pattern` ('/' separated semantics as above, no anchoring).
bool glob_match(std::string_view pattern, std::string_view text);

} // namespace wsd::util
