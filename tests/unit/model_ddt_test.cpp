// The DDT table, histogram bucketing, zdb rendering and the JSON object.
#include "model/ddt_ram.hpp"
#include "model/ddt_stats.hpp"
#include "model/ddt_table.hpp"

#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace wsd::model {
namespace {

// Keys as block_key() makes them: only the top 16 bits of hash_hi are kept.
BlockKey key(uint64_t i, uint32_t lsize = 131072) {
  return BlockKey{i * 0x9e3779b97f4a7c15ULL, static_cast<uint32_t>(i * 0x85ebca6bU) & 0xffff0000u,
                  lsize};
}

TEST(ModelDdtTable, CountsReferencesAndKeepsInfo) {
  DedupTable t(2);
  EXPECT_FALSE(t.add_ref_if_known(key(1)));
  t.add_ref(key(1), {4096, false, true});
  EXPECT_EQ(t.add_ref_if_known(key(1))->psize, 4096u);
  t.add_ref(key(1), {8192, false, false}); // existing entry wins
  t.add_ref(key(1, 512), {512, false, false});
  uint64_t entries = 0;
  t.for_each([&](const TableEntry& e) {
    ++entries;
    if (e.key.lsize == 131072) {
      EXPECT_EQ(e.refcnt, 3u);
      EXPECT_EQ(e.info.psize, 4096u);
      EXPECT_TRUE(e.info.compressed);
    }
  });
  EXPECT_EQ(entries, 2u);
  t.drop_ref(key(1, 512));
  EXPECT_EQ(t.live_entries(), 1u);
  EXPECT_TRUE(t.find(key(1, 512))); // still cached
}

TEST(ModelDdtTable, GrowsAndStaysUnderBudget) {
  DedupTable t(4);
  const uint64_t n = 200000;
  for (uint64_t i = 1; i <= n; ++i) {
    t.add_ref(key(i), {4096, false, false});
  }
  EXPECT_EQ(t.live_entries(), n);
  // 16-byte slots at a load of 0.6 to 0.9: at most 16 / 0.6 = 26.7 bytes per entry.
  EXPECT_EQ(DedupTable::slot_bytes(), 16u);
  EXPECT_LE(static_cast<double>(t.index_bytes()) / static_cast<double>(n), 26.7);
  for (uint64_t i = 1; i <= n; ++i) {
    ASSERT_TRUE(t.find(key(i))) << i;
  }
}

TEST(ModelDdtTable, TagsCostFourBytesPerSlot) {
  DedupTable t(4);
  t.enable_tags();
  const uint64_t n = 200000;
  for (uint64_t i = 1; i <= n; ++i) {
    t.add_ref(key(i), {4096, false, false});
  }
  EXPECT_LE(static_cast<double>(t.index_bytes()) / static_cast<double>(n), 20.0 / 0.6);
}

TEST(ModelDdtTable, AgreesWithAReferenceMapOnRandomKeys) {
  // Robin Hood displacement must never lose or duplicate a key: random inserts, repeats,
  // drops and lookups of absent keys, checked against std::map.
  DedupTable t(1);
  std::map<std::pair<uint64_t, uint32_t>, uint64_t> ref;
  std::mt19937_64 rng(42);
  auto make = [](uint64_t v) {
    return BlockKey{v, static_cast<uint32_t>(v >> 13) & 0xffff0000u, static_cast<uint32_t>(512u * (1 + (v & 3)))};
  };
  std::vector<uint64_t> pool;
  for (int i = 0; i < 60000; ++i) {
    const uint64_t op = rng() % 10;
    if (op < 6 || pool.empty()) {
      const uint64_t v = rng();
      pool.push_back(v);
      t.add_ref(make(v), {512, false, false});
      ++ref[{v, make(v).lsize}];
    } else if (op < 8) {
      const uint64_t v = pool[rng() % pool.size()];
      ASSERT_TRUE(t.add_ref_if_known(make(v)));
      ++ref[{v, make(v).lsize}];
    } else if (op < 9) {
      const uint64_t v = pool[rng() % pool.size()];
      t.drop_ref(make(v));
      auto& r = ref[{v, make(v).lsize}];
      r = r > 0 ? r - 1 : 0;
    } else {
      EXPECT_FALSE(t.find(make(rng()))); // absent (2^-64 odds otherwise)
    }
  }
  uint64_t live = 0;
  for (const auto& [k, count] : ref) {
    live += count > 0 ? 1 : 0;
  }
  EXPECT_EQ(t.live_entries(), live);
  t.for_each([&](const TableEntry& e) {
    const auto it = ref.find({e.key.hash_lo, e.key.lsize});
    ASSERT_NE(it, ref.end());
    EXPECT_EQ(e.refcnt, it->second);
    EXPECT_EQ(e.key, make(e.key.hash_lo));
  });
}

TEST(ModelDdtTable, HugeReferenceCountsOverflowToTheSideMap) {
  DedupTable t(0);
  t.add_ref(key(7), {4096, false, false});
  t.add_ref(key(8), {4096, false, false});
  for (int i = 1; i < 70000; ++i) {
    t.add_ref_if_known(key(7));
  }
  auto count = [&](const BlockKey& k) {
    uint64_t c = 0;
    t.for_each([&](const TableEntry& e) { c = e.key == k ? e.refcnt : c; });
    return c;
  };
  EXPECT_EQ(count(key(7)), 70000u);
  EXPECT_EQ(count(key(8)), 1u);
  for (int i = 0; i < 10000; ++i) {
    t.drop_ref(key(7));
  }
  EXPECT_EQ(count(key(7)), 60000u); // back in the slot
  EXPECT_EQ(t.find(key(7))->psize, 4096u);
}

TEST(ModelDdtTable, KeyKeepsEightyHashBits) {
  // Blocks differing in hash_lo, in the top 16 bits of hash_hi or in LSIZE are distinct;
  // block_key() drops the low 16 bits of hash_hi (the documented collision odds).
  DedupTable t(6);
  const XXH128_hash_t h{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  const BlockKey k = block_key(h, 4096);
  EXPECT_EQ(k.hash_hi, 0xfedc0000u);
  t.add_ref(k, {4096, false, false});
  EXPECT_FALSE(t.find(BlockKey{k.hash_lo ^ 1, k.hash_hi, 4096}));
  EXPECT_FALSE(t.find(BlockKey{k.hash_lo, k.hash_hi ^ 0x00010000u, 4096}));
  EXPECT_FALSE(t.find(BlockKey{k.hash_lo, k.hash_hi, 8192}));
  EXPECT_TRUE(t.find(block_key(XXH128_hash_t{h.low64, h.high64 ^ 0xffffULL << 32}, 4096)));
}

TEST(ModelDdtTable, ConcurrentInsertsAreCounted) {
  DedupTable t(6);
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&] {
      for (uint64_t i = 1; i <= 20000; ++i) {
        t.add_ref(key(i), {4096, false, false});
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  uint64_t refs = 0;
  t.for_each([&](const TableEntry& e) { refs += e.refcnt; });
  EXPECT_EQ(t.live_entries(), 20000u);
  EXPECT_EQ(refs, 80000u);
}

TEST(ModelDdtStats, BucketIsHighBitMinusOne) {
  EXPECT_EQ(bucket_of(1), 0u);
  EXPECT_EQ(bucket_of(2), 1u);
  EXPECT_EQ(bucket_of(3), 1u);
  EXPECT_EQ(bucket_of(4), 2u);
  EXPECT_EQ(bucket_of(7), 2u);
  EXPECT_EQ(bucket_of(8), 3u);
  EXPECT_EQ(bucket_of(1024), 10u);
  EXPECT_EQ(bucket_of(2047), 10u);
}

// The zfs-fuse output of DESIGN.md's first oracle run: 300000 random bytes twice, "hello",
// three zero records, compression off, recordsize 128K.
DdtHistogram sample_histogram(ModelConfig& config) {
  config.profile = &zfs_fuse_profile();
  config.compression = {Compression::off, 0};
  DedupTable t(1);
  for (uint64_t i = 1; i <= 3; ++i) {
    t.add_ref(key(i), {131072, false, false});
    t.add_ref(key(i), {131072, false, false});
  }
  for (int i = 0; i < 3; ++i) {
    t.add_ref(key(9), {131072, false, false});
  }
  t.add_ref(key(10, 512), {512, false, false});
  return build_histogram(t, config);
}

TEST(ModelDdtStats, RendersLikeZdb) {
  ModelConfig config;
  const DdtHistogram h = sample_histogram(config);
  EXPECT_EQ(h.unique_entries, 1u);
  EXPECT_EQ(h.duplicate_entries, 4u);
  const std::string expected =
      "\n"
      "bucket              allocated                       referenced          \n"
      "______   ______________________________   ______________________________\n"
      "refcnt   blocks   LSIZE   PSIZE   DSIZE   blocks   LSIZE   PSIZE   DSIZE\n"
      "------   ------   -----   -----   -----   ------   -----   -----   -----\n"
      "     1        1     512     512      4K        1     512     512      4K\n"
      "     2        4    512K    512K    512K        9   1.12M   1.12M   1.12M\n"
      " Total        5    512K    512K    516K       10   1.13M   1.13M   1.13M\n"
      "\n";
  EXPECT_EQ(render_histogram(h, ZdbFormat::onnv), expected);
  EXPECT_EQ(render_ratio_line(h.total),
            "dedup = 2.24, compress = 1.00, copies = 1.00, dedup * compress / copies = 2.23\n\n");
  const std::string full = render_zdb_dd(h, ZdbFormat::onnv, {4096, 4096});
  EXPECT_NE(full.find("DDT-sha256-zap-duplicate: 4 entries, size 0 on disk, 1024 in core\n"),
            std::string::npos);
  EXPECT_NE(full.find("DDT histogram (aggregated over all DDTs):\n\nbucket"), std::string::npos);
  // OpenZFS prints sizes with zfs_nicebytes().
  EXPECT_NE(render_histogram(h, ZdbFormat::openzfs_fdt).find("  512B"), std::string::npos);
}

TEST(ModelDdtStats, EmptyTable) {
  ModelConfig config;
  DedupTable t(1);
  const DdtHistogram h = build_histogram(t, config);
  EXPECT_EQ(render_zdb_dd(h, ZdbFormat::onnv, {}), "All DDTs are empty\n");
  EXPECT_EQ(render_ratio_line(h.total), "");
}

TEST(ModelDdtStats, JsonFollowsTheContract) {
  ModelConfig config;
  const DdtHistogram h = sample_histogram(config);
  const nlohmann::json j = ddt_to_json(h, {1000, 1600, 800});
  EXPECT_EQ(j["entries"], 5);
  ASSERT_EQ(j["histogram"].size(), 2u);
  EXPECT_EQ(j["histogram"][1]["refcnt_min"], 2);
  EXPECT_EQ(j["histogram"][1]["allocated"]["blocks"], 4);
  EXPECT_EQ(j["histogram"][1]["referenced"]["blocks"], 9);
  EXPECT_EQ(j["histogram"][1]["referenced"]["lsize"], 9 * 131072);
  EXPECT_NEAR(j["dedup_ratio"].get<double>(), 2.2403, 1e-3);
  EXPECT_EQ(j["ram_bytes"]["legacy"], 1000);
  EXPECT_EQ(j["ram_bytes"]["fast_dedup"], 800);
}

TEST(ModelDdtRam, FatZapSplitsLeavesByPrefix) {
  std::vector<uint64_t> none;
  EXPECT_EQ(fat_zap_blocks(none, 12, 5), 0u);
  std::vector<uint64_t> few{1, 2, 3};
  EXPECT_EQ(fat_zap_blocks(few, 12, 5), 2u); // header + one leaf
  // 4 KiB leaf: (4096 - 2 * 128) / 24 - 2 = 158 chunks: 31 entries of 5 chunks.
  std::mt19937_64 rng(1);
  std::vector<uint64_t> many(10000);
  for (auto& h : many) {
    h = rng();
  }
  const uint64_t blocks = fat_zap_blocks(many, 12, 5);
  // Extendible hashing fills leaves to ~69% on average: ~10000 / (31 * 0.69) leaves.
  EXPECT_GT(blocks, 400u);
  EXPECT_LT(blocks, 560u);
  EXPECT_GE(ddt_entry_chunks(legacy_zap_layout(), 131072, 1), 4u);
}

TEST(ModelDdtRam, LegacyEntryTakesFourChunksLikeZfsFuse) {
  // zdb -dddd of zfs-fuse DDT ZAPs (unique 4 KiB blocks, one copy): every entry is one entry
  // chunk, a 40-byte key (2 chunks; zdb's stats print 3 in all, counting the key as 5
  // integers) and a ZLE-packed phys of at most 21 bytes.
  EXPECT_EQ(ddt_entry_chunks(legacy_zap_layout(), 4096, 1), 4u);
}

TEST(ModelDdtRam, ZdbFillCountPerProfile) {
  // zfs-fuse counts only dn_blkptr[0]: measured (ZAP blocks -> fill) 2 -> 1, 6 -> 6,
  // 13 -> 13, 72 -> 32 (zdb -dddd %full 50.00, 100.00, 100.00, 44.44).
  const auto first = ZdbFillRule::first_blkptr;
  EXPECT_EQ(zdb_fill_count(0, 12, first), 0u);
  EXPECT_EQ(zdb_fill_count(2, 12, first), 1u);
  EXPECT_EQ(zdb_fill_count(3, 12, first), 1u);  // still three direct pointers
  EXPECT_EQ(zdb_fill_count(4, 12, first), 4u);  // one L1 above
  EXPECT_EQ(zdb_fill_count(6, 12, first), 6u);
  EXPECT_EQ(zdb_fill_count(13, 12, first), 13u);
  EXPECT_EQ(zdb_fill_count(72, 12, first), 32u);
  EXPECT_EQ(zdb_fill_count(96, 12, first), 32u);
  EXPECT_EQ(zdb_fill_count(97, 12, first), 97u); // two levels: one L2 holds 1024
  EXPECT_EQ(zdb_fill_count(3000, 12, first), 1024u);
  EXPECT_EQ(zdb_fill_count(5000, 12, first), 5000u); // three levels: one L3 holds 32768
  EXPECT_EQ(zdb_fill_count(72, 12, ZdbFillRule::all_blkptrs), 72u);
  EXPECT_EQ(zdb_fill_rule(zfs_fuse_profile()), first);
  EXPECT_EQ(zdb_fill_rule(default_profile()), ZdbFillRule::all_blkptrs);
}

TEST(ModelDdtRam, InCoreFollowsZdbWhileRamCountsEveryBlock) {
  // 2047 unique 4 KiB blocks: zfs-fuse's zdb printed "2047 entries, ..., 64 in core"
  // (32 blocks of a 72-block ZAP); the RAM figure keeps every block.
  DedupTable t(4);
  for (uint64_t i = 1; i <= 2047; ++i) {
    t.add_ref(key(i, 4096), {4096, false, false});
  }
  ModelConfig c;
  c.profile = &zfs_fuse_profile();
  c.compression = {Compression::off, 0};
  const DdtRamEstimate r = estimate_ddt_ram(t, c);
  EXPECT_EQ(r.zdb_objects.unique_in_core / 2047, 64u);
  EXPECT_EQ(r.zdb_objects.duplicate_in_core, 0u);
  // ~2047 / (39 x 0.7) leaves: zfs-fuse had 71 leaves + the header.
  EXPECT_GT(r.figures.legacy, 60u * 4096);
  EXPECT_LT(r.figures.legacy, 90u * 4096);
}

} // namespace
} // namespace wsd::model
