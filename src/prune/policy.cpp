#include "prune/policy.hpp"

#include "util/error.hpp"
#include "util/escape.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <numeric>
#include <sstream>

namespace wsd::prune {

namespace {

std::string format_age(int64_t seconds) {
  if (seconds >= 86400) return fmt::format("{:.1f}d", static_cast<double>(seconds) / 86400);
  if (seconds >= 3600) return fmt::format("{:.1f}h", static_cast<double>(seconds) / 3600);
  return fmt::format("{}s", seconds);
}

} // namespace

std::map<std::string, std::string> load_status_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw util::Fatal("status file: {}", util::describe_error("open", path, errno));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw util::Fatal("status file \"{}\" is not valid JSON: {}", util::escape_for_terminal(path),
                      e.what());
  }
  if (!doc.is_object())
    throw util::Fatal("status file \"{}\": expected a JSON object mapping workspace name to "
                      "status string, got {}",
                      util::escape_for_terminal(path), doc.type_name());
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : doc.items()) {
    if (!value.is_string())
      throw util::Fatal("status file \"{}\": the status of \"{}\" must be a string, got {}",
                        util::escape_for_terminal(path), util::escape_for_terminal(name),
                        value.type_name());
    out[name] = value.get<std::string>();
  }
  return out;
}

std::set<std::string> parse_status_list(const std::string& text) {
  std::set<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    if (!item.empty()) out.insert(item);
    start = comma + 1;
  }
  if (out.empty()) throw util::Fatal("--status needs at least one status (e.g. done,archived)");
  return out;
}

std::vector<Decision> apply_policy(const Policy& policy, const WorkspaceScan& scan, int64_t now_ns) {
  const size_t n = scan.workspaces.size();
  std::vector<Decision> out(n);
  // The N newest (by newest mtime; ties by name) are kept.
  std::vector<size_t> by_age(n);
  std::iota(by_age.begin(), by_age.end(), 0);
  std::sort(by_age.begin(), by_age.end(), [&](size_t a, size_t b) {
    const auto& x = scan.workspaces[a];
    const auto& y = scan.workspaces[b];
    if (x.newest_mtime_ns != y.newest_mtime_ns) return x.newest_mtime_ns > y.newest_mtime_ns;
    return x.name < y.name;
  });
  std::vector<bool> among_newest(n, false);
  if (policy.keep_newest)
    for (size_t k = 0; k < n && k < *policy.keep_newest; ++k) among_newest[by_age[k]] = true;

  for (size_t i = 0; i < n; ++i) {
    const WorkspaceInfo& w = scan.workspaces[i];
    Decision& d = out[i];
    d.age_seconds = std::max<int64_t>(0, (now_ns - w.newest_mtime_ns) / 1'000'000'000);
    if (policy.statuses) {
      const auto it = policy.statuses->find(w.name);
      if (it == policy.statuses->end()) {
        d.kept_because.push_back("not in the status file");
      } else {
        d.status = it->second;
        if (!policy.delete_statuses.contains(it->second))
          d.kept_because.push_back(fmt::format("status \"{}\"", util::escape_for_terminal(it->second)));
      }
    }
    if (policy.older_than_seconds && d.age_seconds < *policy.older_than_seconds)
      d.kept_because.push_back(fmt::format("changed {} ago", format_age(d.age_seconds)));
    if (among_newest[i]) d.kept_because.push_back(fmt::format("among the {} newest", *policy.keep_newest));
    d.selected = d.kept_because.empty();
  }
  return out;
}

} // namespace wsd::prune
