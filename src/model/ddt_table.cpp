#include "model/ddt_table.hpp"

#include <stdexcept>

namespace wsd::model {
namespace {

// Slot layout (16 bytes):
//   lo:   hash_lo (all 64 bits; its top 32 place the slot, BlockSampler uses its low 32)
//   meta: bits 0-14 LSIZE / 512 - 1; 15-29 PSIZE code (PSIZE / 512 - 1, or the embedded
//         length); 30 embedded; 31 compressed; 32-47 refcnt + 1 (0: empty slot; 0xffff: the
//         count is in the shard's side map); 48-63 the top 16 bits of hash_hi.
struct DdtSlot {
  uint64_t lo;
  uint64_t meta;
};
static_assert(sizeof(DdtSlot) == 16);

constexpr uint64_t k_code_mask = 0x7fffu;
constexpr uint64_t k_embedded_bit = uint64_t{1} << 30;
constexpr uint64_t k_compressed_bit = uint64_t{1} << 31;
constexpr unsigned k_count_shift = 32;
constexpr uint64_t k_count_mask = 0xffffu;
constexpr uint64_t k_count_overflow = 0xffffu; // the count lives in the side map
constexpr unsigned k_hash_shift = 48;
constexpr uint64_t k_refcnt_max = 0xfffffffeu;  // saturates there, as before

uint64_t lsize_code(uint32_t lsize) {
  return lsize / 512 - 1;
}

uint64_t pack_info(const BlockKey& key, const BlockInfo& info) {
  const uint64_t lcode = lsize_code(key.lsize);
  // Stored PSIZEs are multiples of 512 up to 16 MiB; embedded lengths are <= 112.
  const uint64_t pcode = info.embedded ? info.psize : info.psize / 512 - 1;
  if (key.lsize % 512 != 0 || key.lsize == 0 || lcode > k_code_mask || pcode > k_code_mask ||
      (!info.embedded && (info.psize % 512 != 0 || info.psize == 0))) {
    throw std::invalid_argument("DedupTable: block size out of range");
  }
  return lcode | (pcode << 15) | (info.embedded ? k_embedded_bit : 0u) |
         (info.compressed ? k_compressed_bit : 0u) |
         (uint64_t{key.hash_hi >> 16} << k_hash_shift);
}

BlockInfo unpack_info(uint64_t meta) {
  BlockInfo info;
  info.embedded = (meta & k_embedded_bit) != 0;
  info.compressed = (meta & k_compressed_bit) != 0;
  const auto pcode = static_cast<uint32_t>((meta >> 15) & k_code_mask);
  info.psize = info.embedded ? pcode : (pcode + 1) * 512;
  return info;
}

uint64_t count_field(const DdtSlot& s) {
  return (s.meta >> k_count_shift) & k_count_mask;
}

// The side map's key: the slot without its count bits.
uint64_t side_key_meta(const DdtSlot& s) {
  return s.meta & ~(k_count_mask << k_count_shift);
}

struct SideKey {
  uint64_t lo;
  uint64_t meta;
  friend bool operator==(const SideKey&, const SideKey&) = default;
};

struct SideKeyHash {
  size_t operator()(const SideKey& k) const { return static_cast<size_t>(k.lo ^ (k.meta * 0x9e3779b97f4a7c15u)); }
};

} // namespace

struct DedupTable::Traits {
  using Key = BlockKey;
  using Slot = DdtSlot;
  // Reference counts of 0xfffe and above (refcnt + 1 does not fit the 16-bit field).
  using ShardExtra = std::unordered_map<SideKey, uint64_t, SideKeyHash>;

