#include "model/ddt_ram.hpp"

#include "model/write_policy.hpp"
#include "model/zfs_codecs.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace wsd::model {
namespace {

// zap_leaf.h
constexpr uint32_t k_leaf_chunk = 24;       // ZAP_LEAF_CHUNKSIZE
constexpr uint32_t k_leaf_array_bytes = 21; // ZAP_LEAF_ARRAY_BYTES
constexpr uint32_t k_ddt_key_bytes = 40;    // DDT_KEY_WORDS * 8
// Above this many entries per class the ZAP is simulated on the entries under one hash
// prefix (an exact sub-tree of the whole) and scaled.
constexpr size_t k_sample_limit = size_t{1} << 22;

// ZAP_LEAF_NUMCHUNKS(l) = (BLOCKSIZE - 2 * HASH_NUMENTRIES) / CHUNKSIZE - 2.
uint32_t leaf_chunks(uint32_t block_shift) {
  const uint32_t block = 1u << block_shift;
  const uint32_t hash_entries = 1u << (block_shift - 5);
  return (block - 2 * hash_entries) / k_leaf_chunk - 2;
}

uint32_t array_chunks(uint32_t bytes) {
  return (bytes + k_leaf_array_bytes - 1) / k_leaf_array_bytes;
}

void put64(std::byte* p, uint64_t v) {
  std::memcpy(p, &v, 8);
}

struct Walk {
  uint64_t leaves = 0;
  uint32_t max_depth = 0;
};

void split(std::span<const uint64_t> hashes, uint32_t depth, size_t per_leaf, Walk& w) {
  if (hashes.size() <= per_leaf || depth >= 63) {
    ++w.leaves;
    w.max_depth = std::max(w.max_depth, depth);
    return;
  }
  const uint64_t bit = uint64_t{1} << (63 - depth);
  const auto mid = std::partition_point(hashes.begin(), hashes.end(),
                                        [&](uint64_t h) { return (h & bit) == 0; });
  const auto left = static_cast<size_t>(mid - hashes.begin());
  split(hashes.subspan(0, left), depth + 1, per_leaf, w);
  split(hashes.subspan(left), depth + 1, per_leaf, w);
}

} // namespace

uint64_t zdb_fill_count(uint64_t blocks, uint32_t indirect_shift, ZdbFillRule rule) {
  if (blocks == 0 || rule == ZdbFillRule::all_blkptrs) {
    return blocks;
  }
  // The object's dnode has 3 block pointers (dnode_allocate(): 1 + (DN_MAX_BONUSLEN -
  // bonuslen) >> SPA_BLKPTRSHIFT with no bonus); each indirect block holds
  // 2^(indirect_shift - 7) pointers. dn_nlevels grows until 3 x epb^(levels - 1) blocks fit.
  const uint64_t epb = uint64_t{1} << (indirect_shift - 7);
  uint64_t span = 1; // L0 blocks under one top-level pointer
  while (span * 3 < blocks) {
    span *= epb;
  }
  // Only dn_blkptr[0] counts: at one level it is block 0 (fill 1); above, the blocks under
  // the first top-level indirect block.
  return std::min(blocks, span);
}

ZapLayout legacy_zap_layout() {
  return ZapLayout{12, 256, false};
}

ZapLayout fast_dedup_zap_layout() {
  return ZapLayout{15, 72, true};
}

