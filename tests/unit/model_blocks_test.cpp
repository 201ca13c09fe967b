// The block model: LSIZE of small files, tails, recordsize lists, holes, zero blocks and
// embedded blocks per profile, chunked delivery, rollback of failed files, and the
// ContentConsumer adapter.
#include "model/zfs_model.hpp"

#include "content/file_hasher.hpp"

#include <gtest/gtest.h>
#include <random>
#include <vector>

namespace wsd::model {
namespace {

std::vector<std::byte> random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) {
    b = static_cast<std::byte>(rng() & 0xffu);
  }
  return v;
}

ModelOptions options(const char* profile, Compression algo, std::vector<uint32_t> rs = {131072}) {
  ModelOptions o;
  o.profile = find_profile(profile);
  o.compression = {algo, algo == Compression::gzip ? 6 : 0};
  o.recordsizes = std::move(rs);
  return o;
}

TEST(ModelBlocks, EmptyFileHasNoBlock) {
  ZfsModel m(options("zfs-fuse", Compression::off));
  m.make_feeder()->add_file({});
  EXPECT_EQ(m.histogram(0).entries(), 0u);
  EXPECT_EQ(m.counters(0).files, 1u);
  EXPECT_EQ(m.counters(0).blocks, 0u);
}

TEST(ModelBlocks, SmallFilesRoundUpTo512) {
  ZfsModel m(options("zfs-fuse", Compression::off));
  auto f = m.make_feeder();
  f->add_file(random_bytes(5, 1));
  f->add_file(random_bytes(512, 2));
  f->add_file(random_bytes(513, 3));
  f->add_file(random_bytes(131072, 4));
  const DdtHistogram h = m.histogram(0);
  EXPECT_EQ(h.entries(), 4u);
  EXPECT_EQ(h.total.lsize, 512u + 512u + 1024u + 131072u);
  EXPECT_EQ(h.total.dsize, 4096u * 3 + 131072u);
}

TEST(ModelBlocks, LargeFilesSplitIntoRecordsWithPaddedTail) {
  ZfsModel m(options("zfs-fuse", Compression::off));
  m.make_feeder()->add_file(random_bytes(300000, 5));
  const DdtHistogram h = m.histogram(0);
  EXPECT_EQ(h.entries(), 3u);
  EXPECT_EQ(h.total.lsize, 3u * 131072u);
  ZfsModel m2(options("zfs-fuse", Compression::off));
  m2.make_feeder()->add_file(random_bytes(131073, 6));
  EXPECT_EQ(m2.histogram(0).total.lsize, 2u * 131072u);
}

TEST(ModelBlocks, SameBytesAtDifferentLsizeDoNotDedup) {
  // A 5000-byte file and the same bytes + zeros as the head of a 128K record.
  ZfsModel m(options("zfs-fuse", Compression::off));
  auto f = m.make_feeder();
  auto small = random_bytes(5000, 7);
  std::vector<std::byte> big(small);
  big.resize(200000, std::byte{1});
  f->add_file(small);
  f->add_file(small);
  f->add_file(big);
  const DdtHistogram h = m.histogram(0);
  EXPECT_EQ(h.entries(), 3u); // small (x2), big record 0, big record 1
  EXPECT_EQ(h.duplicate_entries, 1u);
}

TEST(ModelBlocks, RecordsizeListModelsEveryLaneInOnePass) {
  ZfsModel m(options("zfs-fuse", Compression::off, {16384, 131072}));
  m.make_feeder()->add_file(random_bytes(40000, 8));
  const DdtHistogram h16 = m.histogram(0);
  const DdtHistogram h128 = m.histogram(1);
  EXPECT_EQ(h16.entries(), 3u);
  EXPECT_EQ(h16.total.lsize, 3u * 16384u);
  EXPECT_EQ(h128.entries(), 1u);
  EXPECT_EQ(h128.total.lsize, 40448u);
}

TEST(ModelBlocks, ChunkedDeliveryGivesTheSameTable) {
  const auto bytes = random_bytes(1000000, 9);
  ZfsModel whole(options("openzfs-2.3.3", Compression::lz4, {16384, 131072}));
  whole.make_feeder()->add_file(bytes);
  ZfsModel chunked(options("openzfs-2.3.3", Compression::lz4, {16384, 131072}));
  auto f = chunked.make_feeder();
  f->begin_file(bytes.size());
  size_t pos = 0;
  size_t step = 1;
  while (pos < bytes.size()) {
    const size_t n = std::min(step, bytes.size() - pos);
    f->data(pos, {bytes.data() + pos, n});
    pos += n;
    step = step * 3 + 7;
  }
  f->end_file(FileOutcome::commit);
  for (size_t lane = 0; lane < 2; ++lane) {
    EXPECT_EQ(whole.histogram(lane).total, chunked.histogram(lane).total);
  }
}

