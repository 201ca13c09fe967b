#include "content/cached_hashes.hpp"
#include "fs/file_stat.hpp"
#include "fs/roots.hpp"
#include "test_util.hpp"
#include "verify/pair_compare.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

using namespace wsd;

namespace {

constexpr size_t k_chunk = 64 * 1024; // small chunks: the large-file path with small files

verify::Node node_of(const std::string& root, const std::string& rel) {
  verify::Node n;
  n.rel_path = rel;
  const int dfd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EXPECT_GE(dfd, 0);
  EXPECT_EQ(fs::stat_at(dfd, rel.c_str(), n.st), 0) << rel;
  ::close(dfd);
  return n;
}

// A file of `size` bytes with data only at [data_at, data_at + data_len): the rest is holes.
void write_sparse(const std::string& path, uint64_t size, uint64_t data_at, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(data_at)),
            static_cast<ssize_t>(data.size()));
  ::close(fd);
}

// The content pipeline's whole-file digest of each (root, rel) file.
std::vector<content::Digest128> pipeline_digests(const fs::RootSet& roots,
                                                 const std::vector<std::pair<uint32_t, verify::Node>>& files) {
  std::vector<content::FileJob> jobs;
  for (const auto& [root, n] : files)
    jobs.push_back(content::FileJob::of(jobs.size(), root, n.rel_path, n.st));
  content::DigestTable table(jobs.size());
  content::hash_with_catalog(roots, jobs, {}, nullptr, table);
  for (size_t k = 0; k < jobs.size(); ++k) EXPECT_EQ(table.outcomes[k], content::ReadOutcome::ok) << k;
  return table.digests;
}

// The listed nodes of ROOT/src/REL and ROOT/dst/REL for each REL, laid out as SRC, DST, ...
std::vector<verify::Node> listed_nodes(const std::string& root,
                                       const std::vector<std::string>& rels) {
  std::vector<verify::Node> nodes;
  nodes.reserve(2 * rels.size());
  for (const auto& rel : rels) {
    nodes.push_back(node_of(root + "/src", rel));
    nodes.push_back(node_of(root + "/dst", rel));
  }
  return nodes;
}

// One task per (SRC, DST) pair of nodes, laid out as SRC, DST, SRC, DST, ...
std::vector<verify::PairTask> pairs_of(const std::vector<verify::Node>& nodes) {
  std::vector<verify::PairTask> tasks;
  for (size_t k = 0; k + 1 < nodes.size(); k += 2) tasks.push_back({&nodes[k], &nodes[k + 1]});
  return tasks;
}

} // namespace

class VerifyPairCompareBothPaths : public ::testing::TestWithParam<uint64_t> {};

