#include "report/table.hpp"

#include <algorithm>

namespace wsd::report {

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (const char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

Table::Table(std::vector<std::pair<std::string, Align>> columns) : m_columns(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(m_columns.size());
  m_rows.push_back(std::move(cells));
}

void Table::add_rule() { m_rows.emplace_back(); }

std::string Table::render() const {
  std::vector<size_t> width(m_columns.size());
  for (size_t c = 0; c < m_columns.size(); ++c) width[c] = display_width(m_columns[c].first);
  for (const auto& row : m_rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < m_columns.size(); ++c) {
      const std::string& cell = cells[c];
      const size_t pad = width[c] - display_width(cell);
      const bool last = c + 1 == m_columns.size();
      if (c > 0) out += "  ";
      if (m_columns[c].second == Align::right) out.append(pad, ' ') += cell;
      else {
        out += cell;
        if (!last) out.append(pad, ' ');
      }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::vector<std::string> header;
  for (const auto& col : m_columns) header.push_back(col.first);
  std::string out = line(header);
  size_t total = 0;
  for (size_t c = 0; c < width.size(); ++c) total += width[c] + (c > 0 ? 2 : 0);
  for (const auto& row : m_rows) {
    if (row.empty()) out += std::string(total, '-') + "\n";
    else out += line(row);
  }
  return out;
}

} // namespace wsd::report
