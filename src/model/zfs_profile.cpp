#include "model/zfs_profile.hpp"

#include <array>
#include <charconv>
#include <fmt/format.h>

namespace wsd::model {
namespace {

// Sources read for each profile (docs/zfs-model.md, "Evidence"): zfs-fuse 0.7 (pool v23, the
// onnv code of 2009/2010, checked against the running daemon), OpenZFS 2.1.11, 2.3.2, 2.3.5,
// 2.3.9 and 2.4.4.
constexpr std::array<ZfsProfile, 4> k_profiles{{
    {"zfs-fuse", "zfs-fuse 0.7 (pool version 23)", ThresholdRule::seven_eighths_aligned_512,
     PsizeRounding::to_512, ZeroBlockRule::dedup_as_data, SmallBlockRule::in_ddt, ZdbFormat::onnv,
     false, false, false, Compression::lzjb, 12},
    // ddt_zap.c: ddt_zap_leaf_blockshift = 12 up to 2.2.
    {"openzfs-2.2", "OpenZFS 2.0 - 2.2.x (rules checked on 2.1.11)", ThresholdRule::seven_eighths,
     PsizeRounding::to_min_alloc, ZeroBlockRule::dedup_as_data, SmallBlockRule::in_ddt,
     ZdbFormat::openzfs_legacy, true, true, false, Compression::lz4, 12},
    // ddt_zap.c: ddt_zap_default_bs = 15 from 2.3 (fast dedup).
    {"openzfs-2.3.0", "OpenZFS 2.3.0 - 2.3.2 (checked on 2.3.2)",
     ThresholdRule::seven_eighths_floored_to_sector, PsizeRounding::to_min_alloc,
     ZeroBlockRule::dedup_as_data, SmallBlockRule::in_ddt, ZdbFormat::openzfs_fdt, true, true, true,
     Compression::lz4, 15},
    {"openzfs-2.3.3", "OpenZFS 2.3.3 and later, 2.4.x (checked on 2.3.5, 2.3.9, 2.4.4)",
     ThresholdRule::seven_eighths_floored_to_sector, PsizeRounding::to_min_alloc,
     ZeroBlockRule::hole_under_dedup, SmallBlockRule::embedded, ZdbFormat::openzfs_fdt, true, true,
     true, Compression::lz4, 15},
}};

struct Version {
  int major = 0;
  int minor = 0;
  int patch = 0;
};

std::optional<Version> parse_version(std::string_view text) {
  Version v;
  int* parts[] = {&v.major, &v.minor, &v.patch};
  size_t i = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  while (p < end && i < 3) {
    auto [next, ec] = std::from_chars(p, end, *parts[i]);
    if (ec != std::errc{}) {
      return std::nullopt;
    }
    ++i;
    p = next;
    if (p < end) {
      if (*p != '.') {
        return std::nullopt;
      }
      ++p;
    }
  }
  if (p != end || i < 2) {
    return std::nullopt;
  }
  return v;
}

bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

} // namespace

std::optional<CompressionSpec> parse_compression(std::string_view text) {
  auto level_after = [&](std::string_view prefix, int lo, int hi) -> std::optional<int> {
    std::string_view rest = text.substr(prefix.size());
    int level = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), level);
    if (ec != std::errc{} || ptr != rest.data() + rest.size() || level < lo || level > hi) {
      return std::nullopt;
    }
    return level;
  };
  if (text == "off") {
    return CompressionSpec{Compression::off, 0};
  }
  if (text == "lz4") {
    return CompressionSpec{Compression::lz4, 0};
  }
  if (text == "zle") {
    return CompressionSpec{Compression::zle, 0};
  }
  if (text == "lzjb") {
    return CompressionSpec{Compression::lzjb, 0};
  }
  if (text == "gzip") { // zfs_prop.c: gzip means gzip-6
    return CompressionSpec{Compression::gzip, 6};
  }
  if (text == "zstd") { // ZIO_ZSTD_LEVEL_DEFAULT is 3
    return CompressionSpec{Compression::zstd, 3};
  }
  if (text.starts_with("gzip-")) {
    if (auto level = level_after("gzip-", 1, 9)) {
      return CompressionSpec{Compression::gzip, *level};
    }
    return std::nullopt;
  }
  if (text.starts_with("zstd-fast")) {
    return std::nullopt; // negative levels: not modelled
  }
  if (text.starts_with("zstd-")) {
    if (auto level = level_after("zstd-", 1, 19)) {
      return CompressionSpec{Compression::zstd, *level};
    }
  }
  return std::nullopt;
}

std::string to_string(CompressionSpec spec) {
  switch (spec.algo) {
  case Compression::off:
    return "off";
  case Compression::lz4:
    return "lz4";
  case Compression::zle:
    return "zle";
  case Compression::lzjb:
    return "lzjb";
  case Compression::gzip:
    return fmt::format("gzip-{}", spec.level);
  case Compression::zstd:
    return fmt::format("zstd-{}", spec.level);
  }
  return "?";
}

std::span<const ZfsProfile> all_profiles() {
  return k_profiles;
}

const ZfsProfile* find_profile(std::string_view name) {
  for (const ZfsProfile& p : k_profiles) {
    if (p.name == name) {
      return &p;
    }
  }
  if (name == "openzfs-2.4" || name == "latest" || name == "newest") {
    return &default_profile();
  }
  if (name.starts_with("openzfs-")) {
    name.remove_prefix(8);
  }
  auto v = parse_version(name);
  if (!v || v->major < 2) {
    return nullptr;
  }
  if (v->major == 2 && v->minor <= 2) {
    return &k_profiles[1];
  }
  if (v->major == 2 && v->minor == 3 && v->patch <= 2) {
    return &k_profiles[2];
  }
  return &k_profiles[3];
}

const ZfsProfile& default_profile() {
  return k_profiles.back();
}

const ZfsProfile& zfs_fuse_profile() {
  return k_profiles.front();
}

bool profile_supports(const ZfsProfile& profile, CompressionSpec spec, std::string* why) {
  if (spec.algo == Compression::lz4 && !profile.has_lz4) {
    if (why != nullptr) {
      *why = fmt::format("profile {} ({}) has no lz4 compression; use off, lzjb, gzip-N or zle",
                         profile.name, profile.releases);
    }
    return false;
  }
  if (spec.algo == Compression::zstd && !profile.has_zstd) {
    if (why != nullptr) {
      *why = fmt::format("profile {} ({}) has no zstd compression; use off, lzjb, gzip-N or zle",
                         profile.name, profile.releases);
    }
    return false;
  }
  return true;
}

CompressionSpec resolve_compression_on(const ZfsProfile& profile) {
  return CompressionSpec{profile.compression_on, 0};
}

std::optional<std::string> validate(const ModelConfig& config) {
  if (!is_power_of_two(config.recordsize) || config.recordsize < k_min_block ||
      config.recordsize > k_max_recordsize) {
    return fmt::format("recordsize {} is not a power of two between 512 and 16M",
                       config.recordsize);
  }
  if (config.ashift < 9 || config.ashift > 16) {
    return fmt::format("ashift {} is outside 9..16", config.ashift);
  }
  if (config.copies < 1 || config.copies > 3) {
    return fmt::format("copies {} is outside 1..3", config.copies);
  }
  std::string why;
  if (!profile_supports(config.effective_profile(), config.compression, &why)) {
    return why;
  }
  return std::nullopt;
}

} // namespace wsd::model
