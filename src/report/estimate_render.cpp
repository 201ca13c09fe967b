#include "report/estimate_render.hpp"

#include "model/ddt_stats.hpp"
#include "report/json_path.hpp"
#include "report/table.hpp"
#include "util/escape.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

namespace wsd::report {
namespace {

using estimate::GroupFigures;
using estimate::LaneResult;

double ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

std::string percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  const double p = 100.0 * ratio(part, whole);
  return p != 0.0 && p < 1.0 ? fmt::format("{:.2g}%", p) : fmt::format("{:.1f}%", p);
}

uint64_t saved(uint64_t before, uint64_t after) {
  return before > after ? before - after : 0;
}

// The property spelling: "16K", "128K", "1M".
std::string rs_text(uint32_t recordsize) {
  if (recordsize % (1u << 20) == 0) return fmt::format("{}M", recordsize >> 20);
  if (recordsize % (1u << 10) == 0) return fmt::format("{}K", recordsize >> 10);
  return std::to_string(recordsize);
}

const estimate::EstimateResult& res(const EstimateReport& r) {
  return *r.result;
}

bool sampled(const EstimateReport& r) {
  return res(r).sample_rate < 1.0;
}

// The DDT RAM figure that applies to the profile's pools.
uint64_t applicable_ram(const EstimateReport& r, const LaneResult& lane) {
  return r.profile->fast_dedup ? lane.ram.figures.fast_dedup : lane.ram.figures.legacy;
}

std::string arc_rule(const EstimateReport& r) {
  std::string text;
  switch (r.profile->zdb_format) {
  case model::ZdbFormat::onnv:
    text = "zfs-fuse (onnv ARC): metadata, the DDT included, is capped by arc_meta_limit = 1/4 "
           "of the ARC; a DDT beyond it is read from disk on every write";
    break;
  case model::ZdbFormat::openzfs_legacy:
    text = "OpenZFS before 2.2 caps ARC metadata (arc_meta_limit: zfs_arc_meta_limit_percent, 75% "
           "of the ARC by default); 2.2 removed that limit, so on 2.2.x the DDT competes with "
           "data for the whole ARC";
    break;
  case model::ZdbFormat::openzfs_fdt:
    text = "OpenZFS 2.2+ has no separate ARC metadata limit (the 25%/75% limits are older): the DDT "
           "competes with data for the whole ARC; 2.3 can cap it with the pool property "
           "dedup_table_quota";
    break;
  }
  if (r.host.arc_meta_limit) {
    text += fmt::format("; this host's ARC reports arc_meta_limit = {}",
                        util::format_bytes(*r.host.arc_meta_limit));
  }
  return text;
}

nlohmann::ordered_json to_ordered(const nlohmann::json& j) {
  return nlohmann::ordered_json::parse(j.dump());
}

nlohmann::ordered_json group_json(const std::string& name, const GroupFigures& g, bool sampled_run) {
  nlohmann::ordered_json j = {{"name", path_to_json(name)},
                              {"files", g.files},
                              {"logical_bytes", g.logical_bytes},
                              {"before_bytes", g.allocated_bytes},
                              {"referenced_dsize", g.ref_dsize},
                              {"exclusive_dsize", g.exclusive_dsize}};
  if (sampled_run) j["exclusive_dsize_bound"] = g.exclusive_bound;
  return j;
}

std::string lane_label(const EstimateReport& r, const LaneResult& lane) {
  return fmt::format("recordsize {}, compression {}", rs_text(lane.config.recordsize),
                     model::to_string(r.compression));
}

} // namespace

std::vector<Alternative> estimate_alternatives(const EstimateReport& r) {
  const auto& e = res(r);
  std::vector<Alternative> out;
  const uint64_t before = e.allocated_bytes;
  const std::string comp = model::to_string(r.compression);
  for (const LaneResult& lane : e.lanes) {
    const uint64_t after = lane.histogram.total.dsize;
    out.push_back({fmt::format("ZFS dedup + {}, recordsize {}", comp, rs_text(lane.config.recordsize)),
                   after, saved(before, after), "ZFS DSIZE (zdb)"});
  }
  for (const LaneResult& lane : e.lanes) {
    const uint64_t after = lane.histogram.total.ref_dsize;
    out.push_back({fmt::format("ZFS {} only, recordsize {}", comp, rs_text(lane.config.recordsize)),
                   after, saved(before, after), "ZFS referenced DSIZE"});
  }
  out.push_back({"whole-file reflinks / block cloning", before - std::min(before, e.reflink.saved_bytes),
                 e.reflink.saved_bytes, "allocated today"});
  out.push_back({"hardlinks (same content, owner, mode, mtime)",
                 before - std::min(before, e.hardlink.saved_bytes), e.hardlink.saved_bytes,
                 "allocated today"});
  for (const auto& c : e.cdc) {
    out.push_back({fmt::format("CDC FastCDC avg {}", util::format_bytes(c.average)),
                   c.totals.unique_bytes, saved(c.totals.bytes, c.totals.unique_bytes),
                   "logical bytes"});
  }
  return out;
}

