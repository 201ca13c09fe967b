#include "model/block_sampler.hpp"

#include <cmath>
#include <stdexcept>

namespace wsd::model {

BlockSampler::BlockSampler(double rate) : m_rate(rate) {
  if (!(rate > 0.0) || rate > 1.0) {
    throw std::invalid_argument("the sampling rate must be in (0, 1]");
  }
  // rate 1 -> 2^32: every 32-bit value is below it.
  m_threshold = static_cast<uint64_t>(std::ldexp(rate, 32));
  if (m_threshold == 0) {
    m_threshold = 1;
  }
  m_rate = std::ldexp(static_cast<double>(m_threshold), -32); // the rate actually applied
}

double SampledSum::bound(double rate) const {
  if (rate >= 1.0) {
    return 0.0;
  }
  const double variance = m_sum_sq * (1.0 - rate) / (rate * rate);
  return 2.0 * std::sqrt(variance);
}

} // namespace wsd::model
