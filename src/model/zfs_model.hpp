#pragma once
// The block model (DESIGN.md section 5): cuts each file into the blocks ZFS would write,
// decides each block's fate with the release's WritePolicy and counts references in a
// shared DedupTable -- for several recordsizes at once, from one sequential pass.
//
// Per file: size 0 -> no block; size <= recordsize -> one block of LSIZE roundup(size, 512)
// (dnode_set_blksz() rounds to SPA_MINBLOCKSIZE); larger -> ceil(size / recordsize) blocks
// of LSIZE recordsize, the tail zero-padded. A block that received no data (a hole of a
// sparse file) stays a hole; all-zero blocks follow WritePolicy::zero_block().
//
// A file's bytes arrive in chunks of any size (ContentConsumer: data() / hole(), ascending
// and contiguous); each recordsize lane accumulates its partial record across calls and
// hashes whole blocks straight from the caller's buffer when they lie in one chunk. Each
// logical block is hashed once per lane (XXH3-128 of its bytes up to the last non-zero one;
// a single-block file once for all lanes of its LSIZE, and that hash is its whole-file
// digest when it ends in a non-zero byte) and a unique block is compressed once: the table
// caches its PSIZE, and lanes share results for blocks of equal LSIZE.

#include "content/content_reader.hpp"
#include "content/file_hasher.hpp"
#include "model/block_sampler.hpp"
#include "model/compressors.hpp"
#include "model/ddt_stats.hpp"
#include "model/ddt_table.hpp"
#include "model/write_policy.hpp"
#include "model/zfs_profile.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace wsd::model {

/// How holes of sparse files are modelled.
enum class HoleMode : uint8_t {
  keep, // a copy that keeps holes (cp -a, rsync -S): blocks without data are holes
  fill, // a copy that writes zeros (rsync without -S): holes become zero data
};

/// Whether a file's blocks count (its read succeeded) or are withdrawn.
enum class FileOutcome : uint8_t { commit, discard };

/// Per-recordsize counters of what the files turned into.
struct ModelCounters {
  uint64_t files = 0;         // files committed (size 0 included)
  uint64_t logical_bytes = 0; // sum of file sizes
  uint64_t blocks = 0;        // logical blocks, holes included
  uint64_t sparse_holes = 0;  // blocks that received no data
  uint64_t zero_holes = 0;    // all-zero blocks written as holes
  uint64_t embedded_refs = 0; // blocks embedded in their block pointer
  uint64_t ddt_refs = 0;      // blocks that reference a DDT entry
  uint64_t sampled_out = 0;   // data blocks left out by --sample (hashed, not modelled)

  /// Field-wise sum.
  void add(const ModelCounters& o);
};

/// What the model is asked to simulate.
struct ModelOptions {
  const ZfsProfile* profile = nullptr; // nullptr: default_profile()
  uint32_t ashift = 12;
  CompressionSpec compression{Compression::lz4, 0};
  uint32_t copies = 1;
  std::vector<uint32_t> recordsizes{128u << 10};
  HoleMode holes = HoleMode::keep;
  unsigned shard_bits = 6; // DedupTable shards: 2^shard_bits
  /// Fraction of distinct non-zero blocks modelled (BlockSampler); 1: all. All-zero blocks
  /// are always modelled (their content is known, and one entry can carry huge refcounts).
  double sample_rate = 1.0;
};

/// Sees the blocks of each committed file: the per-block hook for per-category and
/// per-workspace figures. Called by ZfsFileFeeder::end_file(commit) on the feeder's thread,
/// once per block pointer that references a DDT entry or is embedded (holes cost nothing
/// and are not reported), after the file's references are in the table.
class BlockObserver {
public:
  virtual ~BlockObserver() = default;
  /// One block of the file just committed, in recordsize lane `lane`.
  virtual void committed_block(size_t lane, const BlockKey& key, const BlockInfo& info) = 0;
};

class ZfsFileFeeder;

/// What became of one logical block of a file, as recorded by a feeder: enough to replay the
/// file into a model later without reading it (the catalog's "zfs-blocks" rows). The LSIZE
/// is not stored: it follows from the file size and the recordsize.
struct BlockRecord {
  enum class Kind : uint8_t {
    sparse_hole, // received no data
    zero,        // all-zero data: its fate is the policy's zero_block()
    data,        // anything else: hash and, when `info_known`, its fate
  };
  Kind kind = Kind::sparse_hole;
  bool info_known = false; // data only: false when --sample left it out (never compressed)
  uint64_t hash_lo = 0;    // data only
  uint32_t hash_hi = 0;    // data only
  BlockInfo info;          // data only, when info_known
};

/// Version of the block identity (key_of in zfs_model.cpp): stored block hashes (the
/// catalog's zfs-blocks rows) made under another version must not be mixed with new ones.
/// 2: XXH3-128 of the bytes up to the last non-zero one (1: of the whole padded block).
inline constexpr unsigned k_block_key_version = 2;

/// Whether `key` is the key of an all-zero block of its LSIZE (sampled runs always keep
/// those, so scaling must leave them at weight 1).
bool is_zero_block_key(const BlockKey& key);

/// The shared, thread-safe state: one DedupTable and counter set per recordsize.
class ZfsModel {
public:
  /// Throws std::invalid_argument when a recordsize/ashift/compression is invalid
  /// (validate() gives the sentence).
  explicit ZfsModel(ModelOptions options);
  ~ZfsModel();
  ZfsModel(const ZfsModel&) = delete;
  ZfsModel& operator=(const ZfsModel&) = delete;

