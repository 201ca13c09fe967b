#pragma once
// How much memory the DDT wants: zdb's "in core" size (dump_ddt() / dump_ddt_object():
// mspace = doi_fill_count x doi_data_block_size, both from dmu_object_info_from_dnode(); the
// fill count is the ZAP object's allocated blocks, except in zfs-fuse, see ZdbFillRule)
// simulated by building the fat ZAP the
// entries would form, for the legacy layout (4 KiB leaves, 4-phys entries) and the OpenZFS
// 2.3 fast-dedup layout (32 KiB leaves, flat entries); plus the usual 320 B/entry planning
// figure.
//
// The ZAP is extendible hashing on the key's 64-bit hash (ZAP_FLAG_PRE_HASHED_KEY: the first
// word of the block checksum). A leaf (zap_leaf.c) holds ZAP_LEAF_NUMCHUNKS 24-byte chunks;
// an entry takes one entry chunk, its 40-byte key (2 array chunks of 21 bytes) and its
// ZLE-compressed phys plus a version byte (ddt_zap_compress()). A leaf splits on the next
// hash bit when an entry does not fit (zap_expand_leaf()), so with insert-only workloads a
// prefix is split exactly when its entries exceed one leaf. The model's hash is XXH3 of the
// logical block, not SHA-256 of the physical one: statistically the same leaf count, not
// the same leaves, so these figures are estimates, not zdb's exact numbers.

#include "model/ddt_stats.hpp"
#include "model/ddt_table.hpp"
#include "model/zfs_profile.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace wsd::model {

/// On-disk shape of one DDT ZAP layout.
struct ZapLayout {
  uint32_t block_shift = 12; // leaf and header block size (ddt_zap_leaf_blockshift)
  uint32_t phys_bytes = 256; // uncompressed value: ddt_phys_t[4] (legacy) or flat (72)
  bool flat = false;         // DDT_FLAG_FLAT (fast dedup)
};

/// The legacy layout (onnv, OpenZFS <= 2.2, and 2.3 pools upgraded without fast_dedup).
ZapLayout legacy_zap_layout();
/// The OpenZFS 2.3 fast-dedup layout (ddt_zap_default_bs = 15, DDT_PHYS_FLAT).
ZapLayout fast_dedup_zap_layout();

/// Blocks (header + leaves + external pointer table) of a fat ZAP holding entries with
/// these 64-bit hashes, each taking `chunks_per_entry` leaf chunks. Sorts `hashes`.
uint64_t fat_zap_blocks(std::vector<uint64_t>& hashes, uint32_t block_shift,
                        uint32_t chunks_per_entry);

/// ZAP leaf chunks of one DDT entry in `layout` for a block of `dsize` bytes referenced
/// `refcnt` times (ZLE of a representative phys: one DVA, birth txg, class start time).
uint32_t ddt_entry_chunks(const ZapLayout& layout, uint64_t dsize, uint64_t refcnt);

/// Which block pointers of the ZAP's dnode zdb's fill count sums.
enum class ZdbFillRule : uint8_t {
  /// dmu_object_info_from_dnode(): doi_fill_count = sum of dn_blkptr[0..dn_nblkptr) fills,
  /// i.e. every allocated block (onnv source, OpenZFS).
  all_blkptrs,
  /// zfs-fuse 0.7 (pool v23), measured: only dn_blkptr[0]'s fill is counted. With 4 KiB
  /// blocks: 1 block while the ZAP fits the dnode (<= 3 blocks), then at most 32 (one L1),
  /// then at most 1024. zdb -dddd shows it: 72-block DDT ZAP, %full 44.44 (32 / 72);
  /// 2-block ZAP, %full 50.00; 6- and 13-block ZAPs, 100.00.
  first_blkptr,
};

/// The fill rule of `profile`'s zdb.
inline ZdbFillRule zdb_fill_rule(const ZfsProfile& profile) {
  return profile.zdb_format == ZdbFormat::onnv ? ZdbFillRule::first_blkptr
                                               : ZdbFillRule::all_blkptrs;
}

/// zdb's doi_fill_count for a ZAP object of `blocks` blocks (indirect blocks of
/// 2^indirect_shift bytes) under `rule`.
uint64_t zdb_fill_count(uint64_t blocks, uint32_t indirect_shift, ZdbFillRule rule);

/// Everything estimate_ddt_ram() works out.
struct DdtRamEstimate {
  DdtRamFigures figures;       // for the JSON contract
  DdtObjectSizes zdb_objects;  // zdb's mspace per class in the profile's own layout and fill rule
  double legacy_per_entry = 0; // bytes per entry, legacy layout
  double fast_dedup_per_entry = 0;
};

/// Simulates both layouts for the DDT entries of `table` (one ZAP per class: unique and
/// duplicate, as ddt_object_create() does).
DdtRamEstimate estimate_ddt_ram(const DedupTable& table, const ModelConfig& config);

/// The planning figure used by operators: bytes per DDT entry in core.
inline constexpr uint64_t k_conservative_entry_bytes = 320;

} // namespace wsd::model
