// FastCDC: cut points are content-defined (shift-resistant), respect min/avg/max, do not
// depend on how the stream is split into calls, and the chunk model counts distinct chunks.

#include "estimate/chunk_model.hpp"
#include "estimate/fastcdc.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace wsd::estimate {
namespace {

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Chunk lengths of `data` fed in pieces of `piece` bytes.
std::vector<uint64_t> chunk_lengths(const std::string& data, uint32_t avg, size_t piece) {
  FastCdc cdc(CdcParams::for_average(avg));
  std::vector<uint64_t> out;
  uint64_t current = 0;
  auto bytes = as_bytes(data);
  for (size_t off = 0; off < bytes.size(); off += piece) {
    auto rest = bytes.subspan(off, std::min(piece, bytes.size() - off));
    while (!rest.empty()) {
      bool cut = false;
      const size_t take = cdc.scan(rest, &cut);
      current += take;
      if (cut) {
        out.push_back(current);
        current = 0;
      }
      rest = rest.subspan(take);
    }
  }
  if (current > 0) out.push_back(current);
  return out;
}

TEST(FastCdc, ParamsFollowTheAverage) {
  const CdcParams p = CdcParams::for_average(16 << 10);
  EXPECT_EQ(p.min_size, 4u << 10);
  EXPECT_EQ(p.max_size, 128u << 10);
  EXPECT_EQ(std::popcount(p.mask_small), 15);
  EXPECT_EQ(std::popcount(p.mask_large), 13);
  EXPECT_THROW(CdcParams::for_average(3000), std::invalid_argument);
}

TEST(FastCdc, GearTableIsFixedAndDistinct) {
  const auto& g = gear_table();
  std::set<uint64_t> distinct(g.begin(), g.end());
  EXPECT_EQ(distinct.size(), 256u);
  // The seed is fixed: boundaries are the same on every host and run.
  EXPECT_EQ(g[0], gear_table()[0]);
}

TEST(FastCdc, SizesWithinBoundsAndAverageNearTarget) {
  const std::string data = test::random_bytes(8 << 20, 42);
  for (uint32_t avg : {8u << 10, 16u << 10, 64u << 10}) {
    const auto lens = chunk_lengths(data, avg, 1 << 20);
    uint64_t sum = 0;
    for (size_t i = 0; i < lens.size(); ++i) {
      sum += lens[i];
      EXPECT_LE(lens[i], uint64_t{avg} * 8);
      if (i + 1 < lens.size()) {
        EXPECT_GE(lens[i], avg / 4);
      }
    }
    EXPECT_EQ(sum, data.size());
    const double mean = static_cast<double>(sum) / static_cast<double>(lens.size());
    // Normalized chunking keeps the mean near the target (measured ~1.0-1.3x).
    EXPECT_GT(mean, 0.7 * avg) << avg;
    EXPECT_LT(mean, 1.6 * avg) << avg;
  }
}

TEST(FastCdc, SplittingTheStreamDoesNotMoveCuts) {
  const std::string data = test::random_bytes(1 << 20, 7);
  const auto whole = chunk_lengths(data, 8 << 10, data.size());
  EXPECT_EQ(chunk_lengths(data, 8 << 10, 1), whole);
  EXPECT_EQ(chunk_lengths(data, 8 << 10, 4093), whole);
}

TEST(FastCdc, InsertionOnlyDisturbsNearbyChunks) {
  const std::string data = test::random_bytes(2 << 20, 9);
  std::string shifted = data;
  shifted.insert(100000, "inserted bytes shift everything after them");
  auto a = chunk_lengths(data, 8 << 10, data.size());
  auto b = chunk_lengths(shifted, 8 << 10, shifted.size());
  // Chunk ends as offsets in the original data (ends after the insertion moved back).
  const uint64_t ins = shifted.size() - data.size();
  auto ends = [&](const std::vector<uint64_t>& lens, bool is_shifted) {
    std::set<uint64_t> s;
    uint64_t off = 0;
    for (uint64_t l : lens) {
      off += l;
      s.insert(is_shifted && off > 100000 ? off - ins : off);
    }
    return s;
  };
  const auto ea = ends(a, false);
  const auto eb = ends(b, true);
  size_t common = 0;
  for (uint64_t e : ea) common += eb.count(e);
  EXPECT_GE(common + 3, ea.size()); // all but the chunks around the insertion resync
}

TEST(ChunkModel, CountsDistinctChunks) {
  ChunkModel model({8u << 10});
  ChunkFeeder feeder(model);
  const std::string a = test::random_bytes(1 << 20, 1);
  for (int copy = 0; copy < 3; ++copy) {
    feeder.begin_file();
    feeder.data(as_bytes(a));
    feeder.end_file(true);
  }
  // A failed read counts nothing.
  feeder.begin_file();
  feeder.data(as_bytes(test::random_bytes(100000, 5)));
  feeder.end_file(false);
  const ChunkTotals t = model.index(0).totals();
  EXPECT_EQ(t.bytes, 3u * a.size());
  EXPECT_EQ(t.unique_bytes, a.size());
  EXPECT_EQ(t.chunks, 3 * t.unique_chunks);
}

TEST(ChunkModel, ZerosEqualZeroData) {
  ChunkModel model({8u << 10});
  ChunkFeeder feeder(model);
  feeder.begin_file();
  feeder.zeros(300000);
  feeder.end_file(true);
  feeder.begin_file();
  const std::string z(300000, '\0');
  feeder.data(as_bytes(z));
  feeder.end_file(true);
  const ChunkTotals t = model.index(0).totals();
  EXPECT_EQ(t.bytes, 600000u);
  EXPECT_LE(t.unique_bytes, 300000u); // the second file adds nothing
}

} // namespace
} // namespace wsd::estimate
