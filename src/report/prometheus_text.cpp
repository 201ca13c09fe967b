#include "report/prometheus_text.hpp"

#include "util/escape.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <set>
#include <stdexcept>

namespace wsd::report {

namespace {

constexpr std::array<std::string_view, 5> k_types{"counter", "gauge", "histogram", "summary",
                                                  "untyped"};

bool is_alpha_(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// Appends `text` with backslash and newline escaped (help text), plus '"' when `quote`.
enum class EscapeQuote { no, yes };

void append_escaped(std::string& out, std::string_view text, EscapeQuote quote) {
  // Walk valid UTF-8 runs; each byte of an invalid sequence becomes the text "\xNN" (with the
  // backslash itself escaped so a reader sees a literal backslash).
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '"' && quote == EscapeQuote::yes) {
        out += "\\\"";
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    std::size_t len = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    }
    if (len != 0 && i + len <= text.size() && util::is_valid_utf8(text.substr(i, len))) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += fmt::format("\\\\x{:02X}", c);
      ++i;
    }
  }
}

} // namespace

bool PrometheusText::is_valid_metric_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_alpha_(c) || c == ':' || (i > 0 && is_digit(c)))) {
      return false;
    }
  }
  return true;
}

bool PrometheusText::is_valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_alpha_(c) || (i > 0 && is_digit(c)))) {
      return false;
    }
  }
  return true;
}

std::string PrometheusText::escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  append_escaped(out, value, EscapeQuote::yes);
  return out;
}

std::string PrometheusText::format_value(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  // Integers up to 2^53 print exactly without an exponent (byte counts stay greppable).
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return fmt::format("{:.0f}", value);
  }
  return fmt::format("{}", value);
}

void PrometheusText::family(std::string_view name, std::string_view help, std::string_view type) {
  if (!is_valid_metric_name(name)) {
    throw std::invalid_argument(fmt::format("invalid Prometheus metric name \"{}\"",
                                            util::escape_for_terminal(name)));
  }
  bool known_type = false;
  for (const auto t : k_types) {
    known_type = known_type || t == type;
  }
  if (!known_type) {
    throw std::invalid_argument(fmt::format("invalid Prometheus metric type \"{}\" for {}",
                                            util::escape_for_terminal(type), name));
  }
  for (const auto& f : m_families) {
    if (f.name == name) {
      // One family per name in a valid document: a second start with the same type continues
      // the first (its samples join it); a different type is a programming error.
      if (f.type != type) {
        throw std::invalid_argument(
            fmt::format("Prometheus metric family {} started as {} and as {}", name, f.type, type));
      }
      return;
    }
  }
  m_families.push_back(Family{std::string(name), std::string(help), std::string(type), {}});
}

void PrometheusText::sample(std::string_view name, const Labels& labels, double value) {
  Family* target = nullptr;
  for (auto it = m_families.rbegin(); it != m_families.rend(); ++it) {
    if (it->name == name) {
      target = &*it;
      break;
    }
  }
  if (target == nullptr) {
    throw std::invalid_argument(
        fmt::format("Prometheus sample for {} before its family was started", name));
  }
  std::string line(name);
  if (!labels.empty()) {
    std::set<std::string_view> seen;
    line += '{';
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      if (!is_valid_label_name(label)) {
        throw std::invalid_argument(fmt::format("invalid Prometheus label name \"{}\" on {}",
                                                util::escape_for_terminal(label), name));
      }
      if (!seen.insert(label).second) {
        throw std::invalid_argument(fmt::format("label {} repeated on {}", label, name));
      }
      if (!first) {
        line += ',';
      }
      first = false;
      line += label;
      line += "=\"";
      append_escaped(line, label_value, EscapeQuote::yes);
      line += '"';
    }
    line += '}';
  }
  line += ' ';
  line += format_value(value);
  target->samples.push_back(std::move(line));
}

std::string PrometheusText::str() const {
  std::string out;
  for (const auto& f : m_families) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_escaped(out, f.help, EscapeQuote::no);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += f.type;
    out += '\n';
    for (const auto& s : f.samples) {
      out += s;
      out += '\n';
    }
  }
  return out;
}

} // namespace wsd::report
