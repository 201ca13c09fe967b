#include "estimate/host_memory.hpp"

#include <fstream>
#include <sstream>

namespace wsd::estimate {

HostMemory read_host_memory(const std::string& proc_root) {
  HostMemory m;
  // /proc files are read through the kernel's fixed paths, not a tree users write.
  std::ifstream meminfo(proc_root + "/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream in(line);
    std::string key;
    uint64_t kib = 0;
    in >> key >> kib;
    if (key == "MemTotal:") m.mem_total = kib * 1024;
    if (key == "MemAvailable:") m.mem_available = kib * 1024;
  }
  // arcstats: a two-line header, then "name type data".
  std::ifstream arc(proc_root + "/spl/kstat/zfs/arcstats");
  if (arc) {
    m.has_arc = true;
    while (std::getline(arc, line)) {
      std::istringstream in(line);
      std::string name;
      unsigned type = 0;
      uint64_t value = 0;
      if (!(in >> name >> type >> value)) continue;
      if (name == "size") m.arc_size = value;
      if (name == "c_max") m.arc_c_max = value;
      if (name == "arc_meta_limit") m.arc_meta_limit = value;
    }
  }
  return m;
}

} // namespace wsd::estimate
