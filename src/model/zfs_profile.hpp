#pragma once
// Release profiles of the ZFS write path (DESIGN.md section 5): the rules that decide how a
// logical block becomes a DDT entry differ between releases, so the model takes the release
// to simulate. Each rule below names the OpenZFS function it comes from; docs/zfs-model.md
// lists the source versions each profile was checked against.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace wsd::model {

/// The dataset's `compression` algorithm (zio_compress_table order is irrelevant here).
enum class Compression : uint8_t { off, lz4, zstd, gzip, zle, lzjb };

/// An algorithm with its level (gzip 1-9, zstd 1-19; 0 for algorithms without levels).
struct CompressionSpec {
  Compression algo = Compression::off;
  int level = 0;

  friend bool operator==(const CompressionSpec&, const CompressionSpec&) = default;
};

/// Parses a `compression` property value: off, lz4, zstd, zstd-N, gzip, gzip-N, zle, lzjb;
/// `on` is not accepted here because its meaning depends on the release (use
/// resolve_compression_on).
std::optional<CompressionSpec> parse_compression(std::string_view text);

/// The property spelling of `spec` (e.g. "gzip-6", "zstd-3", "lz4").
std::string to_string(CompressionSpec spec);

/// How the largest accepted compressed size (d_len) is derived from LSIZE.
enum class ThresholdRule : uint8_t {
  /// pool v23 zio_compress_data(): d_len = P2ALIGN(lsize - lsize/8, 512); 0 means "don't try".
  seven_eighths_aligned_512,
  /// OpenZFS <= 2.2 zio_compress_data(): d_len = lsize - (lsize >> 3).
  seven_eighths,
  /// OpenZFS >= 2.3 zio_get_compression_max_size(): 7/8 floored to spa_gcd_alloc, or
  /// BPE_PAYLOAD_SIZE when that falls below spa_min_alloc; ZLE keeps plain 7/8.
  seven_eighths_floored_to_sector,
};

/// How a compressed PSIZE is rounded before it is stored.
enum class PsizeRounding : uint8_t {
  /// pool v23 zio_compress_data(): P2ROUNDUP(c_len, SPA_MINBLOCKSIZE).
  to_512,
  /// OpenZFS zio_write_compress(): roundup to spa_min_alloc (1 << ashift), stored
  /// uncompressed when the rounded size is not below LSIZE (zio_roundup_alloc_size in 2.3+).
  to_min_alloc,
};

/// What happens to an all-zero block when compression is off and dedup is on.
enum class ZeroBlockRule : uint8_t {
  /// Written as data, so all zero blocks of one LSIZE share one DDT entry.
  dedup_as_data,
  /// dmu_write_policy() switches to ZIO_COMPRESS_EMPTY under dedup: the block is a hole.
  hole_under_dedup,
};

/// What happens to a block whose compressed size is <= BPE_PAYLOAD_SIZE (112) under dedup.
enum class SmallBlockRule : uint8_t {
  /// zio_write_compress() tests !zp->zp_dedup before embedding: it goes to the DDT.
  in_ddt,
  /// The !zp_dedup test is gone: embedded in the block pointer, no DDT entry.
  embedded,
};

/// Which zdb/libzfs printing conventions apply (zfs_nicenum with or without the B suffix,
/// and the DDT object line format).
enum class ZdbFormat : uint8_t {
  /// onnv zdb (zfs-fuse): nicenum() without "B"; "N entries, size X on disk, Y in core".
  onnv,
  /// OpenZFS <= 2.2 zdb: zfs_nicebytes() for sizes ("512B"); old object line.
  openzfs_legacy,
  /// OpenZFS >= 2.3 zdb: zfs_nicebytes(); "dspace=..; mspace=..; entries=.." object line.
  openzfs_fdt,
};

/// One simulated release (or range of releases with identical modelled rules).
struct ZfsProfile {
  std::string_view name;     // e.g. "openzfs-2.3.3"
  std::string_view releases; // human description of the releases it covers
  ThresholdRule threshold;
  PsizeRounding rounding;
  ZeroBlockRule zero_blocks;
  SmallBlockRule small_blocks;
  ZdbFormat zdb_format;
  bool has_lz4;                 // feature lz4_compress
  bool has_zstd;                // feature zstd_compress
  bool fast_dedup;              // feature fast_dedup (new pools get the FDT layout)
  Compression compression_on;   // what compression=on means
  uint32_t ddt_zap_block_shift; // ddt_zap_leaf_blockshift / ddt_zap_default_bs
};

/// Every known profile, oldest first.
std::span<const ZfsProfile> all_profiles();

/// The profile named `name` (also accepts a plain release number such as "2.4.4" or "2.2.7"
/// and maps it to the profile covering it), or nullptr.
const ZfsProfile* find_profile(std::string_view name);

/// The newest release's profile (the default).
const ZfsProfile& default_profile();

/// The zfs-fuse (pool v23) profile.
const ZfsProfile& zfs_fuse_profile();

/// Whether `profile` can write `spec` (zfs-fuse has neither lz4 nor zstd); on false,
/// `why` says so in a sentence suitable for an exit-2 message.
bool profile_supports(const ZfsProfile& profile, CompressionSpec spec, std::string* why);

/// `compression=on` for `profile` (lzjb in zfs-fuse and before lz4_compress, lz4 after).
CompressionSpec resolve_compression_on(const ZfsProfile& profile);

/// Upper bound of a recordsize the model accepts (SPA_MAXBLOCKSIZE, 16 MiB).
inline constexpr uint32_t k_max_recordsize = 16u << 20;
/// SPA_MINBLOCKSIZE: LSIZE granularity of single-block files and the smallest block.
inline constexpr uint32_t k_min_block = 512;
/// BPE_PAYLOAD_SIZE: the most compressed bytes a block pointer can embed.
inline constexpr uint32_t k_bpe_payload_size = 112;

/// Everything that decides how one tree maps to DDT entries.
struct ModelConfig {
  const ZfsProfile* profile = nullptr; // nullptr: default_profile()
  uint32_t recordsize = 128u << 10;
  uint32_t ashift = 12;
  CompressionSpec compression{Compression::lz4, 0};
  uint32_t copies = 1;

  /// The profile in effect.
  const ZfsProfile& effective_profile() const {
    return profile != nullptr ? *profile : default_profile();
  }
};

/// Checks a configuration (power-of-two recordsize in [512, 16M], ashift 9..16, copies
/// 1..3, compression supported by the profile); returns an error sentence or nullopt.
std::optional<std::string> validate(const ModelConfig& config);

} // namespace wsd::model
