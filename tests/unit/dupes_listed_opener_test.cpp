// dupes::ListedOpener (files opened from cached directory descriptors, identity checked), on
// real files in /tmp.
#include "dupes/listed_opener.hpp"
#include "scan/tree_scan.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <unistd.h>

using namespace wsd;

namespace {

scan::ScanResult scan_all(const fs::RootSet& roots) {
  scan::ScanOptions o;
  o.collect_min_size = 0;
  o.walk.threads = 1;
  return scan::scan_tree(roots, o, nullptr);
}

uint32_t index_of(const scan::FileList& list, const std::string& rel) {
  for (uint32_t i = 0; i < list.files.size(); ++i)
    if (list.rel_path(i) == rel) return i;
  ADD_FAILURE() << rel << " not listed";
  return 0;
}

std::string read_fd(int fd) {
  std::string out(64, '\0');
  const ssize_t n = ::pread(fd, out.data(), out.size(), 0);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

} // namespace

TEST(ListedOpener, OpensListedFilesThroughFewDirectories) {
  test::TempDir t;
  for (int d = 0; d < 5; ++d)
    for (int f = 0; f < 4; ++f)
      test::write_file(t / ("d" + std::to_string(d) + "/f" + std::to_string(f)), "x" + std::to_string(d * 10 + f));
  const fs::RootSet roots({t.path()});
  const scan::ScanResult scanned = scan_all(roots);
  ASSERT_EQ(scanned.files.files.size(), 20u);
  dupes::ListedOpener opener(roots, scanned.files, false, 2); // fewer slots than directories
  for (int pass = 0; pass < 2; ++pass)
    for (uint32_t i = 0; i < scanned.files.files.size(); ++i) {
      auto fd = opener.open(i);
      ASSERT_TRUE(fd) << scanned.files.rel_path(i) << " errno " << fd.error();
      const std::string rel = scanned.files.rel_path(i); // dD/fF holds xDF
      EXPECT_EQ(read_fd(fd->get()), "x" + std::to_string((rel[1] - '0') * 10 + (rel[4] - '0'))) << rel;
    }
}

TEST(ListedOpener, ChangedFileIsStale) {
  test::TempDir t;
  test::write_file(t / "a/one", "one");
  test::write_file(t / "a/two", "two");
  const fs::RootSet roots({t.path()});
  const scan::ScanResult scanned = scan_all(roots);
  dupes::ListedOpener opener(roots, scanned.files, false);
  ASSERT_TRUE(opener.open(index_of(scanned.files, "a/one")));
  // Replaced by another inode with the same size: not the file that was scanned.
  test::write_file(t / "a/new", "owt");
  ASSERT_EQ(::rename((t / "a/new").c_str(), (t / "a/two").c_str()), 0);
  auto fd = opener.open(index_of(scanned.files, "a/two"));
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error(), ESTALE);
}

TEST(ListedOpener, SymlinkSwappedInIsRefused) {
  test::TempDir t;
  test::TempDir outside;
  test::write_file(outside / "secret", "secret");
  test::write_file(t / "a/f", "secret"); // same size as the outside file
  test::write_file(t / "b/g", "other!");
  const fs::RootSet roots({t.path()});
  const scan::ScanResult scanned = scan_all(roots);
  // A file swapped for a symlink, and a directory swapped for a symlink to outside.
  ASSERT_EQ(::unlink((t / "a/f").c_str()), 0);
  ASSERT_EQ(::symlink((outside / "secret").c_str(), (t / "a/f").c_str()), 0);
  std::filesystem::remove_all(t / "b");
  ASSERT_EQ(::symlink(outside.path().c_str(), (t / "b").c_str()), 0);
  test::write_file(outside / "g", "other!");
  dupes::ListedOpener opener(roots, scanned.files, false);
  EXPECT_FALSE(opener.open(index_of(scanned.files, "a/f")));
  EXPECT_FALSE(opener.open(index_of(scanned.files, "b/g")));
}
