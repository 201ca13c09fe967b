#include "content/cached_hashes.hpp"
#include "fs/file_stat.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace wsd;

namespace {

std::vector<content::FileJob> jobs_for(const std::string& root, int n) {
  std::vector<content::FileJob> jobs;
  const int dfd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < n; ++i) {
    fs::FileStat st;
    const std::string rel = "f" + std::to_string(i);
    EXPECT_EQ(fs::stat_at(dfd, rel.c_str(), st), 0);
    content::FileJob j;
    j.id = static_cast<uint64_t>(i);
    j.rel_path = rel;
    j.dev = st.dev;
    j.ino = st.ino;
    j.size = st.size;
    j.mtime_ns = st.mtime_ns;
    j.ctime_ns = st.ctime_ns;
    jobs.push_back(j);
  }
  ::close(dfd);
  return jobs;
}

// Sets mtime (and so, with utimensat, ctime = now) far in the past for mtime only; the
// catalog trusts rows hashed 2 s after max(mtime, ctime), so wait for ctime to age.
void age(const std::string& path) {
  const struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

} // namespace

TEST(CachedHashes, SecondRunReadsNothingAndChangedFilesAreReread) {
  test::TempDir t;
  for (int i = 0; i < 5; ++i) {
    test::write_file(t / ("f" + std::to_string(i)), test::random_bytes(10000, static_cast<uint64_t>(i)));
    age(t / ("f" + std::to_string(i)));
  }
  ::sleep(3); // ctime (set by the writes above) must be 2 s older than the hashing
  const fs::RootSet roots({t.path()});
  auto cat = catalog::Catalog::open(t / "c.db", nullptr);
  content::DigestTable first(5);
  auto s1 = content::hash_with_catalog(roots, jobs_for(t.path(), 5), {}, cat.get(), first);
  EXPECT_EQ(s1.catalog_hits, 0u);
  EXPECT_EQ(s1.reader.files, 5u);

  content::DigestTable second(5);
  auto s2 = content::hash_with_catalog(roots, jobs_for(t.path(), 5), {}, cat.get(), second);
  EXPECT_EQ(s2.catalog_hits, 5u);
  EXPECT_EQ(s2.reader.files, 0u);
  EXPECT_EQ(first.digests, second.digests);

  // Rewrite one file with the same size and restore its mtime: ctime moves, so it is re-read.
  test::write_file(t / "f2", test::random_bytes(10000, 99));
  age(t / "f2");
  content::DigestTable third(5);
  auto s3 = content::hash_with_catalog(roots, jobs_for(t.path(), 5), {}, cat.get(), third);
  EXPECT_EQ(s3.catalog_hits, 4u);
  EXPECT_EQ(s3.reader.files, 1u);
  EXPECT_NE(third.digests[2], first.digests[2]);
}

TEST(CachedHashes, FreshlyWrittenFilesAreNotCachedAsTrusted) {
  test::TempDir t;
  test::write_file(t / "f0", "new content");
  const fs::RootSet roots({t.path()});
  auto cat = catalog::Catalog::open(t / "c.db", nullptr);
  content::DigestTable a(1), b(1);
  content::hash_with_catalog(roots, jobs_for(t.path(), 1), {}, cat.get(), a);
  const auto s = content::hash_with_catalog(roots, jobs_for(t.path(), 1), {}, cat.get(), b);
  EXPECT_EQ(s.catalog_hits, 0u); // hashed within 2 s of its last change: read again
}
