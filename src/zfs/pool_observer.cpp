#include "zfs/pool_observer.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace wsd::zfs {

namespace {

std::string first_line_trimmed(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

Sourced sourced_number(const std::map<std::string, std::string>& props, const std::string& key,
                       const std::string& source) {
  Sourced s;
  s.source = source;
  auto it = props.find(key);
  if (it == props.end()) return s;
  if (auto n = parse_nicenum(it->second)) {
    s.value = n->value;
    s.exact = n->exact;
  }
  return s;
}

const std::vector<std::string> k_dataset_props{"used",          "logicalused", "referenced",
                                               "logicalreferenced", "compressratio", "dedup",
                                               "compression",   "recordsize",  "mountpoint",
                                               "checksum"};

// Reads a small file whole (kstat files report size 0, so read until EOF); nullopt on error.
std::optional<std::string> read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1u << 22)) break;
  }
  ::close(fd);
  return text;
}

} // namespace

bool ddt_sizes_are_totals(const std::string& version) {
  // "zfs-2.3.3-1", "zfs-kmod-2.3.0", "zfs-2.4.0-rc1": the first "N.M" after the last "zfs-".
  size_t pos = version.find_first_of("0123456789");
  if (pos == std::string::npos) return false;
  unsigned major = 0;
  unsigned minor = 0;
  size_t i = pos;
  while (i < version.size() && version[i] >= '0' && version[i] <= '9')
    major = major * 10 + static_cast<unsigned>(version[i++] - '0');
  if (i >= version.size() || version[i] != '.') return false;
  ++i;
  while (i < version.size() && version[i] >= '0' && version[i] <= '9')
    minor = minor * 10 + static_cast<unsigned>(version[i++] - '0');
  return major > 2 || (major == 2 && minor >= 3);
}