std::string estimate_recommendation(const EstimateReport& r) {
  const auto& e = res(r);
  if (e.lanes.empty() || e.files == 0) {
    return "Nothing to estimate: no file with data below the roots.";
  }
  const LaneResult& lane = e.lanes.front();
  const uint64_t comp_only = lane.histogram.total.ref_dsize;
  const uint64_t with_dedup = lane.histogram.total.dsize;
  const uint64_t dedup_gain = saved(comp_only, with_dedup);
  const uint64_t ram = applicable_ram(r, lane);
  const uint64_t reflink = e.reflink.saved_bytes;
  std::string s = fmt::format(
      "At recordsize {}, dedup saves {} more than compression alone ({}) for {} of DDT RAM",
      rs_text(lane.config.recordsize),
      util::format_bytes(dedup_gain), model::to_string(r.compression), util::format_bytes(ram));
  if (r.host.mem_total > 0) {
    s += fmt::format(" ({} of this host's {} RAM)", percent(ram, r.host.mem_total),
                     util::format_bytes(r.host.mem_total));
  }
  s += fmt::format("; whole-file reflinks/block cloning save {} for none: ", util::format_bytes(reflink));
  const bool ram_heavy = r.host.mem_total > 0 && ram * 4 > r.host.mem_total;
  if (dedup_gain == 0) {
    s += "prefer compression alone (dedup finds nothing to share).";
  } else if (ram_heavy) {
    s += "prefer compression plus block cloning; the DDT would take more than a quarter of RAM.";
  } else if (reflink * 10 >= dedup_gain * 7) {
    s += "prefer compression plus block cloning: it gets most of what dedup gets without a DDT.";
  } else {
    s += "dedup pays here, if the DDT's RAM can be spared (plan with the conservative figure).";
  }
  return s;
}

std::vector<std::string> estimate_notes(const EstimateReport& r) {
  std::vector<std::string> notes;
  const auto algo = r.compression.algo;
  if (algo == model::Compression::lz4) {
    notes.push_back("lz4 sizes come from Debian's liblz4 with ZFS's 4-byte framing; OpenZFS "
                    "bundles its own 2013 LZ4, so a PSIZE can differ by a sector now and then.");
  } else if (algo == model::Compression::zstd) {
    notes.push_back("zstd sizes come from Debian's libzstd with ZFS's 8-byte header; OpenZFS "
                    "bundles zstd 1.4.5, so PSIZEs can differ slightly.");
  } else if (algo == model::Compression::gzip && r.profile->zdb_format != model::ZdbFormat::onnv) {
    notes.push_back("gzip sizes come from Debian's zlib; OpenZFS on Linux uses the kernel's "
                    "zlib, whose output may differ in rare cases.");
  }
  notes.push_back("model: checksum sha256 is what ZFS would use; wsdedup identifies blocks by "
                  "96 bits of XXH3-128 (collision odds ~n^2/2^97).");
  notes.push_back(fmt::format("profile {} covers {}.", r.profile->name, r.profile->releases));
  if (r.profile->name == "openzfs-2.3.3") {
    notes.push_back("the zero-block and embedded-block rules of this profile arrived in 2.3.3 "
                    "(docs/zfs-model.md); use --zfs openzfs-2.3.0 for 2.3.0-2.3.2.");
  }
  notes.push_back("DDT RAM is an estimate (a simulated ZAP; zdb's \"in core\" figure is one too); "
                  "320 B/entry is the conservative planning figure.");
  notes.push_back(res(r).lanes.size() > 1
                      ? "per-category and per-workspace figures are given for every recordsize (JSON: "
                        "recordsizes[].categories/workspaces; the top-level rows are the first's); "
                        "exclusive/unique DSIZE counts blocks no other category/workspace references."
                      : "exclusive/unique DSIZE counts blocks no other category/workspace references.");
  notes.push_back("before = allocated bytes of the regular files today (du counts directories "
                  "and symlinks too); ZFS metadata (indirect blocks, dnodes) is not included.");
  if (sampled(r)) {
    notes.push_back(fmt::format(
        "sampled: {:.4g}% of distinct blocks by content hash (all-zero blocks always); figures "
        "are scaled estimates, +- is two standard errors.",
        100.0 * res(r).sample_rate));
  }
  if (r.fill_holes) {
    notes.push_back("--fill-holes: sparse regions are modelled as written zeros.");
  }
  return notes;
}

