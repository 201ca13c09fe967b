#include "estimate/chunk_model.hpp"

#include <algorithm>
#include <array>

namespace wsd::estimate {
namespace {

constexpr unsigned k_shard_bits = 6;

struct ChunkSlot {
  uint64_t hash_lo;
  uint32_t hash_hi;
  uint32_t length; // 0: empty (chunks are never empty)
};
static_assert(sizeof(ChunkSlot) == 16);

} // namespace

struct ChunkIndex::Traits {
  using Key = ChunkKey;
  using Slot = ChunkSlot;
  using ShardExtra = ChunkTotals;

  static bool empty(const Slot& s) { return s.length == 0; }
  static bool matches(const Slot& s, const Key& k) {
    return s.hash_lo == k.hash_lo && s.hash_hi == k.hash_hi && s.length == k.length;
  }
  static uint64_t place(const Slot& s) { return s.hash_lo; }
  static uint64_t place(const Key& k) { return k.hash_lo; }
  static uint32_t shard_word(const Key& k) { return k.hash_hi; }
};

namespace {
using Table = model::ShardedTable<ChunkIndex::Traits>;
} // namespace

ChunkIndex::ChunkIndex() : m_table(std::make_unique<Table>(k_shard_bits)) {}

ChunkIndex::~ChunkIndex() = default;

void ChunkIndex::add(const ChunkKey& key) {
  m_table->with_shard(key, [&](Table::Shard& shard) {
    ChunkTotals& t = shard.extra();
    ++t.chunks;
    t.bytes += key.length;
    if (shard.find(key) != Table::npos) {
      return;
    }
    shard.insert(ChunkSlot{key.hash_lo, key.hash_hi, key.length});
    ++t.unique_chunks;
    t.unique_bytes += key.length;
  });
}

ChunkTotals ChunkIndex::totals() const {
  ChunkTotals t;
  m_table->for_each_shard([&](const Table::Shard& shard, size_t) {
    t.chunks += shard.extra().chunks;
    t.bytes += shard.extra().bytes;
    t.unique_chunks += shard.extra().unique_chunks;
    t.unique_bytes += shard.extra().unique_bytes;
  });
  return t;
}

uint64_t ChunkIndex::index_bytes() const {
  return m_table->index_bytes();
}

ChunkModel::ChunkModel(std::vector<uint32_t> averages) : m_averages(std::move(averages)) {
  for (uint32_t avg : m_averages) {
    (void)CdcParams::for_average(avg); // validates
    m_indexes.push_back(std::make_unique<ChunkIndex>());
  }
}

ChunkFeeder::ChunkFeeder(ChunkModel& model) : m_model(model) {
  for (uint32_t avg : model.averages()) {
    m_lanes.push_back(Lane{FastCdc(CdcParams::for_average(avg)), std::make_unique<util::DigestStream>(), 0, {}});
  }
}

void ChunkFeeder::begin_file() {
  for (Lane& lane : m_lanes) {
    lane.cdc.reset();
    lane.digest->reset();
    lane.chunk_len = 0;
    lane.pending.clear();
  }
}

void ChunkFeeder::close_chunk(Lane& lane) {
  const content::Digest128 h = lane.digest->digest();
  lane.pending.push_back(ChunkKey{h.low, static_cast<uint32_t>(h.high >> 32),
                                  static_cast<uint32_t>(lane.chunk_len)});
  lane.digest->reset();
  lane.chunk_len = 0;
}

void ChunkFeeder::data(std::span<const std::byte> bytes) {
  for (Lane& lane : m_lanes) {
    std::span<const std::byte> rest = bytes;
    while (!rest.empty()) {
      bool cut = false;
      const size_t take = lane.cdc.scan(rest, &cut);
      lane.digest->update(rest.data(), take);
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
    } else {
      lane.pending.clear();
    }
    lane.chunk_len = 0;
  }
}

const std::vector<ChunkKey>& ChunkFeeder::file_chunks(size_t lane) const {
  return m_lanes.at(lane).pending;
}

void ChunkFeeder::replay(size_t lane, std::span<const ChunkKey> chunks) {
  for (const ChunkKey& key : chunks) {
    m_model.index(lane).add(key);
  }
}

} // namespace wsd::estimate
