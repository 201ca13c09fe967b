#include "fs/walker.hpp"
#include "test_util.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace wsd;

namespace {

// Records every entry's path and type; the tag is the depth so children can check it.
class Collect final : public fs::WalkVisitor {
public:
  fs::DirTag on_entry(unsigned, const fs::Entry& e, fs::DirTag parent_tag) override {
    std::lock_guard lock(m);
    entries[std::string(e.rel_path)] = e.st->type;
    if (e.depth > 0 && parent_tag != e.depth) bad_tags++;
    return e.depth + 1;
  }
  void on_error(unsigned, const fs::WalkError& err) override {
    std::lock_guard lock(m);
    errors.push_back(err.rel_path + ":" + err.op);
  }
  std::mutex m;
  std::map<std::string, fs::EntryType> entries;
  std::vector<std::string> errors;
  int bad_tags = 0;
};

fs::WalkStats walk_dir(const std::string& dir, Collect& c, fs::WalkOptions options = {}) {
  const fs::RootSet roots({dir});
  return fs::walk(roots, options, c);
}

} // namespace

TEST(Walker, VisitsEveryEntryOnceWithoutFollowingSymlinks) {
  test::TempDir t;
  test::write_file(t / "a/b/c.txt", "x");
  test::write_file(t / "d.txt", "yy");
  test::make_dirs(t / "outside");
  test::write_file(t / "outside/secret", "s");
  ASSERT_EQ(::symlink((t / "outside").c_str(), (t / "a/link").c_str()), 0);
  Collect c;
  fs::WalkOptions o;
  o.threads = 4;
  const auto stats = walk_dir(t.path(), c, o);
  EXPECT_EQ(c.entries.size(), 8u); // root, a, a/b, a/b/c.txt, a/link, d.txt, outside, outside/secret
  EXPECT_EQ(c.entries.at("a/link"), fs::EntryType::symlink);
  EXPECT_EQ(c.entries.count("a/link/secret"), 0u);
  EXPECT_EQ(c.entries.at(""), fs::EntryType::directory);
  EXPECT_EQ(c.bad_tags, 0);
  EXPECT_TRUE(c.errors.empty());
  EXPECT_EQ(stats.dirs, 4u);
}

// A second walk over the same RootSet (dedupe rescans after removing leftover temp names)
// must see the root's entries again: the root's directory offset is not shared between walks.
TEST(Walker, SecondWalkOfOneRootSetSeesEverythingAgain) {
  test::TempDir t;
  test::write_file(t / "a/b.txt", "x");
  test::write_file(t / "c.txt", "yy");
  const fs::RootSet roots({t.path()});
  Collect first;
  fs::walk(roots, {}, first);
  Collect second;
  fs::walk(roots, {}, second);
  EXPECT_EQ(first.entries.size(), 4u);
  EXPECT_EQ(second.entries, first.entries);
}

TEST(Walker, ExcludeSkipsSubtrees) {
  test::TempDir t;
  test::write_file(t / "keep/x", "1");
  test::write_file(t / "skip/y", "2");
  test::write_file(t / "keep/z.log", "3");
  Collect c;
  fs::WalkOptions o;
  o.excludes.emplace_back("skip");
  o.excludes.emplace_back("*.log");
  walk_dir(t.path(), c, o);
  EXPECT_EQ(c.entries.count("skip"), 0u);
  EXPECT_EQ(c.entries.count("skip/y"), 0u);
  EXPECT_EQ(c.entries.count("keep/z.log"), 0u);
  EXPECT_EQ(c.entries.count("keep/x"), 1u);
}

TEST(Walker, TinyFdBudgetStillWalksEverything) {
  test::TempDir t;
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j < 5; ++j) test::write_file(t / ("d" + std::to_string(i) + "/e" + std::to_string(j) + "/f"), "x");
  Collect c;
  fs::WalkOptions o;
  o.max_open_dirs = 1;
  o.threads = 3;
  const auto stats = walk_dir(t.path(), c, o);
  EXPECT_EQ(c.entries.size(), 1u + 20 + 100 + 100);
  EXPECT_LE(stats.peak_open_dirs, 1u);
  EXPECT_TRUE(c.errors.empty());
}