std::string render_estimate_text(const EstimateReport& r, const EstimateRenderOptions& options) {
  const auto& e = res(r);
  const auto bytes = [&](uint64_t b) { return util::format_bytes(b, options.exact); };
  const auto bound = [&](double b) {
    return sampled(r) ? fmt::format(" +- {}", bytes(static_cast<uint64_t>(b))) : std::string();
  };
  std::string out;
  std::string roots;
  for (const auto& root : r.roots) roots += (roots.empty() ? "" : ", ") + util::escape_for_terminal(root);
  out += fmt::format("estimate: {}: {} files with data, {} apparent, {} allocated\n", roots,
                     util::format_count(e.files), bytes(e.logical_bytes), bytes(e.allocated_bytes));
  std::string rss;
  for (const LaneResult& lane : e.lanes) rss += (rss.empty() ? "" : ",") + rs_text(lane.config.recordsize);
  out += fmt::format("model: {}, recordsize {}, ashift {}, compression {}, copies {}, checksum "
                     "sha256 (blocks identified by XXH3-128)\n",
                     r.profile->name, rss, r.ashift, model::to_string(r.compression), r.copies);
  if (sampled(r)) {
    out += fmt::format("sample: {:.4g}% of distinct blocks (content-hash sampling); "
                       "figures scaled, +- two standard errors\n",
                       100.0 * e.sample_rate);
  }

  for (const LaneResult& lane : e.lanes) {
    out += fmt::format("\n== zdb -DD, {}{} ==\n", lane_label(r, lane),
                       sampled(r) ? " (scaled from the sample)" : "");
    out += model::render_zdb_dd(lane.histogram, r.profile->zdb_format, lane.ram.zdb_objects);
    if (options.exact == util::ExactBytes::yes && lane.histogram.total.blocks != 0) {
      // --bytes: the same histogram with exact numbers (zdb's own lines stay as zdb prints).
      Table exact({{"refcnt", Align::right}, {"blocks", Align::right}, {"LSIZE", Align::right},
                   {"PSIZE", Align::right}, {"DSIZE", Align::right}, {"ref blocks", Align::right},
                   {"ref LSIZE", Align::right}, {"ref PSIZE", Align::right},
                   {"ref DSIZE", Align::right}});
      auto row = [&](const std::string& label, const model::DdtStat& st) {
        exact.add_row({label, std::to_string(st.blocks), std::to_string(st.lsize),
                       std::to_string(st.psize), std::to_string(st.dsize),
                       std::to_string(st.ref_blocks), std::to_string(st.ref_lsize),
                       std::to_string(st.ref_psize), std::to_string(st.ref_dsize)});
      };
      for (unsigned h = 0; h < 64; ++h) {
        if (lane.histogram.buckets[h].blocks != 0) row(std::to_string(uint64_t{1} << h), lane.histogram.buckets[h]);
      }
      exact.add_rule();
      row("Total", lane.histogram.total);
      out += "The histogram in exact numbers (bytes):\n" + exact.render();
    }
  }

  for (const LaneResult& lane : e.lanes) {
    const auto& t = lane.histogram.total;
    const model::DedupRatios ratios = model::dedup_ratios(t);
    Table table({{fmt::format("ZFS dedup, {}", lane_label(r, lane)), Align::left},
                 {"value", Align::right}});
    table.add_row({"before: allocated today", bytes(e.allocated_bytes)});
    table.add_row({"after: ZFS DSIZE", bytes(t.dsize) + bound(lane.dsize_bound)});
    table.add_row({"saved", fmt::format("{} ({})", bytes(saved(e.allocated_bytes, t.dsize)),
                                        percent(saved(e.allocated_bytes, t.dsize), e.allocated_bytes))});
    table.add_row({"dedup ratio", fmt::format("{:.2f}", ratios.dedup)});
    table.add_row({"compression ratio", fmt::format("{:.2f}", ratios.compress)});
    table.add_row({"DDT entries", util::format_count(lane.histogram.entries()) +
                                      (sampled(r) ? fmt::format(" +- {}", util::format_count(static_cast<uint64_t>(lane.entries_bound))) : "")});
    const uint64_t n = std::max<uint64_t>(1, lane.histogram.entries());
    table.add_row({"DDT RAM, legacy (ZAP leaves)",
                   fmt::format("{} ({:.0f} B/entry)", bytes(lane.ram.figures.legacy), ratio(lane.ram.figures.legacy, n))});
    table.add_row({"DDT RAM, legacy conservative (320 B/entry)", bytes(lane.ram.figures.legacy_conservative)});
    table.add_row({"DDT RAM, OpenZFS 2.3 fast dedup",
                   fmt::format("{} ({:.0f} B/entry)", bytes(lane.ram.figures.fast_dedup), ratio(lane.ram.figures.fast_dedup, n))});
    if (r.host.mem_total > 0) {
      table.add_row({"this host's RAM", fmt::format("{} ({} available)", bytes(r.host.mem_total),
                                                    bytes(r.host.mem_available))});
    }
    if (r.host.has_arc) {
      table.add_row({"this host's ARC", fmt::format("{} (max {})", bytes(r.host.arc_size), bytes(r.host.arc_c_max))});
    } else {
      table.add_row({"this host's ARC", "no ZFS loaded"});
    }
    table.add_row({"DDT RAM vs host RAM", percent(applicable_ram(r, lane), r.host.mem_total)});
    out += "\n" + table.render();
  }
  out += fmt::format("ARC: {}.\n", arc_rule(r));

  // One column pair per recordsize (the headings name it when there are several).
  const LaneResult& first = e.lanes.front();
  const auto& at = first.attribution;
  const bool several = e.lanes.size() > 1;
  auto lane_heading = [&](const char* text, const LaneResult& lane) {
    return several ? fmt::format("{} {}", text, rs_text(lane.config.recordsize)) : std::string(text);
  };
  auto group_columns = [&](const char* first_col, const char* exclusive_text) {
    std::vector<std::pair<std::string, Align>> cols{{first_col, Align::left}, {"files", Align::right}, {"before", Align::right}};
    for (const LaneResult& lane : e.lanes) {
      cols.push_back({lane_heading("ZFS no dedup", lane), Align::right});
      cols.push_back({lane_heading(exclusive_text, lane), Align::right});
    }
    return cols;
  };
  auto group_row = [&](std::string name, const GroupFigures& g, bool is_category, size_t index) {
    std::vector<std::string> row{std::move(name), util::format_count(g.files), bytes(g.allocated_bytes)};
    for (const LaneResult& lane : e.lanes) {
      const GroupFigures& lg = is_category ? lane.attribution.categories.at(index) : lane.attribution.workspaces.at(index);
      row.push_back(bytes(lg.ref_dsize));
      row.push_back(bytes(lg.exclusive_dsize) + bound(lg.exclusive_bound));
    }
    return row;
  };
  Table cats(group_columns("category", "exclusive after dedup"));
  for (size_t i = 0; i < at.categories.size(); ++i) {
    cats.add_row(group_row(util::escape_for_terminal(r.files->category_names[i]), at.categories[i], true, i));
  }
  std::vector<std::string> shared_row{"(shared by several)", "", ""};
  for (const LaneResult& lane : e.lanes) {
    shared_row.insert(shared_row.end(), {"", bytes(lane.attribution.shared_categories_dsize)});
  }
  cats.add_row(shared_row);
  cats.add_rule();
  std::vector<std::string> total_row{"total", util::format_count(e.files), bytes(e.allocated_bytes)};
  for (const LaneResult& lane : e.lanes) {
    total_row.insert(total_row.end(), {bytes(lane.histogram.total.ref_dsize), bytes(lane.histogram.total.dsize)});
  }
  cats.add_row(total_row);
  std::string rs_list;
  for (const LaneResult& lane : e.lanes) rs_list += (rs_list.empty() ? "" : ", ") + rs_text(lane.config.recordsize);
  out += fmt::format("\nBy category (recordsize {}):\n", rs_list);
  out += cats.render();

  std::vector<size_t> order(at.workspaces.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return at.workspaces[a].exclusive_dsize > at.workspaces[b].exclusive_dsize;
  });
  Table wss(group_columns("workspace", "unique after dedup"));
  size_t shown = 0;
  size_t real = 0;
  size_t rows = 0;
  for (size_t w : order) {
    const GroupFigures& g = at.workspaces[w];
    if (g.files == 0) continue;
    if (w != 0) ++real;
    ++rows;
    if (options.top != 0 && shown >= options.top) continue;
    ++shown;
    const std::string name = w == 0 ? "(none)" : util::escape_for_terminal(r.files->workspace_names[w - 1]);
    wss.add_row(group_row(name, g, false, w));
  }
  shared_row = {"(shared by several)", "", ""};
  for (const LaneResult& lane : e.lanes) {
    shared_row.insert(shared_row.end(), {"", bytes(lane.attribution.shared_workspaces_dsize)});
  }
  wss.add_row(shared_row);
  out += fmt::format("\nBy workspace ({} workspaces{}; unique: blocks no other workspace references{}):\n",
                     real, shown < rows ? fmt::format(", the {} with most unique bytes", shown) : "",
                     several ? fmt::format(", ordered by {}", rs_text(first.config.recordsize)) : "");
  out += wss.render();

  Table alts({{"alternative", Align::left},
              {"after", Align::right},
              {"saved", Align::right},
              {"measured as", Align::left}});
  for (const Alternative& a : estimate_alternatives(r)) {
    alts.add_row({a.name, bytes(a.after_bytes), bytes(a.saved_bytes), a.basis});
  }
  out += "\nAlternatives:\n" + alts.render();
  out += "\n" + estimate_recommendation(r) + "\n";
  out += "\nNotes:\n";
  for (const std::string& n : estimate_notes(r)) out += "- " + n + "\n";

  if (options.stats) {
    out += fmt::format(
        "\nstats: scan {:.2f} s, read+model {:.2f} s, {} read in {} files ({} read calls, "
        "{} waited for the disk, {} changed, {} errors), {:.0f} MB/s\n",
        r.scan_seconds, e.read_seconds, bytes(e.reader.bytes), util::format_count(e.reader.files),
        util::format_count(e.reader.read_calls), util::format_count(e.reader.waited_reads),
        util::format_count(e.reader.changed), util::format_count(e.reader.errors),
        e.read_seconds > 0 ? static_cast<double>(e.reader.bytes) / e.read_seconds / 1e6 : 0.0);
    for (const LaneResult& lane : e.lanes) {
      out += fmt::format("stats: recordsize {}: {} blocks, {} DDT refs, {} embedded, {} zero holes, "
                         "{} sparse holes, {} sampled out; index {} for {} entries held ({:.1f} B/entry)\n",
                         rs_text(lane.config.recordsize), util::format_count(lane.counters.blocks),
                         util::format_count(lane.counters.ddt_refs), util::format_count(lane.counters.embedded_refs),
                         util::format_count(lane.counters.zero_holes), util::format_count(lane.counters.sparse_holes),
                         util::format_count(lane.counters.sampled_out), bytes(lane.index_bytes),
                         util::format_count(lane.sampled_entries), ratio(lane.index_bytes, std::max<uint64_t>(1, lane.sampled_entries)));
    }
    if (!e.cdc.empty()) out += fmt::format("stats: CDC index {}\n", bytes(e.cdc_index_bytes));
  }
  return out;
}

