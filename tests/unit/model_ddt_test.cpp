// The DDT table, histogram bucketing, zdb rendering and the JSON object.
#include "model/ddt_ram.hpp"
#include "model/ddt_stats.hpp"
#include "model/ddt_table.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace wsd::model {
namespace {

BlockKey key(uint64_t i, uint32_t lsize = 131072) {
  return BlockKey{i * 0x9e3779b97f4a7c15ULL, static_cast<uint32_t>(i * 0x85ebca6bU), lsize};
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
  EXPECT_LT(static_cast<double>(t.index_bytes()) / static_cast<double>(n), 40.0);
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

} // namespace
} // namespace wsd::model
