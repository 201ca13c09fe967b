#include "model/zfs_model.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "util/xxhash.hpp"

namespace wsd::model {
namespace {

bool all_zero(std::span<const std::byte> b) {
  // The first byte is zero and every byte equals its successor.
  return b.empty() ||
         (b[0] == std::byte{0} && std::memcmp(b.data(), b.data() + 1, b.size() - 1) == 0);
}

// Bytes of `b` up to and including its last non-zero byte.
size_t nonzero_prefix(std::span<const std::byte> b) {
  size_t n = b.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, b.data() + n - 8, 8);
    if (w != 0) break;
    n -= 8;
  }
  while (n > 0 && b[n - 1] == std::byte{0}) --n;
  return n;
}

// A block's identity: XXH3-128 of its bytes up to the last non-zero one, with its LSIZE. Two
// blocks of one LSIZE are equal exactly when those prefixes are (the rest is zeros), and a
// single-block file that ends in a non-zero byte hashes to its own whole-file digest, so the
// estimate hashes such a file once (ZfsFileFeeder::file_digest()).
BlockKey key_of(std::span<const std::byte> block) {
  return block_key(XXH3_128bits(block.data(), nonzero_prefix(block)), static_cast<uint32_t>(block.size()));
}

uint64_t round_up(uint64_t v, uint64_t unit) {
  return (v + unit - 1) / unit * unit;
}

} // namespace

// The key of the all-zero block of `lsize` bytes.
static BlockKey zero_block_key(uint32_t lsize) {
  thread_local std::unordered_map<uint32_t, BlockKey> cache;
  auto it = cache.find(lsize);
  if (it == cache.end()) {
    const std::vector<std::byte> zeros(lsize);
    it = cache.emplace(lsize, key_of(zeros)).first;
  }
  return it->second;
}

bool is_zero_block_key(const BlockKey& key) {
  return zero_block_key(key.lsize) == key;
}

void ModelCounters::add(const ModelCounters& o) {
  files += o.files;
  logical_bytes += o.logical_bytes;
  blocks += o.blocks;
  sparse_holes += o.sparse_holes;
  zero_holes += o.zero_holes;
  embedded_refs += o.embedded_refs;
  ddt_refs += o.ddt_refs;
  sampled_out += o.sampled_out;
}

struct ZfsModel::Lane {
  ModelConfig config;
  DedupTable table;
  mutable std::mutex counters_mutex;
  ModelCounters counters;

  Lane(const ModelConfig& c, unsigned shard_bits) : config(c), table(shard_bits) {}
};

ZfsModel::ZfsModel(ModelOptions options) : m_options(std::move(options)) {
  if (m_options.recordsizes.empty()) {
    throw std::invalid_argument("no recordsize to model");
  }
  for (uint32_t rs : m_options.recordsizes) {
    ModelConfig c;
    c.profile = m_options.profile;
    c.recordsize = rs;
    c.ashift = m_options.ashift;
    c.compression = m_options.compression;
    c.copies = m_options.copies;
    if (auto why = validate(c)) {
      throw std::invalid_argument(*why);
    }
    m_lanes.push_back(std::make_unique<Lane>(c, m_options.shard_bits));
  }
  (void)BlockSampler(m_options.sample_rate); // throws std::invalid_argument when out of range
}

ZfsModel::~ZfsModel() = default;

const ModelConfig& ZfsModel::config(size_t i) const {
  return m_lanes.at(i)->config;
}
DedupTable& ZfsModel::table(size_t i) {
  return m_lanes.at(i)->table;
}
const DedupTable& ZfsModel::table(size_t i) const {
  return m_lanes.at(i)->table;
}

ModelCounters ZfsModel::counters(size_t i) const {
  const Lane& lane = *m_lanes.at(i);
  std::lock_guard lock(lane.counters_mutex);
  return lane.counters;
}

void ZfsModel::add_counters(size_t i, const ModelCounters& c) {
  Lane& lane = *m_lanes.at(i);
  std::lock_guard lock(lane.counters_mutex);
  lane.counters.add(c);
}

