#pragma once
// The simulated dedup table: one entry per unique (content, LSIZE) block, holding the block's
// PSIZE and reference count. A DDT key in ZFS is (checksum of the physical block, LSIZE,
// PSIZE, compression); within one model configuration PSIZE and compression are functions of
// the logical bytes and LSIZE, so (hash of the logical bytes, LSIZE) identifies the same
// entries. The key keeps 80 bits of XXH3-128 (hash_lo and the top 16 bits of hash_hi, see
// block_key()): two distinct blocks of one LSIZE merge only if those 80 bits collide, with
// probability ~ n^2 / 2^81 for n unique blocks (4e-7 for 10^9 blocks; docs/zfs-model.md).
//
// Memory: a ShardedTable (sharded_table.hpp: Robin Hood probing, grown by 1.5x at 90% load)
// of 16-byte slots, ~16 / load = 18-27 bytes per entry (DESIGN.md section 6 budget: 32), plus
// 4 bytes per slot with tags. Reference counts above 65533 move to a per-shard side map.
// Entries whose reference count drops back to zero (a file rolled back) stay as cached
// compression results and are not counted.

#include "model/sharded_table.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>

#include "util/xxhash.hpp"

namespace wsd::model {

/// Identity of a logical block: 80 bits of its content hash plus its LSIZE.
struct BlockKey {
  uint64_t hash_lo = 0;
  uint32_t hash_hi = 0; // only the top 16 bits count (block_key() clears the others)
  uint32_t lsize = 0;

  friend bool operator==(const BlockKey&, const BlockKey&) = default;
};

/// The key of a block of `lsize` bytes whose XXH3-128 is `h` (the bits the table keeps).
inline BlockKey block_key(const XXH128_hash_t& h, uint32_t lsize) {
  return BlockKey{h.low64, static_cast<uint32_t>(h.high64 >> 32) & 0xffff0000u, lsize};
}

/// What the table records about a block.
struct BlockInfo {
  uint32_t psize = 0;    // stored PSIZE, or the compressed length of an embedded block
  bool embedded = false; // embedded in the block pointer: never a DDT entry
  bool compressed = false;
};

/// One entry as visited by DedupTable::for_each.
struct TableEntry {
  BlockKey key;
  BlockInfo info;
  uint64_t refcnt = 0;
  uint32_t tag = 0; // merged caller tag (0: none or tags disabled), see DedupTable::merge_tag
};

/// Combines the tag already on an entry with a new one (both non-zero).
using TagMerge = uint32_t (*)(uint32_t stored, uint32_t incoming);

/// Thread-safe sharded hash table of block references.
class DedupTable {
public:
  /// `shard_bits`: log2 of the shard count (at most 16).
  explicit DedupTable(unsigned shard_bits = 6);
  ~DedupTable();
  DedupTable(const DedupTable&) = delete;
  DedupTable& operator=(const DedupTable&) = delete;

  /// If `key` is known, adds one reference and returns its info (even if its count was 0).
  std::optional<BlockInfo> add_ref_if_known(const BlockKey& key);

  /// Adds one reference to `key`, inserting it with `info` when absent; returns the stored
  /// info (another thread's, if it won the race).
  BlockInfo add_ref(const BlockKey& key, const BlockInfo& info);

  /// Removes one reference (the entry stays, as a cached result, at count 0).
  void drop_ref(const BlockKey& key);

  /// The info of `key` without touching its count.
  std::optional<BlockInfo> find(const BlockKey& key) const;

  /// Gives every slot a 32-bit caller tag (4 more bytes per slot); call before any insert.
  void enable_tags();

  /// Merges `tag` (non-zero) into the entry of `key`: stored as is when the entry has none,
  /// else replaced by merge(stored, tag). No effect when `key` is absent or tags are off.
  void merge_tag(const BlockKey& key, uint32_t tag, TagMerge merge);

  /// Visits every entry with a non-zero count (not concurrently with writers).
  void for_each(const std::function<void(const TableEntry&)>& visit) const;

  /// Entries with a non-zero count (embedded included).
  uint64_t live_entries() const;

  /// Bytes held by the slot arrays (and the side maps of huge reference counts).
  uint64_t index_bytes() const;

  /// Bytes of one slot (the index formula: index_bytes() = slots x this [+ 4 with tags]).
  static size_t slot_bytes();

  /// The slot layout given to ShardedTable (defined in ddt_table.cpp).
  struct Traits;

private:
  bool m_tags = false;
  std::unique_ptr<ShardedTable<Traits>> m_table;
};

} // namespace wsd::model
