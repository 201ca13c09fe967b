#include "model/ddt_table.hpp"

#include <stdexcept>

namespace wsd::model {
namespace {

// Slot layout (20 bytes, 4-byte aligned):
//   w[0], w[1]: hash_lo; w[2]: hash_hi;
//   w[3]: bits 0-14 lsize/512-1, 15-29 psize code, 30 embedded, 31 compressed;
//   w[4]: refcnt + 1 (0 means empty slot; saturates at 2^32-2 references).
struct Slot {
  uint32_t w[5];
};
static_assert(sizeof(Slot) == 20);

constexpr uint32_t k_code_mask = 0x7fffu;
constexpr uint32_t k_embedded_bit = 1u << 30;
constexpr uint32_t k_compressed_bit = 1u << 31;
constexpr uint32_t k_refcnt_max = 0xfffffffeu;

uint32_t pack_meta(const BlockKey& key, const BlockInfo& info) {
  const uint32_t lcode = key.lsize / 512 - 1;
  // Stored PSIZEs are multiples of 512 up to 16 MiB; embedded lengths are <= 112.
  const uint32_t pcode = info.embedded ? info.psize : info.psize / 512 - 1;
  if (key.lsize % 512 != 0 || lcode > k_code_mask || pcode > k_code_mask ||
      (!info.embedded && info.psize % 512 != 0)) {
    throw std::invalid_argument("DedupTable: block size out of range");
  }
  return lcode | (pcode << 15) | (info.embedded ? k_embedded_bit : 0u) |
         (info.compressed ? k_compressed_bit : 0u);
}

BlockInfo unpack_info(uint32_t meta) {
  BlockInfo info;
  info.embedded = (meta & k_embedded_bit) != 0;
  info.compressed = (meta & k_compressed_bit) != 0;
  const uint32_t pcode = (meta >> 15) & k_code_mask;
  info.psize = info.embedded ? pcode : (pcode + 1) * 512;
  return info;
}

uint32_t lsize_code(uint32_t lsize) {
  return lsize / 512 - 1;
}

bool matches(const Slot& s, const BlockKey& key) {
  return s.w[0] == static_cast<uint32_t>(key.hash_lo) &&
         s.w[1] == static_cast<uint32_t>(key.hash_lo >> 32) && s.w[2] == key.hash_hi &&
         (s.w[3] & k_code_mask) == lsize_code(key.lsize);
}

// Multiply-shift range reduction (Lemire): maps 64 hash bits onto [0, n).
// Only the top 32 hash bits are used (the low bits of hash_lo are as random), so the product
// fits in 64 bits without a 128-bit type.
size_t reduce(uint64_t h, size_t n) {
  return static_cast<size_t>(((h >> 32) * static_cast<uint64_t>(n)) >> 32);
}

} // namespace

struct DedupTable::Shard {
  mutable std::mutex mutex;
  std::vector<Slot> slots;
  std::vector<uint32_t> tags; // parallel to slots when tags are enabled, else empty
  size_t used = 0;

  Shard() : slots(64, Slot{}) {}

  // Index of `key`'s slot or of the empty slot where it would go.
  size_t probe(const BlockKey& key) const {
    size_t i = reduce(key.hash_lo, slots.size());
    while (true) {
      const Slot& s = slots[i];
      if (s.w[4] == 0 || matches(s, key)) {
        return i;
      }
      if (++i == slots.size()) {
        i = 0;
      }
    }
  }

  void grow() {
    std::vector<Slot> old = std::move(slots);
    std::vector<uint32_t> old_tags = std::move(tags);
    slots.assign(old.size() + old.size() / 2, Slot{});
    tags.assign(old_tags.empty() ? 0 : slots.size(), 0u);
    for (size_t k = 0; k < old.size(); ++k) {
      const Slot& s = old[k];
      if (s.w[4] == 0) {
        continue;
      }
      const uint64_t lo = uint64_t{s.w[0]} | (uint64_t{s.w[1]} << 32);
      size_t i = reduce(lo, slots.size());
      while (slots[i].w[4] != 0) {
        if (++i == slots.size()) {
          i = 0;
        }
      }
      slots[i] = s;
      if (!old_tags.empty()) {
        tags[i] = old_tags[k];
      }
    }
  }
};

DedupTable::DedupTable(unsigned shard_bits) : m_shard_bits(shard_bits) {
  m_shards.reserve(size_t{1} << shard_bits);
  for (size_t i = 0; i < (size_t{1} << shard_bits); ++i) {
    m_shards.push_back(std::make_unique<Shard>());
  }
}

DedupTable::~DedupTable() = default;

DedupTable::Shard& DedupTable::shard_for(const BlockKey& key) const {
  // hash_hi selects the shard; hash_lo places the key inside it.
  return *m_shards[key.hash_hi >> (32 - m_shard_bits)];
}

std::optional<BlockInfo> DedupTable::add_ref_if_known(const BlockKey& key) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  Slot& s = shard.slots[shard.probe(key)];
  if (s.w[4] == 0) {
    return std::nullopt;
  }
  if (s.w[4] <= k_refcnt_max) {
    ++s.w[4];
  }
  return unpack_info(s.w[3]);
}

