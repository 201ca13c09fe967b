#pragma once
// Streaming XXH3-128: the one digest wsdedup computes over file contents (content/file_hasher,
// verify's pairwise compare, estimate's CDC chunks) and over the catalog's result-memo keys.

#include <cstddef>
#include <cstdint>

namespace wsd::util {

struct Digest128 {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const Digest128&) const = default;
  auto operator<=>(const Digest128&) const = default;
};

/// A streaming XXH3-128 state, fed piece by piece.
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

} // namespace wsd::util
