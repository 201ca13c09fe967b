#include "model/compressors.hpp"

#include "model/zfs_codecs.hpp"

#include <lz4.h>

#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY // ZSTD_c_format / ZSTD_f_zstd1_magicless
#include <stdexcept>

#include <zstd.h>

namespace wsd::model {
namespace {

// zfs_zstd.c: the early-abort heuristic applies from zstd_cutoff_level (ZIO_ZSTD_LEVEL_3)
// for blocks of at least zstd_abort_size (128 KiB).
constexpr int k_zstd_cutoff_level = 3;
constexpr size_t k_zstd_abort_size = 128u << 10;

} // namespace

struct BlockCompressor::Native {
  std::vector<std::byte> lz4_state;
  ZSTD_CCtx* zstd = nullptr;
  ~Native() { ZSTD_freeCCtx(zstd); }
};

BlockCompressor::BlockCompressor(CompressionSpec spec)
    : m_spec(spec), m_native(std::make_unique<Native>()) {
  if (spec.algo == Compression::lz4 || spec.algo == Compression::zstd) {
    m_native->lz4_state.resize(static_cast<size_t>(LZ4_sizeofState()));
  }
  if (spec.algo == Compression::zstd) {
    m_native->zstd = ZSTD_createCCtx();
    if (m_native->zstd == nullptr) {
      throw std::bad_alloc();
    }
  }
}

BlockCompressor::~BlockCompressor() = default;
BlockCompressor::BlockCompressor(BlockCompressor&&) noexcept = default;
BlockCompressor& BlockCompressor::operator=(BlockCompressor&&) noexcept = default;

size_t BlockCompressor::compress(std::span<const std::byte> src, size_t d_len) {
  const size_t s_len = src.size();
  if (d_len == 0 || s_len == 0) {
    return s_len;
  }
  if (m_out.size() < s_len + 64) {
    m_out.resize(s_len + 64);
  }
  size_t c_len = s_len;
  switch (m_spec.algo) {
  case Compression::off:
    return s_len;
  case Compression::lzjb:
    c_len = lzjb_compress(src, m_out, d_len);
    break;
  case Compression::zle:
    c_len = zle_compress(src, m_out, d_len);
    break;
  case Compression::lz4:
    c_len = compress_lz4(src, d_len);
    break;
  case Compression::gzip:
    c_len = compress_gzip(src, d_len);
    break;
  case Compression::zstd:
    c_len = compress_zstd(src, d_len, m_spec.level);
    break;
  }
  // zio_compress_data(): "if (c_len > d_len) return (s_len);"
  return c_len > d_len ? s_len : c_len;
}

// zfs_lz4_compress() (lz4_zfs.c): real_LZ4_compress() into dest + 4 with d_len - 4 bytes,
// 0 meaning "did not fit", then the 4-byte big-endian length in front.
size_t BlockCompressor::compress_lz4(std::span<const std::byte> src, size_t d_len) {
  if (d_len <= k_lz4_header) {
    return src.size();
  }
  const int out = LZ4_compress_fast_extState(
      m_native->lz4_state.data(), reinterpret_cast<const char*>(src.data()),
      reinterpret_cast<char*>(m_out.data() + k_lz4_header), static_cast<int>(src.size()),
      static_cast<int>(d_len - k_lz4_header), 1);
  if (out <= 0) {
    return src.size();
  }
  return static_cast<size_t>(out) + k_lz4_header;
}

// zfs_zstd_compress_buf() (zfs_zstd.c): from zstd-3 up, blocks of at least 128 KiB first try
// lz4 and then zstd-1 (the early-abort heuristic) and are stored uncompressed if neither fits,
// whatever the requested level would have given.
size_t BlockCompressor::compress_zstd(std::span<const std::byte> src, size_t d_len, int level) {
  const size_t s_len = src.size();
  if (d_len <= k_zstd_header) {
    return s_len;
  }
  if (level >= k_zstd_cutoff_level && s_len >= k_zstd_abort_size) {
    if (!(compress_lz4(src, d_len) < d_len)) {
      const size_t pass_len = compress_zstd_pass(src, d_len, 1);
      if (pass_len == s_len || pass_len > d_len) {
        return s_len;
      }
    }
  }
  return compress_zstd_pass(src, d_len, level);
}

// zfs_zstd_compress_impl() (zfs_zstd.c): a magicless frame without checksum or content size,
// behind the 8-byte zfs_zstdhdr_t; any error (dstSize_tooSmall) means s_len.
size_t BlockCompressor::compress_zstd_pass(std::span<const std::byte> src, size_t d_len,
                                           int level) {
  ZSTD_CCtx* cctx = m_native->zstd;
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_format, ZSTD_f_zstd1_magicless);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  const size_t c_len = ZSTD_compress2(cctx, m_out.data() + k_zstd_header, d_len - k_zstd_header,
                                      src.data(), src.size());
  if (ZSTD_isError(c_len) != 0u) {
    return src.size();
  }
  return c_len + k_zstd_header;
}

// gzip_compress() (gzip.c): compress2() at level n into d_len bytes; any error (Z_BUF_ERROR
// when it does not fit) means s_len.
size_t BlockCompressor::compress_gzip(std::span<const std::byte> src, size_t d_len) {
  uLongf dst_len = static_cast<uLongf>(d_len);
  const int rc = ::compress2(reinterpret_cast<Bytef*>(m_out.data()), &dst_len,
                             reinterpret_cast<const Bytef*>(src.data()),
                             static_cast<uLong>(src.size()), m_spec.level);
  if (rc != Z_OK) {
    return src.size();
  }
  return static_cast<size_t>(dst_len);
}

} // namespace wsd::model
