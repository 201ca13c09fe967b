#include "dupes/dupes_render.hpp"

#include "report/json_path.hpp"
#include "report/table.hpp"
#include "util/escape.hpp"

#include <fmt/format.h>
#include <iterator>


namespace wsd::dupes {

namespace {

// Display paths of list files (what RootSet::display_path of their rel_path gives), from
// each directory's prefix ("<root display>/a/b/", scan::DirPrefixes).
class DisplayPaths {
public:
  explicit DisplayPaths(const DupesReport& r)
      : m_r(r), m_prefixes(r.files->paths, root_prefixes(*r.roots)),
        m_plain(r.files->paths.dir_count(), k_unknown) {}

  /// Sets `out` to the display path of list file `file`, reusing out's buffer.
  void assign(uint32_t file, std::string& out) {
    const scan::FileEntry& f = m_r.files->files[file];
    out.assign(m_prefixes.of(f.dir));
    out.append(m_r.files->paths.name(f.name));
  }

  std::string path(uint32_t file) {
    std::string out;
    assign(file, out);
    return out;
  }

  /// Appends the path of `file` as a JSON string and returns true when it needs no escape
  /// (report::is_plain_json_path); else leaves `out` alone and returns false. A directory's
  /// prefix is tested once: two plain parts make a plain path (both are whole UTF-8).
  bool append_plain_json(uint32_t file, std::string& out) {
    const scan::FileEntry& f = m_r.files->files[file];
    const std::string_view dir = m_prefixes.of(f.dir);
    uint8_t& plain = m_plain[f.dir];
    if (plain == k_unknown) plain = report::is_plain_json_path(dir) ? k_yes : k_no;
    const std::string_view name = m_r.files->paths.name(f.name);
    if (plain == k_no || !report::is_plain_json_path(name)) return false;
    out += '"';
    out.append(dir);
    out.append(name);
    out += '"';
    return true;
  }

private:
  static constexpr uint8_t k_unknown = 0, k_yes = 1, k_no = 2;

  static std::vector<std::string> root_prefixes(const fs::RootSet& roots) {
    std::vector<std::string> out;
    for (const auto& root : roots.roots())
      out.push_back(root.display == "/" ? "/" : root.display + "/");
    return out;
  }

