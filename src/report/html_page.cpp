#include "report/html_page.hpp"

#include "report/html_builder.hpp"
#include "report/report_document.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <numeric>

namespace wsd::report {

namespace {

using Json = nlohmann::ordered_json;

constexpr size_t k_max_rows = 200; // longest list drawn as table rows; the JSON keeps all

constexpr std::string_view k_style = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
.meta{color:#666}.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.5em .9em;min-width:9em}
.card .v{font-size:1.3em;font-weight:600}.card .l{color:#666;font-size:.85em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4;cursor:pointer;user-select:none}.n{text-align:right;white-space:nowrap}
td.p{font-family:ui-monospace,monospace;word-break:break-all}
svg.chart text{font:12px system-ui,sans-serif;fill:#333}.note{color:#555}
#js-errors{display:none;background:#fdd;border:1px solid #b33;padding:.5em;white-space:pre-wrap}
.empty{color:#888}
)";

// Written here, no library: records script errors (shown in a banner and in the <html>
// data-js-errors attribute), shows exact numbers from the embedded JSON on request (checkbox
// or #bytes in the URL), sorts tables by a click on their header.
constexpr std::string_view k_error_hook = R"(
(function(){var errs=[];function note(m){errs.push(String(m));document.documentElement.setAttribute('data-js-errors',errs.join('\n'));var b=document.getElementById('js-errors');if(b){b.textContent=errs.join('\n');b.style.display='block';}}
window.addEventListener('error',function(e){note('error: '+(e.message||e.type));});
window.addEventListener('unhandledrejection',function(e){note('unhandled rejection: '+e.reason);});
var ce=console.error;console.error=function(){note('console.error: '+Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments);};})();
)";

constexpr std::string_view k_script = R"(
(function(){'use strict';
var data=JSON.parse(document.getElementById('wsdedup-data').textContent);
function at(ptr){var v=data;var parts=ptr.split('/').slice(1);for(var i=0;i<parts.length;i++){if(v===null||v===undefined)return undefined;v=v[parts[i].replace(/~1/g,'/').replace(/~0/g,'~')];}return v;}
var cells=Array.prototype.slice.call(document.querySelectorAll('td[data-key]'));
var human=cells.map(function(c){return c.textContent;});
var missing=cells.filter(function(c){return typeof at(c.dataset.key)!=='number';});
if(missing.length)throw new Error(missing.length+' numbers on the page are not in the JSON, first '+missing[0].dataset.key);
function exact(on){cells.forEach(function(c,i){var k=c.dataset.kind;c.textContent=on&&(k==='bytes'||k==='count')?String(at(c.dataset.key)):human[i];});}
var box=document.getElementById('exact');box.checked=location.hash==='#bytes';exact(box.checked);
box.addEventListener('change',function(){exact(box.checked);});
function key(td){if(!td)return '';if(td.dataset.key){var v=at(td.dataset.key);if(typeof v==='number')return v;}return td.textContent;}
Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(t){
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,col){var asc=false;th.addEventListener('click',function(){
asc=!asc;var body=t.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){var x=key(a.cells[col]),y=key(b.cells[col]);var r=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));return asc?r:-r;});
rows.forEach(function(r){body.appendChild(r);});});});});
document.body.setAttribute('data-ready',String(cells.length));
})();
)";

std::string recordsize_text(uint64_t rs) {
  if (rs != 0 && rs % (uint64_t{1} << 20) == 0) return fmt::format("{}M", rs >> 20);
  if (rs != 0 && rs % (uint64_t{1} << 10) == 0) return fmt::format("{}K", rs >> 10);
  return std::to_string(rs);
}

double num(const Json& j, std::string_view key) {
  return number_at(j, key);
}

std::string card(std::string_view label, std::string_view pointer, double value, NumberKind kind) {
  // A card is a one-cell table so its number is checked like every other.
  return fmt::format("<div class=\"card\"><table><tr>{}</tr></table><div class=\"l\">{}</div></div>",
                     number_cell(pointer, value, kind), html_escape(label));
}

std::string path_cell(const Json& value) {
  return "<td class=\"p\">" + html_escape(path_bytes(value)) + "</td>";
}

std::string text_cell(std::string_view text) { return "<td>" + html_escape(text) + "</td>"; }

std::string more_rows_note(size_t shown, size_t total) {
  if (shown >= total) return {};
  return fmt::format("<p class=\"note\">{} of {} shown; the embedded JSON lists all.</p>\n", shown, total);
}

