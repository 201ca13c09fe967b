#include "scan/tree_scan.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>
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
  EXPECT_EQ(result.files.rel_path(0), "ws1/node_modules/a.js");
  EXPECT_EQ(result.files.category_names[files[0].category], "node_modules");
  EXPECT_EQ(result.files.rel_path(1), "ws1/src/b.ts");
  EXPECT_EQ(files[1].names_seen, 2u);
  EXPECT_EQ(result.files.workspace_names[files[1].workspace - 1], "ws1");
  EXPECT_EQ(result.files.rel_path(2), "ws2/.git/HEAD");
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

TEST(TreeScan, FileListIsInBytewisePathOrderWithoutStoredPaths) {
  // Names that sort differently as components than as whole paths ('-' and '.' sort before
  // '/'), several levels, and two roots: the list must be in (root, rel_path) byte order.
  test::TempDir t;
  const std::vector<std::string> names = {
      "a-c",        "a/b",           "a/b-x/y",      "a.b/z",         "lib/index.js",
      "lib/index/x.js", "lib/index-a", "lib/in",       "z/\xff\x01",    "z/ /q",
      "z/!/q",      "deep/1/2/3/4/5/6/7/8/9/f", "deep/1/2/3/4/5/6/7/8/9-/f", "A", "a"};
  for (const auto& n : names) {
    if (n == "a") continue;
    test::write_file(t / ("r1/" + n), n);
    test::write_file(t / ("r2/" + n), n + "2");
  }
  ASSERT_EQ(::symlink("x", (t / "r1/lib/sym").c_str()), 0);
  ASSERT_EQ(::symlink("x", (t / "r1/a-sym").c_str()), 0);
  const fs::RootSet roots({t / "r2", t / "r1"});
  scan::ScanOptions o;
  o.collect_min_size = 1;
  o.collect_tree_entries = true;
  o.walk.threads = 4;
  const auto result = scan::scan_tree(roots, o, nullptr);
  const scan::FileList& list = result.files;
  std::vector<std::pair<uint32_t, std::string>> got, want;
  for (size_t i = 0; i < list.files.size(); ++i) got.emplace_back(list.files[i].root, list.rel_path(i));
  want = got;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  ASSERT_EQ(got.size(), 2 * (names.size() - 1));
  EXPECT_EQ(got.front(), (std::pair<uint32_t, std::string>(0, "A")));
  std::vector<std::string> trees;
  for (const auto& e : list.tree_entries) trees.push_back(list.rel_path(e));
  EXPECT_EQ(trees, (std::vector<std::string>{"a-sym", "lib/sym"}));
  EXPECT_EQ(list.paths.dir(list.tree_entries[0].dir).root, 1u);
}

TEST(TreeScan, LargeFileListIsInPathOrder) {
  // Above the size from which directories are sorted on several threads: 720 directories
  // whose names sort differently as components ("d1", "d1-x", "d1.y", "d1/..."), 100 files
  // each, so the split falls between and inside such runs.
  test::TempDir t;
  size_t count = 0;
  for (int i = 0; i < 240; ++i)
    for (const char* suffix : {"", "-x", ".y"})
      for (int j = 0; j < 100; ++j) {
        test::write_file(t / ("r/d" + std::to_string(i) + suffix + "/f" + std::to_string(j) +
                              (j % 3 == 0 ? "-" : "")),
                         "x");
        ++count;
      }
  const fs::RootSet roots({t / "r"});
  scan::ScanOptions o;
  o.collect_min_size = 1;
  o.walk.threads = 4;
  const auto result = scan::scan_tree(roots, o, nullptr);
  const scan::FileList& list = result.files;
  ASSERT_EQ(list.files.size(), count);
  std::vector<std::string> got;
  for (size_t i = 0; i < list.files.size(); ++i) got.push_back(list.rel_path(i));
  std::vector<std::string> want = got;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

// Paths deeper than append_dir_path's stack array (64 levels) come out whole and in order.
TEST(PathArena, BuildsPathsOfAnyDepth) {
  scan::PathArena arena(1);
  scan::PathArena::Cursor c;
  uint32_t dir = 0;
  std::string expected;
  for (int depth = 1; depth <= 200; ++depth) {
    const std::string name = "d" + std::to_string(depth);
    dir = arena.add_dir(c, dir, name, 0);
    expected += (depth > 1 ? "/" : "") + name;
    if (depth == 63 || depth == 64 || depth == 65 || depth == 200) {
      EXPECT_EQ(arena.dir_path(dir), expected) << depth;
      EXPECT_EQ(arena.path(dir, arena.add_name(c, "f")), expected + "/f") << depth;
    }
  }
}

TEST(PathArena, StoresNamesAndBuildsPaths) {
  scan::PathArena arena(2);
  scan::PathArena::Cursor c;
  const uint32_t a = arena.add_dir(c, 1, "a", 1);
  const uint32_t b = arena.add_dir(c, a, "b c", 1);
  std::vector<scan::NameRef> refs;
  for (int i = 0; i < 20000; ++i) refs.push_back(arena.add_name(c, std::string(100, static_cast<char>('a' + i % 26))));
  EXPECT_EQ(arena.path(b, arena.add_name(c, "f")), "a/b c/f");
  EXPECT_EQ(arena.path(1, arena.add_name(c, "top")), "top");
  EXPECT_EQ(arena.dir_path(0), "");
  EXPECT_EQ(arena.name(0), "");
  for (int i = 0; i < 20000; i += 997) EXPECT_EQ(arena.name(refs[static_cast<size_t>(i)]), std::string(100, static_cast<char>('a' + i % 26)));
  EXPECT_GE(arena.memory_bytes(), 2000000u); // spans several 1 MiB chunks
}

TEST(PathArena, DirPrefixesAreBuiltOnceFromTheirParents) {
  scan::PathArena arena(2);
  scan::PathArena::Cursor c;
  const uint32_t a = arena.add_dir(c, 1, "a", 1);
  const uint32_t b = arena.add_dir(c, a, "b c", 1);
  const uint32_t x = arena.add_dir(c, 0, "x", 0);
  scan::DirPrefixes relative(arena);
  EXPECT_EQ(relative.of(b), "a/b c/"); // builds a on the way
  EXPECT_EQ(relative.of(a), "a/");
  EXPECT_EQ(relative.of(1), "");
  EXPECT_EQ(relative.of(x), "x/");
  scan::DirPrefixes shown(arena, {"/", "/srv/ws/"});
  EXPECT_EQ(shown.of(x), "/x/");
  EXPECT_EQ(shown.of(b), "/srv/ws/a/b c/");
  EXPECT_EQ(shown.of(1), "/srv/ws/");
  // Deeper than any fixed stack: the chain is built iteratively.
  uint32_t d = b;
  std::string want = "a/b c/";
  for (int i = 0; i < 5000; ++i) {
    d = arena.add_dir(c, d, "d", 1);
    want += "d/";
  }
  scan::DirPrefixes deep(arena);
  EXPECT_EQ(deep.of(d), want);
}