DdtHistogram ZfsModel::histogram(size_t i) const {
  return build_histogram(table(i), config(i));
}

std::unique_ptr<ZfsFileFeeder> ZfsModel::make_feeder() {
  return std::make_unique<ZfsFileFeeder>(*this);
}

// Per-lane state of the file being fed.
struct ZfsFileFeeder::LaneState {
  WritePolicy policy;
  uint32_t recordsize;
  uint32_t block_size = 0;  // LSIZE of this file's blocks
  uint64_t block_start = 0; // file offset of the current block
  uint32_t fill = 0;        // bytes of the current block covered so far
  bool has_data = false;    // the current block received data (not only holes)
  std::vector<std::byte> buffer;
  std::vector<BlockKey> refs; // references added by this file, for end_file(discard)
  std::vector<BlockInfo> ref_infos; // parallel to refs while an observer is set
  std::vector<BlockRecord> records;  // this file's blocks while recording
  ModelCounters counters;

  LaneState(const ModelConfig& config) : policy(config), recordsize(config.recordsize) {}
};

ZfsFileFeeder::ZfsFileFeeder(ZfsModel& model)
    : m_model(model), m_compressor(model.options().compression),
      m_sampler(model.options().sample_rate) {
  for (size_t i = 0; i < model.lanes(); ++i) {
    m_states.push_back(std::make_unique<LaneState>(model.config(i)));
  }
}

ZfsFileFeeder::~ZfsFileFeeder() = default;

void ZfsFileFeeder::begin_file(uint64_t size) {
  m_size = size;
  m_pos = 0;
  m_open = true;
  m_single_valid = false;
  m_file_digest.reset();
  for (auto& st : m_states) {
    // zfs_write()/dnode_set_blksz(): a single-block file's block is the file size rounded
    // up to SPA_MINBLOCKSIZE; beyond recordsize the block size is recordsize.
    st->block_size = size <= st->recordsize ? static_cast<uint32_t>(round_up(size, k_min_block))
                                            : st->recordsize;
    st->block_start = 0;
    st->fill = 0;
    st->has_data = false;
    st->refs.clear();
    st->ref_infos.clear();
    st->records.clear();
    st->counters = ModelCounters{};
    st->counters.files = 1;
    st->counters.logical_bytes = size;
    if (st->buffer.size() < st->block_size) {
      st->buffer.resize(st->block_size);
    }
  }
}

void ZfsFileFeeder::data(uint64_t offset, std::span<const std::byte> bytes) {
  feed(offset, bytes.data(), bytes.size());
}

void ZfsFileFeeder::hole(uint64_t offset, uint64_t length) {
  feed(offset, nullptr, length);
}

// Spreads [offset, offset + length) over every lane's current block; `bytes` null: a hole.
void ZfsFileFeeder::feed(uint64_t offset, const std::byte* bytes, uint64_t length) {
  if (!m_open || offset != m_pos) {
    throw std::logic_error("ZfsFileFeeder: content out of order");
  }
  // Nothing past the size the file had at begin_file() is modelled.
  length = std::min(length, m_size - std::min(m_size, offset));
  const bool fill_holes = m_model.options().holes == HoleMode::fill;
  for (size_t lane = 0; lane < m_states.size(); ++lane) {
    LaneState& st = *m_states[lane];
    uint64_t done = 0;
    while (done < length) {
      const uint64_t room = st.block_size - st.fill;
      const uint64_t take = std::min(room, length - done);
      if (bytes != nullptr && st.fill == 0 && take == st.block_size) {
        // A whole block inside this chunk: hash it where it is.
        finish_block(lane, {bytes + done, st.block_size}, true);
      } else {
        std::byte* dst = st.buffer.data() + st.fill;
        if (bytes != nullptr) {
          std::memcpy(dst, bytes + done, take);
          st.has_data = true;
        } else {
          std::memset(dst, 0, take);
          st.has_data = st.has_data || fill_holes;
        }
        st.fill += static_cast<uint32_t>(take);
        if (st.fill == st.block_size) {
          finish_block(lane, {st.buffer.data(), st.block_size}, st.has_data);
        }
      }
      done += take;
      if (st.fill == st.block_size || take == st.block_size) {
        st.block_start += st.block_size;
        st.fill = 0;
        st.has_data = false;
      }
    }
  }
  m_pos = offset + length;
}

