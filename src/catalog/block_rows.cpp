#include "catalog/block_rows.hpp"

#include <cstring>

namespace wsd::catalog {

namespace {

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_hash(std::string& out, uint64_t lo, uint32_t hi) {
  char b[12];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(lo >> (8 * i));
  for (int i = 0; i < 4; ++i) b[8 + i] = static_cast<char>(hi >> (8 * i));
  out.append(b, sizeof b);
}

// Reads from a byte string, failing (sticky) on any overrun.
class Reader {
public:
  explicit Reader(std::string_view s) : m_s(s) {}
  bool ok() const { return m_ok; }
  bool at_end() const { return m_pos == m_s.size(); }

  uint64_t varint() {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (m_pos >= m_s.size()) break;
      const auto b = static_cast<uint8_t>(m_s[m_pos++]);
      v |= uint64_t{b & 0x7Fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    m_ok = false;
    return 0;
  }

  void hash(uint64_t& lo, uint32_t& hi) {
    if (m_s.size() - m_pos < 12) {
      m_ok = false;
      m_pos = m_s.size();
      return;
    }
    lo = 0;
    hi = 0;
    for (int i = 0; i < 8; ++i) lo |= uint64_t{static_cast<uint8_t>(m_s[m_pos + static_cast<size_t>(i)])} << (8 * i);
    for (int i = 0; i < 4; ++i) hi |= uint32_t{static_cast<uint8_t>(m_s[m_pos + 8 + static_cast<size_t>(i)])} << (8 * i);
    m_pos += 12;
  }

private:
  std::string_view m_s;
  size_t m_pos = 0;
  bool m_ok = true;
};

constexpr uint64_t k_tag_sparse = 0;
constexpr uint64_t k_tag_zero = 1;
constexpr uint64_t k_tag_data_unknown = 2;
constexpr uint64_t k_tag_data_known = 3;

} // namespace

std::string zfs_block_params(const model::ModelConfig& config, model::HoleMode holes) {
  const model::ZfsProfile& profile = config.profile ? *config.profile : model::default_profile();
  return "profile=" + std::string(profile.name) + ",rs=" + std::to_string(config.recordsize) +
         ",ashift=" + std::to_string(config.ashift) + ",c=" + model::to_string(config.compression) +
         ",holes=" + (holes == model::HoleMode::fill ? "fill" : "keep") +
         (model::k_block_key_version == 1 ? "" : ",key=" + std::to_string(model::k_block_key_version));
}

uint64_t block_count(uint64_t size, uint32_t recordsize) {
  if (size == 0) return 0;
  if (size <= recordsize) return 1;
  return (size + recordsize - 1) / recordsize;
}

std::string encode_blocks(const std::vector<model::BlockRecord>& blocks) {
  std::string out;
  out.reserve(2 + blocks.size() * 15);
  put_varint(out, blocks.size());
  for (const model::BlockRecord& b : blocks) {
    switch (b.kind) {
    case model::BlockRecord::Kind::sparse_hole:
      put_varint(out, k_tag_sparse);
      break;
    case model::BlockRecord::Kind::zero:
      put_varint(out, k_tag_zero);
      break;
    case model::BlockRecord::Kind::data:
      if (b.info_known) {
        put_varint(out, k_tag_data_known + ((uint64_t{b.info.psize} << 2) |
                                            (uint64_t{b.info.embedded} << 1) |
                                            uint64_t{b.info.compressed}));
      } else {
        put_varint(out, k_tag_data_unknown);
      }
      put_hash(out, b.hash_lo, b.hash_hi);
      break;
    }
  }
  return out;
}

std::optional<std::vector<model::BlockRecord>> decode_blocks(std::string_view value,
                                                             uint64_t expected_blocks) {
  Reader in(value);
  const uint64_t n = in.varint();
  if (!in.ok() || n != expected_blocks || n > value.size()) return std::nullopt;
  std::vector<model::BlockRecord> out(n);
  for (model::BlockRecord& b : out) {
    const uint64_t tag = in.varint();
    if (tag == k_tag_sparse) {
      b.kind = model::BlockRecord::Kind::sparse_hole;
    } else if (tag == k_tag_zero) {
      b.kind = model::BlockRecord::Kind::zero;
    } else {
      b.kind = model::BlockRecord::Kind::data;
      if (tag >= k_tag_data_known) {
        const uint64_t fate = tag - k_tag_data_known;
        if ((fate >> 2) > UINT32_MAX) return std::nullopt;
        b.info_known = true;
        b.info.psize = static_cast<uint32_t>(fate >> 2);
        b.info.embedded = (fate & 2) != 0;
        b.info.compressed = (fate & 1) != 0;
      }
      in.hash(b.hash_lo, b.hash_hi);
    }
    if (!in.ok()) return std::nullopt;
  }
  if (!in.at_end()) return std::nullopt;
  return out;
}

std::string encode_chunks(const std::vector<ChunkRecord>& chunks) {
  std::string out;
  out.reserve(2 + chunks.size() * 15);
  put_varint(out, chunks.size());
  for (const ChunkRecord& c : chunks) {
    put_varint(out, c.length);
    put_hash(out, c.hash_lo, c.hash_hi);
  }
  return out;
}

std::optional<std::vector<ChunkRecord>> decode_chunks(std::string_view value, uint64_t file_size) {
  Reader in(value);
  const uint64_t n = in.varint();
  if (!in.ok() || n > value.size()) return std::nullopt;
  std::vector<ChunkRecord> out(n);
  uint64_t total = 0;
  for (ChunkRecord& c : out) {
    const uint64_t len = in.varint();
    if (len == 0 || len > UINT32_MAX) return std::nullopt;
    c.length = static_cast<uint32_t>(len);
    total += len;
    in.hash(c.hash_lo, c.hash_hi);
    if (!in.ok()) return std::nullopt;
  }
  if (!in.at_end() || total != file_size) return std::nullopt;
  return out;
}

} // namespace wsd::catalog