  const DupesReport& m_r;
  scan::DirPrefixes m_prefixes;
  std::vector<uint8_t> m_plain; // per directory: k_unknown, or whether its prefix is plain JSON
};

std::string hex(const content::Digest128& d) { return fmt::format("{:016x}{:016x}", d.high, d.low); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

} // namespace

DupesTotals dupes_totals(const DuplicateSet& dupes) {
  DupesTotals t;
  for (const DuplicateGroup& g : dupes.groups) {
    t.groups++;
    t.duplicate_files += g.files.size() - 1;
    t.duplicate_bytes += g.duplicate_bytes;
    t.reclaimable_bytes += g.reclaimable_bytes;
    t.already_shared_files += g.already_shared;
    t.inline_files += g.inline_files;
    t.held_by_snapshots_bytes += g.held_bytes_total;
  }
  return t;
}

std::string render_dupes_text(const DupesReport& r, const DupesTextOptions& options) {
  const auto bytes = [&](uint64_t b) { return util::format_bytes(b, options.exact); };
  const DupesTotals t = dupes_totals(*r.dupes);
  std::string out;
  const auto& dirs = *r.dirs;
  if (!dirs.empty()) {
    out += "Identical directory trees (largest savings first):\n";
    size_t shown = 0;
    for (const IdenticalDirGroup& g : dirs) {
      if (options.top != 0 && shown++ >= options.top) break;
      out += fmt::format("  these {} folders are identical, {} each ({} files):\n", g.dirs.size(),
                         bytes(g.allocated_bytes), util::format_count(g.files));
      size_t listed = 0;
      for (const DirRef& d : g.dirs) {
        if (listed++ == 5 && g.dirs.size() > 6) {
          out += fmt::format("    ... and {} more\n", g.dirs.size() - 5);
          break;
        }
        out += "    " + util::escape_for_terminal(r.roots->display_path(d.root, d.rel_path)) + "\n";
      }
    }
    if (options.top != 0 && dirs.size() > options.top)
      out += fmt::format("  ... {} more identical trees (--top 0 lists all)\n", dirs.size() - options.top);
    out += "\n";
  }
  DisplayPaths display(r);
  report::Table table({{"reclaimable", report::Align::right},
                       {"size", report::Align::right},
                       {"copies", report::Align::right},
                       {"shared", report::Align::right},
                       {"first path", report::Align::left}});
  size_t shown = 0;
  for (const DuplicateGroup& g : r.dupes->groups) {
    if (options.top != 0 && shown++ >= options.top) break;
    table.add_row({bytes(g.reclaimable_bytes), bytes(g.size), util::format_count(g.files.size()),
                   util::format_count(g.already_shared),
                   util::escape_for_terminal(display.path(g.files[0]))});
  }
  if (!r.dupes->groups.empty()) {
    out += "Duplicate groups (largest savings first):\n" + table.render();
    if (options.top != 0 && r.dupes->groups.size() > options.top)
      out += fmt::format("... {} more groups (--top 0 lists all)\n", r.dupes->groups.size() - options.top);
    out += "\n";
  }
  out += fmt::format("{} groups, {} duplicate files, {} duplicate bytes, {} reclaimable",
                     util::format_count(t.groups), util::format_count(t.duplicate_files),
                     bytes(t.duplicate_bytes), bytes(t.reclaimable_bytes));
  if (t.already_shared_files > 0)
    out += fmt::format(" ({} files already share storage)", util::format_count(t.already_shared_files));
  out += "\n";
  if (t.inline_files > 0)
    out += fmt::format("{} small files are stored inline in metadata: not counted as reclaimable\n",
                       util::format_count(t.inline_files));
  if (t.held_by_snapshots_bytes > 0)
    out += fmt::format("{} of the duplicates' storage is also referenced by a snapshot (or a reflink "
                       "outside these files): not counted as reclaimable until that is deleted\n",
                       bytes(t.held_by_snapshots_bytes));
  for (const std::string& n : r.dupes->notes) out += "note: " + util::escape_for_terminal(n) + "\n";
  return out;
}

namespace {

nlohmann::ordered_json group_to_json(DisplayPaths& display, const DuplicateGroup& g) {
  nlohmann::ordered_json j;
  j["size"] = g.size;
  j["duplicate_bytes"] = g.duplicate_bytes;
  j["reclaimable_bytes"] = g.reclaimable_bytes;
  j["already_shared"] = g.already_shared;
  j["inline_files"] = g.inline_files;
  j["held_by_snapshots_bytes"] = g.held_bytes_total;
  j["hash"] = hex(g.digest);
  auto& paths = j["paths"] = nlohmann::ordered_json::array();
  for (uint32_t f : g.files) paths.push_back(report::path_to_json(display.path(f)));
  return j;
}

// Appends `text` re-indented by `indent` after each newline.
void append_indented(std::string& out, std::string_view text, std::string_view indent) {
  for (char c : text) {
    out += c;
    if (c == '\n') out += indent;
  }
}

// Appends group_to_json(r, g) as dump(2) prints it at depth 2 of the document, without
// building the JSON tree (0.8 s of 3.9 s on a 400 k-path corpus): numbers and plain strings
// written directly, anything needing escapes or a non-UTF-8 path through nlohmann.
// Walks the files of the groups some way ahead of the writer and prefetches their list
// entries: a group's files lie anywhere in the list (tens of MB), and waiting for each entry
// was half of writing the report (write_dupes_json's samples in a dupes re-run: 689 -> 444).
class EntryPrefetcher {
public:
  EntryPrefetcher(const std::vector<DuplicateGroup>& groups, const scan::FileList& files)
      : m_groups(groups), m_files(files) {
    for (size_t i = 0; i < k_distance; ++i) step();
  }
  /// One file written: prefetches the entry of the file k_distance further on.
  void step() {
    while (m_group < m_groups.size() && m_index >= m_groups[m_group].files.size()) {
      ++m_group;
      m_index = 0;
    }
    if (m_group == m_groups.size()) return;
    __builtin_prefetch(&m_files.files[m_groups[m_group].files[m_index++]]);
  }

private:
  static constexpr size_t k_distance = 16;
  const std::vector<DuplicateGroup>& m_groups;
  const scan::FileList& m_files;
  size_t m_group = 0;
  size_t m_index = 0;
};

void append_group_json(DisplayPaths& display, const DuplicateGroup& g, std::string& out,
                       EntryPrefetcher& ahead) {
  fmt::format_to(
      std::back_inserter(out),
      "{{\n      \"size\": {},\n      \"duplicate_bytes\": {},\n      \"reclaimable_bytes\": {},"
      "\n      \"already_shared\": {},\n      \"inline_files\": {},\n      \"held_by_snapshots_bytes\": {},"
      "\n      \"hash\": \"{:016x}{:016x}\",\n      \"paths\": [",
      g.size, g.duplicate_bytes, g.reclaimable_bytes, g.already_shared, g.inline_files,
      g.held_bytes_total, g.digest.high, g.digest.low);
  bool first = true;
  std::string path;
  for (uint32_t f : g.files) {
    ahead.step();
    out += first ? "\n        " : ",\n        ";
    first = false;
    if (!display.append_plain_json(f, out)) {
      display.assign(f, path);
      append_indented(out,
                      report::path_to_json(path).dump(
                          2, ' ', false, nlohmann::ordered_json::error_handler_t::replace),
                      "        ");
    }
  }
  out += "\n      ]\n    }";
}

// Stands for the groups array in the dumped document (the quotes of a JSON string value
// cannot occur unescaped inside another string, so the pattern is unique).
constexpr std::string_view k_groups_marker = "\"groups\": \"@@wsdedup-groups@@\"";

} // namespace

void write_dupes_json(const DupesReport& r, nlohmann::ordered_json doc, std::FILE* out) {
  doc["groups"] = "@@wsdedup-groups@@";
  const std::string text = report::dump_json(doc);
  const size_t at = text.find(k_groups_marker);
  if (at == std::string::npos) { // cannot happen: the marker is a value of ours
    std::fputs(text.c_str(), out);
    return;
  }
  const size_t value = at + std::string_view("\"groups\": ").size();
  std::fwrite(text.data(), 1, value, out);
  if (r.dupes->groups.empty()) {
    std::fputs("[]", out);
  } else {
    std::fputs("[\n", out);
    bool first = true;
    // Groups are gathered and written a megabyte at a time: one write call per stdio
    // buffer (4 KiB) was ~13,000 calls for this corpus's 56 MB.
    constexpr size_t k_flush_bytes = size_t{1} << 20;
    std::string buffer;
    buffer.reserve(k_flush_bytes + 64 * 1024);
    DisplayPaths display(r);
    EntryPrefetcher ahead(r.dupes->groups, *r.files);
    for (const DuplicateGroup& g : r.dupes->groups) {
      // Elements of a top-level member's array sit at depth 2 (4 spaces), as in dump(2).
      buffer += first ? "    " : ",\n    ";
      first = false;
      append_group_json(display, g, buffer, ahead);
      if (buffer.size() >= k_flush_bytes) {
        std::fwrite(buffer.data(), 1, buffer.size(), out);
        buffer.clear();
      }
    }
    std::fwrite(buffer.data(), 1, buffer.size(), out);
    std::fputs("\n  ]", out);
  }
  const size_t end = at + k_groups_marker.size();
  std::fwrite(text.data() + end, 1, text.size() - end, out);
}

nlohmann::ordered_json dupes_to_json(const DupesReport& r, IncludeGroups groups_too) {
  nlohmann::ordered_json doc;
  doc["schema"] = "wsdedup.dupes/1";
  doc["roots"] = nlohmann::ordered_json::array();
  for (const auto& root : r.roots->roots()) doc["roots"].push_back(report::path_to_json(root.display));
  doc["min_size"] = r.min_size;
  DisplayPaths display(r);
  auto& groups = doc["groups"] = nlohmann::ordered_json::array();
  if (groups_too == IncludeGroups::yes)
    for (const DuplicateGroup& g : r.dupes->groups) groups.push_back(group_to_json(display, g));
  auto& dirs = doc["identical_dirs"] = nlohmann::ordered_json::array();
  for (const IdenticalDirGroup& g : *r.dirs) {
    nlohmann::ordered_json j;
    j["logical_bytes"] = g.logical_bytes;
    j["allocated_bytes"] = g.allocated_bytes;
    j["files"] = g.files;
    j["entries"] = g.entries;
    j["reclaimable_bytes"] = g.allocated_bytes * (g.dirs.size() - 1);
    auto& paths = j["paths"] = nlohmann::ordered_json::array();
    for (const DirRef& d : g.dirs) paths.push_back(report::path_to_json(r.roots->display_path(d.root, d.rel_path)));
    dirs.push_back(std::move(j));
  }
  const DupesTotals t = dupes_totals(*r.dupes);
  doc["total"] = {{"groups", t.groups},
                  {"duplicate_files", t.duplicate_files},
                  {"duplicate_bytes", t.duplicate_bytes},
                  {"reclaimable_bytes", t.reclaimable_bytes},
                  {"already_shared_files", t.already_shared_files},
                  {"inline_files", t.inline_files},
                  {"held_by_snapshots_bytes", t.held_by_snapshots_bytes}};
  doc["notes"] = r.dupes->notes;
  auto& errors = doc["errors"] = nlohmann::ordered_json::array();
  for (const FileProblem& p : r.dupes->problems)
    errors.push_back({{"path", report::path_to_json(display.path(p.file))},
                      {"op", p.op},
                      {"error", p.err ? util::errno_text(p.err) : "changed while read"}});
  return doc;
}

std::string render_dupes_csv(const DupesReport& r) {
  std::string out = "group,size,reclaimable_bytes,hash,path\n";
  DisplayPaths display(r);
  size_t gi = 0;
  for (const DuplicateGroup& g : r.dupes->groups) {
    ++gi;
    for (uint32_t f : g.files)
      out += fmt::format("{},{},{},{},{}\n", gi, g.size, g.reclaimable_bytes, hex(g.digest),
                         csv_field(display.path(f)));
  }
  return out;
}

} // namespace wsd::dupes
