#include "util/error.hpp"
#include "util/glob.hpp"

#include <gtest/gtest.h>

using namespace wsd::util;

TEST(Glob, NameOnlyPatternMatchesAtAnyDepth) {
  const Glob g("*.log");
  EXPECT_TRUE(g.matches("a.log", false));
  EXPECT_TRUE(g.matches("x/y/a.log", false));
  EXPECT_FALSE(g.matches("x/a.log/b", false));
}

TEST(Glob, SlashPatternIsAnchored) {
  const Glob g("spec-tasks/*");
  EXPECT_TRUE(g.matches("spec-tasks/t1", true));
  EXPECT_FALSE(g.matches("spec-tasks/t1/x", true));
  EXPECT_FALSE(g.matches("other/spec-tasks/t1", true));
  EXPECT_TRUE(Glob("/top").matches("top", true));
  EXPECT_FALSE(Glob("/top").matches("a/top", true));
}

TEST(Glob, DoubleStarCrossesDirectories) {
  const Glob g("**/dist");
  EXPECT_TRUE(g.matches("dist", true));
  EXPECT_TRUE(g.matches("a/b/dist", true));
  EXPECT_FALSE(g.matches("a/b/dist2", true));
  EXPECT_TRUE(Glob("a/**").matches("a/b/c", false));
  EXPECT_TRUE(Glob("a/**/z").matches("a/z", false));
  EXPECT_TRUE(Glob("a/**/z").matches("a/b/c/z", false));
}

TEST(Glob, ClassesAndQuestionMark) {
  EXPECT_TRUE(Glob("task-[0-9]?").matches("task-12", true));
  EXPECT_FALSE(Glob("task-[!0-9]?").matches("task-12", true));
  EXPECT_TRUE(Glob("task-[!0-9]?").matches("task-ab", true));
  EXPECT_FALSE(Glob("a?b").matches("a/b", true));
  EXPECT_THROW(Glob("[abc"), Fatal);
}

TEST(Glob, TrailingSlashMeansDirectoriesOnly) {
  const Glob g("build/");
  EXPECT_TRUE(g.matches("x/build", true));
  EXPECT_FALSE(g.matches("x/build", false));
}

TEST(Glob, BytesOutsideUtf8Match) {
  EXPECT_TRUE(Glob("bad-*").matches("bad-\xff\xfe", false));
  EXPECT_TRUE(glob_match("*", "new\nline"));
}
