// dedupe/file_compare: byte-for-byte comparison of two open files, and metadata differences.
#include "dedupe/file_compare.hpp"
#include "fs/file_stat.hpp"
#include "test_util.hpp"
#include "util/fd.hpp"

#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

using namespace wsd;

namespace {

// Opens `path` and compares it with `other` through same_bytes.
util::Result<bool> compare(const std::string& path, const std::string& other) {
  util::Fd a(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  util::Fd b(::open(other.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(a && b);
  fs::FileStat st;
  EXPECT_EQ(fs::stat_fd(a.get(), st), 0);
  return dedupe::same_bytes(a.get(), st, b.get());
}

} // namespace

TEST(DedupeFileCompare, IdenticalFiles) {
  test::TempDir t;
  const std::string data = test::random_bytes(3 * 1024 * 1024 + 123, 11); // several buffers
  test::write_file(t / "a", data);
  test::write_file(t / "b", data);
  auto r = compare(t / "a", t / "b");
  ASSERT_TRUE(static_cast<bool>(r)) << r.error();
  EXPECT_TRUE(*r);
}

TEST(DedupeFileCompare, OneByteDiffersAnywhere) {
  test::TempDir t;
  const std::string data = test::random_bytes(2 * 1024 * 1024, 12);
  test::write_file(t / "a", data);
  for (size_t at : {size_t{0}, size_t{1} << 20, data.size() - 1}) {
    std::string other = data;
    other[at] = static_cast<char>(other[at] ^ 0x40);
    test::write_file(t / "b", other);
    auto r = compare(t / "a", t / "b");
    ASSERT_TRUE(static_cast<bool>(r)) << r.error();
    EXPECT_FALSE(*r) << "difference at " << at;
  }
}

TEST(DedupeFileCompare, DifferentLengthsDiffer) {
  test::TempDir t;
  const std::string data = test::random_bytes(100000, 13);
  test::write_file(t / "a", data);
  test::write_file(t / "longer", data + "x");
  test::write_file(t / "shorter", data.substr(0, data.size() - 1));
  auto r = compare(t / "a", t / "longer");
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_FALSE(*r);
  r = compare(t / "longer", t / "a");
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_FALSE(*r);
  r = compare(t / "a", t / "shorter");
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_FALSE(*r);
}

TEST(DedupeFileCompare, HoleEqualsWrittenZerosButNotOtherBytes) {
  test::TempDir t;
  const size_t size = 4 * 1024 * 1024;
  {
    util::Fd fd(::open((t / "sparse").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(static_cast<bool>(fd));
    ASSERT_EQ(::pwrite(fd.get(), "end", 3, static_cast<off_t>(size - 3)), 3);
  }
  std::string dense(size, '\0');
  dense.replace(size - 3, 3, "end");
  test::write_file(t / "dense", dense);
  auto r = compare(t / "sparse", t / "dense");
  ASSERT_TRUE(static_cast<bool>(r)) << r.error();
  EXPECT_TRUE(*r);
  dense[size / 2] = 'x';
  test::write_file(t / "dense", dense);
  r = compare(t / "sparse", t / "dense");
  ASSERT_TRUE(static_cast<bool>(r)) << r.error();
  EXPECT_FALSE(*r);
}

TEST(DedupeFileCompare, SmallFilesAndSmallSparseFilesWithTheirSizedBuffers) {
  // Buffers are sized to the file (size + 1, at most 1 MiB): every size around a page, and
  // a sparse file smaller than 1 MiB, still compare right either way.
  test::TempDir t;
  for (const size_t size :
       {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{4097}, size_t{70000}}) {
    const std::string data = test::random_bytes(size, 14);
    test::write_file(t / "a", data);
    test::write_file(t / "b", data);
    auto r = compare(t / "a", t / "b");
    ASSERT_TRUE(static_cast<bool>(r)) << r.error();
    EXPECT_TRUE(*r) << size;
    if (size == 0) continue;
    std::string other = data;
    other[size - 1] = static_cast<char>(other[size - 1] ^ 0x01);
    test::write_file(t / "b", other);
    r = compare(t / "a", t / "b");
    ASSERT_TRUE(static_cast<bool>(r)) << r.error();
    EXPECT_FALSE(*r) << size;
  }
  const size_t size = 200 * 1024;
  {
    util::Fd fd(::open((t / "sparse").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(static_cast<bool>(fd));
    ASSERT_EQ(::pwrite(fd.get(), "mid", 3, static_cast<off_t>(size / 2)), 3);
    ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  }
  std::string dense(size, '\0');
  dense.replace(size / 2, 3, "mid");
  test::write_file(t / "dense", dense);
  auto r = compare(t / "sparse", t / "dense");
  ASSERT_TRUE(static_cast<bool>(r)) << r.error();
  EXPECT_TRUE(*r);
  dense[size - 1] = 'x'; // in the sparse file's trailing hole
  test::write_file(t / "dense", dense);
  r = compare(t / "sparse", t / "dense");
  ASSERT_TRUE(static_cast<bool>(r)) << r.error();
  EXPECT_FALSE(*r);
}

TEST(DedupeFileCompare, MetadataDifferenceNamesModeAndMtime) {
  test::TempDir t;
  test::write_file(t / "a", "same");
  test::write_file(t / "b", "same");
  ASSERT_EQ(::chmod((t / "a").c_str(), 0644), 0);
  ASSERT_EQ(::chmod((t / "b").c_str(), 0644), 0);
  const struct timespec times[2] = {{1000, 0}, {2000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (t / "a").c_str(), times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (t / "b").c_str(), times, 0), 0);
  auto diff = [&] {
    util::Fd a(::open((t / "a").c_str(), O_RDONLY | O_CLOEXEC));
    util::Fd b(::open((t / "b").c_str(), O_RDONLY | O_CLOEXEC));
    fs::FileStat sa, sb;
    EXPECT_EQ(fs::stat_fd(a.get(), sa), 0);
    EXPECT_EQ(fs::stat_fd(b.get(), sb), 0);
    return dedupe::metadata_difference(a.get(), sa, b.get(), sb);
  };
  EXPECT_EQ(diff(), "");
  ASSERT_EQ(::chmod((t / "b").c_str(), 0600), 0);
  EXPECT_NE(diff(), "");
  ASSERT_EQ(::chmod((t / "b").c_str(), 0644), 0);
  EXPECT_EQ(diff(), "");
  const struct timespec later[2] = {{1000, 0}, {3000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (t / "b").c_str(), later, 0), 0);
  EXPECT_NE(diff(), "");
}
