#pragma once
// The chunk-level dedup model behind `estimate --cdc`: files cut by FastCDC, each chunk
// hashed (XXH3-128) and counted in a sharded index of distinct chunks, for several average
// sizes in the same pass. The answer is logical: distinct chunk bytes against all bytes
// (no compression, no allocation rounding), what shifted content would add over ZFS's
// fixed records. A file's chunks count only when its read succeeded.

#include "content/file_hasher.hpp"
#include "estimate/fastcdc.hpp"
#include "model/sharded_table.hpp"
#include "util/digest_stream.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>


namespace wsd::estimate {

/// One distinct chunk: 96 hash bits plus its length.
struct ChunkKey {
  uint64_t hash_lo = 0;
  uint32_t hash_hi = 0;
  uint32_t length = 0;
  friend bool operator==(const ChunkKey&, const ChunkKey&) = default;
};

/// Totals of one average size.
struct ChunkTotals {
  uint64_t chunks = 0;          // chunk references
  uint64_t bytes = 0;           // bytes referenced
  uint64_t unique_chunks = 0;   // distinct chunks
  uint64_t unique_bytes = 0;    // bytes of distinct chunks
};

/// Thread-safe set of distinct chunks: a model::ShardedTable of 16-byte slots (the 96 key
/// bits and the length), ~16 / load = 18-27 bytes per distinct chunk.
class ChunkIndex {
public:
  ChunkIndex();
  ~ChunkIndex();
  ChunkIndex(const ChunkIndex&) = delete;
  ChunkIndex& operator=(const ChunkIndex&) = delete;

  /// Counts one reference to `key`.
  void add(const ChunkKey& key);
  /// Totals so far.
  ChunkTotals totals() const;
  /// Bytes held by the slot arrays.
  uint64_t index_bytes() const;

  /// The slot layout given to model::ShardedTable (defined in chunk_model.cpp).
  struct Traits;

private:
  std::unique_ptr<model::ShardedTable<Traits>> m_table;
};

/// The shared state: one ChunkIndex per average size.
class ChunkModel {
public:
  /// `averages`: the average chunk sizes to model (powers of two).
  explicit ChunkModel(std::vector<uint32_t> averages);
  /// The average sizes.
  const std::vector<uint32_t>& averages() const { return m_averages; }
  /// The index of average `i`.
  ChunkIndex& index(size_t i) { return *m_indexes[i]; }
  /// The index of average `i` (read-only).
  const ChunkIndex& index(size_t i) const { return *m_indexes[i]; }

private:
  std::vector<uint32_t> m_averages;
  std::vector<std::unique_ptr<ChunkIndex>> m_indexes;
};

/// Cuts one thread's files into chunks; not thread-safe itself.
class ChunkFeeder {
public:
  explicit ChunkFeeder(ChunkModel& model);
  ChunkFeeder(const ChunkFeeder&) = delete;
  ChunkFeeder& operator=(const ChunkFeeder&) = delete;

  /// Starts a file.
  void begin_file();
  /// The file's next bytes (holes are passed as zeros by the caller).
  void data(std::span<const std::byte> bytes);
  /// `length` zero bytes (a hole).
  void zeros(uint64_t length);
  /// Ends the file: its chunks are counted when `commit`, dropped otherwise.
  void end_file(bool commit);
  /// The chunks of average `lane` of the file just committed (what the catalog stores).
  const std::vector<ChunkKey>& file_chunks(size_t lane) const;
  /// Counts a file's chunks of average `lane` as recorded by an earlier run, without its bytes.
  void replay(size_t lane, std::span<const ChunkKey> chunks);

private:
  struct Lane {
    FastCdc cdc;
    std::unique_ptr<util::DigestStream> digest; // of the chunk being cut
    uint64_t chunk_len = 0;
    std::vector<ChunkKey> pending; // this file's chunks until end_file
  };
  void close_chunk(Lane& lane);

  ChunkModel& m_model;
  std::vector<Lane> m_lanes;
};

} // namespace wsd::estimate
