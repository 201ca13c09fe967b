#include "zfs/zfs_parse.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace wsd::zfs {

namespace {

bool is_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<uint64_t> to_u64(std::string_view s) {
  if (!is_digits(s)) return std::nullopt;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> to_double(std::string_view s) {
  if (s.empty() || s.size() > 40) return std::nullopt;
  bool dot = false;
  for (char c : s) {
    if (c == '.') {
      if (dot) return std::nullopt;
      dot = true;
    } else if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  std::string copy(s);
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return v;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// "key=value" -> value, for zdb's "dspace=..; mspace=..; entries=..".
std::optional<uint64_t> keyed_value(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while ((pos = text.find(key, pos)) != std::string_view::npos) {
    bool starts_word = pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == ';';
    size_t after = pos + key.size();
    if (starts_word && after < text.size() && text[after] == '=') {
      size_t end = text.find_first_of("; \n", after + 1);
      return to_u64(text.substr(after + 1, end == std::string_view::npos ? std::string_view::npos : end - after - 1));
    }
    pos = after;
  }
  return std::nullopt;
}

// "N entries, size X on disk, Y in core" (legacy per-entry object line).
bool parse_legacy_object(std::string_view rest, DdtObjectLine& obj) {
  auto w = split_words(rest);
  // N entries, size X on disk, Y in core
  if (w.size() < 9 || w[1] != "entries," || w[2] != "size" || w[4] != "on" || w[5] != "disk," ||
      w[7] != "in" || w[8] != "core")
    return false;
  auto n = to_u64(w[0]);
  auto d = to_u64(w[3]);
  auto m = to_u64(w[6]);
  if (!n || !d || !m) return false;
  obj.entries = *n;
  obj.on_disk = *d;
  obj.in_core = *m;
  obj.scale = DdtSizeScale::per_entry;
  return true;
}

// A histogram data row: 9 columns; nullopt for anything else.
std::optional<DdtHistogramRow> parse_histogram_row(std::string_view line) {
  auto w = split_words(line);
  if (w.size() != 9) return std::nullopt;
  DdtHistogramRow row;
  row.refcnt = std::string(w[0]);
  if (w[0] != "Total") {
    auto r = parse_nicenum(w[0]);
    if (!r) return std::nullopt;
    row.refcnt_min = r->value;
  }
  PrintedNumber* cols[8] = {&row.blocks,     &row.lsize,     &row.psize,     &row.dsize,
                            &row.ref_blocks, &row.ref_lsize, &row.ref_psize, &row.ref_dsize};
  for (size_t i = 0; i < 8; ++i) {
    auto n = parse_nicenum(w[i + 1]);
    if (!n) return std::nullopt;
    *cols[i] = *n;
  }
  return row;
}

} // namespace

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(pos));
      break;
    }
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

std::optional<PrintedNumber> parse_nicenum(std::string_view text) {
  PrintedNumber p;
  p.text = std::string(text);
  if (text == "-") return std::nullopt;
  if (auto v = to_u64(text)) {
    p.value = p.low = p.high = *v;
    return p;
  }
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  static constexpr std::string_view k_units = "BKMGTPE";
  size_t index = k_units.find(unit);
  if (index == std::string_view::npos) return std::nullopt;
  std::string_view digits = text.substr(0, text.size() - 1);
  if (index == 0) {
    // zfs_nicebytes below 1024: "512B", exact.
    auto v = to_u64(digits);
    if (!v) return std::nullopt;
    p.value = p.low = p.high = *v;
    return p;
  }
  auto mantissa = to_double(digits);
  if (!mantissa) return std::nullopt;
  const size_t dot = digits.find('.');
  const int decimals = dot == std::string_view::npos ? 0 : static_cast<int>(digits.size() - dot - 1);
  const double scale = std::ldexp(1.0, static_cast<int>(10 * index));
  // Half a unit in the last printed digit; onnv's nicenum() rounds at every division by 1024
  // before printing an integer, which can add up to 0.5/1024 + 0.5/1024^2 + ... more.
  const double half_ulp = 0.5 * std::pow(10.0, -decimals) + (decimals == 0 ? 0.001 : 0.0);
  const double lo = std::max(0.0, (*mantissa - half_ulp) * scale);
  const double hi = (*mantissa + half_ulp) * scale;
  if (hi >= 1.8e19) return std::nullopt;
  p.exact = false;
  p.value = static_cast<uint64_t>(std::llround(*mantissa * scale));
  p.low = static_cast<uint64_t>(std::ceil(lo));
  p.high = static_cast<uint64_t>(std::floor(hi));
  return p;
}

std::optional<double> parse_ratio(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.back() == 'x') text.remove_suffix(1);
  return to_double(text);
}

DdtSummary parse_zpool_status_dedup(std::string_view text) {
  DdtSummary s;
  for (std::string_view raw : split_lines(text)) {
    std::string_view line = trim(raw);
    if (line.starts_with("dedup:")) line = trim(line.substr(6));
    if (line == "no DDT entries") {
      s.present = true;
      s.entries = 0;
      return s;
    }
    if (!line.starts_with("DDT entries ")) continue;
    auto w = split_words(line);
    // DDT entries N, size X on disk, Y in core[, Z cached (P%)]
    if (w.size() < 10 || w[3] != "size" || w[5] != "on" || w[6] != "disk," || w[8] != "in" ||
        !w[9].starts_with("core"))
      continue;
    std::string_view n = w[2];
    if (!n.empty() && n.back() == ',') n.remove_suffix(1);
    auto entries = to_u64(n);
    auto disk = parse_nicenum(w[4]);
    auto core = parse_nicenum(w[7]);
    if (!entries || !disk || !core) continue;
    s.present = true;
    s.entries = *entries;
    s.on_disk = *disk;
    s.in_core = *core;
    if (w.size() >= 12 && w[11] == "cached") {
      if (auto c = parse_nicenum(w[10])) s.cached = *c;
    }
    return s;
  }
  return s;
}

