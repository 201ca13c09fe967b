#include "estimate/chunk_model.hpp"

#include <algorithm>
#include <array>
#include <new>

namespace wsd::estimate {
namespace {

constexpr unsigned k_shard_bits = 6;

struct Slot {
  uint64_t hash_lo;
  uint32_t hash_hi;
  uint32_t length; // 0: empty (chunks are never empty)
};
static_assert(sizeof(Slot) == 16);

size_t reduce(uint64_t h, size_t n) {
  return static_cast<size_t>(((h >> 32) * static_cast<uint64_t>(n)) >> 32);
}

} // namespace

struct ChunkIndex::Shard {
  mutable std::mutex mutex;
  std::vector<Slot> slots = std::vector<Slot>(64, Slot{0, 0, 0});
  size_t used = 0;
  ChunkTotals totals;

  size_t probe(const ChunkKey& k) const {
    size_t i = reduce(k.hash_lo, slots.size());
    while (slots[i].length != 0 &&
           (slots[i].hash_lo != k.hash_lo || slots[i].hash_hi != k.hash_hi ||
            slots[i].length != k.length)) {
      if (++i == slots.size()) {
        i = 0;
      }
    }
    return i;
  }

  void grow() {
    std::vector<Slot> old = std::move(slots);
    slots.assign(old.size() * 2, Slot{0, 0, 0});
    for (const Slot& s : old) {
      if (s.length == 0) {
        continue;
      }
      size_t i = reduce(s.hash_lo, slots.size());
      while (slots[i].length != 0) {
        if (++i == slots.size()) {
          i = 0;
        }
      }
      slots[i] = s;
    }
  }
};

ChunkIndex::ChunkIndex() {
  for (size_t i = 0; i < (size_t{1} << k_shard_bits); ++i) {
    m_shards.push_back(std::make_unique<Shard>());
  }
}

ChunkIndex::~ChunkIndex() = default;

void ChunkIndex::add(const ChunkKey& key) {
  Shard& shard = *m_shards[key.hash_hi >> (32 - k_shard_bits)];
  std::lock_guard lock(shard.mutex);
  ++shard.totals.chunks;
  shard.totals.bytes += key.length;
  size_t i = shard.probe(key);
  if (shard.slots[i].length != 0) {
    return;
  }
  if ((shard.used + 1) * 4 > shard.slots.size() * 3) {
    shard.grow();
    i = shard.probe(key);
  }
  shard.slots[i] = Slot{key.hash_lo, key.hash_hi, key.length};
  ++shard.used;
  ++shard.totals.unique_chunks;
  shard.totals.unique_bytes += key.length;
}

ChunkTotals ChunkIndex::totals() const {
  ChunkTotals t;
  for (const auto& shard : m_shards) {
    std::lock_guard lock(shard->mutex);
    t.chunks += shard->totals.chunks;
    t.bytes += shard->totals.bytes;
    t.unique_chunks += shard->totals.unique_chunks;
    t.unique_bytes += shard->totals.unique_bytes;
  }
  return t;
}

uint64_t ChunkIndex::index_bytes() const {
  uint64_t n = 0;
  for (const auto& shard : m_shards) {
    std::lock_guard lock(shard->mutex);
    n += shard->slots.capacity() * sizeof(Slot);
  }
  return n;
}

ChunkModel::ChunkModel(std::vector<uint32_t> averages) : m_averages(std::move(averages)) {
  for (uint32_t avg : m_averages) {
    (void)CdcParams::for_average(avg); // validates
    m_indexes.push_back(std::make_unique<ChunkIndex>());
  }
}

ChunkFeeder::ChunkFeeder(ChunkModel& model) : m_model(model) {
  for (uint32_t avg : model.averages()) {
    XXH3_state_t* state = XXH3_createState();
    if (state == nullptr) {
      throw std::bad_alloc();
    }
    m_lanes.push_back(Lane{FastCdc(CdcParams::for_average(avg)), state, 0, {}});
  }
}

ChunkFeeder::~ChunkFeeder() {
  for (Lane& lane : m_lanes) {
    XXH3_freeState(lane.state);
  }
}

void ChunkFeeder::begin_file() {
  for (Lane& lane : m_lanes) {
    lane.cdc.reset();
    XXH3_128bits_reset(lane.state);
    lane.chunk_len = 0;
    lane.pending.clear();
  }
}

void ChunkFeeder::close_chunk(Lane& lane) {
  const XXH128_hash_t h = XXH3_128bits_digest(lane.state);
  lane.pending.push_back(ChunkKey{h.low64, static_cast<uint32_t>(h.high64 >> 32),
                                  static_cast<uint32_t>(lane.chunk_len)});
  XXH3_128bits_reset(lane.state);
  lane.chunk_len = 0;
}

void ChunkFeeder::data(std::span<const std::byte> bytes) {
  for (Lane& lane : m_lanes) {
    std::span<const std::byte> rest = bytes;
    while (!rest.empty()) {
      bool cut = false;
      const size_t take = lane.cdc.scan(rest, &cut);
      XXH3_128bits_update(lane.state, rest.data(), take);
      lane.chunk_len += take;
      if (cut) {
        close_chunk(lane);
      }
      rest = rest.subspan(take);
    }
  }
}

void ChunkFeeder::zeros(uint64_t length) {
  static const std::array<std::byte, 64 * 1024> k_zeros{};
  while (length > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(length, k_zeros.size()));
    data({k_zeros.data(), n});
    length -= n;
  }
}

void ChunkFeeder::end_file(bool commit) {
  for (size_t i = 0; i < m_lanes.size(); ++i) {
    Lane& lane = m_lanes[i];
    if (commit && lane.chunk_len > 0) {
      close_chunk(lane);
    }
    if (commit) {
      for (const ChunkKey& key : lane.pending) {
        m_model.index(i).add(key);
      }
    }
    lane.pending.clear();
    lane.chunk_len = 0;
  }
}

} // namespace wsd::estimate
