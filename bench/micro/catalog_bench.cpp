// Catalog::put as a first run calls it: rows of walk-ordered files (inode numbers and times
// close together, paths sharing their directory), a 16-byte digest each, then flush(). The
// time per row is what the catalog adds to a first run per file and kind of row.
#include "catalog/catalog.hpp"

#include <benchmark/benchmark.h>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using wsd::catalog::Catalog;
using wsd::catalog::FileIdentity;
using wsd::catalog::Row;

constexpr int64_t k_s = 1'000'000'000;

std::string temp_catalog_path() {
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp && *tmp ? tmp : "/tmp") + "/wsdedup-catalog-bench-" +
         std::to_string(::getpid()) + ".db";
}

void remove_catalog(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(path + suffix);
}

// state.range(0): threads putting rows at once; each puts 65536 rows per iteration.
void BM_CatalogPut(benchmark::State& state) {
  const auto threads = static_cast<size_t>(state.range(0));
  constexpr uint64_t k_rows = 65536;
  const std::string path = temp_catalog_path();
  uint64_t round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    remove_catalog(path);
    auto catalog = Catalog::open(path, nullptr);
    state.ResumeTiming();
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const std::string dir =
            "/srv/workspaces/task-" + std::to_string(t) + "/node_modules/some-package/lib/";
        for (uint64_t i = 0; i < k_rows; ++i) {
          const auto ns = static_cast<int64_t>(100 * k_s + static_cast<int64_t>(i));
          const FileIdentity id{0x5eed, (round << 32) + t * k_rows + i, 1000 + i % 5000, ns, ns};
          Row row{id, 200 * k_s, std::string(16, static_cast<char>(i))};
          catalog->put("xxh3-128", "", std::move(row),
                       dir + "file-" + std::to_string(i % 20) + ".js");
        }
      });
    }
    for (auto& th : pool) th.join();
    catalog->flush();
    ++round;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * threads * k_rows));
  remove_catalog(path);
}
BENCHMARK(BM_CatalogPut)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
