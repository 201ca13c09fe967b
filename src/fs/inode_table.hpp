#pragma once
// Counting each inode once: every name of a multiply-linked file is offered here during the
// walk, and the inode is charged to its bytewise smallest path, so the result does not depend
// on which thread saw which name first. Sharded to keep lock contention low.

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace wsd::fs {

struct InodeKey {
  uint64_t dev = 0;
  uint64_t ino = 0;
  bool operator==(const InodeKey&) const = default;
};

struct InodeKeyHash {
  size_t operator()(const InodeKey& k) const noexcept {
    uint64_t h = k.ino * 0x9E3779B97F4A7C15ULL ^ (k.dev + 0x632BE59BD9B4E019ULL);
    h ^= h >> 29;
    return static_cast<size_t>(h);
  }
};

template <typename Payload>
class InodeTable {
public:
  struct Slot {
    std::string path; // the smallest path seen so far
    Payload payload;  // the payload offered with that path
    uint32_t names = 0;
  };

  /// Offers one name of an inode; the smallest `path` (bytewise) wins.
  void offer(const InodeKey& key, std::string_view path, const Payload& payload) {
    Shard& shard = m_shards[InodeKeyHash{}(key) % k_shards];
    std::lock_guard lock(shard.mutex);
    auto [it, inserted] = shard.map.try_emplace(key);
    Slot& slot = it->second;
    slot.names++;
    if (inserted || path < slot.path) {
      slot.path.assign(path);
      slot.payload = payload;
    }
  }

  /// Visits every inode once (call after the walk; not thread-safe against offer()).
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& shard : m_shards)
      for (const auto& [key, slot] : shard.map) f(key, slot);
  }

  size_t size() const {
    size_t n = 0;
    for (const auto& shard : m_shards) n += shard.map.size();
    return n;
  }

private:
  static constexpr size_t k_shards = 64;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<InodeKey, Slot, InodeKeyHash> map;
  };
  std::array<Shard, k_shards> m_shards;
};

} // namespace wsd::fs