TEST(ModelBlocks, DuplicateRecordsInsideOneFile) {
  auto rec = random_bytes(131072, 10);
  std::vector<std::byte> file;
  for (int i = 0; i < 5; ++i) {
    file.insert(file.end(), rec.begin(), rec.end());
  }
  ZfsModel m(options("zfs-fuse", Compression::off));
  m.make_feeder()->add_file(file);
  const DdtHistogram h = m.histogram(0);
  EXPECT_EQ(h.entries(), 1u);
  EXPECT_EQ(h.buckets[2].ref_blocks, 5u); // refcnt 5 -> bucket "4"
}

TEST(ModelBlocks, ZeroBlocksPerProfile) {
  const std::vector<std::byte> zeros(3 * 131072, std::byte{0});
  ZfsModel old(options("zfs-fuse", Compression::off));
  old.make_feeder()->add_file(zeros);
  EXPECT_EQ(old.histogram(0).entries(), 1u);
  EXPECT_EQ(old.histogram(0).total.ref_blocks, 3u);
  ZfsModel newer(options("openzfs-2.3.3", Compression::off));
  newer.make_feeder()->add_file(zeros);
  EXPECT_EQ(newer.histogram(0).entries(), 0u);
  EXPECT_EQ(newer.counters(0).zero_holes, 3u);
  ZfsModel compressed(options("zfs-fuse", Compression::lzjb));
  compressed.make_feeder()->add_file(zeros);
  EXPECT_EQ(compressed.histogram(0).entries(), 0u);
}

TEST(ModelBlocks, TinyCompressibleFilesPerProfile) {
  const std::vector<std::byte> tiny(3000, std::byte{'x'});
  for (const char* name : {"zfs-fuse", "openzfs-2.2", "openzfs-2.3.0"}) {
    ZfsModel m(options(name, Compression::gzip));
    m.make_feeder()->add_file(tiny);
    EXPECT_EQ(m.histogram(0).entries(), 1u) << name;
  }
  ZfsModel m(options("openzfs-2.3.3", Compression::gzip));
  m.make_feeder()->add_file(tiny);
  m.make_feeder()->add_file(tiny);
  const DdtHistogram h = m.histogram(0);
  EXPECT_EQ(h.entries(), 0u);
  EXPECT_EQ(h.off_table.embedded_refs, 2u);
  EXPECT_EQ(m.counters(0).embedded_refs, 2u);
}

TEST(ModelBlocks, SparseHolesStayHolesEvenWithCompressionOff) {
  ZfsModel m(options("zfs-fuse", Compression::off));
  auto f = m.make_feeder();
  const auto data = random_bytes(131072, 11);
  f->begin_file(3 * 131072 + 1000);
  f->hole(0, 131072);
  f->data(131072, data);
  f->hole(2 * 131072, 131072 + 1000); // covers the last full record and the tail
  f->end_file(FileOutcome::commit);
  EXPECT_EQ(m.histogram(0).entries(), 1u);
  EXPECT_EQ(m.counters(0).sparse_holes, 3u);
}

TEST(ModelBlocks, FillHolesWritesZeros) {
  ModelOptions o = options("zfs-fuse", Compression::off);
  o.holes = HoleMode::fill;
  ZfsModel m(o);
  auto f = m.make_feeder();
  f->begin_file(2 * 131072);
  f->hole(0, 2 * 131072);
  f->end_file(FileOutcome::commit);
  EXPECT_EQ(m.histogram(0).entries(), 1u); // one zero block, refcnt 2
}

TEST(ModelBlocks, PartialHoleBlockIsData) {
  ZfsModel m(options("zfs-fuse", Compression::off));
  auto f = m.make_feeder();
  const auto data = random_bytes(1000, 12);
  f->begin_file(100000);
  f->data(0, data);
  f->hole(1000, 99000);
  f->end_file(FileOutcome::commit);
  const DdtHistogram h = m.histogram(0);
  EXPECT_EQ(h.entries(), 1u);
  EXPECT_EQ(h.total.lsize, 100352u); // roundup(100000, 512)
}

