#include "content/file_hasher.hpp"

#include <array>
#include "util/xxhash.hpp"

namespace wsd::content {

namespace {

class FileHasher final : public ContentConsumer {
public:
  explicit FileHasher(DigestTable& table) : m_table(table), m_state(XXH3_createState()) {
    if (!m_state) throw std::bad_alloc();
  }
  FileHasher(const FileHasher&) = delete;
  FileHasher& operator=(const FileHasher&) = delete;
  ~FileHasher() override { XXH3_freeState(m_state); }

  void begin(const FileJob&) override { XXH3_128bits_reset(m_state); }

  void data(uint64_t, std::span<const std::byte> bytes) override {
    XXH3_128bits_update(m_state, bytes.data(), bytes.size());
  }

  void hole(uint64_t, uint64_t length) override {
    static const std::array<std::byte, 64 * 1024> k_zeros{};
    while (length > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(length, k_zeros.size()));
      XXH3_128bits_update(m_state, k_zeros.data(), n);
      length -= n;
    }
  }

  void end(const FileJob& job, const ReadResult& result) override {
    const XXH128_hash_t h = XXH3_128bits_digest(m_state);
    m_table.digests.at(job.id) = {h.low64, h.high64};
    m_table.outcomes.at(job.id) = result.outcome;
  }

private:
  DigestTable& m_table;
  XXH3_state_t* m_state;
};

} // namespace

std::unique_ptr<ContentConsumer> make_file_hasher(DigestTable& table) {
  return std::make_unique<FileHasher>(table);
}

Digest128 hash_bytes(std::span<const std::byte> bytes) {
  const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return {h.low64, h.high64};
}

} // namespace wsd::content
