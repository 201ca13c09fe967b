#include "model/write_policy.hpp"

namespace wsd::model {
namespace {

uint64_t round_up(uint64_t v, uint64_t unit) {
  return (v + unit - 1) / unit * unit;
}

} // namespace

uint32_t compression_max_size(const ZfsProfile& profile, Compression algo, uint32_t ashift,
                              uint32_t lsize) {
  // "Compress at least 12.5%"
  const uint32_t seven_eighths = lsize - (lsize >> 3);
  switch (profile.threshold) {
  case ThresholdRule::seven_eighths_aligned_512:
    // onnv zio_compress_data(): d_len = P2ALIGN(s_len - (s_len >> 3), SPA_MINBLOCKSIZE);
    // "if (d_len == 0) return (s_len);" -- a 512-byte block is never compressed.
    return seven_eighths - seven_eighths % k_min_block;
  case ThresholdRule::seven_eighths:
    // OpenZFS <= 2.2 zio_compress_data(): d_len = s_len - (s_len >> 3).
    return seven_eighths;
  case ThresholdRule::seven_eighths_floored_to_sector: {
    // zio_get_compression_max_size(): "ZLE can't use exactly d_len bytes, it needs more,
    // so ignore it"; otherwise floor to spa_gcd_alloc and fall back to BPE_PAYLOAD_SIZE
    // below spa_min_alloc (both 1 << ashift on a pool of plain/mirror vdevs).
    if (algo == Compression::zle) {
      return seven_eighths;
    }
    const uint32_t alloc = 1u << ashift;
    const uint32_t d_len = seven_eighths - seven_eighths % alloc;
    if (d_len < alloc) {
      return k_bpe_payload_size;
    }
    return d_len;
  }
  }
  return seven_eighths;
}

uint64_t dsize_of(const ModelConfig& config, uint32_t psize) {
  // vdev_psize_to_asize() -> vdev_default_asize(): P2ROUNDUP(psize, 1 << ashift); one DVA per
  // copy (dva_get_dsize_sync() is asize for non-raidz vdevs, vdev_deflate_ratio 512/512).
  return round_up(psize, uint64_t{1} << config.ashift) * config.copies;
}

WritePolicy::WritePolicy(const ModelConfig& config)
    : m_config(config), m_profile(&config.effective_profile()), m_min_alloc(1u << config.ashift) {}

PhysicalBlock WritePolicy::zero_block(uint32_t lsize) const {
  if (m_config.compression.algo != Compression::off) {
    // onnv zio_compress_data(): "If the data is all zeroes, we don't even need to allocate
    // a block for it"; OpenZFS zio_write_compress(): abd_cmp_zero() -> psize = 0.
    return {BlockFate::hole, 0, false};
  }
  if (m_profile->zero_blocks == ZeroBlockRule::hole_under_dedup) {
    // dmu_write_policy() (>= 2.3.3): "if dedup is enabled, store them as holes even if
    // compression is not enabled" (compress = ZIO_COMPRESS_EMPTY).
    return {BlockFate::hole, 0, false};
  }
  return {BlockFate::stored, lsize, false};
}

PhysicalBlock WritePolicy::data_block(std::span<const std::byte> data,
                                      BlockCompressor& compressor) const {
  const auto lsize = static_cast<uint32_t>(data.size());
  if (m_config.compression.algo == Compression::off) {
    return {BlockFate::stored, lsize, false};
  }
  const uint32_t d_len =
      compression_max_size(*m_profile, m_config.compression.algo, m_config.ashift, lsize);
  const auto c_len = static_cast<uint32_t>(compressor.compress(data, d_len));
  return from_compressed_length(lsize, c_len);
}

PhysicalBlock WritePolicy::from_compressed_length(uint32_t lsize, uint32_t c_len) const {
  if (m_config.compression.algo == Compression::off || c_len >= lsize) {
    // zio_write_compress(): "psize >= lsize" -> ZIO_COMPRESS_OFF.
    return {BlockFate::stored, lsize, false};
  }
  if (m_profile->rounding == PsizeRounding::to_512) {
    // onnv zio_compress_data(): "pad out the last sector": P2ROUNDUP(c_len, 512); it is
    // <= d_len < lsize, so the block stays compressed.
    return {BlockFate::stored, static_cast<uint32_t>(round_up(c_len, k_min_block)), true};
  }
  if (m_profile->small_blocks == SmallBlockRule::embedded && c_len <= k_bpe_payload_size) {
    // zio_write_compress() (>= 2.3.3, no "!zp->zp_dedup" test): encode_embedded_bp_compressed.
    return {BlockFate::embedded, c_len, true};
  }
  // zio_write_compress(): "Round compressed size up to the minimum allocation size of the
  // smallest-ashift device" (roundup(psize, spa_min_alloc) <= 2.2, zio_roundup_alloc_size()
  // >= 2.3: min_alloc below it, else a multiple of spa_gcd_alloc), uncompressed if that is
  // not smaller than lsize.
  const uint64_t rounded = c_len > m_min_alloc ? round_up(c_len, m_min_alloc) : m_min_alloc;
  if (rounded >= lsize) {
    return {BlockFate::stored, lsize, false};
  }
  return {BlockFate::stored, static_cast<uint32_t>(rounded), true};
}

} // namespace wsd::model
