#pragma once
// Byte-exact ports of the two compressors OpenZFS carries in-tree and that no Debian library
// provides: LZJB (module/zfs/lzjb.c) and ZLE (module/zfs/zle.c). Both honour the
// destination limit d_len the way the originals do: they give up early (returning s_len)
// and that early exit, not only the final size, decides whether a block is stored
// compressed.

#include <cstddef>
#include <cstdint>
#include <span>

namespace wsd::model {

/// The `n` argument of ZLE in zio_compress_table ({"zle", 64, zle_compress, ...}).
inline constexpr int k_zle_level = 64;

/// zfs_lzjb_compress_buf(): compresses `src` into `dst` (at least d_len bytes), returns the
/// compressed length or src.size() when it would not fit in d_len.
/// `address_phase` is the source buffer's address modulo 65536: LZJB hashes absolute
/// addresses (`*hp = (uint16_t)(uintptr_t)src`), so an empty hash slot points at
/// (address & 0x3ff) bytes back; ZFS buffers are page aligned (phase 0) for the block
/// sizes that matter.
size_t lzjb_compress(std::span<const std::byte> src, std::span<std::byte> dst, size_t d_len,
                     uint32_t address_phase = 0);

/// zfs_zle_compress_buf() with n = 64: returns the compressed length or src.size() when the
/// input was not consumed within d_len.
size_t zle_compress(std::span<const std::byte> src, std::span<std::byte> dst, size_t d_len,
                    int n = k_zle_level);

} // namespace wsd::model
