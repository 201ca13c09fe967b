#pragma once
// The one hash table behind the block indexes: the simulated DDT (model::DedupTable) and the
// CDC chunk set (estimate::ChunkIndex). Both hold tens of millions of small fixed-size slots
// keyed by a content hash, filled concurrently by the reader threads, so both want the same
// thing: no per-entry allocation, few bytes per entry, short probes, little lock contention.
//
// - Sharded: 2^shard_bits shards picked by the top bits of a 32-bit hash word, one mutex
//   each; callers work on a shard under its lock through with_shard().
// - Open addressing with Robin Hood linear probing: an insert that meets a slot closer to
//   its home than itself takes that slot and carries the displaced one on. A miss stops at
//   the first slot closer to its home than the search, so lookups of absent keys (every
//   unique block is one) stay short at high load: ~0.5 (1 + 1 / (1 - a)) probes, 5.5 at a
//   load factor a of 0.9, where plain linear probing needs ~0.5 (1 + 1 / (1 - a)^2) = 50.
// - Grown by 1.5x when an insert would pass 90% load, so a shard's load stays in
//   [0.6, 0.9] once it has grown: bytes per entry = sizeof(Slot) / load, 1.11x to 1.67x the
//   slot (shards grow at different moments, so the whole table sits near the mean, ~1.35x).
// - Home slot: Lemire's multiply-shift reduction of the top 32 bits of Traits::place(), so
//   shard sizes need not be powers of two. The shard word and the place word must be
//   independent hash bits.
// - An optional 32-bit tag per slot (a parallel array, enable_tags()) that moves with its
//   slot, for callers that label entries (estimate::Attribution).
//
// Traits supplies:
//   using Key; using Slot;        // Slot: trivially copyable; Slot{} is the empty slot
//   using ShardExtra;             // per-shard state kept beside the slots (may be empty)
//   static bool empty(const Slot&);
//   static bool matches(const Slot&, const Key&);
//   static uint64_t place(const Slot&);   // == place(key) for the slot holding key
//   static uint64_t place(const Key&);
//   static uint32_t shard_word(const Key&);

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace wsd::model {

/// A sharded Robin Hood hash table of fixed-size slots (see the file comment).
template <class Traits>
class ShardedTable {
public:
  using Key = typename Traits::Key;
  using Slot = typename Traits::Slot;
  using ShardExtra = typename Traits::ShardExtra;

  /// "No such slot".
  static constexpr size_t npos = ~size_t{0};

  /// One shard: its slots, tags and extra state. Only touched under its lock.
  class Shard {
  public:
    Shard() : m_slots(k_initial_slots) {}

    /// Index of the slot holding `key`, or npos.
    size_t find(const Key& key) const {
      const size_t n = m_slots.size();
      size_t i = home(Traits::place(key));
      for (size_t dist = 0;; ++dist) {
        const Slot& s = m_slots[i];
        if (Traits::empty(s)) {
          return npos;
        }
        if (Traits::matches(s, key)) {
          return i;
        }
        if (distance(s, i) < dist) {
          return npos; // Robin Hood: the key would have taken this slot
        }
        if (++i == n) {
          i = 0;
        }
      }
    }

    /// Stores `slot` (whose key is absent), growing first at 90% load; returns its index
    /// (valid until the next insert) and gives it `tag` when tags are on.
    size_t insert(const Slot& slot, uint32_t tag = 0) {
      if ((m_used + 1) * 10 > m_slots.size() * 9) {
        grow();
      }
      ++m_used;
      return place_slot(slot, tag);
    }

    /// The slot at index `i`.
    Slot& slot(size_t i) { return m_slots[i]; }
    /// The slot at index `i` (read-only).
    const Slot& slot(size_t i) const { return m_slots[i]; }
    /// Whether slots carry tags.
    bool tagged() const { return !m_tags.empty(); }
    /// The tag of slot `i` (tags must be on).
    uint32_t& tag(size_t i) { return m_tags[i]; }
    /// The tag of slot `i`, 0 when tags are off.
    uint32_t tag_or_zero(size_t i) const { return m_tags.empty() ? 0 : m_tags[i]; }
    /// Number of slots (occupied or not).
    size_t capacity() const { return m_slots.size(); }
    /// Occupied slots.
    size_t size() const { return m_used; }
    /// The caller's per-shard state.
    ShardExtra& extra() { return m_extra; }
    /// The caller's per-shard state (read-only).
    const ShardExtra& extra() const { return m_extra; }

  private:
    friend class ShardedTable;
    static constexpr size_t k_initial_slots = 64;

    size_t home(uint64_t place) const {
      // Multiply-shift range reduction (Lemire) of the top 32 bits onto [0, n).
      return static_cast<size_t>(((place >> 32) * static_cast<uint64_t>(m_slots.size())) >> 32);
    }
    size_t distance(const Slot& s, size_t i) const {
      const size_t h = home(Traits::place(s));
      return i >= h ? i - h : i + m_slots.size() - h;
    }
    size_t place_slot(Slot carry, uint32_t carry_tag) {
      const size_t n = m_slots.size();
      const bool tags = !m_tags.empty();
      size_t i = home(Traits::place(carry));
      size_t landed = npos;
      for (size_t dist = 0;; ++dist) {
        Slot& s = m_slots[i];
        if (Traits::empty(s)) {
          s = carry;
          if (tags) {
            m_tags[i] = carry_tag;
          }
          return landed == npos ? i : landed;
        }
        const size_t d = distance(s, i);
        if (d < dist) {
          std::swap(s, carry);
          if (tags) {
            std::swap(m_tags[i], carry_tag);
          }
          if (landed == npos) {
            landed = i;
          }
          dist = d;
        }
        if (++i == n) {
          i = 0;
        }
      }
    }
    void grow() {
      std::vector<Slot> old = std::move(m_slots);
      std::vector<uint32_t> old_tags = std::move(m_tags);
      m_slots.assign(old.size() + old.size() / 2, Slot{});
      m_tags.assign(old_tags.empty() ? 0 : m_slots.size(), 0u);
      for (size_t k = 0; k < old.size(); ++k) {
        if (!Traits::empty(old[k])) {
          place_slot(old[k], old_tags.empty() ? 0u : old_tags[k]);
        }
      }
    }

    mutable std::mutex m_mutex;
    std::vector<Slot> m_slots;
    std::vector<uint32_t> m_tags; // parallel to m_slots when tags are on, else empty
    size_t m_used = 0;
    ShardExtra m_extra{};
  };

  /// `shard_bits`: log2 of the shard count (at most 16).
  explicit ShardedTable(unsigned shard_bits) : m_shard_bits(shard_bits) {
    for (size_t i = 0; i < (size_t{1} << shard_bits); ++i) {
      m_shards.push_back(std::make_unique<Shard>());
    }
  }

  /// Runs fn(Shard&) under the lock of `key`'s shard and returns what it returns.
  template <class Fn>
  decltype(auto) with_shard(const Key& key, Fn&& fn) {
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.m_mutex);
    return std::forward<Fn>(fn)(shard);
  }

  /// Runs fn(const Shard&) under the lock of `key`'s shard.
  template <class Fn>
  decltype(auto) with_shard(const Key& key, Fn&& fn) const {
    const Shard& shard = shard_of(key);
    std::lock_guard lock(shard.m_mutex);
    return std::forward<Fn>(fn)(shard);
  }

  /// Runs fn(const Shard&, size_t shard_index) on every shard in turn, each under its lock.
  template <class Fn>
  void for_each_shard(Fn&& fn) const {
    for (size_t k = 0; k < m_shards.size(); ++k) {
      std::lock_guard lock(m_shards[k]->m_mutex);
      fn(static_cast<const Shard&>(*m_shards[k]), k);
    }
  }

  /// Gives every slot a 32-bit tag, 0 at first (4 more bytes per slot).
  void enable_tags() {
    for (auto& shard : m_shards) {
      std::lock_guard lock(shard->m_mutex);
      shard->m_tags.assign(shard->m_slots.size(), 0u);
    }
  }

  /// Occupied slots over all shards.
  uint64_t size() const {
    uint64_t n = 0;
    for_each_shard([&](const Shard& s, size_t) { n += s.size(); });
    return n;
  }

  /// Bytes held by the slot and tag arrays.
  uint64_t index_bytes() const {
    uint64_t n = 0;
    for_each_shard([&](const Shard& s, size_t) {
      n += s.m_slots.capacity() * sizeof(Slot) + s.m_tags.capacity() * sizeof(uint32_t);
    });
    return n;
  }

private:
  Shard& shard_of(const Key& key) const {
    const uint32_t w = Traits::shard_word(key);
    return *m_shards[m_shard_bits == 0 ? 0 : w >> (32 - m_shard_bits)];
  }

  unsigned m_shard_bits;
  std::vector<std::unique_ptr<Shard>> m_shards;
};

} // namespace wsd::model