void ZfsFileFeeder::finish_block(size_t lane, std::span<const std::byte> block, bool has_data) {
  // A file of one block in this lane: the block is the file's bytes and zero padding. Lanes
  // with the same LSIZE see the same block (hashed once), and its hash doubles as the
  // whole-file digest when the file ends in a non-zero byte.
  const bool single = m_size <= m_states[lane]->recordsize;
  if (single && m_single_valid && m_single.lsize == block.size()) {
    BlockRecord record;
    record.kind = m_single.kind;
    record.hash_lo = m_single.hash_lo;
    record.hash_hi = m_single.hash_hi;
    apply_block(lane, record, block);
    return;
  }
  BlockRecord record;
  if (!has_data) {
    record.kind = BlockRecord::Kind::sparse_hole; // never written: dmu keeps the hole
  } else if (all_zero(block)) {
    record.kind = BlockRecord::Kind::zero;
  } else {
    const size_t n = nonzero_prefix(block);
    const XXH128_hash_t h = XXH3_128bits(block.data(), n);
    const BlockKey key = block_key(h, static_cast<uint32_t>(block.size()));
    record.kind = BlockRecord::Kind::data;
    record.hash_lo = key.hash_lo;
    record.hash_hi = key.hash_hi;
    if (single && n == m_size) {
      m_file_digest = content::Digest128{h.low64, h.high64};
    }
  }
  if (single) {
    if (!m_file_digest) {
      // The file ends in zeros (or is all zeros, or sparse, read as zeros): its own hash.
      const XXH128_hash_t h = XXH3_128bits(block.data(), static_cast<size_t>(m_size));
      m_file_digest = content::Digest128{h.low64, h.high64};
    }
    m_single = {static_cast<uint32_t>(block.size()), record.kind, record.hash_lo, record.hash_hi};
    m_single_valid = true;
  }
  apply_block(lane, record, block);
}

bool ZfsFileFeeder::replay_block(size_t lane, const BlockRecord& record) {
  if (!m_open) {
    throw std::logic_error("ZfsFileFeeder: replay_block outside a file");
  }
  BlockRecord copy = record;
  return apply_block(lane, copy, {});
}

// The one place a block's fate is decided and counted, for read and replayed blocks alike.
// `block` holds the bytes when they were read (empty on replay: `record` must then carry
// the fate when the block is in the sample). Completes `record` with the fate it got.
bool ZfsFileFeeder::apply_block(size_t lane, BlockRecord& record, std::span<const std::byte> block) {
  LaneState& st = *m_states[lane];
  DedupTable& table = m_model.table(lane);
  const uint32_t lsize = st.block_size;
  auto counted = [&] {
    ++st.counters.blocks;
    if (m_recording) {
      st.records.push_back(record);
    }
    return true;
  };
  if (record.kind == BlockRecord::Kind::sparse_hole) {
    ++st.counters.sparse_holes;
    return counted();
  }
  if (record.kind == BlockRecord::Kind::zero) {
    const PhysicalBlock pb = st.policy.zero_block(lsize);
    if (pb.fate == BlockFate::hole) {
      ++st.counters.zero_holes;
      return counted();
    }
    const BlockKey key = zero_block_key(lsize);
    const BlockInfo zero_info{pb.psize, false, false};
    table.add_ref(key, zero_info);
    st.refs.push_back(key);
    if (m_observer != nullptr) {
      st.ref_infos.push_back(zero_info);
    }
    ++st.counters.ddt_refs;
    return counted();
  }
  // Through block_key(), so a record keeps meaning the bits the table compares.
  const BlockKey key = block_key(XXH128_hash_t{record.hash_lo, uint64_t{record.hash_hi} << 32}, lsize);
  if (!m_sampler.keep(key)) {
    ++st.counters.sampled_out; // not in the sample: neither compressed nor counted
    return counted();
  }
  std::optional<BlockInfo> info = table.add_ref_if_known(key);
  if (!info) {
    // Another lane may have met the same bytes at the same LSIZE (a small file is one
    // block of the same LSIZE under every recordsize above its size).
    for (size_t other = 0; other < m_states.size() && !info; ++other) {
      if (other != lane) {
        info = m_model.table(other).find(key);
      }
    }
    if (!info && record.info_known) {
      info = record.info;
    }
    if (!info) {
      if (block.empty()) {
        return false; // replayed without its fate: the caller reads the file
      }
      const PhysicalBlock pb = st.policy.data_block(block, m_compressor);
      info = BlockInfo{pb.psize, pb.fate == BlockFate::embedded, pb.compressed};
    }
    info = table.add_ref(key, *info);
  }
  record.info = *info;
  record.info_known = true;
  st.refs.push_back(key);
  if (m_observer != nullptr) {
    st.ref_infos.push_back(*info);
  }
  if (info->embedded) {
    ++st.counters.embedded_refs;
  } else {
    ++st.counters.ddt_refs;
  }
  return counted();
}

