#include "migrate/fstab.hpp"

#include <fmt/format.h>

#include <vector>

namespace wsd::migrate {

std::string escape_fstab_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (const char c : field) {
    switch (c) {
    case ' ': out += "\\040"; break;
    case '\t': out += "\\011"; break;
    case '\n': out += "\\012"; break;
    case '\\': out += "\\134"; break;
    default: out += c;
    }
  }
  return out;
}

std::string unescape_fstab_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        is_octal(field[i + 1]) && is_octal(field[i + 2]) && is_octal(field[i + 3])) {
      const int v = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0');
      out += static_cast<char>(v & 0xff);
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

std::string bind_mount_line(const std::string& target, const std::string& mountpoint,
                            const std::string& requires_mounts_for) {
  return fmt::format("{} {} none bind,x-systemd.requires-mounts-for={} 0 0",
                     escape_fstab_field(target), escape_fstab_field(mountpoint),
                     escape_fstab_field(requires_mounts_for));
}

namespace {

// The second whitespace-separated field of an fstab line, or "" for comments and blanks.
std::string_view second_field(std::string_view line) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  };
  auto skip_word = [&] {
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
  };
  skip_space();
  if (i >= line.size() || line[i] == '#') return {};
  skip_word();
  skip_space();
  const size_t start = i;
  skip_word();
  return line.substr(start, i - start);
}

} // namespace

std::string replace_fstab_entry(std::string_view text, const std::string& mountpoint,
                                const std::string& line) {
  std::string out;
  bool replaced = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view current = text.substr(pos, end - pos);
    const std::string_view field = second_field(current);
    if (!field.empty() && unescape_fstab_field(field) == mountpoint) {
      if (!replaced) out += line + "\n"; // a duplicate line for the same mount point goes
      replaced = true;
    } else {
      out += current;
      out += '\n';
    }
    pos = end + 1;
  }
  if (!replaced) out += line + "\n";
  return out;
}

} // namespace wsd::migrate