TEST(ModelBlocks, DiscardWithdrawsReferences) {
  ZfsModel m(options("zfs-fuse", Compression::off));
  auto f = m.make_feeder();
  const auto data = random_bytes(20000, 13);
  f->add_file(data);
  f->begin_file(data.size());
  f->data(0, data);
  f->end_file(FileOutcome::discard);
  const DdtHistogram h = m.histogram(0);
  EXPECT_EQ(h.entries(), 1u);
  EXPECT_EQ(h.total.ref_blocks, 1u);
  EXPECT_EQ(m.counters(0).files, 1u);
}

TEST(ModelBlocks, ConsumerAdapterFeedsTheModel) {
  ZfsModel m(options("zfs-fuse", Compression::lzjb));
  auto factory = zfs_model_consumer_factory(m);
  auto consumer = factory(0);
  const auto data = random_bytes(50000, 14);
  content::FileJob job;
  job.size = data.size();
  consumer->begin(job);
  consumer->data(0, {data.data(), 30000});
  consumer->data(30000, {data.data() + 30000, 20000});
  consumer->end(job, content::ReadResult{});
  content::ReadResult failed;
  failed.outcome = content::ReadOutcome::changed;
  consumer->begin(job);
  consumer->data(0, data);
  consumer->end(job, failed);
  EXPECT_EQ(m.histogram(0).entries(), 1u);
  EXPECT_EQ(m.histogram(0).total.ref_blocks, 1u);
}

// A single-block file's digest from the model is the whole-file XXH3-128 the file hasher
// computes, whether it ends in a non-zero byte (one hash) or in zeros (hashed apart), in one
// delivery or in pieces with holes; files of several blocks get none.
TEST(ModelBlocks, FileDigestOfSingleBlockFiles) {
  ZfsModel m(options("openzfs-2.3.3", Compression::off, {16384, 131072}));
  auto f = m.make_feeder();
  auto check = [&](const std::vector<std::byte>& bytes, const char* what) {
    f->add_file(bytes);
    ASSERT_TRUE(f->file_digest().has_value()) << what;
    EXPECT_EQ(*f->file_digest(), content::hash_bytes(bytes)) << what;
  };
  std::vector<std::byte> v = random_bytes(3000, 11);
  v.back() = std::byte{7};
  check(v, "ends non-zero");
  v.back() = std::byte{0};
  check(v, "ends in a zero");
  std::vector<std::byte> tail_zeros = random_bytes(100000, 12); // one block in the 128K lane only
  std::fill(tail_zeros.begin() + 90000, tail_zeros.end(), std::byte{0});
  check(tail_zeros, "ends in 10000 zeros");
  check(std::vector<std::byte>(5000), "all zeros");
  check(random_bytes(16384, 13), "exactly one 16K record");
  // In pieces, with a hole in the middle.
  std::vector<std::byte> holed = random_bytes(9000, 14);
  std::fill(holed.begin() + 2000, holed.begin() + 6000, std::byte{0});
  f->begin_file(holed.size());
  f->data(0, {holed.data(), 2000});
  f->hole(2000, 4000);
  f->data(6000, {holed.data() + 6000, 3000});
  f->end_file(FileOutcome::commit);
  ASSERT_TRUE(f->file_digest().has_value());
  EXPECT_EQ(*f->file_digest(), content::hash_bytes(holed));
  f->add_file(random_bytes(200000, 15)); // two records even at 128K
  EXPECT_FALSE(f->file_digest().has_value());
  EXPECT_TRUE(f->gives_file_digest(131072));
  EXPECT_FALSE(f->gives_file_digest(131073));
  EXPECT_FALSE(f->gives_file_digest(0));
}

// Equal blocks of one LSIZE share a key whatever zero padding made them equal: a file and
// the same file with a few zero bytes appended (same LSIZE) are one DDT entry, as in ZFS.
TEST(ModelBlocks, TrailingZerosWithinTheLsizeDedup) {
  ZfsModel m(options("openzfs-2.3.3", Compression::off, {16384, 131072}));
  auto f = m.make_feeder();
  std::vector<std::byte> a = random_bytes(3000, 21);
  a.back() = std::byte{9};
  std::vector<std::byte> b = a;
  b.resize(3050); // zeros: same LSIZE 3072
  f->add_file(a);
  f->add_file(b);
  for (size_t lane = 0; lane < 2; ++lane) {
    EXPECT_EQ(m.histogram(lane).entries(), 1u) << lane;
    EXPECT_EQ(m.histogram(lane).total.ref_blocks, 2u) << lane;
  }
}

} // namespace
} // namespace wsd::model
