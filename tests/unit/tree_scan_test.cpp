#include "scan/tree_scan.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace wsd;

TEST(TreeScan, CollectsEachRegularInodeOnceSortedWithCategoryAndWorkspace) {
  test::TempDir t;
  test::write_file(t / "ws1/node_modules/a.js", "aaaa");
  test::write_file(t / "ws1/src/b.ts", "bb");
  test::write_file(t / "ws2/.git/HEAD", "ref");
  test::write_file(t / "ws2/tiny", "");
  ASSERT_EQ(::link((t / "ws1/src/b.ts").c_str(), (t / "ws2/b-link").c_str()), 0);
  ASSERT_EQ(::symlink("b.ts", (t / "ws1/src/sym").c_str()), 0);
  const fs::RootSet roots({t.path()});
  scan::ScanOptions o;
  o.collect_min_size = 1;
  o.walk.threads = 3;
  const auto result = scan::scan_tree(roots, o, nullptr);
  const auto& files = result.files.files;
  ASSERT_EQ(files.size(), 3u); // a.js, b.ts (once, not b-link), HEAD; not the empty file or symlink
  EXPECT_EQ(files[0].rel_path, "ws1/node_modules/a.js");
  EXPECT_EQ(result.files.category_names[files[0].category], "node_modules");
  EXPECT_EQ(files[1].rel_path, "ws1/src/b.ts");
  EXPECT_EQ(files[1].names_seen, 2u);
  EXPECT_EQ(result.files.workspace_names[files[1].workspace - 1], "ws1");
  EXPECT_EQ(files[2].rel_path, "ws2/.git/HEAD");
  EXPECT_EQ(result.files.category_names[files[2].category], ".git");
}

TEST(TreeScan, CollectsNothingUnlessAsked) {
  test::TempDir t;
  test::write_file(t / "a", "x");
  const fs::RootSet roots({t.path()});
  const auto result = scan::scan_tree(roots, {}, nullptr);
  EXPECT_TRUE(result.files.files.empty());
  EXPECT_EQ(result.usage.total.files, 1u);
}
