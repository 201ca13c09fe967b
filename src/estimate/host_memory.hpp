#pragma once
// This host's memory and, when ZFS is loaded, its ARC: what the DDT estimate is compared
// with (/proc/meminfo; /proc/spl/kstat/zfs/arcstats from the OpenZFS SPL).

#include <cstdint>
#include <optional>
#include <string>

namespace wsd::estimate {

/// What /proc says about memory.
struct HostMemory {
  uint64_t mem_total = 0;     // MemTotal, bytes (0: unknown)
  uint64_t mem_available = 0; // MemAvailable, bytes
  bool has_arc = false;       // arcstats exists
  uint64_t arc_size = 0;      // ARC "size", bytes
  uint64_t arc_c_max = 0;     // ARC "c_max", bytes
  std::optional<uint64_t> arc_meta_limit; // "arc_meta_limit": only before OpenZFS 2.2
};

/// Reads /proc/meminfo and /proc/spl/kstat/zfs/arcstats (missing files leave zeros).
/// `proc_root` lets tests point at a copy ("/proc" normally).
HostMemory read_host_memory(const std::string& proc_root = "/proc");

} // namespace wsd::estimate
