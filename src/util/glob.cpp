#include "util/glob.hpp"

#include "util/error.hpp"

namespace wsd::util {

namespace {

// Matches a bracket class at pattern[pi] ('[' already seen at pi). Sets `end` to the index
// after ']'. Returns whether `c` is in the class.
bool match_class(std::string_view pattern, size_t pi, char c, size_t& end) {
  size_t i = pi + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool found = false;
  bool first = true;
  while (i < pattern.size() && (first || pattern[i] != ']')) {
    first = false;
    char lo = pattern[i];
    if (lo == '\\' && i + 1 < pattern.size()) lo = pattern[++i];
    char hi = lo;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      hi = pattern[i + 2];
      i += 2;
    }
    if (static_cast<unsigned char>(c) >= static_cast<unsigned char>(lo) &&
        static_cast<unsigned char>(c) <= static_cast<unsigned char>(hi))
      found = true;
    ++i;
  }
  end = i + 1; // past ']'
  return found != negate && c != '/';
}

bool match_from(std::string_view p, size_t pi, std::string_view s, size_t si) {
  while (pi < p.size()) {
    const char pc = p[pi];
    if (pc == '*') {
      if (pi + 1 < p.size() && p[pi + 1] == '*') {
        size_t next = pi + 2;
        // "**/" may match zero directories.
        if (next < p.size() && p[next] == '/') {
          if (match_from(p, next + 1, s, si)) return true;
        }
        for (size_t k = si; k <= s.size(); ++k)
          if (match_from(p, next, s, k)) return true;
        return false;
      }
      for (size_t k = si; k <= s.size(); ++k) {
        if (match_from(p, pi + 1, s, k)) return true;
        if (k < s.size() && s[k] == '/') break;
      }
      return false;
    }
    if (si >= s.size()) return false;
    if (pc == '?') {
      if (s[si] == '/') return false;
      ++pi;
      ++si;
    } else if (pc == '[') {
      size_t end = 0;
      if (!match_class(p, pi, s[si], end)) return false;
      pi = end;
      ++si;
    } else {
      char lit = pc;
      if (pc == '\\' && pi + 1 < p.size()) lit = p[++pi];
      if (lit != s[si]) return false;
      ++pi;
      ++si;
    }
  }
  return si == s.size();
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  return match_from(pattern, 0, text, 0);
}

Glob::Glob(std::string pattern) : m_pattern(std::move(pattern)) {
  std::string_view body = m_pattern;
  if (body.empty()) throw Fatal("empty glob pattern");
  if (body.size() > 1 && body.back() == '/') {
    m_dir_only = true;
    body.remove_suffix(1);
  }
  if (body.front() == '/') {
    body.remove_prefix(1);
    m_anchored = true;
  }
  if (body.find('/') != std::string_view::npos) m_anchored = true;
  int depth = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\') ++i;
    else if (body[i] == '[') ++depth;
    else if (body[i] == ']' && depth > 0) --depth;
  }
  if (depth != 0) throw Fatal("glob '{}': unterminated '['", m_pattern);
  m_body = body;
}

bool Glob::matches(std::string_view rel_path, bool is_dir) const {
  if (m_dir_only && !is_dir) return false;
  if (m_anchored) return glob_match(m_body, rel_path);
  const size_t slash = rel_path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? rel_path : rel_path.substr(slash + 1);
  return glob_match(m_body, name);
}

} // namespace wsd::util
