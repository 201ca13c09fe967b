#include "content/file_hasher.hpp"

#include "util/xxhash.hpp"

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
  util::DigestStream m_stream;
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