TEST(Walker, DeepTreeHasNoDepthLimit) {
  test::TempDir t;
  // 3000 levels: deeper than PATH_MAX allows as one path, built with chdir.
  const int fd0 = ::open(".", O_RDONLY);
  ASSERT_EQ(::chdir(t.path().c_str()), 0);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(::mkdir("dd", 0755), 0);
    ASSERT_EQ(::chdir("dd"), 0);
  }
  test::write_file("leaf", "z");
  ASSERT_EQ(::fchdir(fd0), 0);
  ::close(fd0);
  Collect c;
  fs::WalkOptions o;
  o.max_open_dirs = 4; // forces openat2 from the root with long paths, and its fallback
  walk_dir(t.path(), c, o);
  EXPECT_EQ(c.entries.size(), 3002u);
  EXPECT_TRUE(c.errors.empty()) << c.errors.front();
}

TEST(Walker, UnreadableDirectoryIsReportedAndCounted) {
  test::TempDir t;
  test::write_file(t / "locked/x", "1");
  test::write_file(t / "open/y", "2");
  ASSERT_EQ(::chmod(t.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod((t / "open").c_str(), 0755), 0);
  ASSERT_EQ(::chmod((t / "locked").c_str(), 0), 0);
  auto check = [&]() -> int {
    Collect c;
    walk_dir(t.path(), c);
    if (c.entries.count("locked") != 1 || c.entries.count("open/y") != 1) return 10;
    if (c.errors.size() != 1 || c.errors[0] != "locked:open") return 11;
    return 0;
  };
  if (::geteuid() != 0) {
    EXPECT_EQ(check(), 0);
    return;
  }
  // Root reads everything: check as an unprivileged user in a child process.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(20);
    ::_exit(check());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: entries missing, 11: error not reported, 20: setuid";
}

TEST(Walker, RootThatIsASymlinkIsRefused) {
  test::TempDir t;
  test::make_dirs(t / "real");
  ASSERT_EQ(::symlink("real", (t / "link").c_str()), 0);
  EXPECT_THROW(fs::RootSet({t / "link"}), util::Fatal);
  EXPECT_THROW(fs::RootSet({t / "missing"}), util::Fatal);
  EXPECT_NO_THROW(fs::RootSet({t / "real"}));
}

// defer_file_stat: regular files come without a statx (type, inode and device only, from
// getdents and their directory); everything else is stat'ed as always.
TEST(Walker, DeferredFileStatNamesRegularFilesOnly) {
  test::TempDir t;
  test::write_file(t / "d/f", "12345");
  ASSERT_EQ(::symlink("f", (t / "d/l").c_str()), 0);
  ASSERT_EQ(::mkfifo((t / "d/p").c_str(), 0600), 0);
  struct Seen {
    fs::FileStat st;
    bool deferred = false;
  };
  class Record final : public fs::WalkVisitor {
  public:
    fs::DirTag on_entry(unsigned, const fs::Entry& e, fs::DirTag) override {
      std::lock_guard lock(m);
      seen[std::string(e.rel_path)] = {*e.st, e.stat_deferred};
      return 0;
    }
    void on_error(unsigned, const fs::WalkError&) override {}
    std::mutex m;
    std::map<std::string, Seen> seen;
  } r;
  fs::WalkOptions o;
  o.defer_file_stat = true;
  const fs::RootSet roots({t.path()});
  fs::walk(roots, o, r);
  struct stat real {};
  ASSERT_EQ(::lstat((t / "d/f").c_str(), &real), 0);
  const Seen& f = r.seen.at("d/f");
  EXPECT_TRUE(f.deferred);
  EXPECT_EQ(f.st.type, fs::EntryType::regular);
  EXPECT_EQ(f.st.ino, real.st_ino);
  EXPECT_EQ(f.st.dev, r.seen.at("d").st.dev);
  EXPECT_EQ(f.st.size, 0u); // not known: the caller stats the file where it opens it
  for (const char* other : {"d", "d/l", "d/p"}) {
    EXPECT_FALSE(r.seen.at(other).deferred) << other;
    EXPECT_NE(r.seen.at(other).st.nlink, 0u) << other;
  }
  EXPECT_EQ(r.seen.at("d/l").st.size, 1u); // the symlink's own size: stat'ed
}