  /// Number of recordsize lanes.
  size_t lanes() const { return m_lanes.size(); }
  /// Configuration of lane `i` (recordsize i of the options).
  const ModelConfig& config(size_t i) const;
  /// The DDT of lane `i`.
  DedupTable& table(size_t i);
  /// The DDT of lane `i` (read-only).
  const DedupTable& table(size_t i) const;
  /// Counters of lane `i` so far.
  ModelCounters counters(size_t i) const;
  /// zdb's histogram of lane `i` (call when no feeder is writing).
  DdtHistogram histogram(size_t i) const;
  /// The options the model was built with.
  const ModelOptions& options() const { return m_options; }

  /// A feeder for one thread.
  std::unique_ptr<ZfsFileFeeder> make_feeder();

private:
  friend class ZfsFileFeeder;
  void add_counters(size_t i, const ModelCounters& c);

  struct Lane;
  ModelOptions m_options;
  std::vector<std::unique_ptr<Lane>> m_lanes;
};

/// Feeds files into a ZfsModel; one per thread, not thread-safe itself.
class ZfsFileFeeder {
public:
  explicit ZfsFileFeeder(ZfsModel& model);
  ~ZfsFileFeeder();
  ZfsFileFeeder(const ZfsFileFeeder&) = delete;
  ZfsFileFeeder& operator=(const ZfsFileFeeder&) = delete;

  /// Starts a file of `size` bytes.
  void begin_file(uint64_t size);
  /// Bytes at `offset` (contiguous with what came before).
  void data(uint64_t offset, std::span<const std::byte> bytes);
  /// A hole of `length` bytes at `offset`.
  void hole(uint64_t offset, uint64_t length);
  /// Ends the file: commit its blocks, or withdraw the references it added.
  void end_file(FileOutcome outcome);

  /// Convenience: a whole in-memory file.
  void add_file(std::span<const std::byte> bytes);

  /// Reports committed blocks to `observer` (nullptr: none); it must outlive the feeder.
  void set_observer(BlockObserver* observer) { m_observer = observer; }

  /// Keeps a BlockRecord per block of the current file (off by default).
  void set_recording(bool on) { m_recording = on; }
  /// The blocks of lane `lane` of the last file, in file order (valid after end_file()
  /// until the next begin_file(); empty unless recording).
  const std::vector<BlockRecord>& recorded(size_t lane) const;

  /// XXH3-128 of the last file's bytes (as content::make_file_hasher() computes it) when the
  /// file was one block in some lane and that block was fed (valid after end_file() until
  /// the next begin_file()); nullopt otherwise (larger files, replayed or withdrawn ones).
  /// For a file ending in a non-zero byte it is its block hash: the file is hashed once.
  const std::optional<content::Digest128>& file_digest() const { return m_file_digest; }
  /// Whether file_digest() will be set for a fully read file of `size` bytes.
  bool gives_file_digest(uint64_t size) const;

  /// Replays one block of the current file (after begin_file()) in lane `lane`, exactly as
  /// if its bytes had been fed. Returns false, changing nothing, when the record lacks the
  /// block's fate this run needs (it was sampled out when recorded): the caller then ends
  /// the file with FileOutcome::discard and reads it.
  bool replay_block(size_t lane, const BlockRecord& record);

private:
  struct LaneState;
  void feed(uint64_t offset, const std::byte* bytes, uint64_t length);
  void finish_block(size_t lane, std::span<const std::byte> block, bool has_data);
  bool apply_block(size_t lane, BlockRecord& record, std::span<const std::byte> block);

  ZfsModel& m_model;
  BlockCompressor m_compressor;
  BlockSampler m_sampler;
  BlockObserver* m_observer = nullptr;
  std::vector<std::unique_ptr<LaneState>> m_states;
  uint64_t m_size = 0;
  uint64_t m_pos = 0;
  bool m_open = false;
  bool m_recording = false;
  // The current file's one block, when it is one block in some lane (see finish_block()).
  struct SingleBlock {
    uint32_t lsize = 0;
    BlockRecord::Kind kind = BlockRecord::Kind::sparse_hole;
    uint64_t hash_lo = 0;
    uint32_t hash_hi = 0;
  };
  SingleBlock m_single;
  bool m_single_valid = false;
  std::optional<content::Digest128> m_file_digest;
};

/// The content pipeline's consumer for the ZFS model: one per reader thread, all sharing
/// one ZfsModel. Failed or changed files are withdrawn.
class ZfsModelConsumer final : public content::ContentConsumer {
public:
  explicit ZfsModelConsumer(ZfsModel& model);
  /// The feeder behind this consumer (e.g. to set a BlockObserver).
  ZfsFileFeeder& feeder() { return *m_feeder; }
  void begin(const content::FileJob& job) override;
  void data(uint64_t offset, std::span<const std::byte> bytes) override;
  void hole(uint64_t offset, uint64_t length) override;
  void end(const content::FileJob& job, const content::ReadResult& result) override;

private:
  std::unique_ptr<ZfsFileFeeder> m_feeder;
};

/// A ConsumerFactory making ZfsModelConsumers on `model` (which must outlive the run).
content::ConsumerFactory zfs_model_consumer_factory(ZfsModel& model);

} // namespace wsd::model