std::vector<DdtHistogramRow> parse_ddt_histogram(std::string_view text) {
  std::vector<DdtHistogramRow> rows;
  bool in_table = false;
  for (std::string_view line : split_lines(text)) {
    std::string_view t = trim(line);
    if (t.starts_with("refcnt")) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (t.starts_with("------")) continue;
    auto row = parse_histogram_row(t);
    if (!row) break;
    rows.push_back(std::move(*row));
    if (rows.back().refcnt == "Total") break;
  }
  return rows;
}

ZdbDdtReport parse_zdb_ddt(std::string_view text) {
  ZdbDdtReport r;
  auto lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = trim(lines[i]);
    if (line == "All DDTs are empty") {
      r.empty = true;
      continue;
    }
    if (line.starts_with("DDT histogram (aggregated")) {
      std::string_view rest = text.substr(static_cast<size_t>(lines[i].data() - text.data()));
      r.histogram = parse_ddt_histogram(rest);
      continue;
    }
    if (line.starts_with("dedup = ")) {
      // dedup = %.2f, compress = %.2f, copies = %.2f, dedup * compress / copies = %.2f
      auto w = split_words(line);
      if (w.size() >= 16) {
        auto strip = [](std::string_view s) {
          if (!s.empty() && s.back() == ',') s.remove_suffix(1);
          return s;
        };
        auto d = to_double(strip(w[2]));
        auto c = to_double(strip(w[5]));
        auto p = to_double(strip(w[8]));
        auto all = to_double(strip(w[15]));
        if (d && c && p && all) r.ratios = DdtRatioLine{*d, *c, *p, *all};
      }
      continue;
    }
    if (!line.starts_with("DDT-")) continue;
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view rest = line.substr(colon + 2);
    if (rest.starts_with("version=")) {
      // "DDT-sha256: version=1 [FDT]; flags=0x03 [ FLAT LOG]; rootobj=.." (zdb.c dump_ddt)
      size_t open = rest.find('[');
      size_t close = rest.find(']');
      if (open != std::string_view::npos && close != std::string_view::npos && close > open)
        r.format = std::string(rest.substr(open + 1, close - open - 1));
      continue;
    }
    // Only DDT objects ("DDT-<checksum>-<type>-<class>").
    if (name.find("-zap-") == std::string_view::npos) continue;
    DdtObjectLine obj;
    obj.name = std::string(name);
    if (parse_legacy_object(rest, obj)) {
      r.objects.push_back(obj);
      continue;
    }
    auto e = keyed_value(rest, "entries");
    auto d = keyed_value(rest, "dspace");
    auto m = keyed_value(rest, "mspace");
    if (e && d && m) {
      obj.entries = *e;
      obj.on_disk = *d;
      obj.in_core = *m;
      obj.scale = DdtSizeScale::total;
      r.objects.push_back(obj);
    }
  }
  return r;
}

uint64_t ZdbDdtReport::entries() const {
  uint64_t n = 0;
  for (const auto& o : objects) n += o.entries;
  return n;
}

uint64_t ZdbDdtReport::in_core_bytes() const {
  uint64_t n = 0;
  for (const auto& o : objects) n += o.in_core_total();
  return n;
}

uint64_t ZdbDdtReport::on_disk_bytes() const {
  uint64_t n = 0;
  for (const auto& o : objects) n += o.on_disk_total();
  return n;
}

const DdtHistogramRow* ZdbDdtReport::total_row() const {
  for (const auto& row : histogram)
    if (row.refcnt == "Total") return &row;
  return nullptr;
}

std::map<std::string, std::string> parse_get_output(std::string_view text) {
  std::map<std::string, std::string> props;
  for (std::string_view line : split_lines(text)) {
    std::vector<std::string_view> cols;
    size_t pos = 0;
    for (;;) {
      size_t tab = line.find('\t', pos);
      cols.push_back(line.substr(pos, tab == std::string_view::npos ? std::string_view::npos : tab - pos));
      if (tab == std::string_view::npos) break;
      pos = tab + 1;
    }
    if (cols.size() == 2) {
      props[std::string(cols[0])] = std::string(cols[1]);
    } else if (cols.size() >= 4) {
      // name, property, value, source (a value with a tab would shift source: join the middle)
      std::string value(cols[2]);
      for (size_t i = 3; i + 1 < cols.size(); ++i) value += "\t" + std::string(cols[i]);
      props[std::string(cols[1])] = value;
    }
  }
  return props;
}

std::map<std::string, uint64_t> parse_kstat(std::string_view text) {
  std::map<std::string, uint64_t> values;
  for (std::string_view line : split_lines(text)) {
    auto w = split_words(line);
    if (w.size() != 3) continue;
    auto type = to_u64(w[1]);
    auto value = to_u64(w[2]);
    if (!type || !value) continue;
    values[std::string(w[0])] = *value;
  }
  return values;
}

} // namespace wsd::zfs
