// model_dump: runs the ZFS model on a directory and prints what `zdb -DD` would print for a
// pool holding a copy of it (tests/zfs/oracle_check.sh compares the two).
//
//   model_dump [--profile NAME] [--recordsize N[,N...]] [--compression ALGO] [--ashift N]
//              [--fill-holes] [--json] DIR
//
// Walks DIR with std::filesystem (no symlinks followed), reads each regular file once with
// SEEK_DATA/SEEK_HOLE so holes stay holes, counts each inode once (cp -a keeps hardlinks).

#include "model/ddt_ram.hpp"
#include "model/ddt_stats.hpp"
#include "model/zfs_model.hpp"
#include "model/zfs_profile.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <sys/stat.h>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

using wsd::model::FileOutcome;
using wsd::model::ZfsFileFeeder;

uint32_t parse_size(const std::string& text) {
  size_t pos = 0;
  unsigned long long v = std::stoull(text, &pos);
  if (pos < text.size()) {
    switch (text[pos]) {
    case 'K':
    case 'k':
      v <<= 10;
      break;
    case 'M':
    case 'm':
      v <<= 20;
      break;
    default:
      throw std::invalid_argument("bad size " + text);
    }
  }
  return static_cast<uint32_t>(v);
}

// Feeds one file: data extents via SEEK_DATA/SEEK_HOLE, holes between them.
bool feed_file(ZfsFileFeeder& feeder, const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "open(\"%s\"): %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  feeder.begin_file(size);
  std::vector<std::byte> buf(1u << 20);
  uint64_t pos = 0;
  bool ok = true;
  while (pos < size && ok) {
    off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      data = static_cast<off_t>(size); // only a hole remains
    }
    const auto data_u = static_cast<uint64_t>(data);
    if (data_u > pos) {
      feeder.hole(pos, std::min(data_u, size) - pos);
      pos = std::min(data_u, size);
      continue;
    }
    off_t hole = ::lseek(fd, static_cast<off_t>(pos), SEEK_HOLE);
    const uint64_t end = hole < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    while (pos < end) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - pos));
      const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
      if (n <= 0) {
        ok = false;
        break;
      }
      feeder.data(pos, {buf.data(), static_cast<size_t>(n)});
      pos += static_cast<uint64_t>(n);
    }
  }
  ::close(fd);
  feeder.end_file(ok ? FileOutcome::commit : FileOutcome::discard);
  return ok;
}

} // namespace

int main(int argc, char** argv) {
  wsd::model::ModelOptions options;
  options.compression = {wsd::model::Compression::off, 0};
  std::string dir;
  bool json = false;
  std::string compression = "off";
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) {
          throw std::invalid_argument(arg + " needs a value");
        }
        return argv[++i];
      };
      if (arg == "--profile") {
        const std::string name = value();
        options.profile = wsd::model::find_profile(name);
        if (options.profile == nullptr) {
          throw std::invalid_argument("unknown profile " + name);
        }
      } else if (arg == "--recordsize") {
        options.recordsizes.clear();
        std::string list = value();
        size_t start = 0;
        while (start <= list.size()) {
          const size_t comma = std::min(list.find(',', start), list.size());
          options.recordsizes.push_back(parse_size(list.substr(start, comma - start)));
          start = comma + 1;
        }
      } else if (arg == "--compression") {
        compression = value();
      } else if (arg == "--ashift") {
        options.ashift = static_cast<uint32_t>(std::stoul(value()));
      } else if (arg == "--fill-holes") {
        options.holes = wsd::model::HoleMode::fill;
      } else if (arg == "--json") {
        json = true;
      } else if (!arg.empty() && arg[0] == '-') {
        throw std::invalid_argument("unknown option " + arg);
      } else {
        dir = arg;
      }
    }
    if (dir.empty()) {
      throw std::invalid_argument("usage: model_dump [options] DIR");
    }
    const wsd::model::ZfsProfile& profile =
        options.profile != nullptr ? *options.profile : wsd::model::default_profile();
    if (compression == "on") {
      options.compression = wsd::model::resolve_compression_on(profile);
    } else if (auto spec = wsd::model::parse_compression(compression)) {
      options.compression = *spec;
    } else {
      throw std::invalid_argument("unknown compression " + compression);
    }

    wsd::model::ZfsModel model(options);
    auto feeder = model.make_feeder();
    std::set<std::pair<dev_t, ino_t>> seen;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (!entry.is_symlink() && entry.is_regular_file()) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        continue;
      }
      if (!seen.insert({st.st_dev, st.st_ino}).second) {
        continue; // another name of an inode already modelled
      }
      feed_file(*feeder, path.string(), static_cast<uint64_t>(st.st_size));
    }

    nlohmann::json out = nlohmann::json::array();
    for (size_t lane = 0; lane < model.lanes(); ++lane) {
      const wsd::model::DdtHistogram h = model.histogram(lane);
      const wsd::model::DdtRamEstimate ram =
          wsd::model::estimate_ddt_ram(model.table(lane), model.config(lane));
      if (json) {
        out.push_back({{"recordsize", model.config(lane).recordsize},
                       {"ddt", wsd::model::ddt_to_json(h, ram.figures)}});
        continue;
      }
      if (model.lanes() > 1) {
        std::printf("# recordsize %u\n", model.config(lane).recordsize);
      }
      std::fputs(wsd::model::render_zdb_dd(h, profile.zdb_format, ram.zdb_objects).c_str(), stdout);
    }
    if (json) {
      std::puts(out.dump(2).c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "model_dump: %s\n", e.what());
    return 2;
  }
  return 0;
}