// Param: mmap_min_bytes (0: every large file read in chunks; k_chunk: mapped and compared in place).
TEST_P(VerifyPairCompareBothPaths, DigestsWhileComparingEqualThePipelinesWholeFileDigests) {
  test::TempDir t;
  test::make_dirs(t / "src/d");
  test::make_dirs(t / "dst/d");
  struct Case {
    std::string rel;
    uint64_t size;
  };
  const std::vector<Case> cases = {{"d/one", 1},           {"d/page", 4095},
                                   {"d/below", k_chunk - 1}, {"d/exact", k_chunk},
                                   {"big", 3 * k_chunk + 17}, {"d/huge", 9 * k_chunk + 5}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string bytes = test::random_bytes(cases[i].size, i + 1);
    test::write_file(t / ("src/" + cases[i].rel), bytes);
    test::write_file(t / ("dst/" + cases[i].rel), bytes);
  }
  // Sparse on both sides (holes read as zeros must hash as the pipeline hashes holes).
  const std::string middle = test::random_bytes(5000, 99);
  write_sparse(t / "src/d/sparse", 12 * k_chunk + 3, 5 * k_chunk + 11, middle);
  write_sparse(t / "dst/d/sparse", 12 * k_chunk + 3, 5 * k_chunk + 11, middle);
  // Small and different: both read whole, both hashed, each digest its own file's.
  test::write_file(t / "src/d/small_diff", test::random_bytes(3000, 7));
  test::write_file(t / "dst/d/small_diff", test::random_bytes(3000, 8));
  // Large and different in the first chunk: reading stops there, no digests.
  test::write_file(t / "src/large_diff", test::random_bytes(4 * k_chunk, 10));
  test::write_file(t / "dst/large_diff", test::random_bytes(4 * k_chunk, 11));

  std::vector<std::string> rels;
  for (const auto& c : cases) rels.push_back(c.rel);
  rels.insert(rels.end(), {"d/sparse", "d/small_diff", "large_diff"});
  const fs::RootSet roots({t / "src", t / "dst"});
  std::vector<verify::Node> src_nodes, dst_nodes;
  for (const auto& rel : rels) {
    src_nodes.push_back(node_of(t / "src", rel));
    dst_nodes.push_back(node_of(t / "dst", rel));
  }
  std::vector<verify::PairTask> tasks;
  for (size_t k = 0; k < rels.size(); ++k) tasks.push_back({&src_nodes[k], &dst_nodes[k]});

  verify::PairCompareOptions options;
  options.chunk_bytes = k_chunk;
  options.mmap_min_bytes = GetParam();
  options.hash = verify::HashWhileComparing::yes;
  std::vector<verify::PairResult> results;
  verify::compare_pairs(roots, tasks, options, results, nullptr);
  ASSERT_EQ(results.size(), rels.size());

  std::vector<std::pair<uint32_t, verify::Node>> files;
  for (size_t k = 0; k < rels.size(); ++k) {
    files.emplace_back(0, src_nodes[k]);
    files.emplace_back(1, dst_nodes[k]);
  }
  const auto expected = pipeline_digests(roots, files);
  for (size_t k = 0; k < rels.size(); ++k) {
    const verify::PairResult& r = results[k];
    SCOPED_TRACE(rels[k]);
    if (rels[k] == "large_diff") {
      EXPECT_EQ(r.outcome, verify::PairOutcome::different);
      EXPECT_FALSE(r.hashed);
      continue;
    }
    EXPECT_EQ(r.outcome, rels[k] == "d/small_diff" ? verify::PairOutcome::different
                                                     : verify::PairOutcome::same);
    ASSERT_TRUE(r.hashed);
    EXPECT_GT(r.read_started_ns, 0);
    EXPECT_EQ(r.digests[0], expected[2 * k]);
    EXPECT_EQ(r.digests[1], expected[2 * k + 1]);
  }
  EXPECT_NE(results[7].digests[0], results[7].digests[1]); // d/small_diff
}

INSTANTIATE_TEST_SUITE_P(ReadAndMapped, VerifyPairCompareBothPaths,
                         ::testing::Values(uint64_t{0}, uint64_t{k_chunk}));

TEST(VerifyPairCompare, MappedComparisonFindsADifferenceInTheLastByteOfEachChunk) {
  test::TempDir t;
  const uint64_t size = 5 * k_chunk + 123;
  const std::string bytes = test::random_bytes(size, 5);
  std::vector<std::string> rels;
  for (const uint64_t at : {k_chunk - 1, 3 * k_chunk, size - 1}) {
    std::string other = bytes;
    other[at] = static_cast<char>(other[at] ^ 1);
    rels.push_back("f" + std::to_string(at));
    test::write_file(t / ("src/" + rels.back()), bytes);
    test::write_file(t / ("dst/" + rels.back()), other);
  }
  rels.push_back("same");
  test::write_file(t / "src/same", bytes);
  test::write_file(t / "dst/same", bytes);
  const fs::RootSet roots({t / "src", t / "dst"});
  std::vector<verify::Node> s, d;
  for (const auto& rel : rels) {
    s.push_back(node_of(t / "src", rel));
    d.push_back(node_of(t / "dst", rel));
  }
  std::vector<verify::PairTask> tasks;
  for (size_t k = 0; k < rels.size(); ++k) tasks.push_back({&s[k], &d[k]});
  verify::PairCompareOptions options;
  options.chunk_bytes = k_chunk;
  options.mmap_min_bytes = 1;
  std::vector<verify::PairResult> results;
  verify::compare_pairs(roots, tasks, options, results, nullptr);
  for (size_t k = 0; k + 1 < rels.size(); ++k)
    EXPECT_EQ(results[k].outcome, verify::PairOutcome::different) << rels[k];
  EXPECT_EQ(results.back().outcome, verify::PairOutcome::same);
}

TEST(VerifyPairCompare, NoHashingUnlessAsked) {
  test::TempDir t;
  test::write_file(t / "src/f", test::random_bytes(100, 1));
  test::write_file(t / "dst/f", test::random_bytes(100, 1));
  const fs::RootSet roots({t / "src", t / "dst"});
  const verify::Node s = node_of(t / "src", "f");
  const verify::Node d = node_of(t / "dst", "f");
  std::vector<verify::PairResult> results;
  const auto stats = verify::compare_pairs(roots, {{&s, &d}}, {}, results, nullptr);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, verify::PairOutcome::same);
  EXPECT_FALSE(results[0].hashed);
  EXPECT_EQ(stats.files, 2u);
  EXPECT_EQ(stats.bytes, 200u);
}

