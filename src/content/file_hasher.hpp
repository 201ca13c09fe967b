#pragma once
// A content consumer computing XXH3-128 of what it is fed (holes hashed as zeros, so a
// sparse file and its dense copy hash the same). Used for whole-file and partial hashes.

#include "content/content_reader.hpp"

#include <cstdint>
#include <vector>

namespace wsd::content {

struct Digest128 {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const Digest128&) const = default;
  auto operator<=>(const Digest128&) const = default;
};

/// One slot per job id; written by exactly one reader thread each.
struct DigestTable {
  std::vector<Digest128> digests;
  std::vector<ReadOutcome> outcomes;
  explicit DigestTable(size_t n) : digests(n), outcomes(n, ReadOutcome::error) {}
};

/// A streaming XXH3-128 state (the digest make_file_hasher() computes, fed piece by piece).
class DigestStream {
public:
  DigestStream();
  DigestStream(const DigestStream&) = delete;
  DigestStream& operator=(const DigestStream&) = delete;
  ~DigestStream();
  /// Starts a new digest.
  void reset();
  /// Adds bytes.
  void update(const void* data, size_t n);
  /// Adds `length` zero bytes (a hole read as zeros).
  void update_zeros(uint64_t length);
  /// The digest of everything added since reset().
  Digest128 digest() const;

private:
  void* m_state; // XXH3_state_t, kept out of this header
};

/// The consumer; `table` must have a slot for every job id.
std::unique_ptr<ContentConsumer> make_file_hasher(DigestTable& table);

/// XXH3-128 of a byte string (for tests and small inputs).
Digest128 hash_bytes(std::span<const std::byte> bytes);

} // namespace wsd::content
