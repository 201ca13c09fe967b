#include "dedupe/undo.hpp"

#include "dedupe/replace_path.hpp"
#include "fs/run_guard.hpp"
#include "fs/safe_open.hpp"
#include "report/json_path.hpp"

#include <map>
#include <memory>

namespace wsd::dedupe {

UndoReport undo_hardlinks(const std::string& journal_path, util::JsonLinesLog& audit, DryRun dry_run,
                          bool cross_fs) {
  UndoReport out;
  const auto lines = util::read_json_lines(journal_path);
  std::map<std::string, std::unique_ptr<fs::RootSet>> roots;
  for (const auto& line : lines) {
    if (line.value("action", "") != "hardlink") continue;
    out.entries++;
    std::string root, rel;
    try {
      root = report::path_from_json(line.at("root"));
      rel = report::path_from_json(line.at("path"));
    } catch (const std::exception&) {
      continue;
    }
    auto& set = roots[root];
    if (!set) {
      set = std::make_unique<fs::RootSet>(std::vector<std::string>{root});
      if (dry_run == DryRun::no) fs::lock_roots(*set);
    }
    const std::string display = set->display_path(0, rel);
    auto fd = fs::open_beneath((*set)[0].fd.get(), rel, false, cross_fs);
    if (!fd) {
      out.skipped.push_back({display, reason_for_errno("open", fd.error())});
      continue;
    }
    fs::FileStat st;
    if (fs::stat_fd(fd->get(), st) != 0 || st.ino != line.value("keeper_ino", uint64_t{0}) ||
        st.dev != line.value("dev", uint64_t{0})) {
      out.skipped.push_back({display, "not a link to the keeper any more"});
      continue;
    }
    if (st.nlink < 2) {
      out.skipped.push_back({display, "no longer linked"});
      continue;
    }
    fd->reset(); // the lease needs ours to be the only descriptor
    if (dry_run == DryRun::yes) {
      out.restored++;
      continue;
    }
    const ReplaceOutcome r = replace_path(*set, {0, rel, st}, ReplaceKind::private_copy, -1, st,
                                          audit, nullptr, {}, cross_fs);
    if (r.done) out.restored++;
    else out.skipped.push_back({display, r.reason});
  }
  return out;
}

} // namespace wsd::dedupe
