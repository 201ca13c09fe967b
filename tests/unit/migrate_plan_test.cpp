// Unit tests for migrate's copy planner (what a pass must do, from two listings) and its fstab
// editing (escaping, idempotent replacement).

#include "migrate/copy_plan.hpp"
#include "migrate/fstab.hpp"
#include "migrate/time_granularity.hpp"
#include "test_util.hpp"
#include "util/fd.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace wsd {
namespace {

using migrate::CopyPlan;
using verify::Node;
using verify::TreeListing;

Node node(std::string rel, fs::EntryType type, uint64_t ino, uint64_t size = 0, int64_t mtime = 1000,
          uint32_t nlink = 1) {
  Node n;
  n.rel_path = std::move(rel);
  n.st.type = type;
  n.st.dev = 1;
  n.st.ino = ino;
  n.st.size = size;
  n.st.mtime_ns = mtime;
  n.st.nlink = nlink;
  n.st.mode = (type == fs::EntryType::directory ? S_IFDIR | 0755 : S_IFREG | 0644);
  return n;
}

// SRC: "", a/, a/f (hardlinked with b), a/g, a/l -> f, b (link to a/f), d/ (empty)
TreeListing sample_src() {
  TreeListing t;
  t.nodes.push_back(node("", fs::EntryType::directory, 1));
  t.nodes.push_back(node("a", fs::EntryType::directory, 2));
  t.nodes.push_back(node("a/f", fs::EntryType::regular, 10, 100, 5, 2));
  t.nodes.push_back(node("a/g", fs::EntryType::regular, 11, 7));
  Node l = node("a/l", fs::EntryType::symlink, 12, 1);
  l.link_target = "f";
  t.nodes.push_back(l);
  t.nodes.push_back(node("b", fs::EntryType::regular, 10, 100, 5, 2));
  t.nodes.push_back(node("d", fs::EntryType::directory, 3));
  return t;
}

// What a finished copy of sample_src looks like (other inode numbers, same metadata).
TreeListing copied(const TreeListing& src) {
  TreeListing t = src;
  for (Node& n : t.nodes) {
    n.st.dev = 9;
    n.st.ino += 1000;
  }
  return t;
}

std::vector<std::string> paths(const TreeListing& t, const std::vector<size_t>& idx) {
  std::vector<std::string> out;
  for (const size_t i : idx) out.push_back(t.nodes[i].rel_path);
  return out;
}

TEST(MigratePlan, EmptyTargetCopiesEverythingOnceAndLinksTheRest) {
  const TreeListing src = sample_src();
  TreeListing dst;
  dst.nodes.push_back(node("", fs::EntryType::directory, 500));
  const CopyPlan plan = migrate::plan_copy(src, dst);
  EXPECT_EQ(paths(src, plan.mkdirs), (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(paths(src, plan.copies), (std::vector<std::string>{"a/f", "a/g"})); // b is a link of a/f
  EXPECT_EQ(plan.bytes_to_copy, 107u);
  EXPECT_EQ(paths(src, plan.creates), (std::vector<std::string>{"a/l"}));
  ASSERT_EQ(plan.links.size(), 1u);
  EXPECT_EQ(src.nodes[plan.links[0].first].rel_path, "b");
  EXPECT_EQ(src.nodes[plan.links[0].second].rel_path, "a/f");
  EXPECT_TRUE(plan.removals.empty());
  // Every directory gets its metadata, deepest first, the root last.
  const auto dirs = paths(src, plan.dir_metadata);
  ASSERT_EQ(dirs.size(), 3u);
  EXPECT_EQ(dirs.back(), "");
}

TEST(MigratePlan, FinishedCopyNeedsNothing) {
  const TreeListing src = sample_src();
  TreeListing dst = copied(src);
  // The two hardlinked names share one DST inode.
  for (Node& n : dst.nodes)
    if (n.rel_path == "b") n.st.ino = 1010;
  const CopyPlan plan = migrate::plan_copy(src, dst);
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.unchanged, src.nodes.size());
}

TEST(MigratePlan, ChangesAreCopiedAndExtrasRemovedTopMostOnly) {
  const TreeListing src = sample_src();
  TreeListing dst = copied(src);
  for (Node& n : dst.nodes) {
    if (n.rel_path == "b") n.st.ino = 1010;
    if (n.rel_path == "a/g") n.st.mtime_ns = 999;   // content may differ: recopy
    if (n.rel_path == "a/l") n.link_target = "g";    // symlink retargeted
  }
  dst.nodes.push_back(node("a/.wsdedup-tmp.123.4", fs::EntryType::regular, 2000, 3)); // killed run
  dst.nodes.push_back(node("x", fs::EntryType::directory, 2001));                      // gone from SRC
  dst.nodes.push_back(node("x/y", fs::EntryType::regular, 2002, 1));
  std::sort(dst.nodes.begin(), dst.nodes.end(), [](const Node& a, const Node& b) { return a.rel_path < b.rel_path; });
  const CopyPlan plan = migrate::plan_copy(src, dst);
  EXPECT_EQ(plan.removals, (std::vector<std::string>{"a/.wsdedup-tmp.123.4", "x"}));
  EXPECT_EQ(plan.temps_removed, 1u);
  EXPECT_EQ(paths(src, plan.copies), (std::vector<std::string>{"a/g"}));
  EXPECT_EQ(paths(src, plan.creates), (std::vector<std::string>{"a/l"}));
  EXPECT_TRUE(plan.links.empty());
  EXPECT_TRUE(plan.mkdirs.empty());
  // "a" and the root changed below them: their times must be set again; "d" did not.
  auto dirs = paths(src, plan.dir_metadata);
  std::sort(dirs.begin(), dirs.end());
  EXPECT_EQ(dirs, (std::vector<std::string>{"", "a"}));
}

TEST(MigratePlan, MetadataOnlyChangeIsFixedInPlace) {
  const TreeListing src = sample_src();
  TreeListing dst = copied(src);
  for (Node& n : dst.nodes) {
    if (n.rel_path == "b") n.st.ino = 1010;
    if (n.rel_path == "a/g") n.st.mode = S_IFREG | 0600;
  }
  const CopyPlan plan = migrate::plan_copy(src, dst);
  EXPECT_TRUE(plan.copies.empty());
  EXPECT_EQ(paths(src, plan.metadata_fixes), (std::vector<std::string>{"a/g"}));
}

TEST(MigratePlan, HardlinkStructureIsRepaired) {
  const TreeListing src = sample_src();
  {
    // b is a separate file in DST: relink it to a/f, no data copied.
    TreeListing dst = copied(src);
    for (Node& n : dst.nodes)
      if (n.rel_path == "b") n.st.ino = 5555;
    const CopyPlan plan = migrate::plan_copy(src, dst);
    EXPECT_TRUE(plan.copies.empty());
    ASSERT_EQ(plan.links.size(), 1u);
    EXPECT_EQ(src.nodes[plan.links[0].first].rel_path, "b");
  }
  {
    // SRC broke the link (b is its own file now) while DST still shares one inode: both are
    // copied apart.
    TreeListing s2 = src;
    for (Node& n : s2.nodes) {
      if (n.rel_path == "a/f") n.st.nlink = 1;
      if (n.rel_path == "b") {
        n.st.nlink = 1;
        n.st.ino = 77;
      }
    }
    TreeListing dst = copied(src);
    for (Node& n : dst.nodes)
      if (n.rel_path == "b") n.st.ino = 1010;
    const CopyPlan plan = migrate::plan_copy(s2, dst);
    EXPECT_EQ(paths(s2, plan.copies), (std::vector<std::string>{"a/f", "b"}));
    EXPECT_TRUE(plan.links.empty());
  }
}

TEST(MigratePlan, TypeChangeReplacesTheEntry) {
  const TreeListing src = sample_src();
  TreeListing dst = copied(src);
  for (Node& n : dst.nodes) {
    if (n.rel_path == "b") n.st.ino = 1010;
    if (n.rel_path == "d") n.st.type = fs::EntryType::regular; // a file where SRC has a dir
  }
  const CopyPlan plan = migrate::plan_copy(src, dst);
  EXPECT_EQ(plan.removals, (std::vector<std::string>{"d"}));
  EXPECT_EQ(paths(src, plan.mkdirs), (std::vector<std::string>{"d"}));
}

TEST(MigratePlan, DeviceNumberChangeRecreatesTheDevice) {
  TreeListing src = sample_src();
  Node dev = node("c", fs::EntryType::char_device, 20);
  dev.st.mode = S_IFCHR | 0600;
  dev.rdev = makedev(1, 3);
  src.nodes.insert(src.nodes.begin() + 6, dev); // sorted: "b" < "c" < "d"
  TreeListing dst = copied(src);
  EXPECT_TRUE(migrate::plan_copy(src, dst).empty());
  dst.nodes[6].rdev = makedev(1, 5);
  const CopyPlan plan = migrate::plan_copy(src, dst);
  EXPECT_EQ(std::vector<std::string>{"c"}, paths(src, plan.creates));
}

TEST(MigratePlan, TimesAreComparedAtTheTargetsGranularity) {
  TreeListing src = sample_src();
  for (Node& n : src.nodes) n.st.mtime_ns += 3'000'000'000; // 3 s and a fraction
  TreeListing dst = copied(src);
  for (Node& n : dst.nodes) n.st.mtime_ns = 3'000'000'000; // what a whole-second target keeps
  EXPECT_TRUE(migrate::plan_copy(src, dst, 1'000'000'000).empty());
  EXPECT_FALSE(migrate::plan_copy(src, dst, 1).copies.empty()); // to the nanosecond, all differ
  dst.nodes[3].st.mtime_ns = 2'000'000'000; // a/g: another second
  EXPECT_EQ(std::vector<std::string>{"a/g"}, paths(src, migrate::plan_copy(src, dst, 1'000'000'000).copies));
}

TEST(MigrateTimeGranularity, FloorsNegativeTimesDown) {
  EXPECT_EQ(3'000'000'000, migrate::floor_time(3'999'999'999, 1'000'000'000));
  EXPECT_EQ(-1'000'000'000, migrate::floor_time(-1, 1'000'000'000));
  EXPECT_EQ(12345, migrate::floor_time(12345, 1));
}

TEST(MigrateTimeGranularity, ProbeOnTheWorkingDiskKeepsNanoseconds) {
  test::TempDir dir;
  util::Fd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  struct stat before {};
  ASSERT_EQ(0, ::fstat(fd.get(), &before));
  // ext4 (and XFS, btrfs) keep nanoseconds.
  EXPECT_EQ(1, migrate::probe_mtime_granularity(fd.get()));
  struct stat after {};
  ASSERT_EQ(0, ::fstat(fd.get(), &after));
  EXPECT_EQ(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
  EXPECT_EQ(0, std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()));
}

TEST(MigrateFstab, EscapesTheWayGetmntentReads) {
  EXPECT_EQ(migrate::escape_fstab_field("/srv/my work\tx\\y\nz"), "/srv/my\\040work\\011x\\134y\\012z");
  for (const char* s : {"/plain", "/a b", "/t\tab", "/back\\slash", "/new\nline", ""})
    EXPECT_EQ(migrate::unescape_fstab_field(migrate::escape_fstab_field(s)), std::string(s));
  EXPECT_EQ(migrate::unescape_fstab_field("\\12"), "\\12"); // not a full escape: kept
}

TEST(MigrateFstab, LineNamesTargetMountpointAndRequirement) {
  EXPECT_EQ(migrate::bind_mount_line("/tank/ws", "/srv/work space", "/tank/ws"),
            "/tank/ws /srv/work\\040space none bind,x-systemd.requires-mounts-for=/tank/ws 0 0");
}

TEST(MigrateFstab, ReplacesTheLineForTheMountPointAndKeepsTheRest) {
  const std::string fstab = "# /etc/fstab\nUUID=1 / ext4 defaults 0 1\n"
                            "/old /srv/work\\040space none bind 0 0\n"
                            "/dev/sdb1 /srv/workspace ext4 defaults 0 2\n"
                            "/dup /srv/work\\040space none bind 0 0";
  const std::string line = migrate::bind_mount_line("/tank/ws", "/srv/work space", "/tank/ws");
  const std::string once = migrate::replace_fstab_entry(fstab, "/srv/work space", line);
  EXPECT_EQ(once, "# /etc/fstab\nUUID=1 / ext4 defaults 0 1\n" + line +
                      "\n/dev/sdb1 /srv/workspace ext4 defaults 0 2\n");
  // Idempotent: a second run changes nothing.
  EXPECT_EQ(migrate::replace_fstab_entry(once, "/srv/work space", line), once);
  // No line yet: appended (a missing final newline is added first).
  EXPECT_EQ(migrate::replace_fstab_entry("a b c d 0 0", "/x", "L"), "a b c d 0 0\nL\n");
  EXPECT_EQ(migrate::replace_fstab_entry("", "/x", "L"), "L\n");
}

TEST(MigrateTempNames, RecognisesOnlyOurs) {
  EXPECT_TRUE(migrate::is_migrate_temp_name(".wsdedup-tmp.123.4"));
  EXPECT_FALSE(migrate::is_migrate_temp_name(".wsdedup-tmp.x.4"));
  EXPECT_FALSE(migrate::is_migrate_temp_name("file"));
}

} // namespace
} // namespace wsd