// A listing with deferred stats (regular files named only, no statx): each side is stat'ed
// once open; sizes that differ, one inode, empty, large and sparse pairs are settled unread.
TEST(VerifyPairCompare, DeferredStatsAreTakenFromTheOpenFiles) {
  test::TempDir t;
  const std::string small = test::random_bytes(5000, 3);
  for (const char* side : {"src", "dst"}) {
    test::write_file(t / (std::string(side) + "/same"), small);
    test::write_file(t / (std::string(side) + "/empty"), "");
    test::write_file(t / (std::string(side) + "/large"), test::random_bytes(9 << 20, 4));
    write_sparse(t / (std::string(side) + "/sparse"), 2 << 20, 100, "data");
  }
  test::write_file(t / "src/differs", test::random_bytes(700, 5));
  test::write_file(t / "dst/differs", test::random_bytes(700, 6));
  test::write_file(t / "src/sizes", "abc");
  test::write_file(t / "dst/sizes", "abcd");
  const fs::RootSet roots({t / "src", t / "dst"});
  const std::vector<std::string> rels = {"same", "empty", "large", "sparse", "differs", "sizes"};
  std::vector<verify::Node> nodes; // SRC deferred, DST listed with its stat (a mixed listing)
  nodes.reserve(2 * rels.size());
  for (const auto& rel : rels) {
    verify::Node s;
    s.rel_path = rel;
    s.st.type = fs::EntryType::regular;
    s.stat_deferred = true;
    nodes.push_back(s);
    nodes.push_back(node_of(t / "dst", rel));
  }
  const std::vector<verify::PairTask> tasks = pairs_of(nodes);
  // Default chunks (1 MiB): "large" is 9 of them, a unit of work of its own; "sparse" is
  // 2 MiB, left for the content pipeline by its holes alone.
  std::vector<verify::PairResult> results;
  const auto stats = verify::compare_pairs(roots, tasks, {}, results, nullptr);
  using O = verify::PairOutcome;
  const std::vector<O> want = {O::same, O::same, O::later, O::later, O::different, O::size_differs};
  for (size_t k = 0; k < rels.size(); ++k) {
    EXPECT_EQ(results[k].outcome, want[k]) << rels[k];
    const fs::FileStat& st = results[k].stats[0];
    EXPECT_EQ(st.ino, node_of(t / "src", rels[k]).st.ino) << rels[k] << ": SRC's fstat";
    EXPECT_EQ(st.size, node_of(t / "src", rels[k]).st.size) << rels[k];
    EXPECT_EQ(results[k].stats[1].ino, 0u) << rels[k] << ": DST was listed with its stat";
  }
  EXPECT_EQ(stats.files, 4u); // same and differs, both sides; nothing else read
  EXPECT_EQ(stats.bytes, 2u * (5000 + 700));
}

// A deferred side that is no longer a regular file when opened is a change, not a match.
TEST(VerifyPairCompare, DeferredSideThatIsNoLongerAFileIsAChange) {
  test::TempDir t;
  test::make_dirs(t / "src/x");
  test::write_file(t / "dst/x", "x");
  const fs::RootSet roots({t / "src", t / "dst"});
  verify::Node s;
  s.rel_path = "x";
  s.st.type = fs::EntryType::regular; // listed as a file; a directory by the time it is opened
  s.stat_deferred = true;
  const verify::Node d = node_of(t / "dst", "x");
  std::vector<verify::PairResult> results;
  verify::compare_pairs(roots, {{&s, &d}}, {}, results, nullptr);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, verify::PairOutcome::changed);
  EXPECT_EQ(results[0].side, 0);
}

