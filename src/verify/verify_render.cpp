#include "verify/verify_render.hpp"

#include "report/json_path.hpp"
#include "util/escape.hpp"

#include <fmt/format.h>

namespace wsd::verify {

namespace {

std::string shown_path(std::string_view rel) {
  return rel.empty() ? std::string(".") : util::escape_for_terminal(rel);
}

} // namespace

nlohmann::ordered_json verify_to_json(const VerifyReport& report) {
  nlohmann::ordered_json doc;
  doc["schema"] = "wsdedup.verify/1";
  doc["src"] = report::path_to_json(report.src);
  doc["dst"] = report::path_to_json(report.dst);
  doc["metadata"] = report.metadata;
  doc["identical"] = report.identical();
  auto& diffs = doc["differences"] = nlohmann::ordered_json::array();
  for (const Difference& d : report.differences) {
    nlohmann::ordered_json j;
    j["path"] = report::path_to_json(d.path);
    j["kind"] = diff_kind_name(d.kind);
    if (d.kind != DiffKind::extra) j["src_type"] = fs::entry_type_name(d.src_type);
    if (d.kind != DiffKind::missing) j["dst_type"] = fs::entry_type_name(d.dst_type);
    j["reasons"] = d.reasons;
    j["details"] = nlohmann::ordered_json::array();
    for (const auto& text : d.details) j["details"].push_back(report::path_to_json(text));
    if (d.entries_below > 0) j["entries_below"] = d.entries_below;
    diffs.push_back(std::move(j));
  }
  auto& errors = doc["errors"] = nlohmann::ordered_json::array();
  for (const VerifyError& e : report.errors)
    errors.push_back({{"path", report::path_to_json(e.path)}, {"op", e.op}, {"message", e.message}});
  uint64_t missing = 0, extra = 0, different = 0;
  for (const Difference& d : report.differences)
    (d.kind == DiffKind::missing ? missing : d.kind == DiffKind::extra ? extra : different)++;
  doc["total"] = {{"src_entries", report.src_entries},
                  {"dst_entries", report.dst_entries},
                  {"paired", report.paired},
                  {"files_hashed", report.files_hashed},
                  {"catalog_hits", report.catalog_hits},
                  {"bytes_hashed", report.bytes_hashed},
                  {"hardlinked_paths", report.hardlinked_paths},
                  {"differences", report.differences.size()},
                  {"missing", missing},
                  {"extra", extra},
                  {"different", different},
                  {"errors", report.errors.size()}};
  doc["seconds"] = {{"walk", report.walk_seconds}, {"content", report.content_seconds}};
  return doc;
}

std::string render_verify_text(const VerifyReport& report, util::ExactBytes exact, bool stats) {
  std::string out;
  for (const Difference& d : report.differences) {
    const std::string path = shown_path(d.path);
    switch (d.kind) {
    case DiffKind::missing:
      out += fmt::format("missing    {} ({} in SRC, not in DST{})\n", path,
                         fs::entry_type_name(d.src_type),
                         d.entries_below ? fmt::format("; {} entries below", d.entries_below) : "");
      break;
    case DiffKind::extra:
      out += fmt::format("extra      {} ({} in DST, not in SRC{})\n", path,
                         fs::entry_type_name(d.dst_type),
                         d.entries_below ? fmt::format("; {} entries below", d.entries_below) : "");
      break;
    case DiffKind::different:
      for (size_t k = 0; k < d.reasons.size(); ++k)
        out += fmt::format("different  {}: {}: {}\n", path, d.reasons[k], d.details[k]);
      break;
    }
  }
  uint64_t missing = 0, extra = 0, different = 0;
  for (const Difference& d : report.differences)
    (d.kind == DiffKind::missing ? missing : d.kind == DiffKind::extra ? extra : different)++;
  if (report.identical()) {
    out += fmt::format("identical: {} entries, {} files read ({}){}\n",
                       util::format_count(report.paired), util::format_count(report.files_hashed),
                       util::format_bytes(report.bytes_hashed, exact),
                       report.metadata ? ", metadata compared" : "");
  } else {
    out += fmt::format("NOT identical: {} missing, {} extra, {} different, {} errors "
                       "({} paired entries, {} files read, {})\n",
                       missing, extra, different, report.errors.size(),
                       util::format_count(report.paired), util::format_count(report.files_hashed),
                       util::format_bytes(report.bytes_hashed, exact));
  }
  if (stats)
    out += fmt::format(
        "walk {:.2f} s ({} + {} entries), content {:.2f} s ({} reads waited for the disk)\n",
        report.walk_seconds, report.src_entries, report.dst_entries, report.content_seconds,
        util::format_count(report.waited_reads));
  return out;
}

} // namespace wsd::verify