std::string errors_section(const Json& doc) {
  const auto& errors = array_at(doc, "errors");
  if (errors.empty()) return {};
  std::string out = fmt::format("<h2>Errors ({})</h2>\n<table class=\"sortable\">", errors.size());
  out += table_head({"path", "operation", "error"});
  out += "<tbody>\n";
  size_t shown = 0;
  for (const auto& e : errors) {
    if (shown++ >= k_max_rows) break;
    std::string message = string_at(e, "error");
    if (message.empty()) message = string_at(e, "message");
    out += "<tr>" + path_cell(e.value("path", Json())) + text_cell(string_at(e, "op")) + text_cell(message) + "</tr>\n";
  }
  out += "</tbody></table>\n" + more_rows_note(std::min(errors.size(), k_max_rows), errors.size());
  return out;
}

std::string notes_section(const Json& doc) {
  std::string out;
  const std::string rec = string_at(doc, "recommendation");
  if (!rec.empty()) out += "<h2>Recommendation</h2>\n<p>" + html_escape(rec) + "</p>\n";
  const auto& notes = array_at(doc, "notes");
  if (notes.empty()) return out;
  out += "<h2>Notes</h2>\n<ul class=\"note\">\n";
  for (const auto& n : notes) out += "<li>" + html_escape(n.is_string() ? n.get<std::string>() : n.dump()) + "</li>\n";
  return out + "</ul>\n";
}

// ---- usage --------------------------------------------------------------------------------

std::string usage_body(const Json& doc) {
  std::string out;
  const auto& total = object_at(doc, "total");
  out += "<div class=\"cards\">" + card("allocated", "/total/allocated_bytes", num(total, "allocated_bytes"), NumberKind::bytes) +
         card("logical (apparent)", "/total/logical_bytes", num(total, "logical_bytes"), NumberKind::bytes) +
         card("files", "/total/files", num(total, "files"), NumberKind::count) +
         card("directories", "/total/dirs", num(total, "dirs"), NumberKind::count) + "</div>\n";

  const auto& cats = array_at(doc, "categories");
  std::vector<std::string> cat_names;
  std::vector<Bar> cat_bars;
  for (size_t i = 0; i < cats.size(); ++i) {
    cat_names.push_back(string_at(cats[i], "name"));
    cat_bars.push_back({cat_names.back(),
                        {{num(cats[i], "allocated_bytes"), pointer_join(pointer_join("/categories", i), "allocated_bytes"), i}}});
  }
  out += "<h2>By category</h2>\n" + svg_bar_chart(cat_bars, {}, "allocated bytes by category");
  out += "<table class=\"sortable\">" + table_head({"category", "#allocated", "#logical", "#files", "#dirs", "#count"}) + "<tbody>\n";
  for (size_t i = 0; i < cats.size(); ++i) {
    const std::string p = pointer_join("/categories", i);
    out += "<tr>" + text_cell(cat_names[i]) +
           number_cell(pointer_join(p, "allocated_bytes"), num(cats[i], "allocated_bytes"), NumberKind::bytes) +
           number_cell(pointer_join(p, "logical_bytes"), num(cats[i], "logical_bytes"), NumberKind::bytes) +
           number_cell(pointer_join(p, "files"), num(cats[i], "files"), NumberKind::count) +
           number_cell(pointer_join(p, "dirs"), num(cats[i], "dirs"), NumberKind::count) +
           number_cell(pointer_join(p, "count"), num(cats[i], "count"), NumberKind::count) + "</tr>\n";
  }
  out += "</tbody></table>\n";

  const auto& wss = array_at(doc, "workspaces");
  std::vector<Bar> ws_bars;
  for (size_t i = 0; i < wss.size() && i < k_max_rows; ++i) {
    const std::string p = pointer_join("/workspaces", i);
    Bar bar{path_bytes(wss[i].value("name", Json())), {}};
    const auto& by = object_at(wss[i], "categories");
    for (size_t c = 0; c < cat_names.size(); ++c) {
      if (!by.contains(cat_names[c])) continue;
      bar.segments.push_back({num(by[cat_names[c]], "allocated_bytes"),
                              pointer_join(pointer_join(pointer_join(p, "categories"), cat_names[c]), "allocated_bytes"), c});
    }
    if (bar.segments.empty()) bar.segments.push_back({num(wss[i], "allocated_bytes"), pointer_join(p, "allocated_bytes"), 0});
    ws_bars.push_back(std::move(bar));
  }
  out += fmt::format("<h2>By workspace ({})</h2>\n<p class=\"meta\">workspaces: {}</p>\n", wss.size(),
                     html_escape(string_at(doc, "workspace_pattern")));
  out += svg_bar_chart(ws_bars, cat_names, "allocated bytes by workspace and category");
  std::vector<std::string> cols{"workspace", "#allocated", "#logical", "#files"};
  for (const auto& c : cat_names) cols.push_back("#" + c);
  out += "<table class=\"sortable\">" + table_head(cols) + "<tbody>\n";
  for (size_t i = 0; i < wss.size() && i < k_max_rows; ++i) {
    const std::string p = pointer_join("/workspaces", i);
    out += "<tr>" + path_cell(wss[i].value("name", Json())) +
           number_cell(pointer_join(p, "allocated_bytes"), num(wss[i], "allocated_bytes"), NumberKind::bytes) +
           number_cell(pointer_join(p, "logical_bytes"), num(wss[i], "logical_bytes"), NumberKind::bytes) +
           number_cell(pointer_join(p, "files"), num(wss[i], "files"), NumberKind::count);
    const auto& by = object_at(wss[i], "categories");
    for (const auto& c : cat_names) {
      if (by.contains(c)) {
        out += number_cell(pointer_join(pointer_join(pointer_join(p, "categories"), c), "allocated_bytes"),
                           num(by[c], "allocated_bytes"), NumberKind::bytes);
      } else {
        out += "<td></td>";
      }
    }
    out += "</tr>\n";
  }
  out += "</tbody></table>\n" + more_rows_note(std::min(wss.size(), k_max_rows), wss.size());
  const auto& hl = object_at(doc, "hardlinks");
  if (u64_at(hl, "inodes") > 0) {
    out += "<table class=\"note\"><tr><td>hardlinked inodes counted once</td>" +
           number_cell("/hardlinks/inodes", num(hl, "inodes"), NumberKind::count) + "</tr></table>\n";
  }
  return out;
}