  static bool empty(const DdtSlot& s) { return count_field(s) == 0; }
  static bool matches(const DdtSlot& s, const Key& k) {
    return s.lo == k.hash_lo && (s.meta >> k_hash_shift) == (k.hash_hi >> 16) &&
           (s.meta & k_code_mask) == lsize_code(k.lsize);
  }
  static uint64_t place(const DdtSlot& s) { return s.lo; }
  static uint64_t place(const Key& k) { return k.hash_lo; }
  static uint32_t shard_word(const Key& k) { return k.hash_hi; }
};

namespace {

using Table = ShardedTable<DedupTable::Traits>;

// refcnt of slot `i` of `shard`.
uint64_t refcnt_of(const Table::Shard& shard, size_t i) {
  const DdtSlot& s = shard.slot(i);
  const uint64_t f = count_field(s);
  if (f != k_count_overflow) {
    return f - 1;
  }
  return shard.extra().at(SideKey{s.lo, side_key_meta(s)});
}

void set_refcnt(Table::Shard& shard, size_t i, uint64_t refcnt) {
  DdtSlot& s = shard.slot(i);
  const SideKey side{s.lo, side_key_meta(s)};
  uint64_t field = refcnt + 1;
  if (field >= k_count_overflow) {
    shard.extra()[side] = refcnt;
    field = k_count_overflow;
  } else if (count_field(s) == k_count_overflow) {
    shard.extra().erase(side);
  }
  s.meta = side_key_meta(s) | (field << k_count_shift);
}

void add_one(Table::Shard& shard, size_t i) {
  const uint64_t f = count_field(shard.slot(i));
  if (f + 1 < k_count_overflow) {
    shard.slot(i).meta += uint64_t{1} << k_count_shift; // the common case
    return;
  }
  const uint64_t r = refcnt_of(shard, i);
  if (r < k_refcnt_max) {
    set_refcnt(shard, i, r + 1);
  }
}

} // namespace

DedupTable::DedupTable(unsigned shard_bits)
    : m_table(std::make_unique<Table>(shard_bits)) {
  if (shard_bits > 16) {
    throw std::invalid_argument("DedupTable: at most 2^16 shards (the key keeps 16 bits of hash_hi)");
  }
}

DedupTable::~DedupTable() = default;

size_t DedupTable::slot_bytes() {
  return sizeof(DdtSlot);
}

std::optional<BlockInfo> DedupTable::add_ref_if_known(const BlockKey& key) {
  return m_table->with_shard(key, [&](Table::Shard& shard) -> std::optional<BlockInfo> {
    const size_t i = shard.find(key);
    if (i == Table::npos) {
      return std::nullopt;
    }
    add_one(shard, i);
    return unpack_info(shard.slot(i).meta);
  });
}

BlockInfo DedupTable::add_ref(const BlockKey& key, const BlockInfo& info) {
  const uint64_t meta = pack_info(key, info);
  return m_table->with_shard(key, [&](Table::Shard& shard) -> BlockInfo {
    const size_t i = shard.find(key);
    if (i == Table::npos) {
      shard.insert(DdtSlot{key.hash_lo, meta | (uint64_t{2} << k_count_shift)}); // refcnt 1
      return info;
    }
    add_one(shard, i);
    return unpack_info(shard.slot(i).meta);
  });
}

void DedupTable::drop_ref(const BlockKey& key) {
  m_table->with_shard(key, [&](Table::Shard& shard) {
    const size_t i = shard.find(key);
    if (i == Table::npos) {
      return;
    }
    const uint64_t r = refcnt_of(shard, i);
    if (r > 0) {
      set_refcnt(shard, i, r - 1);
    }
  });
}

void DedupTable::enable_tags() {
  m_tags = true;
  m_table->enable_tags();
}

void DedupTable::merge_tag(const BlockKey& key, uint32_t tag, TagMerge merge) {
  if (!m_tags) {
    return;
  }
  m_table->with_shard(key, [&](Table::Shard& shard) {
    const size_t i = shard.find(key);
    if (i == Table::npos) {
      return;
    }
    uint32_t& stored = shard.tag(i);
    stored = stored == 0 ? tag : merge(stored, tag);
  });
}

std::optional<BlockInfo> DedupTable::find(const BlockKey& key) const {
  return m_table->with_shard(key, [&](const Table::Shard& shard) -> std::optional<BlockInfo> {
    const size_t i = shard.find(key);
    if (i == Table::npos) {
      return std::nullopt;
    }
    return unpack_info(shard.slot(i).meta);
  });
}

void DedupTable::for_each(const std::function<void(const TableEntry&)>& visit) const {
  m_table->for_each_shard([&](const Table::Shard& shard, size_t) {
    for (size_t k = 0; k < shard.capacity(); ++k) {
      const DdtSlot& s = shard.slot(k);
      if (count_field(s) <= 1) {
        continue; // empty, or a cached result at count 0
      }
      TableEntry e;
      e.tag = shard.tag_or_zero(k);
      e.key.hash_lo = s.lo;
      e.key.hash_hi = static_cast<uint32_t>(s.meta >> k_hash_shift) << 16;
      e.key.lsize = static_cast<uint32_t>(((s.meta & k_code_mask) + 1) * 512);
      e.info = unpack_info(s.meta);
      e.refcnt = refcnt_of(shard, k);
      visit(e);
    }
  });
}

uint64_t DedupTable::live_entries() const {
  uint64_t n = 0;
  m_table->for_each_shard([&](const Table::Shard& shard, size_t) {
    for (size_t k = 0; k < shard.capacity(); ++k) {
      n += count_field(shard.slot(k)) > 1 ? 1u : 0u;
    }
  });
  return n;
}

uint64_t DedupTable::index_bytes() const {
  uint64_t side = 0;
  m_table->for_each_shard([&](const Table::Shard& shard, size_t) {
    // An unordered_map node: the pair plus a next pointer and the cached hash, and a bucket.
    side += shard.extra().size() * (sizeof(SideKey) + 8 + 2 * sizeof(void*)) +
            shard.extra().bucket_count() * sizeof(void*);
  });
  return m_table->index_bytes() + side;
}

} // namespace wsd::model