BlockInfo DedupTable::add_ref(const BlockKey& key, const BlockInfo& info) {
  const uint32_t meta = pack_meta(key, info);
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  size_t i = shard.probe(key);
  if (shard.slots[i].w[4] == 0) {
    if ((shard.used + 1) * 5 > shard.slots.size() * 4) {
      shard.grow();
      i = shard.probe(key);
    }
    Slot& s = shard.slots[i];
    s.w[0] = static_cast<uint32_t>(key.hash_lo);
    s.w[1] = static_cast<uint32_t>(key.hash_lo >> 32);
    s.w[2] = key.hash_hi;
    s.w[3] = meta;
    s.w[4] = 2; // refcnt 1
    ++shard.used;
    return info;
  }
  Slot& s = shard.slots[i];
  if (s.w[4] <= k_refcnt_max) {
    ++s.w[4];
  }
  return unpack_info(s.w[3]);
}

void DedupTable::drop_ref(const BlockKey& key) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  Slot& s = shard.slots[shard.probe(key)];
  if (s.w[4] > 1) {
    --s.w[4];
  }
}

void DedupTable::enable_tags() {
  m_tags = true;
  for (auto& shard : m_shards) {
    std::lock_guard lock(shard->mutex);
    shard->tags.assign(shard->slots.size(), 0u);
  }
}

void DedupTable::merge_tag(const BlockKey& key, uint32_t tag, TagMerge merge) {
  if (!m_tags) {
    return;
  }
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  const size_t i = shard.probe(key);
  if (shard.slots[i].w[4] == 0) {
    return;
  }
  uint32_t& stored = shard.tags[i];
  stored = stored == 0 ? tag : merge(stored, tag);
}

std::optional<BlockInfo> DedupTable::find(const BlockKey& key) const {
  const Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  const Slot& s = shard.slots[shard.probe(key)];
  if (s.w[4] == 0) {
    return std::nullopt;
  }
  return unpack_info(s.w[3]);
}

void DedupTable::for_each(const std::function<void(const TableEntry&)>& visit) const {
  for (const auto& shard : m_shards) {
    std::lock_guard lock(shard->mutex);
    for (size_t k = 0; k < shard->slots.size(); ++k) {
      const Slot& s = shard->slots[k];
      if (s.w[4] <= 1) {
        continue;
      }
      TableEntry e;
      e.tag = shard->tags.empty() ? 0 : shard->tags[k];
      e.key.hash_lo = uint64_t{s.w[0]} | (uint64_t{s.w[1]} << 32);
      e.key.hash_hi = s.w[2];
      e.key.lsize = ((s.w[3] & k_code_mask) + 1) * 512;
      e.info = unpack_info(s.w[3]);
      e.refcnt = s.w[4] - 1;
      visit(e);
    }
  }
}

uint64_t DedupTable::live_entries() const {
  uint64_t n = 0;
  for (const auto& shard : m_shards) {
    std::lock_guard lock(shard->mutex);
    for (const Slot& s : shard->slots) {
      n += s.w[4] > 1 ? 1 : 0;
    }
  }
  return n;
}

uint64_t DedupTable::index_bytes() const {
  uint64_t n = 0;
  for (const auto& shard : m_shards) {
    std::lock_guard lock(shard->mutex);
    n += shard->slots.capacity() * sizeof(Slot) + shard->tags.capacity() * sizeof(uint32_t);
  }
  return n;
}

} // namespace wsd::model
