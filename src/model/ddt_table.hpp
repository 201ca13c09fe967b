#pragma once
// The simulated dedup table: one entry per unique (content, LSIZE) block, holding the block's
// PSIZE and reference count. A DDT key in ZFS is (checksum of the physical block, LSIZE,
// PSIZE, compression); within one model configuration PSIZE and compression are functions of
// the logical bytes and LSIZE, so (hash of the logical bytes, LSIZE) identifies the same
// entries. The hash is 96 bits of XXH3-128 (docs/zfs-model.md: collision odds).
//
// Memory: open addressing, 20-byte slots, linear probing, grown by 1.5x at 80% load, so
// 25-38 bytes per entry (DESIGN.md section 6 budget: 32). Sharded by hash bits, one mutex per
// shard, so reader threads insert concurrently. Entries whose reference count drops back to
// zero (a file rolled back) stay as cached compression results and are not counted.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace wsd::model {

/// Identity of a logical block: 96 bits of its content hash plus its LSIZE.
struct BlockKey {
  uint64_t hash_lo = 0;
  uint32_t hash_hi = 0;
  uint32_t lsize = 0;

  friend bool operator==(const BlockKey&, const BlockKey&) = default;
};

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
  /// `shard_bits`: log2 of the shard count.
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

  /// Bytes held by the slot arrays.
  uint64_t index_bytes() const;

private:
  struct Shard;
  Shard& shard_for(const BlockKey& key) const;
  unsigned m_shard_bits;
  bool m_tags = false;
  std::vector<std::unique_ptr<Shard>> m_shards;
};

} // namespace wsd::model