uint32_t ddt_entry_chunks(const ZapLayout& layout, uint64_t dsize, uint64_t refcnt) {
  // A representative phys: DVA word 0 = asize in sectors (vdev 0, grid 0), word 1 = an
  // offset of a few GiB in sectors, refcnt, a 4-digit birth txg and (flat) a class start
  // time in seconds; the other phys slots / DVAs are zero.
  std::array<std::byte, 256> phys{};
  const size_t base = layout.flat ? 0 : 64; // legacy: DDT_PHYS_SINGLE is slot 1
  put64(phys.data() + base, dsize >> 9);
  put64(phys.data() + base + 8, (uint64_t{3} << 30) >> 9);
  put64(phys.data() + base + 48, refcnt);
  put64(phys.data() + base + 56, 4242);
  if (layout.flat) {
    put64(phys.data() + 64, 1'750'000'000);
  }
  std::array<std::byte, 300> out{};
  const std::span<const std::byte> src(phys.data(), layout.phys_bytes);
  // ddt_zap_compress(): ZLE into d_len - 1 bytes, stored raw if it does not shrink, plus
  // the version byte.
  const size_t c_len = zle_compress(src, out, layout.phys_bytes);
  const auto value_bytes = static_cast<uint32_t>(c_len + 1);
  return 1 + array_chunks(k_ddt_key_bytes) + array_chunks(value_bytes);
}

uint64_t fat_zap_blocks(std::vector<uint64_t>& hashes, uint32_t block_shift,
                        uint32_t chunks_per_entry) {
  if (hashes.empty()) {
    return 0;
  }
  uint32_t sample_bits = 0;
  while ((hashes.size() >> sample_bits) > k_sample_limit) {
    ++sample_bits;
  }
  if (sample_bits > 0) {
    // Keep the entries under the all-zero prefix of sample_bits bits.
    std::erase_if(hashes, [&](uint64_t h) { return (h >> (64 - sample_bits)) != 0; });
  }
  std::sort(hashes.begin(), hashes.end());
  const size_t per_leaf = std::max<size_t>(1, leaf_chunks(block_shift) / chunks_per_entry);
  Walk w;
  split(hashes, sample_bits, per_leaf, w);
  const uint64_t leaves = w.leaves << sample_bits;
  // fzap_upgrade(): the pointer table starts embedded in the header block
  // (ZAP_EMBEDDED_PTRTBL_SHIFT = block_shift - 3 - 1) and moves to its own blocks when the
  // depth outgrows it (zap_grow_ptrtbl(); the old table's blocks are freed).
  const uint32_t embedded_shift = block_shift - 4;
  uint64_t table_blocks = 0;
  if (w.max_depth > embedded_shift) {
    table_blocks = std::max<uint64_t>(1, (uint64_t{8} << w.max_depth) >> block_shift);
  }
  return 1 + leaves + table_blocks;
}

DdtRamEstimate estimate_ddt_ram(const DedupTable& table, const ModelConfig& config) {
  std::vector<uint64_t> unique;
  std::vector<uint64_t> duplicate;
  uint64_t dsize_sum = 0;
  uint64_t refs_sum = 0;
  table.for_each([&](const TableEntry& e) {
    if (e.info.embedded) {
      return;
    }
    (e.refcnt == 1 ? unique : duplicate).push_back(e.key.hash_lo);
    dsize_sum += dsize_of(config, e.info.psize);
    refs_sum += e.refcnt;
  });
  DdtRamEstimate r;
  const uint64_t entries = unique.size() + duplicate.size();
  if (entries == 0) {
    return r;
  }
  const uint64_t mean_dsize = dsize_sum / entries;
  const uint64_t dup_refcnt = duplicate.empty() ? 2 : (refs_sum - unique.size()) / duplicate.size();

  // Blocks of each class's ZAP (unique, duplicate) in a layout.
  auto simulate = [&](const ZapLayout& layout, uint64_t& unique_blocks, uint64_t& dup_blocks) {
    std::vector<uint64_t> u = unique;
    std::vector<uint64_t> d = duplicate;
    unique_blocks = fat_zap_blocks(u, layout.block_shift, ddt_entry_chunks(layout, mean_dsize, 1));
    dup_blocks =
        fat_zap_blocks(d, layout.block_shift, ddt_entry_chunks(layout, mean_dsize, dup_refcnt));
  };
  uint64_t lu = 0;
  uint64_t ld = 0;
  uint64_t fu = 0;
  uint64_t fd = 0;
  simulate(legacy_zap_layout(), lu, ld);
  simulate(fast_dedup_zap_layout(), fu, fd);
  const uint32_t lshift = legacy_zap_layout().block_shift;
  const uint32_t fshift = fast_dedup_zap_layout().block_shift;
  const ZdbFillRule rule = zdb_fill_rule(config.effective_profile());
  const bool fdt = config.effective_profile().fast_dedup;
  // zdb's "in core" (dump_ddt() / dump_ddt_object(): mspace = doi_fill_count x
  // doi_data_block_size, from dmu_object_info_from_dnode()), per class.
  r.zdb_objects.unique_in_core = fdt ? zdb_fill_count(fu, fshift, rule) << fshift
                                     : zdb_fill_count(lu, lshift, rule) << lshift;
  r.zdb_objects.duplicate_in_core = fdt ? zdb_fill_count(fd, fshift, rule) << fshift
                                        : zdb_fill_count(ld, lshift, rule) << lshift;
  // The RAM figures: every block of both ZAPs (what the ARC holds when the whole DDT is hot).
  lu <<= lshift;
  ld <<= lshift;
  fu <<= fshift;
  fd <<= fshift;
  r.figures.legacy = lu + ld;
  r.figures.legacy_conservative = entries * k_conservative_entry_bytes;
  r.figures.fast_dedup = fu + fd;
  r.legacy_per_entry = static_cast<double>(r.figures.legacy) / static_cast<double>(entries);
  r.fast_dedup_per_entry = static_cast<double>(r.figures.fast_dedup) / static_cast<double>(entries);
  return r;
}

} // namespace wsd::model