// A sparse pair, not hashed: only regions where either side has data are read; a hole on
// one side against data on the other reads as zeros there.
TEST(VerifyPairCompare, SparsePairsAreComparedOverTheirDataRegions) {
  test::TempDir t;
  const uint64_t size = 8 << 20;
  const std::string data = test::random_bytes(5000, 21);
  const std::string zeros(5000, '\0');
  test::make_dirs(t / "src");
  test::make_dirs(t / "dst");
  write_sparse(t / "src/same", size, 3 << 20, data);
  write_sparse(t / "dst/same", size, 3 << 20, data);
  write_sparse(t / "src/dense", size, 3 << 20, data); // DST: every byte written
  {
    std::string all(size, '\0');
    all.replace(3 << 20, data.size(), data);
    test::write_file(t / "dst/dense", all);
  }
  write_sparse(t / "src/in_hole", size, 3 << 20, data); // DST: one more byte, inside SRC's hole
  write_sparse(t / "dst/in_hole", size, 3 << 20, data);
  {
    const int fd = ::open((t / "dst/in_hole").c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "X", 1, 6 << 20), 1);
    ::close(fd);
  }
  write_sparse(t / "src/zeros", size, 1 << 20, zeros); // zeros written on one side only: equal
  write_sparse(t / "dst/zeros", size, 0, "");
  write_sparse(t / "src/data_differs", size, 3 << 20, data);
  write_sparse(t / "dst/data_differs", size, 3 << 20, test::random_bytes(5000, 22));
  const fs::RootSet roots({t / "src", t / "dst"});
  const std::vector<std::string> rels = {"same", "dense", "in_hole", "zeros", "data_differs"};
  const std::vector<verify::Node> nodes = listed_nodes(t.path(), rels);
  const std::vector<verify::PairTask> tasks = pairs_of(nodes);
  std::vector<verify::PairResult> results;
  const auto stats = verify::compare_pairs(roots, tasks, {}, results, nullptr);
  using O = verify::PairOutcome;
  const std::vector<O> want = {O::same, O::same, O::different, O::same, O::different};
  for (size_t k = 0; k < rels.size(); ++k) EXPECT_EQ(results[k].outcome, want[k]) << rels[k];
  // Far less than the 5 x 8 MiB per side a full read takes ("dense" is all data on one side).
  EXPECT_LT(stats.bytes, 2u * (size + 4 * (1u << 20)));
  EXPECT_GT(stats.bytes, 0u);
}

// Pairs not in the page cache are compared by more workers than CPU slots, each giving its
// slot up while it waits for the disk (small files: their reads; mapped ones: the whole
// comparison); outcomes are as on a warm cache, and a warm run waits for nothing.
TEST(VerifyPairCompare, UncachedPairsAreComparedWithTheCpuSlotGivenUp) {
  test::TempDir t;
  std::vector<std::string> rels;
  for (int i = 0; i < 24; ++i) {
    const size_t size = i % 3 == 0 ? 3000 : i % 3 == 1 ? 200 * 1024 : 3 * k_chunk + 11;
    const std::string body = test::random_bytes(size, static_cast<uint64_t>(i) + 40);
    rels.push_back("d" + std::to_string(i % 4) + "/f" + std::to_string(i));
    test::write_file(t / ("src/" + rels.back()), body);
    std::string copy = body;
    if (i % 5 == 0) copy[size - 1] ^= 1; // every fifth pair differs in its last byte
    test::write_file(t / ("dst/" + rels.back()), copy);
  }
  for (const auto& rel : rels)
    for (const char* side : {"src/", "dst/"})
      if (!test::drop_from_cache(t / (side + rel)))
        GTEST_SKIP()
            << "this filesystem keeps files in the page cache after POSIX_FADV_DONTNEED (tmpfs?)";
  const fs::RootSet roots({t / "src", t / "dst"});
  const std::vector<verify::Node> nodes = listed_nodes(t.path(), rels);
  const std::vector<verify::PairTask> tasks = pairs_of(nodes);
  verify::PairCompareOptions options;
  options.threads = 1;
  options.io_threads = 4;
  options.chunk_bytes = k_chunk;
  options.mmap_min_bytes =
      200 * 1024; // the 200 KiB files mapped, the others read (3 chunks + 11 bytes: in chunks)
  std::vector<verify::PairResult> cold, warm;
  const auto cold_stats = verify::compare_pairs(roots, tasks, options, cold, nullptr);
  const auto warm_stats = verify::compare_pairs(roots, tasks, options, warm, nullptr);
  EXPECT_GE(cold_stats.waited_reads, rels.size()) << "each uncached pair waited at least once";
  EXPECT_EQ(warm_stats.waited_reads, 0u);
  for (size_t k = 0; k < rels.size(); ++k) {
    const auto want = k % 5 == 0 ? verify::PairOutcome::different : verify::PairOutcome::same;
    EXPECT_EQ(cold[k].outcome, want) << rels[k];
    EXPECT_EQ(warm[k].outcome, want) << rels[k];
  }
}
