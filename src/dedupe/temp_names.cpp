#include "dedupe/temp_names.hpp"

#include "fs/safe_open.hpp"
#include "report/json_path.hpp"
#include "util/error.hpp"

#include <atomic>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <unistd.h>

namespace wsd::dedupe {

namespace {
constexpr std::string_view k_prefix = ".wsdedup-tmp.";
}

std::string make_temp_name() {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}{}.{}", k_prefix, ::getpid(), counter.fetch_add(1));
}

bool is_temp_name(std::string_view name) {
  if (name.substr(0, k_prefix.size()) != k_prefix) return false;
  const std::string_view rest = name.substr(k_prefix.size());
  const size_t dot = rest.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == rest.size()) return false;
  for (size_t i = 0; i < rest.size(); ++i)
    if (i != dot && (rest[i] < '0' || rest[i] > '9')) return false;
  return true;
}

std::string_view base_name(std::string_view rel_path) {
  const size_t slash = rel_path.rfind('/');
  return slash == std::string_view::npos ? rel_path : rel_path.substr(slash + 1);
}

std::string_view dir_name(std::string_view rel_path) {
  const size_t slash = rel_path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : rel_path.substr(0, slash);
}

TempCleanup remove_leftover_temps(const fs::RootSet& roots, const scan::FileList& list,
                                  util::JsonLinesLog& audit, bool cross_fs) {
  TempCleanup out;
  std::set<std::pair<uint32_t, std::string>> names;
  for (const auto& f : list.files)
    if (is_temp_name(list.paths.name(f.name))) names.emplace(f.root, list.rel_path(f));
  for (const auto& e : list.tree_entries)
    if (e.type == fs::EntryType::regular && is_temp_name(list.paths.name(e.name)))
      names.emplace(list.paths.dir(e.dir).root, list.rel_path(e));
  for (const auto& [root, rel] : names) {
    const std::string display = roots.display_path(root, rel);
    auto dir = fs::open_beneath(roots[root].fd.get(), dir_name(rel), true, cross_fs);
    if (!dir) {
      out.errors.emplace_back(display, util::describe_error("open", display, dir.error()));
      continue;
    }
    const std::string name(base_name(rel));
    fs::FileStat st;
    if (fs::stat_at(dir->get(), name.c_str(), st) != 0 || !st.is_regular()) continue;
    audit.append({{"action", "remove_temp"}, {"phase", "intent"}, {"path", report::path_to_json(display)}}, util::Durability::synced);
    if (::unlinkat(dir->get(), name.c_str(), 0) != 0) {
      const int err = errno;
      audit.append({{"action", "remove_temp"}, {"phase", "failed"}, {"path", report::path_to_json(display)}, {"error", util::errno_text(err)}},
                   util::Durability::buffered);
      out.errors.emplace_back(display, util::describe_error("unlink", display, err));
      continue;
    }
    audit.append({{"action", "remove_temp"}, {"phase", "done"}, {"path", report::path_to_json(display)}}, util::Durability::buffered);
    out.removed++;
  }
  return out;
}

} // namespace wsd::dedupe
