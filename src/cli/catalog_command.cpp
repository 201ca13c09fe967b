// `wsdedup catalog stats|prune ROOT...|vacuum`: look after the persistent catalog.

#include "catalog/catalog.hpp"
#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "report/json_path.hpp"
#include "report/table.hpp"
#include "scan/tree_scan.hpp"
#include "util/escape.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <memory>

namespace wsd::cli {

namespace {

struct CatalogArgs {
  std::string path;
  bool json = false;
  CommonOptions prune_roots; // for `prune`
};

std::unique_ptr<catalog::Catalog> open_catalog(const CatalogArgs& args) {
  std::string warning;
  auto c = catalog::Catalog::open(args.path.empty() ? catalog::default_catalog_path() : args.path,
                                  &warning);
  if (!warning.empty()) std::fprintf(stderr, "wsdedup: warning: %s\n", warning.c_str());
  return c;
}

int run_stats(const CatalogArgs& args) {
  auto c = open_catalog(args);
  const catalog::CatalogStats s = c->stats();
  if (args.json) {
    nlohmann::ordered_json doc;
    doc["schema"] = "wsdedup.catalog/1";
    doc["path"] = report::path_to_json(c->path());
    doc["rows"] = s.rows;
    doc["memos"] = s.memos;
    doc["file_bytes"] = s.file_bytes;
    nlohmann::ordered_json kinds = nlohmann::ordered_json::object();
    for (const auto& [k, n] : s.rows_by_kind) kinds[k] = n;
    doc["rows_by_kind"] = kinds;
    std::fputs(report::dump_json(doc).c_str(), stdout);
    return 0;
  }
  std::string out = fmt::format("catalog {}: {} rows, {} result memos, {} on disk\n", c->path(),
                                util::format_count(s.rows), util::format_count(s.memos),
                                util::format_bytes(s.file_bytes));
  if (!s.rows_by_kind.empty()) {
    report::Table t({{"kind", report::Align::left}, {"rows", report::Align::right}});
    for (const auto& [k, n] : s.rows_by_kind) t.add_row({k, util::format_count(n)});
    out += t.render();
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

int run_prune(const CatalogArgs& args) {
  auto c = open_catalog(args);
  const fs::RootSet roots(args.prune_roots.roots);
  scan::ScanOptions options;
  options.walk = make_walk_options(args.prune_roots);
  options.collect_min_size = 0;
  const scan::ScanResult scanned = scan::scan_tree(roots, options, nullptr);
  // Rows are keyed by (filesystem, inode); their stored path (from the filesystem's top)
  // says where the file was. A row whose file this walk did not see is dropped only when
  // that path lies under a walked root: rows of files elsewhere are kept, unchecked.
  std::vector<uint64_t> fs_ids;
  std::vector<catalog::PruneScope> scopes;
  for (const auto& r : roots.roots()) {
    fs_ids.push_back(catalog::filesystem_id(r.fd.get()));
    scopes.push_back({fs_ids.back(), catalog::path_in_filesystem(r.fd.get(), r.st.dev)});
    if (scopes.back().top.empty())
      std::fprintf(stderr,
                   "wsdedup: warning: cannot tell where %s lies in its filesystem: its rows are "
                   "kept\n",
                   util::escape_for_terminal(r.display).c_str());
  }
  if (!args.prune_roots.excludes.empty() || !scanned.usage.errors.empty()) {
    // Files the walk skipped were not checked: keep every row (say why).
    std::fprintf(stderr, "wsdedup: warning: %s: no row is dropped\n",
                 args.prune_roots.excludes.empty() ? "the walk met errors" : "--exclude hides files");
    scopes.clear();
  }
  std::vector<std::pair<uint64_t, uint64_t>> live;
  for (const auto& f : scanned.files.files)
    if (f.st.dev == roots[f.root].st.dev) live.emplace_back(fs_ids[f.root], f.st.ino);
  const uint64_t removed = c->prune(scopes, live);
  if (args.json) {
    nlohmann::ordered_json doc;
    doc["schema"] = "wsdedup.catalog/1";
    doc["pruned_rows"] = removed;
    std::fputs(report::dump_json(doc).c_str(), stdout);
  } else {
    std::printf("removed %s rows of files that are gone\n", util::format_count(removed).c_str());
  }
  return 0;
}

int run_vacuum(const CatalogArgs& args) {
  auto c = open_catalog(args);
  const uint64_t before = c->stats().file_bytes;
  c->vacuum();
  const uint64_t after = c->stats().file_bytes;
  std::printf("catalog %s: %s -> %s\n", c->path().c_str(), util::format_bytes(before).c_str(),
              util::format_bytes(after).c_str());
  return 0;
}

} // namespace

void register_catalog_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CatalogArgs>();
  CLI::App* cmd = app.add_subcommand("catalog", "Inspect and maintain the persistent catalog");
  cmd->require_subcommand(1);
  // Options on each action, so they may follow it: `wsdedup catalog stats --catalog X`.
  auto common = [&](CLI::App* action) {
    action->add_option("--catalog", args->path,
                       "Catalog file (default: " + catalog::default_catalog_path() + ")")
        ->type_name("PATH");
    action->add_flag("--json", args->json, "Print one JSON document");
  };
  CLI::App* stats = cmd->add_subcommand("stats", "Rows and size of the catalog");
  common(stats);
  stats->final_callback([args, &exit_code] { exit_code = run_stats(*args); });
  CLI::App* prune = cmd->add_subcommand("prune", "Drop rows of files no longer found below ROOT...");
  common(prune);
  add_walk_options(*prune, args->prune_roots);
  prune->final_callback([args, &exit_code] { exit_code = run_prune(*args); });
  CLI::App* vacuum = cmd->add_subcommand("vacuum", "Compact the catalog file");
  common(vacuum);
  vacuum->final_callback([args, &exit_code] { exit_code = run_vacuum(*args); });
}

} // namespace wsd::cli
