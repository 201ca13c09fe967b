#pragma once
// FastCDC content-defined chunking (Xia et al., "FastCDC: a Fast and Efficient
// Content-Defined Chunking Approach for Data Deduplication", USENIX ATC 2016): a gear
// rolling hash fp = (fp << 1) + gear[byte]; no cut point is looked for in the first
// `min` bytes of a chunk (cut-point skipping); up to the average size the cut condition
// uses the stricter mask (log2(avg) + 1 bits), after it the looser one (log2(avg) - 1 bits):
// normalized chunking, level 1; a chunk never exceeds `max`. Masks take the top bits of fp,
// which depend on the last 64 bytes. The gear table comes from splitmix64 with a fixed
// seed, so chunk boundaries are the same on every run and every host.
//
// The chunker is streaming: bytes arrive in spans of any size and chunk ends are reported
// with their length; the caller hashes the bytes in between.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace wsd::estimate {

/// Chunk size parameters: min = avg / 4, max = avg * 8.
struct CdcParams {
  uint32_t min_size;
  uint32_t avg_size;
  uint32_t max_size;
  uint64_t mask_small; // stricter mask, before avg_size
  uint64_t mask_large; // looser mask, after avg_size

  /// Parameters for an average chunk of `avg` bytes (a power of two, 256 B - 16 MiB).
  static CdcParams for_average(uint32_t avg);
};

/// The 256 gear values (splitmix64 from a fixed seed).
const std::array<uint64_t, 256>& gear_table();

/// Finds chunk boundaries in a byte stream.
class FastCdc {
public:
  explicit FastCdc(const CdcParams& params) : m_params(params) {}

  /// Starts a new stream (a new file).
  void reset() {
    m_len = 0;
    m_fp = 0;
  }

  /// Scans `bytes`; returns how many of them belong to the current chunk: less than
  /// bytes.size() (or equal) when the chunk ends there -- then `*cut` is true and the next
  /// call starts a new chunk -- else all of them with `*cut` false.
  size_t scan(std::span<const std::byte> bytes, bool* cut);

  /// Bytes of the current (unfinished) chunk so far.
  uint64_t pending() const { return m_len; }

  /// The parameters in use.
  const CdcParams& params() const { return m_params; }

private:
  CdcParams m_params;
  uint64_t m_len = 0; // bytes of the current chunk so far
  uint64_t m_fp = 0;
};

} // namespace wsd::estimate
