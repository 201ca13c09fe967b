#include "scan/classifier.hpp"

#include "util/error.hpp"

#include <algorithm>

namespace wsd::scan {

Classifier::Classifier(const std::vector<std::string>& user_rules) {
  std::vector<std::pair<std::string, std::string>> parsed;
  for (const auto& rule : user_rules) {
    const size_t eq = rule.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == rule.size())
      throw util::Fatal("--category '{}': expected NAME=GLOB, e.g. build=*/dist", rule);
    parsed.emplace_back(rule.substr(0, eq), rule.substr(eq + 1));
  }
  for (const auto& [name, glob] : parsed) {
    if (name == "other") throw util::Fatal("--category: 'other' is what no rule matches");
    m_rules.push_back({add_category(name), util::Glob(glob), Rule::Builtin::none});
  }
  m_node_modules = add_category("node_modules");
  m_rules.push_back({m_node_modules, std::nullopt, Rule::Builtin::node_modules});
  m_git = add_category(".git");
  m_rules.push_back({m_git, std::nullopt, Rule::Builtin::git});
  m_other = add_category("other");
}

CategoryIndex Classifier::add_category(const std::string& name) {
  for (size_t i = 0; i < m_names.size(); ++i)
    if (m_names[i] == name) return static_cast<CategoryIndex>(i);
  if (m_names.size() >= 0xFFFF) throw util::Fatal("too many categories");
  m_names.push_back(name);
  return static_cast<CategoryIndex>(m_names.size() - 1);
}

std::string Classifier::count_unit(CategoryIndex c) const {
  if (c == m_node_modules) return "node_modules dirs";
  if (c == m_git) return ".git repos";
  if (c == m_other) return "";
  return "matches";
}

CategoryIndex Classifier::match(std::string_view rel_path, std::string_view name,
                                bool is_dir) const {
  for (const auto& rule : m_rules) {
    switch (rule.builtin) {
    case Rule::Builtin::node_modules:
      if (is_dir && name == "node_modules") return rule.category;
      break;
    case Rule::Builtin::git:
      if (name == ".git") return rule.category;
      break;
    case Rule::Builtin::none:
      if (rule.glob->matches(rel_path, is_dir)) return rule.category;
      break;
    }
  }
  return m_other;
}

bool Classifier::looks_like_bare_repo(std::span<const std::string_view> sorted_names) {
  auto has = [&](std::string_view n) {
    return std::binary_search(sorted_names.begin(), sorted_names.end(), n);
  };
  return has("HEAD") && has("objects") && has("refs");
}

WorkspaceMatcher::WorkspaceMatcher(const std::optional<std::string>& glob,
                                   std::optional<unsigned> depth) {
  if (glob && depth) throw util::Fatal("--workspaces and --depth are alternatives; give one");
  if (glob) {
    m_pattern = *glob;
    while (!m_pattern.empty() && m_pattern.front() == '/') m_pattern.erase(0, 1);
    while (!m_pattern.empty() && m_pattern.back() == '/') m_pattern.pop_back();
    if (m_pattern.empty()) throw util::Fatal("--workspaces: empty pattern");
    util::Glob check(m_pattern); // validates brackets
  } else {
    const unsigned d = depth.value_or(1);
    if (d == 0) throw util::Fatal("--depth must be at least 1");
    for (unsigned i = 0; i < d; ++i) m_pattern += i == 0 ? "*" : "/*";
  }
}

bool WorkspaceMatcher::is_workspace(std::string_view rel_path, unsigned /*depth*/) const {
  return !rel_path.empty() && util::glob_match(m_pattern, rel_path);
}

} // namespace wsd::scan