ArcFigures read_arcstats(const std::string& path) {
  ArcFigures arc;
  arc.source = path;
  auto text = read_small_file(path);
  if (!text) return arc;
  auto values = parse_kstat(*text);
  if (values.empty()) return arc;
  arc.exposed = true;
  auto get = [&](const char* key) -> std::optional<uint64_t> {
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
  arc.size = get("size");
  arc.c_min = get("c_min");
  arc.c_max = get("c_max");
  arc.meta_used = get("arc_meta_used");
  arc.meta_limit = get("arc_meta_limit");
  arc.metadata_size = get("metadata_size");
  arc.dnode_limit = get("arc_dnode_limit");
  arc.demand_metadata_hits = get("demand_metadata_hits");
  arc.demand_metadata_misses = get("demand_metadata_misses");
  return arc;
}

void fill_ddt_figures(Observation& obs, const std::string& status_text, const std::string& zdb_text,
                      const std::string& version) {
  obs.status = parse_zpool_status_dedup(status_text);
  if (!zdb_text.empty()) {
    ZdbDdtReport z = parse_zdb_ddt(zdb_text);
    if (z.empty || !z.objects.empty() || !z.histogram.empty()) {
      obs.zdb = std::move(z);
    } else if (obs.zdb_problem.empty()) {
      obs.zdb_problem = "zdb -DD printed nothing wsdedup recognises";
    }
  }

  const bool totals = ddt_sizes_are_totals(version) || obs.status.cached.has_value();
  if (obs.status.present) {
    obs.ddt_entries = Sourced{obs.status.entries, true, "zpool status -D"};
    if (obs.status.entries == 0) {
      obs.ddt_in_core = Sourced{0, true, "zpool status -D"};
      obs.ddt_on_disk = Sourced{0, true, "zpool status -D"};
    } else if (totals) {
      obs.ddt_in_core = Sourced{obs.status.in_core.value, obs.status.in_core.exact, "zpool status -D"};
      obs.ddt_on_disk = Sourced{obs.status.on_disk.value, obs.status.on_disk.exact, "zpool status -D"};
    } else {
      // Legacy releases print per-entry averages (ddt_get_dedup_object_stats() divided by count).
      obs.ddt_in_core = Sourced{obs.status.in_core.value * obs.status.entries, false,
                                "zpool status -D (per-entry average x entries)"};
      obs.ddt_on_disk = Sourced{obs.status.on_disk.value * obs.status.entries, false,
                                "zpool status -D (per-entry average x entries)"};
    }
  }
  if (obs.zdb && !obs.zdb->objects.empty()) {
    const ZdbDdtReport& z = *obs.zdb;
    const bool legacy = z.objects.front().scale == DdtSizeScale::per_entry;
    if (!obs.status.present || z.entries() == obs.status.entries) {
      const std::string src = legacy ? "zdb -DD (per-object average x entries)" : "zdb -DD";
      obs.ddt_in_core = Sourced{z.in_core_bytes(), !legacy, src};
      obs.ddt_on_disk = Sourced{z.on_disk_bytes(), !legacy, src};
      if (!obs.status.present) obs.ddt_entries = Sourced{z.entries(), true, "zdb -DD"};
    } else {
      obs.notes.push_back("zdb -DD counts " + std::to_string(z.entries()) +
                          " DDT entries where zpool status -D counts " +
                          std::to_string(obs.status.entries) +
                          ": zdb reads what is on disk and lags the open transaction group; the "
                          "live zpool figures are used.");
    }
  } else if (obs.zdb && obs.zdb->empty && !obs.status.present) {
    obs.ddt_entries = Sourced{0, true, "zdb -DD"};
    obs.ddt_in_core = Sourced{0, true, "zdb -DD"};
    obs.ddt_on_disk = Sourced{0, true, "zdb -DD"};
  }
  if (obs.zdb && obs.zdb->ratios) {
    obs.dedup_ratio = obs.zdb->ratios->dedup;
    obs.dedup_ratio_source = "zdb -DD";
    obs.compress_ratio = obs.zdb->ratios->compress;
  } else if (obs.pool_dedupratio) {
    obs.dedup_ratio = obs.pool_dedupratio;
    obs.dedup_ratio_source = "zpool dedupratio";
  }
}

Observation observe(const DatasetName& target, const ObserveOptions& options) {
  Observation obs;
  obs.target = target;

  ToolOutput exists = run_tool({"zfs", "list", "-H", "-o", "name", target.name});
  if (exists.status != 0) {
    throw util::Fatal("zfs list {}: {}", target.name, trimmed(exists.err));
  }

  ToolOutput version = run_tool({"zfs", "version"});
  if (version.status == 0) obs.version = first_line_trimmed(version.out);

  std::string list;
  for (const std::string& p : k_dataset_props) list += (list.empty() ? "" : ",") + p;
  ToolOutput got = run_tool({"zfs", "get", "-Hp", "-o", "property,value", list, target.name});
  if (got.status == 0) {
    obs.properties = parse_get_output(got.out);
  } else {
    // zfs-fuse (pool v23) has no logical* properties, and zfs get refuses the whole list for
    // one unknown name: take "all" and pick.
    auto all = parse_get_output(run_tool_checked({"zfs", "get", "-Hp", "-o", "property,value", "all", target.name}));
    for (const std::string& p : k_dataset_props) {
      auto it = all.find(p);
      if (it != all.end()) obs.properties[p] = it->second;
    }
  }
  obs.used = sourced_number(obs.properties, "used", "zfs get");
  obs.logical_used = sourced_number(obs.properties, "logicalused", "zfs get");
  obs.referenced = sourced_number(obs.properties, "referenced", "zfs get");
  obs.logical_referenced = sourced_number(obs.properties, "logicalreferenced", "zfs get");
  obs.recordsize = sourced_number(obs.properties, "recordsize", "zfs get");
  if (auto it = obs.properties.find("compressratio"); it != obs.properties.end())
    obs.compressratio = parse_ratio(it->second);

  ToolOutput pl = run_tool({"zpool", "list", "-Hp", "-o", "name,size,alloc,free,dedupratio", target.pool});
  if (pl.status != 0)
    pl = run_tool({"zpool", "list", "-H", "-o", "name,size,allocated,free,dedupratio", target.pool});
  if (pl.status != 0) throw util::Fatal("zpool list {}: {}", target.pool, trimmed(pl.err));
  {
    const std::string line = first_line_trimmed(pl.out);
    auto words = split_words(line);
    if (words.size() == 5) {
      auto num = [](std::string_view w) {
        Sourced s;
        s.source = "zpool list";
        if (auto n = parse_nicenum(w)) {
          s.value = n->value;
          s.exact = n->exact;
        }
        return s;
      };
      obs.pool_size = num(words[1]);
      obs.pool_alloc = num(words[2]);
      obs.pool_free = num(words[3]);
      obs.pool_dedupratio = parse_ratio(words[4]);
    }
  }

  std::string status_text = run_tool_checked({"zpool", "status", "-D", target.pool});
  std::string zdb_text;
  if (options.run_zdb == RunZdb::yes) {
    try {
      ToolOutput z = run_tool({"zdb", "-DD", target.pool});
      if (z.status == 0) {
        zdb_text = z.out;
      } else {
        obs.zdb_problem = "zdb -DD failed: " + trimmed(z.err.empty() ? z.out : z.err);
      }
    } catch (const util::Fatal& e) {
      obs.zdb_problem = e.what();
    }
  } else {
    obs.zdb_problem = "zdb not run (--no-zdb)";
  }
  fill_ddt_figures(obs, status_text, zdb_text, obs.version);
  obs.arc = read_arcstats(options.arcstats_path);
  if (!obs.pool_size.exact) {
    obs.notes.push_back("this ZFS (" + (obs.version.empty() ? std::string("zfs-fuse or before 0.8") : obs.version) +
                        ") has no `zpool list -p`: pool sizes are parsed back from rounded numbers.");
  }
  return obs;
}

} // namespace wsd::zfs