nlohmann::ordered_json estimate_to_json(const EstimateReport& r) {
  const auto& e = res(r);
  nlohmann::ordered_json doc;
  doc["schema"] = "wsdedup.estimate/1";
  nlohmann::ordered_json roots = nlohmann::ordered_json::array();
  for (const auto& root : r.roots) roots.push_back(path_to_json(root));
  doc["roots"] = roots;
  const LaneResult& first = e.lanes.front();
  nlohmann::ordered_json recordsizes = nlohmann::ordered_json::array();
  for (const LaneResult& lane : e.lanes) recordsizes.push_back(lane.config.recordsize);
  doc["model"] = {{"profile", r.profile->name},
                  {"recordsize", first.config.recordsize},
                  {"recordsizes", recordsizes},
                  {"ashift", r.ashift},
                  {"compression", model::to_string(r.compression)},
                  {"checksum", "sha256"},
                  {"copies", r.copies},
                  {"holes", r.fill_holes ? "fill" : "keep"}};
  doc["hash"] = {{"algorithm", "xxh3-128"}, {"bits_kept", 96}};
  doc["sample"] = {{"rate", e.sample_rate}, {"sampled", sampled(r)}};
  auto lane_doc = [&](const LaneResult& lane) {
    nlohmann::ordered_json d = to_ordered(model::ddt_to_json(lane.histogram, lane.ram.figures));
    if (sampled(r)) {
      d["bounds"] = {{"entries", lane.entries_bound},
                     {"dsize", lane.dsize_bound},
                     {"referenced_dsize", lane.ref_dsize_bound}};
    }
    return d;
  };
  doc["ddt"] = lane_doc(first);
  doc["before_bytes"] = e.allocated_bytes;
  doc["after_bytes"] = first.histogram.total.dsize;
  doc["logical_bytes"] = e.logical_bytes;
  doc["files"] = e.files;
  // Per category and per workspace at one recordsize: the same rows at every level.
  auto groups_json = [&](const estimate::AttributionResult& at, nlohmann::ordered_json& into) {
    nlohmann::ordered_json cats = nlohmann::ordered_json::array();
    for (size_t i = 0; i < at.categories.size(); ++i) {
      cats.push_back(group_json(r.files->category_names[i], at.categories[i], sampled(r)));
    }
    into["categories"] = cats;
    into["categories_shared_dsize"] = at.shared_categories_dsize;
    nlohmann::ordered_json wss = nlohmann::ordered_json::array();
    for (size_t w = 0; w < at.workspaces.size(); ++w) {
      if (at.workspaces[w].files == 0) continue;
      nlohmann::ordered_json j =
          group_json(w == 0 ? "(none)" : r.files->workspace_names[w - 1], at.workspaces[w], sampled(r));
      j["unique_bytes"] = at.workspaces[w].exclusive_dsize;
      if (w == 0) j["none"] = true;
      wss.push_back(j);
    }
    into["workspaces"] = wss;
    into["workspaces_shared_dsize"] = at.shared_workspaces_dsize;
  };
  nlohmann::ordered_json lanes = nlohmann::ordered_json::array();
  for (const LaneResult& lane : e.lanes) {
    nlohmann::ordered_json l = {{"recordsize", lane.config.recordsize},
                                {"after_bytes", lane.histogram.total.dsize},
                                {"ddt", lane_doc(lane)},
                                {"blocks", lane.counters.blocks},
                                {"zero_holes", lane.counters.zero_holes},
                                {"sparse_holes", lane.counters.sparse_holes},
                                {"embedded_refs", lane.counters.embedded_refs}};
    groups_json(lane.attribution, l);
    lanes.push_back(std::move(l));
  }
  doc["recordsizes"] = lanes;
  // The top-level rows: the first recordsize's (the schema's original place for them).
  groups_json(first.attribution, doc);
  nlohmann::ordered_json alts = nlohmann::ordered_json::array();
  for (const Alternative& a : estimate_alternatives(r)) {
    alts.push_back({{"name", a.name}, {"after_bytes", a.after_bytes}, {"saved_bytes", a.saved_bytes},
                    {"basis", a.basis}});
  }
  doc["alternatives"] = alts;
  doc["whole_file"] = {{"reflink", {{"groups", e.reflink.groups}, {"duplicate_files", e.reflink.duplicate_files},
                                    {"saved_bytes", e.reflink.saved_bytes}, {"saved_logical", e.reflink.saved_logical}}},
                       {"hardlink", {{"groups", e.hardlink.groups}, {"duplicate_files", e.hardlink.duplicate_files},
                                     {"saved_bytes", e.hardlink.saved_bytes}, {"saved_logical", e.hardlink.saved_logical}}}};
  if (!e.cdc.empty()) {
    nlohmann::ordered_json cdc = nlohmann::ordered_json::array();
    for (const auto& c : e.cdc) {
      cdc.push_back({{"average", c.average}, {"chunks", c.totals.chunks}, {"bytes", c.totals.bytes},
                     {"unique_chunks", c.totals.unique_chunks}, {"unique_bytes", c.totals.unique_bytes}});
    }
    doc["cdc"] = cdc;
  }
  doc["host"] = {{"mem_total", r.host.mem_total}, {"mem_available", r.host.mem_available},
                 {"arc", r.host.has_arc}, {"arc_size", r.host.arc_size}, {"arc_c_max", r.host.arc_c_max},
                 {"arc_rule", arc_rule(r)}};
  doc["recommendation"] = estimate_recommendation(r);
  doc["notes"] = estimate_notes(r);
  nlohmann::ordered_json errors = nlohmann::ordered_json::array();
  for (const auto& err : e.errors) {
    errors.push_back({{"path", path_to_json(err.path)}, {"op", err.op}, {"message", err.message}});
  }
  doc["errors"] = errors;
  return doc;
}

} // namespace wsd::report
