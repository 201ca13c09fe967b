#pragma once
// What the ZFS write path makes of one logical block under a profile: a hole, a block
// embedded in its pointer, or a stored block of some PSIZE (and so DSIZE). This is the
// profile-dependent part of dmu_write_policy() and zio_write_compress().

#include "model/compressors.hpp"
#include "model/zfs_profile.hpp"

#include <cstdint>
#include <span>

namespace wsd::model {

/// Where a block ends up.
enum class BlockFate : uint8_t {
  hole,     // no block at all (all zeros, compressed to nothing)
  embedded, // BP_EMBEDDED_TYPE_DATA: the compressed bytes live in the block pointer
  stored,   // an allocated block, deduplicated through the DDT
};

/// The physical outcome of writing one block.
struct PhysicalBlock {
  BlockFate fate = BlockFate::stored;
  uint32_t psize = 0;      // stored: the allocated PSIZE; embedded: the compressed length
  bool compressed = false; // stored with the compression algorithm (BP_GET_COMPRESS != off)
};

/// The largest compressed size accepted for a block of `lsize` (d_len), per profile:
/// zio_compress_data() (onnv, OpenZFS <= 2.2) or zio_get_compression_max_size() (>= 2.3).
uint32_t compression_max_size(const ZfsProfile& profile, Compression algo, uint32_t ashift,
                              uint32_t lsize);

/// vdev_psize_to_asize() x copies: the DSIZE of a stored block on a plain or mirror vdev.
uint64_t dsize_of(const ModelConfig& config, uint32_t psize);

/// Applies one ModelConfig's write rules to blocks.
class WritePolicy {
public:
  explicit WritePolicy(const ModelConfig& config);

  /// The configuration the policy applies.
  const ModelConfig& config() const { return m_config; }

  /// The fate of an all-zero block of `lsize`: a hole when compressing (zio_compress_data()
  /// / abd_cmp_zero()) or, with compression off, per the profile's ZeroBlockRule.
  PhysicalBlock zero_block(uint32_t lsize) const;

  /// The fate of a block that is not all zeros (`data` is the LSIZE bytes, zero padded).
  PhysicalBlock data_block(std::span<const std::byte> data, BlockCompressor& compressor) const;

  /// The fate of a block whose compressed length `c_len` (zio_compress_data()'s answer, the
  /// block's size when it did not fit) is already known.
  PhysicalBlock from_compressed_length(uint32_t lsize, uint32_t c_len) const;

private:
  ModelConfig m_config;
  const ZfsProfile* m_profile;
  uint32_t m_min_alloc;
};

} // namespace wsd::model
