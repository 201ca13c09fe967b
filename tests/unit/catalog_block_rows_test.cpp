// The catalog rows of `estimate`: a file's recorded blocks, packed, unpacked and replayed,
// give the model exactly what reading it gave.

#include "catalog/block_rows.hpp"
#include "model/zfs_model.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cstring>

using namespace wsd;
using model::BlockRecord;

namespace {

std::span<const std::byte> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// A mix of what trees hold: duplicates, compressible text, zero runs, tiny files, tails.
std::vector<std::string> sample_files() {
  std::vector<std::string> files;
  const std::string random_a = test::random_bytes(300'000, 1);
  files.push_back(random_a);
  files.push_back(random_a); // a duplicate
  std::string text;
  while (text.size() < 200'000) text += "const x = require('left-pad'); // padding\n";
  files.push_back(text);
  files.push_back(std::string(262'144, '\0'));                   // all zeros
  files.push_back(random_a.substr(0, 131072) + std::string(131072, '\0') + "tail");
  files.push_back("tiny");                                      // embedded under 2.3
  files.push_back(std::string(100, 'a'));
  files.push_back(test::random_bytes(5000, 2));
  return files;
}

struct Fed {
  std::vector<std::vector<std::vector<BlockRecord>>> records; // file, lane, blocks
};

Fed feed_all(model::ZfsModel& m, const std::vector<std::string>& files) {
  Fed fed;
  auto feeder = m.make_feeder();
  feeder->set_recording(true);
  for (const std::string& f : files) {
    feeder->add_file(bytes_of(f));
    auto& lanes = fed.records.emplace_back();
    for (size_t lane = 0; lane < m.lanes(); ++lane) lanes.push_back(feeder->recorded(lane));
  }
  return fed;
}

model::ModelOptions options(double sample_rate = 1.0) {
  model::ModelOptions o;
  o.recordsizes = {4096, 131072};
  o.compression = {model::Compression::lz4, 0};
  o.sample_rate = sample_rate;
  return o;
}

void expect_same_histograms(const model::ZfsModel& a, const model::ZfsModel& b) {
  for (size_t lane = 0; lane < a.lanes(); ++lane) {
    const model::DdtHistogram ha = a.histogram(lane);
    const model::DdtHistogram hb = b.histogram(lane);
    EXPECT_EQ(model::render_histogram(ha, model::ZdbFormat{}), model::render_histogram(hb, model::ZdbFormat{}));
    EXPECT_EQ(ha.entries(), hb.entries());
    EXPECT_EQ(ha.total.ref_psize, hb.total.ref_psize);
    EXPECT_EQ(ha.off_table.embedded_refs, hb.off_table.embedded_refs);
    const model::ModelCounters ca = a.counters(lane);
    const model::ModelCounters cb = b.counters(lane);
    EXPECT_EQ(ca.blocks, cb.blocks);
    EXPECT_EQ(ca.zero_holes, cb.zero_holes);
    EXPECT_EQ(ca.sparse_holes, cb.sparse_holes);
    EXPECT_EQ(ca.embedded_refs, cb.embedded_refs);
    EXPECT_EQ(ca.ddt_refs, cb.ddt_refs);
    EXPECT_EQ(ca.sampled_out, cb.sampled_out);
    EXPECT_EQ(ca.logical_bytes, cb.logical_bytes);
  }
}

} // namespace

TEST(CatalogBlockRows, ReplayingEncodedRowsGivesTheSameModel) {
  const auto files = sample_files();
  model::ZfsModel read(options());
  const Fed fed = feed_all(read, files);

  model::ZfsModel replayed(options());
  auto feeder = replayed.make_feeder();
  for (size_t i = 0; i < files.size(); ++i) {
    feeder->begin_file(files[i].size());
    for (size_t lane = 0; lane < replayed.lanes(); ++lane) {
      const std::string row = catalog::encode_blocks(fed.records[i][lane]);
      const auto blocks = catalog::decode_blocks(
          row, catalog::block_count(files[i].size(), replayed.config(lane).recordsize));
      ASSERT_TRUE(blocks.has_value()) << "file " << i << " lane " << lane;
      for (const BlockRecord& b : *blocks) ASSERT_TRUE(feeder->replay_block(lane, b));
    }
    feeder->end_file(model::FileOutcome::commit);
  }
  expect_same_histograms(read, replayed);
  // The zeros and the 100-byte file really exercise the hole and embedded paths.
  EXPECT_GT(read.counters(1).zero_holes, 0u);
  EXPECT_GT(read.counters(1).embedded_refs, 0u);
}

TEST(CatalogBlockRows, RowsAreCompact) {
  const auto files = sample_files();
  model::ZfsModel m(options());
  const Fed fed = feed_all(m, files);
  // 300000 bytes at 128 KiB records: 3 blocks, each a tag (<= 4 bytes) and 12 hash bytes.
  const std::string row = catalog::encode_blocks(fed.records[0][1]);
  EXPECT_LE(row.size(), 1 + 3 * 16u);
  // An all-zero 256 KiB file: two one-byte tags.
  EXPECT_EQ(catalog::encode_blocks(fed.records[3][1]).size(), 3u);
}

TEST(CatalogBlockRows, SampledRowsCannotStandInForAFullRun) {
  const auto files = sample_files();
  model::ZfsModel sampled(options(0.25));
  const Fed fed = feed_all(sampled, files);
  uint64_t unknown = 0;
  for (const auto& lanes : fed.records)
    for (const auto& lane : lanes)
      for (const BlockRecord& b : lane) unknown += b.kind == BlockRecord::Kind::data && !b.info_known;
  ASSERT_GT(unknown, 0u) << "the sample left some block out";

  // Replayed into the same sampled model: identical.
  model::ZfsModel again(options(0.25));
  auto feeder = again.make_feeder();
  for (size_t i = 0; i < files.size(); ++i) {
    feeder->begin_file(files[i].size());
    for (size_t lane = 0; lane < again.lanes(); ++lane)
      for (const BlockRecord& b : fed.records[i][lane]) ASSERT_TRUE(feeder->replay_block(lane, b));
    feeder->end_file(model::FileOutcome::commit);
  }
  expect_same_histograms(sampled, again);

  // Into a full model: some file is refused (and discarding it leaves nothing behind).
  model::ZfsModel full(options());
  auto full_feeder = full.make_feeder();
  size_t refused = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    full_feeder->begin_file(files[i].size());
    bool ok = true;
    for (size_t lane = 0; lane < full.lanes() && ok; ++lane)
      for (const BlockRecord& b : fed.records[i][lane])
        if (!(ok = full_feeder->replay_block(lane, b))) break;
    full_feeder->end_file(ok ? model::FileOutcome::commit : model::FileOutcome::discard);
    refused += ok ? 0 : 1;
  }
  EXPECT_GT(refused, 0u);
}

TEST(CatalogBlockRows, MalformedRowsAreRejected) {
  std::vector<BlockRecord> blocks(2);
  blocks[0].kind = BlockRecord::Kind::data;
  blocks[0].hash_lo = 0x0123456789abcdefULL;
  blocks[0].hash_hi = 0xdeadbeef;
  blocks[0].info_known = true;
  blocks[0].info = {4096, false, true};
  blocks[1].kind = BlockRecord::Kind::zero;
  const std::string row = catalog::encode_blocks(blocks);
  const auto back = catalog::decode_blocks(row, 2);
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)[0].hash_lo, blocks[0].hash_lo);
  EXPECT_EQ((*back)[0].hash_hi, blocks[0].hash_hi);
  EXPECT_EQ((*back)[0].info.psize, 4096u);
  EXPECT_TRUE((*back)[0].info.compressed);
  EXPECT_FALSE((*back)[0].info.embedded);
  EXPECT_EQ((*back)[1].kind, BlockRecord::Kind::zero);

  EXPECT_FALSE(catalog::decode_blocks(row, 3));                         // wrong block count
  EXPECT_FALSE(catalog::decode_blocks(row.substr(0, row.size() - 1), 2)); // truncated
  EXPECT_FALSE(catalog::decode_blocks(row + "x", 2));                     // trailing bytes
  EXPECT_FALSE(catalog::decode_blocks("", 0));
  EXPECT_FALSE(catalog::decode_blocks("\xff\xff\xff", 1));

  const std::vector<catalog::ChunkRecord> chunks{{1, 2, 100}, {3, 4, 50}};
  const std::string c = catalog::encode_chunks(chunks);
  ASSERT_TRUE(catalog::decode_chunks(c, 150));
  EXPECT_FALSE(catalog::decode_chunks(c, 151));
  EXPECT_FALSE(catalog::decode_chunks(c.substr(0, 5), 150));
}

TEST(CatalogBlockRows, ParamsNameEverythingTheFatesDependOn) {
  model::ModelConfig c;
  c.recordsize = 131072;
  c.ashift = 12;
  c.compression = {model::Compression::lz4, 0};
  const std::string base = catalog::zfs_block_params(c, model::HoleMode::keep);
  EXPECT_NE(base, catalog::zfs_block_params(c, model::HoleMode::fill));
  model::ModelConfig other = c;
  other.ashift = 9;
  EXPECT_NE(base, catalog::zfs_block_params(other, model::HoleMode::keep));
  other = c;
  other.compression = {model::Compression::off, 0};
  EXPECT_NE(base, catalog::zfs_block_params(other, model::HoleMode::keep));
  other = c;
  other.recordsize = 4096;
  EXPECT_NE(base, catalog::zfs_block_params(other, model::HoleMode::keep));
  other = c;
  other.copies = 2; // accounting only: the same rows serve
  EXPECT_EQ(base, catalog::zfs_block_params(other, model::HoleMode::keep));
}