// ---- estimate -----------------------------------------------------------------------------

std::string ddt_histogram_table(const Json& ddt, const std::string& p) {
  std::string out = "<table>" + table_head({"#refcnt", "#blocks", "#LSIZE", "#PSIZE", "#DSIZE", "#ref blocks",
                                            "#ref LSIZE", "#ref PSIZE", "#ref DSIZE"}) + "<tbody>\n";
  const auto& rows = array_at(ddt, "histogram");
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string rp = pointer_join(pointer_join(p, "histogram"), i);
    out += "<tr>" + number_cell(pointer_join(rp, "refcnt_min"), num(rows[i], "refcnt_min"), NumberKind::count);
    for (const char* side : {"allocated", "referenced"}) {
      const auto& s = object_at(rows[i], side);
      const std::string sp = pointer_join(rp, side);
      out += number_cell(pointer_join(sp, "blocks"), num(s, "blocks"), NumberKind::count);
      for (const char* k : {"lsize", "psize", "dsize"}) out += number_cell(pointer_join(sp, k), num(s, k), NumberKind::bytes);
    }
    out += "</tr>\n";
  }
  const auto& total = object_at(ddt, "total");
  out += "<tr><td><b>total</b></td>";
  for (const char* side : {"allocated", "referenced"}) {
    const auto& s = object_at(total, side);
    const std::string sp = pointer_join(pointer_join(p, "total"), side);
    out += number_cell(pointer_join(sp, "blocks"), num(s, "blocks"), NumberKind::count);
    for (const char* k : {"lsize", "psize", "dsize"}) out += number_cell(pointer_join(sp, k), num(s, k), NumberKind::bytes);
  }
  return out + "</tr>\n</tbody></table>\n";
}

