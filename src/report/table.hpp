#pragma once
// A plain text table: columns sized to their widest cell, numbers right-aligned.

#include <string>
#include <vector>

namespace wsd::report {

enum class Align { left, right };

class Table {
public:
  explicit Table(std::vector<std::pair<std::string, Align>> columns);
  void add_row(std::vector<std::string> cells);
  /// A horizontal rule before the next row (e.g. above a total).
  void add_rule();
  std::string render() const;

private:
  std::vector<std::pair<std::string, Align>> m_columns;
  std::vector<std::vector<std::string>> m_rows; // an empty row is a rule
};

/// Display width of UTF-8 text (code points; good enough for escaped names).
size_t display_width(const std::string& s);

} // namespace wsd::report
