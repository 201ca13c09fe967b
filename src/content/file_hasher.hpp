#pragma once
// A content consumer computing XXH3-128 of what it is fed (holes hashed as zeros, so a
// sparse file and its dense copy hash the same). Used for whole-file and partial hashes.

#include "content/content_reader.hpp"
#include "util/digest_stream.hpp"

#include <cstdint>
#include <vector>

namespace wsd::content {

// The content digest (XXH3-128); it and its streaming state (util::DigestStream) live in util/,
// where the catalog uses them too.
using util::Digest128;

/// One slot per job id; written by exactly one reader thread each.
struct DigestTable {
  std::vector<Digest128> digests;
  std::vector<ReadOutcome> outcomes;
  explicit DigestTable(size_t n) : digests(n), outcomes(n, ReadOutcome::error) {}
};

/// The consumer; `table` must have a slot for every job id.
std::unique_ptr<ContentConsumer> make_file_hasher(DigestTable& table);

/// XXH3-128 of a byte string (for tests and small inputs).
Digest128 hash_bytes(std::span<const std::byte> bytes);

} // namespace wsd::content