std::string estimate_group_table(const Json& doc, std::string_view key, std::string_view title) {
  const auto& rows = array_at(doc, key);
  std::string out = fmt::format("<h2>{} ({})</h2>\n", html_escape(title), rows.size());
  std::vector<Bar> bars;
  for (size_t i = 0; i < rows.size() && i < k_max_rows; ++i) {
    const std::string p = pointer_join(pointer_join("", key), i);
    bars.push_back({path_bytes(rows[i].value("name", Json())),
                    {{num(rows[i], "before_bytes"), pointer_join(p, "before_bytes"), 0}}});
  }
  out += svg_bar_chart(bars, {}, std::string(title) + ": allocated bytes today");
  // Further recordsizes: their exclusive bytes, when the document has rows lining up with these.
  const auto& lanes = array_at(doc, "recordsizes");
  std::vector<size_t> extra;
  for (size_t l = 1; l < lanes.size(); ++l) {
    if (lanes[l].contains(key) && lanes[l][std::string(key)].is_array() && lanes[l][std::string(key)].size() == rows.size()) {
      extra.push_back(l);
    }
  }
  std::vector<std::string> heads{"name", "#files", "#before", "#referenced (after)", "#exclusive (after)"};
  if (!extra.empty()) {
    heads[3] = fmt::format("#referenced (after, recordsize {})", u64_at(lanes[0], "recordsize"));
    heads[4] = fmt::format("#exclusive (after, recordsize {})", u64_at(lanes[0], "recordsize"));
  }
  for (size_t l : extra) heads.push_back(fmt::format("#exclusive (recordsize {})", u64_at(lanes[l], "recordsize")));
  out += "<table class=\"sortable\">" + table_head(heads) + "<tbody>\n";
  for (size_t i = 0; i < rows.size() && i < k_max_rows; ++i) {
    const std::string p = pointer_join(pointer_join("", key), i);
    out += "<tr>" + path_cell(rows[i].value("name", Json())) +
           number_cell(pointer_join(p, "files"), num(rows[i], "files"), NumberKind::count) +
           number_cell(pointer_join(p, "before_bytes"), num(rows[i], "before_bytes"), NumberKind::bytes) +
           number_cell(pointer_join(p, "referenced_dsize"), num(rows[i], "referenced_dsize"), NumberKind::bytes) +
           number_cell(pointer_join(p, "exclusive_dsize"), num(rows[i], "exclusive_dsize"), NumberKind::bytes);
    for (size_t l : extra) {
      const std::string lp = pointer_join(pointer_join(pointer_join(pointer_join("/recordsizes", l), key), i), "exclusive_dsize");
      out += number_cell(lp, num(lanes[l][std::string(key)][i], "exclusive_dsize"), NumberKind::bytes);
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n" + more_rows_note(std::min(rows.size(), k_max_rows), rows.size());
}

std::string estimate_body(const Json& doc) {
  std::string out;
  const auto& model = object_at(doc, "model");
  out += fmt::format("<p class=\"meta\">ZFS model: profile {}, ashift {}, compression {}, checksum {}</p>\n",
                     html_escape(string_at(model, "profile")), u64_at(model, "ashift"),
                     html_escape(string_at(model, "compression")), html_escape(string_at(model, "checksum")));
  const auto& ddt = object_at(doc, "ddt");
  out += "<div class=\"cards\">" + card("allocated today", "/before_bytes", num(doc, "before_bytes"), NumberKind::bytes) +
         card("after ZFS dedup (first recordsize)", "/after_bytes", num(doc, "after_bytes"), NumberKind::bytes) +
         card("dedup ratio", "/ddt/dedup_ratio", num(ddt, "dedup_ratio"), NumberKind::ratio) +
         card("compress ratio", "/ddt/compress_ratio", num(ddt, "compress_ratio"), NumberKind::ratio) +
         card("DDT entries", "/ddt/entries", num(ddt, "entries"), NumberKind::count) +
         card("DDT RAM (legacy)", "/ddt/ram_bytes/legacy", num(object_at(ddt, "ram_bytes"), "legacy"), NumberKind::bytes) +
         "</div>\n";

  // Strategies side by side: savings, and for the ZFS dedup lanes their DDT and its RAM. The
  // alternatives list the ZFS dedup lanes first, in the order of "recordsizes".
  const auto& alts = array_at(doc, "alternatives");
  const auto& lanes = array_at(doc, "recordsizes");
  std::vector<Bar> bars;
  out += "<h2>Savings per strategy</h2>\n<table class=\"sortable\">" +
         table_head({"strategy", "#after", "#saved", "#DDT entries", "#DDT RAM legacy", "#DDT RAM fast dedup", "measures"}) +
         "<tbody>\n";
  for (size_t i = 0; i < alts.size(); ++i) {
    const std::string p = pointer_join("/alternatives", i);
    const std::string name = string_at(alts[i], "name");
    out += "<tr>" + text_cell(name) +
           number_cell(pointer_join(p, "after_bytes"), num(alts[i], "after_bytes"), NumberKind::bytes) +
           number_cell(pointer_join(p, "saved_bytes"), num(alts[i], "saved_bytes"), NumberKind::bytes);
    if (i < lanes.size() && name.starts_with("ZFS dedup")) {
      const std::string lp = pointer_join(pointer_join("/recordsizes", i), "ddt");
      const auto& lddt = object_at(lanes[i], "ddt");
      const auto& ram = object_at(lddt, "ram_bytes");
      out += number_cell(pointer_join(lp, "entries"), num(lddt, "entries"), NumberKind::count) +
             number_cell(pointer_join(pointer_join(lp, "ram_bytes"), "legacy"), num(ram, "legacy"), NumberKind::bytes) +
             number_cell(pointer_join(pointer_join(lp, "ram_bytes"), "fast_dedup"), num(ram, "fast_dedup"), NumberKind::bytes);
    } else {
      out += "<td></td><td></td><td></td>";
    }
    out += text_cell(string_at(alts[i], "basis")) + "</tr>\n";
    bars.push_back({name, {{num(alts[i], "saved_bytes"), pointer_join(p, "saved_bytes"), i < lanes.size() ? 0u : 1u}}});
  }
  out += "</tbody></table>\n" + svg_bar_chart(bars, {"ZFS dedup", "other strategies"}, "bytes saved per strategy");

  for (size_t i = 0; i < lanes.size(); ++i) {
    const auto& lddt = object_at(lanes[i], "ddt");
    const std::string lp = pointer_join(pointer_join("/recordsizes", i), "ddt");
    out += fmt::format("<h2>DDT histogram, recordsize {}</h2>\n<table><tr><td>dedup =</td>{}<td>compress =</td>{}"
                       "<td>copies =</td>{}</tr></table>\n",
                       recordsize_text(u64_at(lanes[i], "recordsize")),
                       number_cell(pointer_join(lp, "dedup_ratio"), num(lddt, "dedup_ratio"), NumberKind::ratio),
                       number_cell(pointer_join(lp, "compress_ratio"), num(lddt, "compress_ratio"), NumberKind::ratio),
                       number_cell(pointer_join(lp, "copies_ratio"), num(lddt, "copies_ratio"), NumberKind::ratio));
    out += ddt_histogram_table(lddt, lp);
  }
  out += estimate_group_table(doc, "categories", "By category");
  out += estimate_group_table(doc, "workspaces", "By workspace");
  return out;
}

// ---- dupes --------------------------------------------------------------------------------

std::string paths_list(const Json& paths, size_t limit) {
  std::string out = "<td class=\"p\">";
  size_t shown = 0;
  for (const auto& p : paths) {
    if (shown == limit) {
      out += fmt::format("... {} more", paths.size() - shown);
      break;
    }
    out += (shown++ == 0 ? "" : "<br>") + html_escape(path_bytes(p));
  }
  return out + "</td>";
}

/// Indices of `rows` by descending reclaimable_bytes, at most k_max_rows.
std::vector<size_t> largest(const Json& rows) {
  std::vector<size_t> idx(rows.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return u64_at(rows[a], "reclaimable_bytes") > u64_at(rows[b], "reclaimable_bytes");
  });
  if (idx.size() > k_max_rows) idx.resize(k_max_rows);
  return idx;
}

std::string dupes_body(const Json& doc) {
  const auto& t = object_at(doc, "total");
  std::string out = "<div class=\"cards\">" +
                    card("reclaimable", "/total/reclaimable_bytes", num(t, "reclaimable_bytes"), NumberKind::bytes) +
                    card("groups", "/total/groups", num(t, "groups"), NumberKind::count) +
                    card("duplicate files", "/total/duplicate_files", num(t, "duplicate_files"), NumberKind::count) +
                    card("duplicate bytes", "/total/duplicate_bytes", num(t, "duplicate_bytes"), NumberKind::bytes) +
                    "</div>\n";
  const auto& groups = array_at(doc, "groups");
  const auto gi = largest(groups);
  std::vector<Bar> bars;
  for (size_t k = 0; k < gi.size() && k < 25; ++k) {
    const auto& g = groups[gi[k]];
    const auto& paths = array_at(g, "paths");
    bars.push_back({paths.empty() ? std::string("?") : path_bytes(paths[0]),
                    {{num(g, "reclaimable_bytes"), pointer_join(pointer_join("/groups", gi[k]), "reclaimable_bytes"), 0}}});
  }
  out += fmt::format("<h2>Largest duplicate groups ({} groups)</h2>\n", groups.size()) +
         svg_bar_chart(bars, {}, "reclaimable bytes of the largest groups");
  out += "<table class=\"sortable\">" + table_head({"#reclaimable", "#size", "#copies", "paths"}) + "<tbody>\n";
  for (const size_t i : gi) {
    const std::string p = pointer_join("/groups", i);
    const auto& paths = array_at(groups[i], "paths");
    out += "<tr>" + number_cell(pointer_join(p, "reclaimable_bytes"), num(groups[i], "reclaimable_bytes"), NumberKind::bytes) +
           number_cell(pointer_join(p, "size"), num(groups[i], "size"), NumberKind::bytes) +
           fmt::format("<td class=\"n\">{}</td>", paths.size()) + paths_list(paths, 10) + "</tr>\n";
  }
  out += "</tbody></table>\n" + more_rows_note(gi.size(), groups.size());
  const auto& dirs = array_at(doc, "identical_dirs");
  const auto di = largest(dirs);
  out += fmt::format("<h2>Identical directory trees ({})</h2>\n", dirs.size());
  out += "<table class=\"sortable\">" + table_head({"#reclaimable", "#allocated each", "#files", "directories"}) + "<tbody>\n";
  for (const size_t i : di) {
    const std::string p = pointer_join("/identical_dirs", i);
    out += "<tr>" + number_cell(pointer_join(p, "reclaimable_bytes"), num(dirs[i], "reclaimable_bytes"), NumberKind::bytes) +
           number_cell(pointer_join(p, "allocated_bytes"), num(dirs[i], "allocated_bytes"), NumberKind::bytes) +
           number_cell(pointer_join(p, "files"), num(dirs[i], "files"), NumberKind::count) +
           paths_list(array_at(dirs[i], "paths"), 10) + "</tr>\n";
  }
  return out + "</tbody></table>\n" + more_rows_note(di.size(), dirs.size());
}

// ---- dedupe, verify, prune ----------------------------------------------------------------

std::string dedupe_body(const Json& doc) {
  const auto& t = object_at(doc, "total");
  std::string out = fmt::format("<p class=\"meta\">mode {}{}</p>\n", html_escape(string_at(doc, "mode")),
                                doc.value("dry_run", false) ? ", dry run (nothing changed)" : "");
  out += "<div class=\"cards\">";
  struct Card {
    const char* key;
    const char* label;
    NumberKind kind;
  };
  static constexpr Card k_cards[] = {{"bytes_reclaimed", "reclaimed", NumberKind::bytes},
                                     {"bytes_planned", "planned", NumberKind::bytes},
                                     {"files_shared", "files shared", NumberKind::count},
                                     {"skipped", "skipped", NumberKind::count},
                                     {"restored", "restored (undo)", NumberKind::count}};
  for (const Card& c : k_cards) {
    if (t.contains(c.key)) out += card(c.label, pointer_join("/total", c.key), num(t, c.key), c.kind);
  }
  out += "</div>\n";
  const auto& fss = array_at(doc, "filesystems");
  if (!fss.empty()) {
    out += "<h2>Filesystems</h2>\n<table>" + table_head({"root", "kind", "mode", "#free before", "#free after"}) + "<tbody>\n";
    for (size_t i = 0; i < fss.size(); ++i) {
      const std::string p = pointer_join("/filesystems", i);
      out += "<tr>" + path_cell(fss[i].value("root", Json())) + text_cell(string_at(fss[i], "kind")) +
             text_cell(string_at(fss[i], "mode")) +
             number_cell(pointer_join(p, "free_before"), num(fss[i], "free_before"), NumberKind::bytes) +
             number_cell(pointer_join(p, "free_after"), num(fss[i], "free_after"), NumberKind::bytes) + "</tr>\n";
    }
    out += "</tbody></table>\n";
  }
  const auto& skipped = array_at(doc, "skipped");
  if (!skipped.empty()) {
    out += fmt::format("<h2>Skipped ({})</h2>\n<table class=\"sortable\">", skipped.size()) +
           table_head({"path", "reason"}) + "<tbody>\n";
    for (size_t i = 0; i < skipped.size() && i < k_max_rows; ++i) {
      out += "<tr>" + path_cell(skipped[i].value("path", Json())) + text_cell(string_at(skipped[i], "reason")) + "</tr>\n";
    }
    out += "</tbody></table>\n" + more_rows_note(std::min(skipped.size(), k_max_rows), skipped.size());
  }
  return out;
}

std::string verify_body(const Json& doc) {
  const auto& t = object_at(doc, "total");
  std::string out = fmt::format("<p class=\"meta\">{} vs {}: {}</p>\n", html_escape(path_bytes(doc.value("src", Json()))),
                                html_escape(path_bytes(doc.value("dst", Json()))),
                                doc.value("identical", false) ? "identical" : "different");
  out += "<div class=\"cards\">" + card("differences", "/total/differences", num(t, "differences"), NumberKind::count) +
         card("entries in SRC", "/total/src_entries", num(t, "src_entries"), NumberKind::count) +
         card("bytes hashed", "/total/bytes_hashed", num(t, "bytes_hashed"), NumberKind::bytes) + "</div>\n";
  const auto& diffs = array_at(doc, "differences");
  out += "<table class=\"sortable\">" + table_head({"path", "kind", "reasons"}) + "<tbody>\n";
  for (size_t i = 0; i < diffs.size() && i < k_max_rows; ++i) {
    std::string reasons;
    for (const auto& r : array_at(diffs[i], "reasons")) reasons += (reasons.empty() ? "" : ", ") + (r.is_string() ? r.get<std::string>() : r.dump());
    out += "<tr>" + path_cell(diffs[i].value("path", Json())) + text_cell(string_at(diffs[i], "kind")) + text_cell(reasons) + "</tr>\n";
  }
  return out + "</tbody></table>\n" + more_rows_note(std::min(diffs.size(), k_max_rows), diffs.size());
}

std::string prune_body(const Json& doc) {
  const auto& t = object_at(doc, "total");
  std::string out = fmt::format("<p class=\"meta\">root {}{}</p>\n", html_escape(path_bytes(doc.value("root", Json()))),
                                doc.value("apply", false) ? ", applied" : ", dry run (nothing deleted)");
  out += "<div class=\"cards\">" + card("workspaces", "/total/workspaces", num(t, "workspaces"), NumberKind::count) +
         card("selected", "/total/selected", num(t, "selected"), NumberKind::count) +
         card("freed exclusively", "/total/exclusive_bytes", num(t, "exclusive_bytes"), NumberKind::bytes) +
         card("deleted", "/total/deleted_bytes", num(t, "deleted_bytes"), NumberKind::bytes) + "</div>\n";
  const auto& wss = array_at(doc, "workspaces");
  std::vector<Bar> bars;
  out += "<table class=\"sortable\">" + table_head({"workspace", "status", "#allocated", "#exclusive", "action", "reason"}) + "<tbody>\n";
  for (size_t i = 0; i < wss.size() && i < k_max_rows; ++i) {
    const std::string p = pointer_join("/workspaces", i);
    const auto& w = wss[i];
    out += "<tr>" + path_cell(w.value("name", Json())) + text_cell(string_at(w, "status")) +
           number_cell(pointer_join(p, "allocated_bytes"), num(w, "allocated_bytes"), NumberKind::bytes) +
           (w.contains("exclusive_bytes")
                ? number_cell(pointer_join(p, "exclusive_bytes"), num(w, "exclusive_bytes"), NumberKind::bytes)
                : std::string("<td></td>")) +
           text_cell(string_at(w, "action")) + text_cell(path_bytes(w.value("reason", Json(""))))  + "</tr>\n";
    bars.push_back({path_bytes(w.value("name", Json())),
                    {{num(w, "allocated_bytes"), pointer_join(p, "allocated_bytes"), w.value("selected", false) ? 1u : 0u}}});
  }
  out += "</tbody></table>\n" + more_rows_note(std::min(wss.size(), k_max_rows), wss.size());
  return svg_bar_chart(bars, {"kept", "selected"}, "allocated bytes per workspace") + out;
}

std::string migrate_body(const Json& doc) {
  std::string out = fmt::format("<p class=\"meta\">{} &rarr; {}{}</p>\n", html_escape(path_bytes(doc.value("src", Json()))),
                                html_escape(path_bytes(doc.value("copy_dir", Json()))),
                                doc.value("switched", false) ? ", switched over" : "");
  out += "<div class=\"cards\">" + card("files copied", "/files_copied", num(doc, "files_copied"), NumberKind::count) +
         card("bytes copied", "/bytes_copied", num(doc, "bytes_copied"), NumberKind::bytes) + "</div>\n";
  const auto& steps = array_at(doc, "steps");
  out += "<table>" + table_head({"step", "status", "#seconds", "detail"}) + "<tbody>\n";
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    out += "<tr>" + text_cell(string_at(s, "name")) + text_cell(string_at(s, "status")) +
           number_cell(pointer_join(pointer_join("/steps", i), "seconds"), num(s, "seconds"), NumberKind::seconds) +
           text_cell(string_at(s, "detail")) + "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::string monitor_body(const Json& doc) {
  const auto& ddt = object_at(doc, "ddt");
  std::string out = fmt::format("<p class=\"meta\">dataset {} ({})</p>\n",
                                html_escape(string_at(object_at(doc, "target"), "dataset")), html_escape(string_at(doc, "status")));
  out += "<div class=\"cards\">";
  // Figures ZFS did not report are null in the document: no card rather than a false 0.
  const auto maybe_card = [&](std::string_view label, const char* key, NumberKind kind) {
    const auto it = ddt.find(key);
    if (it != ddt.end() && it->is_number()) out += card(label, std::string("/ddt/") + key, it->get<double>(), kind);
  };
  maybe_card("DDT entries", "entries", NumberKind::count);
  maybe_card("DDT in core", "in_core_bytes", NumberKind::bytes);
  maybe_card("DDT on disk", "on_disk_bytes", NumberKind::bytes);
  maybe_card("dedup ratio", "dedup_ratio", NumberKind::ratio);
  maybe_card("compress ratio", "compress_ratio", NumberKind::ratio);
  out += card("RAM budget", "/ram_budget/bytes", num(object_at(doc, "ram_budget"), "bytes"), NumberKind::bytes) + "</div>\n";
  for (const auto& w : array_at(doc, "warnings")) out += "<p class=\"meta\">warning: " + html_escape(string_at(w, "text")) + "</p>\n";
  return out;
}

std::string title_of(const Json& doc, DocumentKind kind) {
  std::string roots;
  for (const auto& r : array_at(doc, "roots")) roots += (roots.empty() ? "" : ", ") + path_bytes(r);
  if (roots.empty() && doc.contains("root")) roots = path_bytes(doc["root"]);
  return fmt::format("wsdedup {}{}{}", kind_name(kind), roots.empty() ? "" : ": ", roots);
}

std::string generated_line(const Json& doc) {
  std::string out = "schema " + html_escape(string_at(doc, "schema"));
  const auto& run = object_at(doc, "run");
  if (run.contains("finished_unix_seconds")) {
    const auto t = static_cast<std::time_t>(number_at(run, "finished_unix_seconds"));
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    out += ", run finished ";
    out += buf;
  }
  const double seconds = run_seconds(doc);
  if (seconds >= 0) out += fmt::format(" in {:.2f} s", seconds);
  return out;
}

} // namespace

