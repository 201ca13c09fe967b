// Throughput of the content pipeline on cached data (DESIGN.md section 6: >= 1 GB/s per core
// hashing with XXH3-128, one read per small file). Run: build/bench/micro_bench
//   --benchmark_filter=Content   (files are created once under $TMPDIR and read warm)

#include "content/content_reader.hpp"
#include "content/file_hasher.hpp"
#include "fs/file_stat.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using namespace wsd;

struct Corpus {
  std::string dir;
  std::vector<content::FileJob> jobs;
  uint64_t bytes = 0;
};

// Builds (once per shape) `count` files of `size` bytes of pseudo-random data.
const Corpus& corpus(size_t count, size_t size) {
  static std::vector<std::unique_ptr<Corpus>> cache;
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = std::string(tmp ? tmp : "/tmp") + "/wsdedup-content-bench-" +
                          std::to_string(count) + "x" + std::to_string(size);
  for (const auto& c : cache)
    if (c->dir == dir) return *c;
  auto c = std::make_unique<Corpus>();
  c->dir = dir;
  std::filesystem::create_directories(dir);
  std::string data(size, '\0');
  uint64_t x = 88172645463325252ULL;
  for (size_t i = 0; i < count; ++i) {
    for (auto& ch : data) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      ch = static_cast<char>(x);
    }
    const std::string rel = "f" + std::to_string(i);
    const std::string path = dir + "/" + rel;
    if (!std::filesystem::exists(path)) {
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) std::abort();
      ::close(fd);
    }
    fs::FileStat st;
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    fs::stat_at(dfd, rel.c_str(), st);
    ::close(dfd);
    content::FileJob j;
    j.id = i;
    j.rel_path = rel;
    j.dev = st.dev;
    j.ino = st.ino;
    j.size = st.size;
    c->jobs.push_back(j);
    c->bytes += st.size;
  }
  cache.push_back(std::move(c));
  return *cache.back();
}

void run_pipeline(benchmark::State& state, size_t count, size_t size) {
  const Corpus& c = corpus(count, size);
  const fs::RootSet roots({c.dir});
  content::ReaderOptions o;
  o.threads = static_cast<unsigned>(state.range(0));
  uint64_t calls = 0;
  for (auto _ : state) {
    content::DigestTable table(c.jobs.size());
    content::ContentReader reader(roots, o);
    const auto stats = reader.run([&](const auto& push) { for (const auto& j : c.jobs) push(j); },
                                  [&](unsigned) { return content::make_file_hasher(table); });
    calls = stats.read_calls;
    benchmark::DoNotOptimize(table.digests.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.jobs.size()));
  state.counters["reads_per_file"] = static_cast<double>(calls) / static_cast<double>(c.jobs.size());
}

void ContentLargeFiles(benchmark::State& state) { run_pipeline(state, 8, 64 << 20); }
void ContentSmallFiles(benchmark::State& state) { run_pipeline(state, 20000, 4096); }
void ContentMixedFiles(benchmark::State& state) { run_pipeline(state, 2000, 200 << 10); }

void HashOnly(benchmark::State& state) {
  std::vector<std::byte> buf(1 << 20, std::byte{7});
  for (auto _ : state) benchmark::DoNotOptimize(content::hash_bytes(buf));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}

} // namespace

BENCHMARK(ContentLargeFiles)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(ContentSmallFiles)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(ContentMixedFiles)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(HashOnly);
