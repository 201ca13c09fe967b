#include "util/digest_stream.hpp"

#include "util/xxhash.hpp"

#include <algorithm>
#include <array>
#include <new>

namespace wsd::util {

DigestStream::DigestStream() : m_state(XXH3_createState()) {
  if (!m_state) throw std::bad_alloc();
  reset();
}

DigestStream::~DigestStream() { XXH3_freeState(static_cast<XXH3_state_t*>(m_state)); }

void DigestStream::reset() { XXH3_128bits_reset(static_cast<XXH3_state_t*>(m_state)); }

void DigestStream::update(const void* data, size_t n) {
  XXH3_128bits_update(static_cast<XXH3_state_t*>(m_state), data, n);
}

void DigestStream::update_zeros(uint64_t length) {
  static const std::array<std::byte, 64 * 1024> k_zeros{};
  while (length > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(length, k_zeros.size()));
    update(k_zeros.data(), n);
    length -= n;
  }
}

Digest128 DigestStream::digest() const {
  const XXH128_hash_t h = XXH3_128bits_digest(static_cast<XXH3_state_t*>(m_state));
  return {h.low64, h.high64};
}

} // namespace wsd::util
