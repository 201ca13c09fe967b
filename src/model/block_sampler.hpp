#pragma once
// Content-hash-based block sampling for `estimate --sample RATE` (after Harnik et al.,
// "Estimation of deduplication ratios in large data sets", 2012): a block is kept when its
// content hash falls below RATE x 2^32, so every copy of a kept block is kept too and the
// sampled DDT is an exact DDT of a random subset of the distinct blocks. Memory is bounded
// by RATE x unique blocks. A sum S over distinct blocks (entries, DSIZE, referenced DSIZE)
// is estimated as S_sample / RATE; with independent inclusion (probability p) the variance
// of that estimator is sum(x_i^2) (1 - p) / p, estimated from the sample as
// sum_sample(x_i^2) (1 - p) / p^2. The bound printed is two standard errors (~95 %).
//
// The selection bits are the low 32 bits of hash_lo: DedupTable picks shards with hash_hi
// and slots with the top of hash_lo, so the sample stays spread over the whole table.

#include "model/ddt_table.hpp"

#include <cstdint>

namespace wsd::model {

/// Decides which blocks a sampled run keeps.
class BlockSampler {
public:
  /// `rate` in (0, 1]; 1 keeps everything.
  explicit BlockSampler(double rate = 1.0);

  /// The sampling rate.
  double rate() const { return m_rate; }
  /// Whether every block is kept.
  bool keeps_all() const { return m_threshold > UINT32_MAX; }
  /// Whether the block with `key` is in the sample.
  bool keep(const BlockKey& key) const {
    return static_cast<uint32_t>(key.hash_lo) < m_threshold;
  }

private:
  double m_rate;
  uint64_t m_threshold; // keep when the low 32 hash bits are below this (2^32: all)
};

/// Accumulates one sampled sum and its variance estimate.
class SampledSum {
public:
  /// Adds one sampled distinct item's value.
  void add(double x) {
    m_sum += x;
    m_sum_sq += x * x;
  }
  /// Adds a value that is in every sample (weight 1, no variance): all-zero blocks.
  void add_certain(double x) { m_certain += x; }
  /// The estimate of the full sum at sampling rate `rate`.
  double estimate(double rate) const { return m_certain + m_sum / rate; }
  /// Two standard errors of estimate(rate) (0 when rate is 1).
  double bound(double rate) const;

private:
  double m_certain = 0;
  double m_sum = 0;
  double m_sum_sq = 0;
};

} // namespace wsd::model
