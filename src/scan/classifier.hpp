#pragma once
// Which category an entry belongs to, and which workspace.
//
// Categories are rules tried in order, the user's --category rules first, then the built-in
// node_modules and .git, then `other`. An entry belongs to the first rule that matches it or
// any of its ancestors (so everything under node_modules/ is node_modules, and a nested
// node_modules inside one is not counted again). The `count` of a category is the number of
// outermost entries that start it: "191 node_modules dirs", "461 .git repos".

#include "util/glob.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsd::scan {

using CategoryIndex = uint16_t;

class Classifier {
public:
  /// `user_rules` are "NAME=GLOB" strings; throws Fatal on a malformed one.
  explicit Classifier(const std::vector<std::string>& user_rules);

  size_t category_count() const { return m_names.size(); }
  const std::string& category_name(CategoryIndex c) const { return m_names[c]; }
  /// What the count column counts ("node_modules dirs", ".git repos", "matches").
  std::string count_unit(CategoryIndex c) const;
  CategoryIndex other() const { return m_other; }
  CategoryIndex git() const { return m_git; }

  /// The first rule the entry itself matches, or other().
  CategoryIndex match(std::string_view rel_path, std::string_view name, bool is_dir) const;

  /// True when a directory with these (sorted) entry names is a bare git repository.
  static bool looks_like_bare_repo(std::span<const std::string_view> sorted_names);

private:
  struct Rule {
    CategoryIndex category;
    std::optional<util::Glob> glob;
    enum class Builtin { none, node_modules, git } builtin = Builtin::none;
  };
  CategoryIndex add_category(const std::string& name);

  std::vector<std::string> m_names;
  std::vector<Rule> m_rules;
  CategoryIndex m_node_modules = 0;
  CategoryIndex m_git = 0;
  CategoryIndex m_other = 0;
};

/// Decides which directories are workspaces: those whose root-relative path matches a glob
/// (`--workspaces spec-tasks/*`), or that sit at a given depth (`--depth 2`); the default
/// is the direct children of the root. The outermost match wins.
class WorkspaceMatcher {
public:
  WorkspaceMatcher(const std::optional<std::string>& glob, std::optional<unsigned> depth);
  bool is_workspace(std::string_view rel_path, unsigned depth) const;
  /// The glob in force (for reports).
  const std::string& pattern() const { return m_pattern; }

private:
  std::string m_pattern;
};

} // namespace wsd::scan
