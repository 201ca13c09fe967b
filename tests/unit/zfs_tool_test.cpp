#include "zfs/zfs_tool.hpp"

#include "util/error.hpp"

#include <gtest/gtest.h>

using namespace wsd;

TEST(ZfsTool, RunToolCapturesStdoutStderrAndStatus) {
  zfs::ToolOutput r = zfs::run_tool({"sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 3"});
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(ZfsTool, RunToolPassesArgumentsWithoutShell) {
  zfs::ToolOutput r = zfs::run_tool({"printf", "%s|", "a b", "$HOME", "*"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "a b|$HOME|*|");
}

TEST(ZfsTool, RunToolStdinIsDevNull) {
  zfs::ToolOutput r = zfs::run_tool({"cat"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "");
}

TEST(ZfsTool, RunToolLargeOutputOnBothStreams) {
  // More than a pipe buffer on both streams at once: must not deadlock.
  zfs::ToolOutput r = zfs::run_tool(
      {"sh", "-c", "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.size(), 300000u);
  EXPECT_EQ(r.err.size(), 200000u);
}

TEST(ZfsTool, RunToolKilledIsMinusOne) {
  zfs::ToolOutput r = zfs::run_tool({"sh", "-c", "kill -9 $$"});
  EXPECT_EQ(r.status, -1);
}

TEST(ZfsTool, RunToolMissingBinaryIsFatal) {
  try {
    zfs::run_tool({"wsdedup-no-such-tool-xyz"});
    FAIL() << "expected Fatal";
  } catch (const util::Fatal& e) {
    EXPECT_EQ(std::string(e.what()), "exec(\"wsdedup-no-such-tool-xyz\"): No such file or directory");
  }
}

TEST(ZfsTool, RunToolCheckedReportsStderr) {
  try {
    zfs::run_tool_checked({"sh", "-c", "echo 'cannot open pool' >&2; exit 1"});
    FAIL() << "expected Fatal";
  } catch (const util::Fatal& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("cannot open pool"), std::string::npos) << what;
    EXPECT_NE(what.find("exit status 1"), std::string::npos) << what;
  }
  EXPECT_EQ(zfs::run_tool_checked({"echo", "hi"}), "hi\n");
}

TEST(ZfsTool, ParseZfsTarget) {
  auto d = zfs::parse_zfs_target("zfs:tank/ws/a");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->pool, "tank");
  EXPECT_EQ(d->name, "tank/ws/a");
  auto p = zfs::parse_zfs_target("zfs:tank");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pool, "tank");
  EXPECT_EQ(p->name, "tank");
  EXPECT_FALSE(zfs::parse_zfs_target("tank/ws"));
  EXPECT_FALSE(zfs::parse_zfs_target("/srv/ws"));
  EXPECT_FALSE(zfs::parse_zfs_target("zfs:"));
  EXPECT_FALSE(zfs::parse_zfs_target("zfs:tank//a"));
  EXPECT_FALSE(zfs::parse_zfs_target("zfs:tank/a/"));
  EXPECT_FALSE(zfs::parse_zfs_target("zfs:tank/a@snap"));
  EXPECT_FALSE(zfs::parse_zfs_target("zfs:-o/x"));
  EXPECT_FALSE(zfs::parse_zfs_target("zfs:tank/../x"));
  EXPECT_FALSE(zfs::parse_zfs_target("zfs:1tank"));
}

TEST(ZfsTool, ParseDatasetNameWithoutPrefix) {
  auto d = zfs::parse_dataset_name("tank/ws");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->pool, "tank");
  EXPECT_EQ(d->name, "tank/ws");
  EXPECT_TRUE(zfs::parse_dataset_name("zfs:tank/ws"));
  EXPECT_FALSE(zfs::parse_dataset_name("/tank/ws"));
}

TEST(ZfsTool, ParsePropertyLines) {
  auto m = zfs::parse_property_lines("used\t1234\ncompressratio\t1.50\nmountpoint\t/srv/a b\nbad line\n");
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m["used"], "1234");
  EXPECT_EQ(m["compressratio"], "1.50");
  EXPECT_EQ(m["mountpoint"], "/srv/a b");
}