bool ZfsFileFeeder::gives_file_digest(uint64_t size) const {
  if (size == 0) return false;
  for (const auto& st : m_states) {
    if (size <= st->recordsize) return true;
  }
  return false;
}

const std::vector<BlockRecord>& ZfsFileFeeder::recorded(size_t lane) const {
  return m_states.at(lane)->records;
}

void ZfsFileFeeder::end_file(FileOutcome outcome) {
  if (!m_open) {
    return;
  }
  m_open = false;
  for (size_t lane = 0; lane < m_states.size(); ++lane) {
    LaneState& st = *m_states[lane];
    if (outcome == FileOutcome::commit && st.fill > 0) {
      // The tail: zero-padded to the block size (bytes the reader did not deliver, if any,
      // read as zeros).
      std::memset(st.buffer.data() + st.fill, 0, st.block_size - st.fill);
      finish_block(lane, {st.buffer.data(), st.block_size}, st.has_data);
    }
    st.fill = 0;
    if (outcome == FileOutcome::commit) {
      m_model.add_counters(lane, st.counters);
      if (m_observer != nullptr) {
        for (size_t r = 0; r < st.refs.size(); ++r) {
          m_observer->committed_block(lane, st.refs[r], st.ref_infos[r]);
        }
      }
    } else {
      for (const BlockKey& key : st.refs) {
        m_model.table(lane).drop_ref(key);
      }
    }
    st.refs.clear();
    st.ref_infos.clear();
  }
}

void ZfsFileFeeder::add_file(std::span<const std::byte> bytes) {
  begin_file(bytes.size());
  if (!bytes.empty()) {
    data(0, bytes);
  }
  end_file(FileOutcome::commit);
}

ZfsModelConsumer::ZfsModelConsumer(ZfsModel& model) : m_feeder(model.make_feeder()) {}

void ZfsModelConsumer::begin(const content::FileJob& job) {
  m_feeder->begin_file(job.size);
}

void ZfsModelConsumer::data(uint64_t offset, std::span<const std::byte> bytes) {
  m_feeder->data(offset, bytes);
}

void ZfsModelConsumer::hole(uint64_t offset, uint64_t length) {
  m_feeder->hole(offset, length);
}

void ZfsModelConsumer::end(const content::FileJob& /*job*/, const content::ReadResult& result) {
  m_feeder->end_file(result.outcome == content::ReadOutcome::ok ? FileOutcome::commit
                                                                : FileOutcome::discard);
}

content::ConsumerFactory zfs_model_consumer_factory(ZfsModel& model) {
  return [&model](unsigned /*thread*/) -> std::unique_ptr<content::ContentConsumer> {
    return std::make_unique<ZfsModelConsumer>(model);
  };
}

} // namespace wsd::model
