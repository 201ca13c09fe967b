// Unit tests for verify's comparer and prune's building blocks (interval accounting, policy,
// fd-relative tree removal, the /proc scanner).

#include "fs/in_use.hpp"
#include "fs/tree_remove.hpp"
#include "prune/exclusive.hpp"
#include "prune/policy.hpp"
#include "test_util.hpp"
#include "util/error.hpp"
#include "verify/comparer.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wsd {
namespace {

TEST(PathLess, DescendantsFollowTheirDirectory) {
  EXPECT_TRUE(verify::path_less("a", "a/b"));
  EXPECT_TRUE(verify::path_less("a/b", "a-b"));   // bytewise, '-' < '/', but not here
  EXPECT_TRUE(verify::path_less("a/zzz", "a-"));
  EXPECT_FALSE(verify::path_less("a-b", "a/b"));
  EXPECT_TRUE(verify::path_less("", "a"));
  EXPECT_FALSE(verify::path_less("a", "a"));
  EXPECT_TRUE(verify::path_less("a\xff", "b"));
}

// The word-at-a-time prefix skip must order exactly like the byte loop it replaces, wherever
// in an 8-byte word the first difference falls.
TEST(PathLess, AgreesWithTheByteRuleOnLongPaths) {
  const auto reference = [](std::string_view a, std::string_view b) {
    for (size_t k = 0; k < std::min(a.size(), b.size()); ++k) {
      const auto x = static_cast<unsigned char>(a[k]), y = static_cast<unsigned char>(b[k]);
      if (x == y) continue;
      if (x == '/') return true;
      if (y == '/') return false;
      return x < y;
    }
    return a.size() < b.size();
  };
  const std::string alphabet = "/-.az\xff";
  uint64_t seed = 12345;
  const auto next = [&] { return seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (int round = 0; round < 20000; ++round) {
    std::string a(static_cast<size_t>(next() >> 59), 'x');
    for (char& c : a) c = alphabet[(next() >> 33) % alphabet.size()];
    std::string b = a;
    if (!b.empty() && next() % 4 != 0) b[(next() >> 33) % b.size()] = alphabet[(next() >> 33) % alphabet.size()];
    if (next() % 3 == 0) b.push_back(alphabet[(next() >> 33) % alphabet.size()]);
    ASSERT_EQ(reference(a, b), verify::path_less(a, b)) << a << " vs " << b;
    ASSERT_EQ(reference(b, a), verify::path_less(b, a)) << b << " vs " << a;
  }
  EXPECT_TRUE(verify::path_less("node_modules/pkg/lib/a/index.js", "node_modules/pkg/lib/a-b"));
  EXPECT_FALSE(verify::path_less("node_modules/pkg/lib/a-b", "node_modules/pkg/lib/a/index.js"));
}

TEST(Verify, FindsEachKindOfDifference) {
  test::TempDir dir;
  test::write_file(dir / "src/same", "same");
  test::write_file(dir / "src/gone", "x");
  test::write_file(dir / "src/size", "12345");
  test::write_file(dir / "src/content", "abcd");
  test::write_file(dir / "src/sub/inner", "in");
  test::write_file(dir / "dst/same", "same");
  test::write_file(dir / "dst/size", "123456");
  test::write_file(dir / "dst/content", "abce");
  test::write_file(dir / "dst/new", "n");
  test::make_dirs(dir / "dst/sub");
  ASSERT_EQ(0, ::symlink("same", (dir / "src/link").c_str()));
  ASSERT_EQ(0, ::symlink("size", (dir / "dst/link").c_str()));
  verify::VerifyOptions options;
  const verify::VerifyReport r = verify::verify_trees(dir / "src", dir / "dst", options, nullptr);
  ASSERT_EQ(6u, r.differences.size());
  const auto find = [&](const std::string& p) -> const verify::Difference& {
    for (const auto& d : r.differences)
      if (d.path == p) return d;
    throw std::runtime_error("no difference for " + p);
  };
  EXPECT_EQ(verify::DiffKind::missing, find("gone").kind);
  EXPECT_EQ(verify::DiffKind::extra, find("new").kind);
  EXPECT_EQ(std::vector<std::string>{"size"}, find("size").reasons);
  EXPECT_EQ(std::vector<std::string>{"content"}, find("content").reasons);
  EXPECT_EQ(std::vector<std::string>{"symlink_target"}, find("link").reasons);
  EXPECT_EQ(verify::DiffKind::missing, find("sub/inner").kind);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_FALSE(r.identical());

  const verify::VerifyReport self = verify::verify_trees(dir / "src", dir / "src", options, nullptr);
  EXPECT_TRUE(self.identical());
}

TEST(Verify, HardlinkStructureBothWays) {
  test::TempDir dir;
  test::write_file(dir / "src/a", "linked");
  ASSERT_EQ(0, ::link((dir / "src/a").c_str(), (dir / "src/b").c_str()));
  test::write_file(dir / "src/c", "twin");
  test::write_file(dir / "src/d", "twin");
  test::write_file(dir / "dst/a", "linked");
  test::write_file(dir / "dst/b", "linked");
  test::write_file(dir / "dst/c", "twin");
  ASSERT_EQ(0, ::link((dir / "dst/c").c_str(), (dir / "dst/d").c_str()));
  const verify::VerifyReport r = verify::verify_trees(dir / "src", dir / "dst", {}, nullptr);
  ASSERT_EQ(4u, r.differences.size());
  for (const auto& d : r.differences) EXPECT_EQ(std::vector<std::string>{"hardlinks"}, d.reasons) << d.path;
  EXPECT_NE(std::string::npos, r.differences[0].details[0].find("hardlinked in SRC with \"b\""));
  EXPECT_NE(std::string::npos, r.differences[2].details[0].find("hardlinked in DST with \"d\""));
}

TEST(IntervalSet, CountsOnlyNewBytes) {
  prune::IntervalSet s;
  EXPECT_EQ(10u, s.add(0, 10));
  EXPECT_EQ(0u, s.add(2, 8));
  EXPECT_EQ(5u, s.add(5, 15));
  EXPECT_EQ(10u, s.add(20, 30));
  EXPECT_EQ(5u, s.add(12, 22)); // bridges [15,20)
  EXPECT_EQ(30u, s.covered());
  EXPECT_EQ(0u, s.add(7, 7));
}

TEST(Policy, StatusFileErrorsAreFatalAndClear) {
  test::TempDir dir;
  test::write_file(dir / "ok.json", R"({"a": "done", "b": "running"})");
  const auto m = prune::load_status_file(dir / "ok.json");
  EXPECT_EQ("done", m.at("a"));
  test::write_file(dir / "bad.json", R"({"a": 1})");
  try {
    prune::load_status_file(dir / "bad.json");
    FAIL() << "no throw";
  } catch (const util::Fatal& e) {
    EXPECT_NE(std::string::npos, std::string(e.what()).find("the status of \"a\" must be a string"));
  }
  EXPECT_THROW(prune::load_status_file(dir / "missing.json"), util::Fatal);
  EXPECT_EQ((std::set<std::string>{"archived", "done"}), prune::parse_status_list("done,archived,"));
  EXPECT_THROW(prune::parse_status_list(","), util::Fatal);
}

TEST(Policy, EveryRuleMustHold) {
  prune::WorkspaceScan scan;
  const int64_t day = 86400LL * 1'000'000'000;
  const int64_t now = 100 * day;
  for (int k = 0; k < 4; ++k) {
    prune::WorkspaceInfo w;
    w.name = "w" + std::to_string(k);
    w.newest_mtime_ns = now - (k * 10) * day; // w0 newest ... w3 30 days old
    scan.workspaces.push_back(w);
  }
  prune::Policy p;
  p.statuses = std::map<std::string, std::string>{{"w0", "done"}, {"w2", "done"}, {"w3", "done"}};
  p.delete_statuses = {"done"};
  p.older_than_seconds = 15 * 86400;
  auto d = prune::apply_policy(p, scan, now);
  EXPECT_FALSE(d[0].selected);
  EXPECT_FALSE(d[1].selected);
  EXPECT_TRUE(d[2].selected);
  EXPECT_TRUE(d[3].selected);
  EXPECT_EQ(30 * 86400, d[3].age_seconds);
  p.keep_newest = 3;
  d = prune::apply_policy(p, scan, now);
  EXPECT_FALSE(d[2].selected);
  EXPECT_TRUE(d[3].selected);
}

TEST(RemoveTree, RemovesEverythingAndFollowsNoSymlink) {
  test::TempDir dir;
  test::write_file(dir / "outside/keep", "keep");
  test::write_file(dir / "top/a/b/c/file", "x");
  test::write_file(dir / "top/f", "y");
  ASSERT_EQ(0, ::symlink((dir / "outside").c_str(), (dir / "top/a/escape").c_str()));
  ASSERT_EQ(0, ::mkfifo((dir / "top/fifo").c_str(), 0600));
  const int parent = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(parent, 0);
  fs::RemoveStats stats;
  EXPECT_TRUE(fs::remove_tree(parent, "top", stats));
  ::close(parent);
  EXPECT_TRUE(stats.errors.empty());
  EXPECT_EQ(4u, stats.files); // file, f, escape, fifo
  EXPECT_EQ(4u, stats.dirs);  // c, b, a, top
  struct stat st {};
  EXPECT_NE(0, ::lstat((dir / "top").c_str(), &st));
  EXPECT_EQ(0, ::stat((dir / "outside/keep").c_str(), &st));
}

TEST(InUse, FindsACwdAndAnOpenFile) {
  test::TempDir dir;
  test::write_file(dir / "held", "h");
  struct stat dir_st {}, file_st {};
  ASSERT_EQ(0, ::stat(dir.path().c_str(), &dir_st));
  ASSERT_EQ(0, ::stat((dir / "held").c_str(), &file_st));
  int ready[2];
  ASSERT_EQ(0, ::pipe(ready));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::chdir(dir.path().c_str()) != 0) ::_exit(1);
    const int fd = ::open("held", O_RDONLY);
    if (fd < 0) ::_exit(1);
    if (::write(ready[1], "x", 1) != 1) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(1, ::read(ready[0], &c, 1));
  const auto uses = fs::find_process_uses([&](uint64_t dev, uint64_t ino) {
    return (dev == dir_st.st_dev && ino == dir_st.st_ino) || (dev == file_st.st_dev && ino == file_st.st_ino);
  });
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  bool cwd = false, fd = false;
  for (const auto& u : uses) {
    if (u.pid != child) continue;
    if (u.how == "cwd") cwd = true;
    if (u.how.rfind("fd ", 0) == 0 && u.ino == file_st.st_ino) fd = true;
  }
  EXPECT_TRUE(cwd);
  EXPECT_TRUE(fd);
}

} // namespace
} // namespace wsd