std::string html_from_json(const nlohmann::ordered_json& doc) {
  const DocumentKind kind = document_kind(doc);
  const std::string title = title_of(doc, kind);
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
          "script-src 'unsafe-inline'; img-src data:\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += "<title>" + html_escape(title) + "</title>\n<style>" + std::string(k_style) + "</style>\n";
  page += "<script>" + std::string(k_error_hook) + "</script>\n</head>\n<body>\n";
  page += "<div id=\"js-errors\" role=\"alert\"></div>\n";
  page += "<h1>" + html_escape(title) + "</h1>\n<p class=\"meta\">" + generated_line(doc) +
          " &middot; <label><input type=\"checkbox\" id=\"exact\"> exact numbers</label></p>\n";
  switch (kind) {
  case DocumentKind::usage: page += usage_body(doc); break;
  case DocumentKind::estimate: page += estimate_body(doc); break;
  case DocumentKind::dupes: page += dupes_body(doc); break;
  case DocumentKind::dedupe: page += dedupe_body(doc); break;
  case DocumentKind::verify: page += verify_body(doc); break;
  case DocumentKind::prune: page += prune_body(doc); break;
  case DocumentKind::migrate: page += migrate_body(doc); break;
  case DocumentKind::monitor: page += monitor_body(doc); break;
  case DocumentKind::unknown: page += "<p>Unknown document schema; the data is embedded below.</p>\n"; break;
  }
  page += notes_section(doc);
  page += errors_section(doc);
  page += "<script type=\"application/json\" id=\"wsdedup-data\">" + json_for_script(doc) + "</script>\n";
  page += "<script>" + std::string(k_script) + "</script>\n</body>\n</html>\n";
  return page;
}

} // namespace wsd::report
