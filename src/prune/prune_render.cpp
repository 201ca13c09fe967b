#include "prune/prune_render.hpp"

#include "report/json_path.hpp"
#include "report/table.hpp"
#include "util/escape.hpp"

#include <fmt/format.h>

namespace wsd::prune {

namespace {

std::string action_of(const PruneReport& r, size_t i) {
  const Decision& d = r.decisions[i];
  if (!d.selected) return "kept";
  if (!r.users[i].empty() && (!r.apply || !r.outcomes[i].deleted)) return "in use";
  if (r.scan->workspaces[i].errors || !r.scan->workspaces[i].protected_entries.empty()) return "skipped";
  if (!r.apply) return "would delete";
  const DeleteOutcome& o = r.outcomes[i];
  if (o.deleted) return "deleted";
  if (!o.skipped.empty()) return "skipped";
  return "failed";
}

std::string why_of(const PruneReport& r, size_t i) {
  const Decision& d = r.decisions[i];
  std::string why;
  for (const auto& k : d.kept_because) why += (why.empty() ? "" : "; ") + k;
  if (!d.selected) return why;
  if (!r.users[i].empty()) return "used by " + describe_users(r.users[i]);
  if (r.scan->workspaces[i].errors) return fmt::format("{} walk errors below it", r.scan->workspaces[i].errors);
  if (const auto& p = r.scan->workspaces[i].protected_entries; !p.empty())
    return p.size() == 1 ? "holds " + p.front() : fmt::format("holds {} (and {} more left out of the walk)", p.front(), p.size() - 1);
  if (r.apply) {
    const DeleteOutcome& o = r.outcomes[i];
    if (!o.skipped.empty()) return o.skipped;
    if (!o.errors.empty()) return o.errors.front();
  }
  return "";
}

} // namespace

std::string describe_users(const std::vector<fs::ProcessUse>& users) {
  std::string out;
  int last_pid = -1;
  for (const auto& u : users) {
    if (u.pid == last_pid) {
      out += ", " + u.how;
      continue;
    }
    if (last_pid != -1) out += "), ";
    out += fmt::format("{} (pid {}, {}", util::escape_for_terminal(u.comm), u.pid, u.how);
    last_pid = u.pid;
  }
  if (last_pid != -1) out += ")";
  return out;
}

bool prune_had_errors(const PruneReport& report) {
  for (const auto& o : report.leftovers)
    if (!o.deleted) return true;
  // --apply asked to delete it and walk errors below it stopped that: the caller must know.
  for (size_t i = 0; i < report.decisions.size(); ++i)
    if (report.apply && report.decisions[i].selected && report.users[i].empty() &&
        report.scan->workspaces[i].errors)
      return true;
  for (size_t i = 0; i < report.outcomes.size(); ++i) {
    const DeleteOutcome& o = report.outcomes[i];
    if (o.name.empty() || !report.users[i].empty()) continue;
    if (!o.deleted && o.skipped.empty()) return true;
    if (!o.errors.empty()) return true;
  }
  return false;
}

nlohmann::ordered_json prune_to_json(const PruneReport& r) {
  nlohmann::ordered_json doc;
  doc["schema"] = "wsdedup.prune/1";
  doc["root"] = report::path_to_json(r.root);
  doc["apply"] = r.apply;
  if (r.apply) doc["audit_log"] = report::path_to_json(r.audit_log);
  nlohmann::ordered_json policy;
  if (r.policy->statuses) {
    policy["status_file"] = report::path_to_json(r.policy->status_file);
    policy["statuses"] = r.policy->delete_statuses;
  }
  if (r.policy->older_than_seconds) policy["older_than_seconds"] = *r.policy->older_than_seconds;
  if (r.policy->keep_newest) policy["keep"] = *r.policy->keep_newest;
  doc["policy"] = policy;
  uint64_t naive = 0, deleted = 0, freed = 0, selected = 0;
  auto& list = doc["workspaces"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.decisions.size(); ++i) {
    const WorkspaceInfo& w = r.scan->workspaces[i];
    const Decision& d = r.decisions[i];
    nlohmann::ordered_json j;
    j["name"] = report::path_to_json(w.name);
    j["status"] = d.status ? nlohmann::ordered_json(*d.status) : nlohmann::ordered_json(nullptr);
    j["newest_mtime"] = static_cast<double>(w.newest_mtime_ns) / 1e9;
    j["age_seconds"] = d.age_seconds;
    j["allocated_bytes"] = w.allocated_bytes;
    j["selected"] = d.selected;
    j["kept_because"] = d.kept_because;
    if (d.selected) {
      ++selected;
      naive += w.allocated_bytes;
      j["exclusive_bytes"] = r.exclusive.bytes[i];
      j["exclusive_is_upper_bound"] = static_cast<bool>(r.exclusive.upper_bound[i]);
      j["hardlinked_outside_bytes"] = r.exclusive.hardlinked_outside[i];
      auto& users = j["in_use"] = nlohmann::ordered_json::array();
      for (const auto& u : r.users[i])
        users.push_back({{"pid", u.pid}, {"comm", report::path_to_json(u.comm)}, {"how", u.how}});
    }
    j["action"] = action_of(r, i);
    const std::string why = why_of(r, i);
    if (d.selected && !why.empty()) j["reason"] = report::path_to_json(why);
    if (r.apply && d.selected && !r.outcomes[i].name.empty()) {
      const DeleteOutcome& o = r.outcomes[i];
      if (o.deleted) {
        ++deleted;
        freed += o.bytes;
      }
      j["deleted_files"] = o.files;
      j["deleted_dirs"] = o.dirs;
      j["deleted_bytes"] = o.bytes;
      j["errors"] = nlohmann::ordered_json::array();
      for (const auto& e : o.errors) j["errors"].push_back(report::path_to_json(e));
    }
    list.push_back(std::move(j));
  }
  auto& left = doc["trash_leftovers"] = nlohmann::ordered_json::array();
  for (const auto& o : r.leftovers)
    left.push_back({{"name", report::path_to_json(o.name)}, {"deleted", o.deleted}, {"files", o.files},
                    {"bytes", o.bytes}});
  for (const auto& n : r.pending_leftovers)
    left.push_back({{"name", report::path_to_json(n)}, {"deleted", false}});
  doc["total"] = {{"workspaces", r.decisions.size()},
                  {"selected", selected},
                  {"naive_bytes", naive},
                  {"exclusive_bytes", r.exclusive.total},
                  {"exclusive_is_upper_bound", r.exclusive.any_upper_bound},
                  {"deleted", deleted},
                  {"deleted_bytes", freed}};
  doc["notes"] = r.notes;
  auto& errors = doc["errors"] = nlohmann::ordered_json::array();
  for (const auto& e : r.scan->errors)
    errors.push_back({{"path", report::path_to_json(e.path)}, {"op", e.op}, {"message", e.message}});
  for (const auto& e : r.exclusive.errors)
    errors.push_back({{"path", report::path_to_json(e.path)}, {"op", e.op}, {"message", e.message}});
  return doc;
}

std::string render_prune_text(const PruneReport& r, util::ExactBytes exact) {
  report::Table table({{"workspace", report::Align::left},
                       {"status", report::Align::left},
                       {"age", report::Align::right},
                       {"allocated", report::Align::right},
                       {"frees", report::Align::right},
                       {"action", report::Align::left},
                       {"why", report::Align::left}});
  uint64_t naive = 0, freed = 0, deleted = 0;
  for (size_t i = 0; i < r.decisions.size(); ++i) {
    const WorkspaceInfo& w = r.scan->workspaces[i];
    const Decision& d = r.decisions[i];
    std::string frees = "-";
    if (d.selected) {
      naive += w.allocated_bytes;
      frees = (r.exclusive.upper_bound[i] ? "<= " : "") + util::format_bytes(r.exclusive.bytes[i], exact);
    }
    if (r.apply && d.selected && r.outcomes[i].deleted) {
      ++deleted;
      freed += r.outcomes[i].bytes;
    }
    table.add_row({util::escape_for_terminal(w.name), d.status ? util::escape_for_terminal(*d.status) : "-",
                   fmt::format("{:.1f}d", static_cast<double>(d.age_seconds) / 86400),
                   util::format_bytes(w.allocated_bytes, exact), frees, action_of(r, i), why_of(r, i)});
  }
  std::string out = table.render();
  out += fmt::format("selected: {} of {} workspaces; deleting them frees {}{} (sum of their sizes: {})\n",
                     std::count_if(r.decisions.begin(), r.decisions.end(), [](const Decision& d) { return d.selected; }),
                     r.decisions.size(), r.exclusive.any_upper_bound ? "at most " : "",
                     util::format_bytes(r.exclusive.total, exact), util::format_bytes(naive, exact));
  for (const auto& o : r.leftovers)
    out += fmt::format("finished an interrupted deletion: {} ({} files{})\n", util::escape_for_terminal(o.name),
                       o.files, o.deleted ? "" : ", NOT complete");
  if (!r.pending_leftovers.empty())
    out += fmt::format("the trash holds {} entries from an interrupted run; --apply finishes them\n",
                       r.pending_leftovers.size());
  if (r.apply)
    out += fmt::format("deleted: {} workspaces, {} (audit log: {})\n", deleted, util::format_bytes(freed, exact),
                       util::escape_for_terminal(r.audit_log));
  else
    out += "dry run: nothing deleted (--apply deletes)\n";
  for (const auto& n : r.notes) out += "note: " + n + "\n";
  return out;
}

} // namespace wsd::prune
