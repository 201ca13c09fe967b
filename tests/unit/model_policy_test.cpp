// Profiles and the write policy: thresholds (d_len), PSIZE rounding, zero blocks and small
// blocks per release, hand-computed from the OpenZFS functions named in write_policy.cpp.
#include "model/write_policy.hpp"
#include "model/zfs_profile.hpp"

#include <gtest/gtest.h>

namespace wsd::model {
namespace {

const ZfsProfile& profile(const char* name) {
  const ZfsProfile* p = find_profile(name);
  EXPECT_NE(p, nullptr) << name;
  return *p;
}

ModelConfig config(const char* name, Compression algo, uint32_t ashift = 12) {
  ModelConfig c;
  c.profile = &profile(name);
  c.ashift = ashift;
  c.compression = {algo, algo == Compression::gzip ? 6 : 0};
  return c;
}

TEST(ModelProfile, NamesAndReleases) {
  EXPECT_EQ(default_profile().name, "openzfs-2.3.3");
  EXPECT_EQ(find_profile("2.1.11")->name, "openzfs-2.2");
  EXPECT_EQ(find_profile("2.2.7")->name, "openzfs-2.2");
  EXPECT_EQ(find_profile("2.3.0")->name, "openzfs-2.3.0");
  EXPECT_EQ(find_profile("2.3.2")->name, "openzfs-2.3.0");
  EXPECT_EQ(find_profile("2.3.3")->name, "openzfs-2.3.3");
  EXPECT_EQ(find_profile("2.4.4")->name, "openzfs-2.3.3");
  EXPECT_EQ(find_profile("openzfs-2.4")->name, "openzfs-2.3.3");
  EXPECT_EQ(find_profile("zfs-fuse")->name, "zfs-fuse");
  EXPECT_EQ(find_profile("1.9"), nullptr);
  EXPECT_EQ(find_profile("nonsense"), nullptr);
}

TEST(ModelProfile, CompressionParsing) {
  EXPECT_EQ(parse_compression("gzip"), (CompressionSpec{Compression::gzip, 6}));
  EXPECT_EQ(parse_compression("gzip-1"), (CompressionSpec{Compression::gzip, 1}));
  EXPECT_EQ(parse_compression("zstd"), (CompressionSpec{Compression::zstd, 3}));
  EXPECT_EQ(parse_compression("zstd-19"), (CompressionSpec{Compression::zstd, 19}));
  EXPECT_FALSE(parse_compression("gzip-10"));
  EXPECT_FALSE(parse_compression("on"));
  EXPECT_EQ(to_string(CompressionSpec{Compression::gzip, 6}), "gzip-6");
  EXPECT_EQ(resolve_compression_on(zfs_fuse_profile()).algo, Compression::lzjb);
  EXPECT_EQ(resolve_compression_on(default_profile()).algo, Compression::lz4);
}

TEST(ModelProfile, ZfsFuseRejectsLz4AndZstd) {
  std::string why;
  EXPECT_FALSE(profile_supports(zfs_fuse_profile(), {Compression::lz4, 0}, &why));
  EXPECT_NE(why.find("lz4"), std::string::npos);
  EXPECT_FALSE(profile_supports(zfs_fuse_profile(), {Compression::zstd, 3}, nullptr));
  EXPECT_TRUE(profile_supports(zfs_fuse_profile(), {Compression::gzip, 6}, nullptr));
  ModelConfig c = config("zfs-fuse", Compression::lz4);
  EXPECT_TRUE(validate(c).has_value());
  c.compression = {Compression::lzjb, 0};
  EXPECT_FALSE(validate(c).has_value());
  c.recordsize = 3000;
  EXPECT_TRUE(validate(c).has_value());
}

TEST(ModelThreshold, ZfsFuseAlignsSevenEighthsTo512) {
  const ZfsProfile& p = zfs_fuse_profile();
  EXPECT_EQ(compression_max_size(p, Compression::lzjb, 12, 512), 0u); // 448 -> 0: never
  EXPECT_EQ(compression_max_size(p, Compression::lzjb, 12, 1024), 512u);
  EXPECT_EQ(compression_max_size(p, Compression::lzjb, 12, 4096), 3584u);
  EXPECT_EQ(compression_max_size(p, Compression::lzjb, 12, 5120), 4096u); // 4480 -> 4096
  EXPECT_EQ(compression_max_size(p, Compression::zle, 12, 131072), 114688u);
}

TEST(ModelThreshold, OpenZfs22KeepsPlainSevenEighths) {
  const ZfsProfile& p = profile("openzfs-2.2");
  EXPECT_EQ(compression_max_size(p, Compression::lz4, 12, 512), 448u);
  EXPECT_EQ(compression_max_size(p, Compression::lz4, 12, 5120), 4480u);
  EXPECT_EQ(compression_max_size(p, Compression::lz4, 12, 131072), 114688u);
}

TEST(ModelThreshold, OpenZfs23FloorsToSectorWith112ByteFloor) {
  const ZfsProfile& p = profile("openzfs-2.3.0");
  EXPECT_EQ(compression_max_size(p, Compression::lz4, 12, 4096), 112u); // 3584 -> 0 < 4096
  EXPECT_EQ(compression_max_size(p, Compression::lz4, 12, 5120), 4096u);
  EXPECT_EQ(compression_max_size(p, Compression::lz4, 12, 8192), 4096u); // 7168 -> 4096
  EXPECT_EQ(compression_max_size(p, Compression::lz4, 12, 12288), 8192u);
  EXPECT_EQ(compression_max_size(p, Compression::lz4, 12, 131072), 114688u);
  EXPECT_EQ(compression_max_size(p, Compression::lz4, 9, 4096), 3584u);
  EXPECT_EQ(compression_max_size(p, Compression::lz4, 9, 512), 112u); // 448 -> 0 < 512
  // ZLE is exempt: "ZLE can't use exactly d_len bytes".
  EXPECT_EQ(compression_max_size(p, Compression::zle, 12, 4096), 3584u);
}

TEST(ModelRounding, ZfsFuseRoundsPsizeTo512) {
  const WritePolicy w(config("zfs-fuse", Compression::lzjb));
  EXPECT_EQ(w.from_compressed_length(4096, 100).psize, 512u);
  EXPECT_EQ(w.from_compressed_length(4096, 3584).psize, 3584u);
  EXPECT_TRUE(w.from_compressed_length(4096, 3584).compressed);
  EXPECT_EQ(w.from_compressed_length(4096, 4096).psize, 4096u); // did not fit
  EXPECT_FALSE(w.from_compressed_length(4096, 4096).compressed);
  EXPECT_EQ(w.from_compressed_length(131072, 70000).psize, 70144u);
  EXPECT_EQ(dsize_of(w.config(), 70144), 73728u); // roundup to 4K
}

TEST(ModelRounding, OpenZfsRoundsToMinAllocAndGivesUpAtLsize) {
  const WritePolicy w(config("openzfs-2.2", Compression::lz4));
  EXPECT_EQ(w.from_compressed_length(8192, 4096).psize, 4096u);
  EXPECT_TRUE(w.from_compressed_length(8192, 4096).compressed);
  const PhysicalBlock over = w.from_compressed_length(8192, 4097); // rounds to 8192
  EXPECT_EQ(over.psize, 8192u);
  EXPECT_FALSE(over.compressed);
  const PhysicalBlock small = w.from_compressed_length(4096, 3000); // 4096 >= lsize
  EXPECT_EQ(small.psize, 4096u);
  EXPECT_FALSE(small.compressed);
  EXPECT_EQ(w.from_compressed_length(131072, 70000).psize, 73728u);
  const WritePolicy w9(config("openzfs-2.2", Compression::lz4, 9));
  EXPECT_EQ(w9.from_compressed_length(4096, 3000).psize, 3072u);
}

TEST(ModelSmallBlocks, EmbeddedOnlyFrom233) {
  for (const char* name : {"zfs-fuse", "openzfs-2.2", "openzfs-2.3.0"}) {
    const WritePolicy w(config(name, Compression::gzip));
    EXPECT_EQ(w.from_compressed_length(8192, 100).fate, BlockFate::stored) << name;
  }
  const WritePolicy w(config("openzfs-2.3.3", Compression::gzip));
  EXPECT_EQ(w.from_compressed_length(8192, 112).fate, BlockFate::embedded);
  EXPECT_EQ(w.from_compressed_length(8192, 112).psize, 112u);
  EXPECT_EQ(w.from_compressed_length(8192, 113).fate, BlockFate::stored);
  EXPECT_EQ(w.from_compressed_length(8192, 113).psize, 4096u);
  EXPECT_EQ(w.from_compressed_length(512, 100).fate, BlockFate::embedded);
}

TEST(ModelZeroBlocks, PerProfileAndCompression) {
  for (const char* name : {"zfs-fuse", "openzfs-2.2", "openzfs-2.3.0", "openzfs-2.3.3"}) {
    EXPECT_EQ(WritePolicy(config(name, Compression::zle)).zero_block(131072).fate, BlockFate::hole)
        << name;
  }
  for (const char* name : {"zfs-fuse", "openzfs-2.2", "openzfs-2.3.0"}) {
    const PhysicalBlock b = WritePolicy(config(name, Compression::off)).zero_block(131072);
    EXPECT_EQ(b.fate, BlockFate::stored) << name;
    EXPECT_EQ(b.psize, 131072u);
  }
  EXPECT_EQ(WritePolicy(config("openzfs-2.3.3", Compression::off)).zero_block(131072).fate,
            BlockFate::hole);
}

TEST(ModelCompressors, GzipAndZleHonourTheThreshold) {
  std::vector<std::byte> block(4096, std::byte{'a'});
  const WritePolicy fuse(config("zfs-fuse", Compression::gzip));
  BlockCompressor gz({Compression::gzip, 6});
  const PhysicalBlock b = fuse.data_block(block, gz);
  EXPECT_EQ(b.psize, 512u);
  EXPECT_TRUE(b.compressed);
  const WritePolicy new_zfs(config("openzfs-2.3.3", Compression::gzip));
  EXPECT_EQ(new_zfs.data_block(block, gz).fate, BlockFate::embedded);
  // A 512-byte block is never compressed by zfs-fuse (d_len 0).
  std::vector<std::byte> tiny(512, std::byte{'a'});
  EXPECT_FALSE(fuse.data_block(tiny, gz).compressed);
}

TEST(ModelCompressors, FramingHeadersCount) {
  std::vector<std::byte> block(131072, std::byte{'q'});
  BlockCompressor lz4({Compression::lz4, 0});
  BlockCompressor zstd({Compression::zstd, 3});
  const size_t l = lz4.compress(block, 114688);
  const size_t z = zstd.compress(block, 114688);
  EXPECT_GT(l, k_lz4_header);
  EXPECT_LT(l, 1000u);
  EXPECT_GT(z, k_zstd_header);
  EXPECT_LT(z, 1000u);
  // Did not fit: the answer is s_len.
  EXPECT_EQ(lz4.compress(block, 4), block.size());
}

} // namespace
} // namespace wsd::model
