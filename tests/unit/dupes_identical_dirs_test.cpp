// dupes: duplicate groups and identical directory trees on a small real tree
// (scan_tree -> find_duplicates -> find_identical_dirs).
#include "dupes/duplicate_finder.hpp"
#include "dupes/identical_dirs.hpp"
#include "scan/tree_scan.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <string>

#include <unistd.h>

using namespace wsd;

namespace {

struct Found {
  scan::ScanResult scan;
  dupes::DuplicateSet dupes;
  std::vector<dupes::IdenticalDirGroup> dirs;
};

Found find_all(const fs::RootSet& roots) {
  scan::ScanOptions o;
  o.collect_min_size = 0;
  o.collect_tree_entries = true;
  o.walk.threads = 2;
  Found f;
  f.scan = scan::scan_tree(roots, o, nullptr);
  dupes::FinderOptions fo;
  fo.threads = 2;
  f.dupes = dupes::find_duplicates(roots, f.scan.files, fo);
  f.dirs = dupes::find_identical_dirs(roots, f.scan.files, f.dupes, false);
  return f;
}

// One node_modules/pkg tree with three files and a symlink.
void write_pkg(const test::TempDir& t, const std::string& at, const std::string& c_js = "c()") {
  test::write_file(t / (at + "/pkg/a.js"), "module.exports = 'a';\n");
  test::write_file(t / (at + "/pkg/b.js"), test::random_bytes(5000, 21));
  test::write_file(t / (at + "/pkg/sub/c.js"), c_js);
  ASSERT_EQ(::symlink("a.js", (t / (at + "/pkg/link")).c_str()), 0);
}

std::vector<std::string> paths_of(const dupes::IdenticalDirGroup& g) {
  std::vector<std::string> out;
  for (const auto& d : g.dirs) out.push_back(d.rel_path);
  return out;
}

} // namespace

TEST(DupesFinder, GroupsIdenticalFilesFoldsHardlinksIgnoresEmpty) {
  test::TempDir t;
  const std::string big = test::random_bytes(70000, 22);
  test::write_file(t / "x/one", big);
  test::write_file(t / "y/two", big);
  test::write_file(t / "y/three", big);
  ASSERT_EQ(::link((t / "x/one").c_str(), (t / "x/one-link").c_str()), 0);
  std::string near = big;
  near[69999] = static_cast<char>(near[69999] ^ 1); // same size, same head: differs at the tail
  test::write_file(t / "z/near", near);
  test::write_file(t / "z/e1", "");
  test::write_file(t / "z/e2", "");
  test::write_file(t / "z/s1", "small");
  test::write_file(t / "z/s2", "small");
  const fs::RootSet roots({t.path()});
  const Found f = find_all(roots);
  const auto& files = f.scan.files.files;
  ASSERT_EQ(f.dupes.groups.size(), 2u);
  const dupes::DuplicateGroup& g = f.dupes.groups[0]; // largest first
  EXPECT_EQ(g.size, big.size());
  ASSERT_EQ(g.files.size(), 3u) << "one, two, three: the hardlink is the same inode";
  EXPECT_EQ(f.scan.files.rel_path(g.files[0]), "x/one");
  EXPECT_EQ(f.scan.files.rel_path(g.files[1]), "y/three");
  EXPECT_EQ(f.scan.files.rel_path(g.files[2]), "y/two");
  EXPECT_EQ(g.duplicate_bytes, 2 * big.size());
  EXPECT_EQ(g.already_shared, 0u) << "ext4 copies do not share storage";
  for (uint32_t m = 0; m < g.files.size(); ++m) EXPECT_EQ(g.shared_with(m), m);
  const dupes::DuplicateGroup& s = f.dupes.groups[1];
  EXPECT_EQ(s.size, 5u);
  EXPECT_EQ(s.files.size(), 2u);
  for (size_t i = 0; i < files.size(); ++i) {
    if (f.scan.files.rel_path(i) == "z/near" || files[i].st.size == 0) {
      EXPECT_EQ(f.dupes.group_of[i], dupes::k_no_group) << f.scan.files.rel_path(i);
    }
  }
  EXPECT_TRUE(f.dupes.problems.empty());
}

TEST(DupesIdenticalDirs, ReportsTheLargestIdenticalTreesOnly) {
  test::TempDir t;
  write_pkg(t, "ws1/node_modules");
  write_pkg(t, "ws2/node_modules");
  write_pkg(t, "ws3/node_modules", "c() // changed"); // one file differs
  write_pkg(t, "ws4/node_modules");
  test::write_file(t / "ws4/node_modules/pkg/extra.js", "x"); // one file more
  write_pkg(t, "ws5/node_modules");
  ASSERT_EQ(::unlink((t / "ws5/node_modules/pkg/link").c_str()), 0);
  ASSERT_EQ(::symlink("b.js", (t / "ws5/node_modules/pkg/link").c_str()), 0); // other target
  for (int i = 1; i <= 5; ++i) // each workspace has its own source: workspaces differ
    test::write_file(t / ("ws" + std::to_string(i) + "/src/main.ts"), "main " + std::to_string(i));
  const fs::RootSet roots({t.path()});
  const Found f = find_all(roots);
  // ws1's and ws2's node_modules are the largest identical trees; pkg/sub is identical in
  // ws1, ws2, ws4 and ws5, and is reported too because ws4's and ws5's copies are not inside
  // an identical tree (a group is dropped only when every member's parent is identical).
  ASSERT_EQ(f.dirs.size(), 2u);
  EXPECT_EQ(paths_of(f.dirs[1]),
            (std::vector<std::string>{"ws1/node_modules/pkg/sub", "ws2/node_modules/pkg/sub",
                                      "ws4/node_modules/pkg/sub", "ws5/node_modules/pkg/sub"}));
  EXPECT_EQ(f.dirs[1].files, 1u);
  const auto& g = f.dirs[0];
  EXPECT_EQ(paths_of(g), (std::vector<std::string>{"ws1/node_modules", "ws2/node_modules"}));
  EXPECT_EQ(g.files, 3u);
  EXPECT_EQ(g.logical_bytes, std::string("module.exports = 'a';\n").size() + 5000 + 3);
  EXPECT_GT(g.allocated_bytes, 0u);
  EXPECT_GE(g.entries, 5u) << "pkg, a.js, b.js, sub, c.js, link";
}

