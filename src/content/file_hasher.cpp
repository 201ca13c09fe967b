#include "content/file_hasher.hpp"

#include "util/xxhash.hpp"

#include <algorithm>
#include <array>
#include <new>

namespace wsd::content {

namespace {

class FileHasher final : public ContentConsumer {
public:
  explicit FileHasher(DigestTable& table) : m_table(table) {}

  void begin(const FileJob&) override { m_stream.reset(); }
  void data(uint64_t, std::span<const std::byte> bytes) override { m_stream.update(bytes.data(), bytes.size()); }
  void hole(uint64_t, uint64_t length) override { m_stream.update_zeros(length); }
  void end(const FileJob& job, const ReadResult& result) override {
    m_table.digests.at(job.id) = m_stream.digest();
    m_table.outcomes.at(job.id) = result.outcome;
  }

private:
  DigestTable& m_table;
  DigestStream m_stream;
};

} // namespace

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

std::unique_ptr<ContentConsumer> make_file_hasher(DigestTable& table) {
  return std::make_unique<FileHasher>(table);
}

Digest128 hash_bytes(std::span<const std::byte> bytes) {
  const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return {h.low64, h.high64};
}

} // namespace wsd::content
