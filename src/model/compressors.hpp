#pragma once
// The compressed size of one block, as the dataset's compression algorithm would produce it
// inside zio_compress_data(): each algorithm with ZFS's framing, limited to d_len bytes of
// output. lzjb and zle are exact ports (zfs_codecs.hpp); gzip uses zlib's compress2() as
// gzip_compress() does; lz4 and zstd use Debian's liblz4/libzstd with ZFS's headers, which
// can differ by a few bytes from the copies OpenZFS bundles (docs/zfs-model.md).

#include "model/zfs_profile.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace wsd::model {

/// The zfs_zstdhdr_t in front of zstd data: 4-byte BE size + 4-byte version/level.
inline constexpr size_t k_zstd_header = 8;
/// The 4-byte BE length zfs_lz4_compress() writes in front of LZ4 data.
inline constexpr size_t k_lz4_header = 4;

/// Compresses blocks for one algorithm; owns per-thread scratch state (not thread-safe).
class BlockCompressor {
public:
  explicit BlockCompressor(CompressionSpec spec);
  ~BlockCompressor();
  BlockCompressor(const BlockCompressor&) = delete;
  BlockCompressor& operator=(const BlockCompressor&) = delete;
  BlockCompressor(BlockCompressor&&) noexcept;
  BlockCompressor& operator=(BlockCompressor&&) noexcept;

  /// The algorithm this compressor runs.
  CompressionSpec spec() const { return m_spec; }

  /// ci_compress() with ZFS framing: the compressed length when it fits in `d_len` bytes,
  /// else src.size() (the "did not compress" answer of zio_compress_data()).
  size_t compress(std::span<const std::byte> src, size_t d_len);

private:
  size_t compress_lz4(std::span<const std::byte> src, size_t d_len);
  size_t compress_zstd(std::span<const std::byte> src, size_t d_len, int level);
  size_t compress_zstd_pass(std::span<const std::byte> src, size_t d_len, int level);
  size_t compress_gzip(std::span<const std::byte> src, size_t d_len);

  struct Native; // liblz4 state, ZSTD_CCtx
  CompressionSpec m_spec;
  std::unique_ptr<Native> m_native;
  std::vector<std::byte> m_out;
};

} // namespace wsd::model
