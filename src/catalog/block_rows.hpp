#pragma once
// The catalog rows `estimate` stores per file, so a re-run replays a file into the models
// without reading it.
//
// "zfs-blocks" rows, one per (file, model parameter set): every logical block of the file
// in order, as the ZFS model decided it (model::BlockRecord). The parameter set is what
// the recorded fates depend on -- release profile, recordsize, ashift, compression, hole
// mode -- and not what only the accounting uses (copies, sampling rate). Value layout:
//   varint block_count, then per block: varint tag
//     0: sparse hole   1: all-zero data   2: data sampled out (fate unknown)
//     3 + (psize << 2 | embedded << 1 | compressed): data with its fate
//   and for data blocks 12 bytes of hash (hash_lo little-endian 8, hash_hi 4).
// A 128 KiB-record file costs ~15 bytes per block; a small file one block.
//
// "cdc-chunks" rows, one per (file, average chunk size): varint chunk_count, then per chunk
// varint length and 12 hash bytes.
//
// Decoders reject anything malformed (the row is then a miss and the file is read).

#include "model/zfs_model.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsd::catalog {

/// Kind of the per-block ZFS model rows. Bump the suffix when a model rule changes what a
/// recorded block means (old rows then simply stop matching).
inline constexpr const char* k_zfs_blocks_kind = "zfs-blocks/1";
/// Kind of the per-chunk CDC rows.
inline constexpr const char* k_cdc_chunks_kind = "cdc-chunks/1";

/// The params string of a lane: "profile=...,rs=...,ashift=...,c=...,holes=...".
std::string zfs_block_params(const model::ModelConfig& config, model::HoleMode holes);

/// Packs one lane's block records of a file.
std::string encode_blocks(const std::vector<model::BlockRecord>& blocks);

/// Unpacks what encode_blocks wrote; nullopt when malformed or not `expected_blocks` long.
std::optional<std::vector<model::BlockRecord>> decode_blocks(std::string_view value,
                                                             uint64_t expected_blocks);

/// One chunk of a CDC row.
struct ChunkRecord {
  uint64_t hash_lo = 0;
  uint32_t hash_hi = 0;
  uint32_t length = 0;
};

/// Packs a file's chunks.
std::string encode_chunks(const std::vector<ChunkRecord>& chunks);

/// Unpacks what encode_chunks wrote; nullopt when malformed or the lengths do not add up to
/// `file_size`.
std::optional<std::vector<ChunkRecord>> decode_chunks(std::string_view value, uint64_t file_size);

/// The number of blocks a file of `size` bytes has under `recordsize` (0 for an empty file).
uint64_t block_count(uint64_t size, uint32_t recordsize);

} // namespace wsd::catalog
