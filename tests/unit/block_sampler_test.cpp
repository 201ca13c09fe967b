// Content-hash sampling: deterministic by content, the kept fraction matches the rate, the
// scaled estimate of a known population lies within the printed bound, and the model keeps
// every copy of a sampled block (so refcounts stay exact).

#include "model/block_sampler.hpp"
#include "model/zfs_model.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace wsd::model {
namespace {

BlockKey key(uint64_t lo) {
  return BlockKey{lo, static_cast<uint32_t>(lo >> 17), 4096};
}

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

TEST(BlockSampler, RateOneKeepsAll) {
  BlockSampler s(1.0);
  EXPECT_TRUE(s.keeps_all());
  for (uint64_t i = 0; i < 1000; ++i) EXPECT_TRUE(s.keep(key(mix(i))));
  EXPECT_THROW(BlockSampler(0.0), std::invalid_argument);
  EXPECT_THROW(BlockSampler(1.5), std::invalid_argument);
}

TEST(BlockSampler, KeptFractionMatchesRateAndIsDeterministic) {
  BlockSampler s(0.05);
  EXPECT_FALSE(s.keeps_all());
  uint64_t kept = 0;
  const uint64_t n = 400000;
  for (uint64_t i = 0; i < n; ++i) {
    const bool k = s.keep(key(mix(i)));
    EXPECT_EQ(k, s.keep(key(mix(i))));
    kept += k ? 1 : 0;
  }
  const double expect = s.rate() * n;
  EXPECT_NEAR(static_cast<double>(kept), expect, 4 * std::sqrt(expect));
}

TEST(SampledSum, EstimateWithinBound) {
  // A population of distinct blocks with sizes 512..131072: the sampled estimate of the
  // total lies within two standard errors in most trials (~95 %).
  std::mt19937_64 rng(3);
  std::vector<std::pair<BlockKey, double>> pop;
  double truth = 0;
  for (uint64_t i = 0; i < 200000; ++i) {
    const double size = 512.0 * static_cast<double>(1 + rng() % 256);
    pop.emplace_back(key(rng()), size);
    truth += size;
  }
  int inside = 0;
  const int trials = 40;
  for (int t = 0; t < trials; ++t) {
    BlockSampler s(0.02);
    SampledSum sum;
    const uint64_t salt = mix(static_cast<uint64_t>(t) + 1);
    for (const auto& [k, size] : pop) {
      BlockKey salted = k;
      salted.hash_lo ^= salt; // a fresh sample per trial
      if (s.keep(salted)) sum.add(size);
    }
    if (std::abs(sum.estimate(s.rate()) - truth) <= sum.bound(s.rate())) ++inside;
    EXPECT_GT(sum.bound(s.rate()), 0.0);
  }
  EXPECT_GE(inside, 32); // 95 % of 40 = 38; allow for chance
}

TEST(SampledSum, CertainPartHasNoVariance) {
  SampledSum s;
  s.add_certain(1000);
  EXPECT_DOUBLE_EQ(s.estimate(0.1), 1000);
  EXPECT_DOUBLE_EQ(s.bound(0.1), 0);
  s.add(10);
  EXPECT_DOUBLE_EQ(s.estimate(0.1), 1100);
}

TEST(ZfsModelSampling, CopiesOfASampledBlockAreAllKept) {
  ModelOptions o;
  o.compression = {Compression::off, 0};
  o.sample_rate = 0.25;
  ZfsModel model(o);
  auto feeder = model.make_feeder();
  // 400 distinct 4 KiB files, each three times.
  for (int copy = 0; copy < 3; ++copy) {
    for (uint64_t i = 0; i < 400; ++i) {
      const std::string data = test::random_bytes(4096, i + 1);
      feeder->add_file({reinterpret_cast<const std::byte*>(data.data()), data.size()});
    }
  }
  const DdtHistogram h = model.histogram(0);
  EXPECT_EQ(h.unique_entries, 0u);
  EXPECT_GT(h.duplicate_entries, 50u);
  EXPECT_LT(h.duplicate_entries, 150u);
  EXPECT_EQ(h.total.ref_blocks, 3 * h.total.blocks);
  EXPECT_EQ(model.counters(0).sampled_out + model.counters(0).ddt_refs, 1200u);
}

TEST(ZfsModelSampling, ZeroBlocksAreAlwaysKept) {
  ModelOptions o;
  o.profile = find_profile("openzfs-2.2");
  o.compression = {Compression::off, 0};
  o.sample_rate = 0.0001;
  ZfsModel model(o);
  auto feeder = model.make_feeder();
  const std::vector<std::byte> zeros(8192);
  feeder->add_file(zeros);
  feeder->add_file(zeros);
  const DdtHistogram h = model.histogram(0);
  EXPECT_EQ(h.duplicate_entries, 1u);
  EXPECT_EQ(h.total.ref_blocks, 2u);
  bool zero_key = false;
  model.table(0).for_each([&](const TableEntry& e) { zero_key = is_zero_block_key(e.key); });
  EXPECT_TRUE(zero_key);
}

} // namespace
} // namespace wsd::model