TEST(DupesIdenticalDirs, ARenamedFileMakesTreesDiffer) {
  test::TempDir t;
  write_pkg(t, "a");
  write_pkg(t, "b");
  ASSERT_EQ(::rename((t / "b/pkg/b.js").c_str(), (t / "b/pkg/B.js").c_str()), 0);
  const fs::RootSet roots({t.path()});
  const Found f = find_all(roots);
  for (const auto& g : f.dirs) {
    const auto p = paths_of(g);
    EXPECT_EQ(std::count(p.begin(), p.end(), "a/pkg"), 0);
    EXPECT_EQ(std::count(p.begin(), p.end(), "a"), 0);
  }
  // sub/ is still identical in both.
  ASSERT_EQ(f.dirs.size(), 1u);
  EXPECT_EQ(paths_of(f.dirs[0]), (std::vector<std::string>{"a/pkg/sub", "b/pkg/sub"}));
}

TEST(DupesIdenticalDirs, TreesInTwoRootsAreFound) {
  test::TempDir t;
  write_pkg(t, "r1/nm");
  write_pkg(t, "r2/nm");
  test::write_file(t / "r1/own", "1");
  test::write_file(t / "r2/own", "2");
  const fs::RootSet roots({t / "r1", t / "r2"});
  const Found f = find_all(roots);
  ASSERT_EQ(f.dirs.size(), 1u);
  ASSERT_EQ(f.dirs[0].dirs.size(), 2u);
  EXPECT_EQ(f.dirs[0].dirs[0].root, 0u);
  EXPECT_EQ(f.dirs[0].dirs[0].rel_path, "nm");
  EXPECT_EQ(f.dirs[0].dirs[1].root, 1u);
  EXPECT_EQ(f.dirs[0].dirs[1].rel_path, "nm");
}

// Files of one size whose heads and tails agree but whose middles differ are split by the
// full hash (each pair its own group, with the shared partial digest kept); every group's
// members are a distinct slice of the set's one member array, and group_of agrees.
TEST(DupesFinder, FullHashSplitsPartialCollisionsIntoFlatGroups) {
  test::TempDir t;
  const std::string head = test::random_bytes(4096, 31);
  const std::string tail = test::random_bytes(4096, 32);
  const std::string mid_a = test::random_bytes(20000, 33);
  const std::string mid_b = test::random_bytes(20000, 34);
  const std::string mid_c = test::random_bytes(20000, 35);
  test::write_file(t / "a1", head + mid_a + tail);
  test::write_file(t / "d/a2", head + mid_a + tail);
  test::write_file(t / "b1", head + mid_b + tail);
  test::write_file(t / "d/b2", head + mid_b + tail);
  test::write_file(t / "c1", head + mid_c + tail); // partial collision, unique content
  test::write_file(t / "s1", "same small");
  test::write_file(t / "e/s2", "same small");
  test::write_file(t / "u", "unique small");
  const fs::RootSet roots({t.path()});
  const Found f = find_all(roots);
  ASSERT_EQ(f.dupes.groups.size(), 3u);
  EXPECT_EQ(f.dupes.stats.full_hashed, 5u) << "the five large files collide on head and tail";
  size_t members = 0;
  std::vector<std::string> firsts;
  for (uint32_t gi = 0; gi < f.dupes.groups.size(); ++gi) {
    const dupes::DuplicateGroup& g = f.dupes.groups[gi];
    ASSERT_EQ(g.files.size(), 2u);
    EXPECT_LT(g.files[0], g.files[1]) << "members in path order";
    EXPECT_EQ(g.files.data(), f.dupes.members.data() + members) << "one slice after another";
    members += g.files.size();
    for (uint32_t file : g.files) EXPECT_EQ(f.dupes.group_of[file], gi);
    firsts.push_back(f.scan.files.rel_path(g.files[0]));
    EXPECT_EQ(g.has_partial, g.size > 8192);
    if (g.size > 8192) {
      EXPECT_NE(g.partial_digest, g.digest);
    }
  }
  EXPECT_EQ(members, f.dupes.members.size());
  EXPECT_FALSE(f.dupes.groups[0].digest == f.dupes.groups[1].digest);
  EXPECT_EQ(f.dupes.groups[0].partial_digest, f.dupes.groups[1].partial_digest);
  std::sort(firsts.begin(), firsts.end());
  EXPECT_EQ(firsts, (std::vector<std::string>{"a1", "b1", "e/s2"})); // bytewise path order
  EXPECT_TRUE(f.dupes.problems.empty());
}
