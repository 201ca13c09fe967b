// `wsdedup dupes ROOT...`: groups of identical files and identical directory trees.

#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "catalog/result_memo.hpp"
#include "dupes/duplicate_finder.hpp"
#include "dupes/dupes_render.hpp"
#include "dupes/identical_dirs.hpp"
#include "report/json_path.hpp"
#include "scan/tree_scan.hpp"
#include "util/progress.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <malloc.h>
#include <memory>
#include <optional>
#include <string_view>

namespace wsd::cli {

namespace {

struct DupesArgs {
  CommonOptions common;
  std::string min_size = "1";
  bool csv = false;
  size_t top = 20;
  bool no_dirs = false;
};

// Bump when the memo value's layout (or what a group means) changes. 2: identical
// directory trees stored too.
constexpr uint32_t k_dupes_memo_version = 2;

// The result-memo key: every option that changes the groups.
std::string dupes_memo_key(const DupesArgs& args, uint64_t min_size) {
  std::string key = "dupes/" + std::to_string(k_dupes_memo_version) + " min-size=" + std::to_string(min_size) +
                    (args.no_dirs ? " no-dirs" : "");
  for (const std::string& r : args.common.roots) key += " root=" + std::to_string(r.size()) + ":" + r;
  return key;
}

// One group as a memo stores it (its members follow in the members array).
struct MemoGroup {
  uint64_t size;
  content::Digest128 digest;
  content::Digest128 partial_digest;
  uint32_t members;
  uint32_t has_partial;
};

// One identical-directory group as a memo stores it (its directories' roots and paths follow).
struct MemoDirGroup {
  uint64_t logical_bytes;
  uint64_t allocated_bytes;
  uint64_t files;
  uint64_t entries;
  uint64_t dirs;
};

// What a memo stands for: the duplicate groups and the identical directory trees (these
// depend only on the groups, the tree's shape and the symlinks' targets, all of which the
// walk's signature covers).
struct DupesMemo {
  dupes::DuplicateSet set;
  std::vector<dupes::IdenticalDirGroup> dirs;
};

// The content-derived part of `set` (groups, digests, members) and `dirs`; nullopt when some
// file could not be read or checked (its next run must try again).
std::optional<std::string> encode_dupes_memo(const dupes::DuplicateSet& set,
                                             const std::vector<dupes::IdenticalDirGroup>& dirs) {
  if (!set.problems.empty()) return std::nullopt;
  catalog::MemoWriter w;
  std::vector<MemoGroup> groups;
  std::vector<uint32_t> members;
  groups.reserve(set.groups.size());
  members.reserve(set.members.size());
  for (const dupes::DuplicateGroup& g : set.groups) {
    groups.push_back({g.size, g.digest, g.partial_digest, static_cast<uint32_t>(g.files.size()),
                      g.has_partial ? 1u : 0u});
    members.insert(members.end(), g.files.begin(), g.files.end());
  }
  w.put_vector(groups);
  w.put_vector(members);
  std::vector<MemoDirGroup> dir_groups;
  std::vector<uint32_t> dir_roots;
  std::vector<uint64_t> path_ends; // end of each path in path_bytes
  std::vector<char> path_bytes;
  for (const dupes::IdenticalDirGroup& g : dirs) {
    dir_groups.push_back({g.logical_bytes, g.allocated_bytes, g.files, g.entries, g.dirs.size()});
    for (const dupes::DirRef& d : g.dirs) {
      dir_roots.push_back(d.root);
      path_bytes.insert(path_bytes.end(), d.rel_path.begin(), d.rel_path.end());
      path_ends.push_back(path_bytes.size());
    }
  }
  w.put_vector(dir_groups);
  w.put_vector(dir_roots);
  w.put_vector(path_ends);
  w.put_vector(path_bytes);
  return w.take();
}

// The identical directory groups of a memo value; false when malformed.
bool decode_dir_groups(catalog::MemoReader& in, size_t roots, std::vector<dupes::IdenticalDirGroup>& out) {
  std::vector<MemoDirGroup> dir_groups;
  std::vector<uint32_t> dir_roots;
  std::vector<uint64_t> path_ends;
  std::vector<char> path_bytes;
  in.get_vector(dir_groups);
  in.get_vector(dir_roots);
  in.get_vector(path_ends);
  in.get_vector(path_bytes);
  if (!in.at_end() || dir_roots.size() != path_ends.size()) return false;
  size_t at = 0;
  uint64_t begin = 0;
  for (const MemoDirGroup& m : dir_groups) {
    if (m.dirs < 2 || dir_roots.size() - at < m.dirs) return false;
    dupes::IdenticalDirGroup g;
    g.logical_bytes = m.logical_bytes;
    g.allocated_bytes = m.allocated_bytes;
    g.files = m.files;
    g.entries = m.entries;
    for (uint64_t k = 0; k < m.dirs; ++k, ++at) {
      const uint64_t end = path_ends[at];
      if (dir_roots[at] >= roots || end < begin || end > path_bytes.size()) return false;
      g.dirs.push_back({dir_roots[at], std::string(path_bytes.data() + begin, end - begin)});
      begin = end;
    }
    out.push_back(std::move(g));
  }
  return at == dir_roots.size() && begin == path_bytes.size();
}

// The groups and trees a memo value stands for, the groups ready for dupes::confirm_groups;
// nullopt when the value is malformed or does not fit `files` and `roots`.
std::optional<DupesMemo> decode_dupes_memo(std::string_view value, size_t files, size_t roots) {
  catalog::MemoReader in(value);
  std::vector<MemoGroup> groups;
  DupesMemo memo;
  dupes::DuplicateSet& set = memo.set;
  in.get_vector(groups);
  in.get_vector(set.members);
  if (!in.ok() || !decode_dir_groups(in, roots, memo.dirs)) return std::nullopt;
  uint64_t begin = 0;
  for (const MemoGroup& m : groups) {
    if (m.members < 2 || set.members.size() - begin < m.members) return std::nullopt;
    dupes::DuplicateGroup g;
    g.size = m.size;
    g.digest = m.digest;
    g.partial_digest = m.partial_digest;
    g.has_partial = m.has_partial != 0;
    g.files = std::span<const uint32_t>(set.members.data() + begin, m.members);
    for (uint32_t f : g.files)
      if (f >= files) return std::nullopt;
    set.groups.push_back(g);
    begin += m.members;
  }
  if (begin != set.members.size()) return std::nullopt;
  return memo;
}

int run_dupes(const DupesArgs& args) {
  // A fixed threshold (the default one rises to the largest block freed so far): the walk's
  // and the finder's large arrays are then their own mappings, given back when freed, so
  // one pass's arrays never stay resident under the next one's (DESIGN.md section 6).
  ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  const auto start = std::chrono::steady_clock::now();
  const int64_t run_began_ns = catalog::wall_clock_ns(); // a memo stored by this run dates from here
  const fs::RootSet roots(args.common.roots);
  const uint64_t min_size = std::max<uint64_t>(util::parse_size(args.min_size), 1);
  scan::ScanOptions options;
  options.walk = make_walk_options(args.common);
  options.collect_min_size = args.no_dirs ? min_size : 0;
  options.collect_tree_entries = !args.no_dirs;

  fs::WalkProgress walk_progress;
  dupes::FinderProgress read_progress;
  util::Progress ticker(
      [&](double) { return walk_read_progress_line("dupes", walk_progress, read_progress); },
      show_progress(args.common));
  scan::ScanResult scanned = scan::scan_tree(roots, options, &walk_progress);
  ::malloc_trim(0); // the walk's transient memory back to the kernel before hashing
  const double walk_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t walk_peak_rss = args.common.stats ? peak_rss_bytes() : 0;
  dupes::FinderOptions fo;
  fo.min_size = min_size;
  fo.threads = args.common.threads;
  fo.cross_fs = args.common.cross_fs;
  const std::unique_ptr<catalog::Catalog> catalog = open_catalog(args.common);
  fo.catalog = catalog.get();
  // The result memo (catalog/result_memo.hpp): the groups of an unchanged tree without a hash
  // lookup; their extents (FIEMAP sharing, snapshots), which change without any inode change,
  // are checked afresh by confirm_groups either way.
  catalog::MemoSlot memo(catalog.get(), "dupes", catalog ? dupes_memo_key(args, min_size) : "", args.common.roots,
                         run_began_ns);
  std::optional<DupesMemo> from_memo;
  if (const std::optional<std::string> value =
          memo.find(roots, scanned.files, args.no_dirs ? catalog::TreeShape::no : catalog::TreeShape::yes)) {
    from_memo = decode_dupes_memo(*value, scanned.files.files.size(), roots.size());
  }
  if (from_memo) {
    memo.mark_used();
    dupes::confirm_groups(roots, scanned.files, fo, from_memo->set);
  }
  const dupes::DuplicateSet found =
      from_memo ? std::move(from_memo->set) : dupes::find_duplicates(roots, scanned.files, fo, &read_progress);
  std::vector<dupes::IdenticalDirGroup> dirs;
  if (from_memo) dirs = std::move(from_memo->dirs);
  else if (!args.no_dirs) dirs = dupes::find_identical_dirs(roots, scanned.files, found, args.common.cross_fs);
  memo.store(scanned.files, [&] { return encode_dupes_memo(found, dirs); });
  std::vector<scan::TreeEntry>().swap(scanned.files.tree_entries); // only the tree analysis reads them
  ticker.stop();

  ErrorLines errors = scan_error_lines(scanned.usage);
  append_problem_lines(errors, roots, scanned.files, found);
  print_errors(errors);

  dupes::DupesReport report{&roots, &scanned.files, &found, &dirs, min_size};
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (wants_document(args.common)) {
    // A plain --json streams the groups (the document would hold every path twice);
    // --html/--prometheus renderers need the whole tree.
    const bool stream = args.common.json && args.common.html_path.empty() && args.common.prometheus_path.empty();
    nlohmann::ordered_json doc =
        dupes::dupes_to_json(report, stream ? dupes::IncludeGroups::no : dupes::IncludeGroups::yes);
    for (const auto& e : scanned.usage.errors)
      doc["errors"].push_back({{"path", report::path_to_json(e.path)}, {"op", e.op}, {"error", e.message}});
    if (args.common.stats) {
      doc["stats"] = {{"files_listed", scanned.files.files.size()},
                      {"candidates", found.stats.candidates},
                      {"partial_hashed", found.stats.partial_hashed},
                      {"full_hashed", found.stats.full_hashed},
                      {"bytes_read", found.stats.bytes_read},
                      {"waited_reads", found.stats.waited_reads},
                      {"extent_checks", found.stats.extent_checks},
                      {"catalog_hits", found.stats.catalog_hits},
                      {"result_memo", memo.state()},
                      {"seconds", seconds},
                      {"peak_rss_bytes", peak_rss_bytes()}};
    }
    if (stream) dupes::write_dupes_json(report, std::move(doc), stdout);
    else emit_document(doc, args.common);
  }
  if (!args.common.json && args.csv) {
    std::fputs(dupes::render_dupes_csv(report).c_str(), stdout);
  } else if (!args.common.json) {
    dupes::DupesTextOptions to;
    to.exact = args.common.bytes ? util::ExactBytes::yes : util::ExactBytes::no;
    to.top = args.top;
    std::string text = dupes::render_dupes_text(report, to);
    if (args.common.stats) {
      const auto& s = found.stats;
      text += fmt::format(
          "walk {:.2f} s ({} files listed); partial hash {:.2f} s ({} files); full hash {:.2f} s "
          "({} files); {} read ({} reads waited for the disk); extent checks {:.2f} s ({}); total "
          "{:.2f} s; peak memory {} "
          "({} after the walk); result memo {}\n",
          walk_seconds, util::format_count(scanned.files.files.size()), s.seconds_partial,
          util::format_count(s.partial_hashed), s.seconds_full, util::format_count(s.full_hashed),
          util::format_bytes(s.bytes_read), util::format_count(s.waited_reads), s.seconds_extents,
          util::format_count(s.extent_checks), seconds, util::format_bytes(peak_rss_bytes()),
          util::format_bytes(walk_peak_rss), memo.state());
    }
    std::fputs(text.c_str(), stdout);
  }
  return 0;
}

} // namespace

void register_dupes_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DupesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "dupes", "Groups of identical files (size, then partial hash, then full hash) and "
               "identical directory trees");
  add_walk_options(*cmd, args->common);
  add_output_options(*cmd, args->common);
  add_report_options(*cmd, args->common);
  add_catalog_options(*cmd, args->common);
  cmd->add_option("--min-size", args->min_size,
                  "Ignore files smaller than SIZE (default 1: empty files are never grouped)")
      ->type_name("SIZE");
  cmd->add_flag("--csv", args->csv, "Print one CSV row per file of every group");
  cmd->add_option("--top", args->top, "Groups and trees listed in the human output (0: all)")
      ->type_name("N");
  cmd->add_flag("--no-dirs", args->no_dirs, "Skip the identical-directory-tree analysis");
  cmd->final_callback([args, &exit_code] { exit_code = run_dupes(*args); });
}

} // namespace wsd::cli
