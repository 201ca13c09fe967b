#include "scan/classifier.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

using namespace wsd;

TEST(Classifier, BuiltinCategoriesInOrderAfterUserRules) {
  const scan::Classifier c({"build=dist/", "logs=*.log"});
  ASSERT_EQ(c.category_count(), 5u);
  EXPECT_EQ(c.category_name(0), "build");
  EXPECT_EQ(c.category_name(2), "node_modules");
  EXPECT_EQ(c.category_name(3), ".git");
  EXPECT_EQ(c.category_name(c.other()), "other");
  EXPECT_EQ(c.match("ws/dist", "dist", true), 0);
  EXPECT_EQ(c.match("ws/dist", "dist", false), c.other()); // dir-only rule
  EXPECT_EQ(c.match("ws/x.log", "x.log", false), 1);
  EXPECT_EQ(c.match("ws/node_modules", "node_modules", true), 2);
  EXPECT_EQ(c.match("ws/node_modules", "node_modules", false), c.other()); // a file of that name
  EXPECT_EQ(c.match("ws/.git", ".git", true), 3);
  EXPECT_EQ(c.count_unit(2), "node_modules dirs");
  EXPECT_EQ(c.count_unit(3), ".git repos");
}

TEST(Classifier, RulesNamingTheSameCategoryShareIt) {
  const scan::Classifier c({"build=dist/", "build=out/"});
  EXPECT_EQ(c.category_count(), 4u);
  EXPECT_EQ(c.match("a/out", "out", true), c.match("a/dist", "dist", true));
}

TEST(Classifier, BadRulesAreFatal) {
  EXPECT_THROW(scan::Classifier({"nonsense"}), util::Fatal);
  EXPECT_THROW(scan::Classifier({"=x"}), util::Fatal);
  EXPECT_THROW(scan::Classifier({"other=x"}), util::Fatal);
}

TEST(Classifier, BareRepository) {
  const std::vector<std::string_view> bare = {"HEAD", "config", "objects", "refs"};
  const std::vector<std::string_view> plain = {"HEAD", "src"};
  EXPECT_TRUE(scan::Classifier::looks_like_bare_repo(bare));
  EXPECT_FALSE(scan::Classifier::looks_like_bare_repo(plain));
}

TEST(WorkspaceMatcher, GlobDepthAndDefault) {
  const scan::WorkspaceMatcher def(std::nullopt, std::nullopt);
  EXPECT_TRUE(def.is_workspace("a", 1));
  EXPECT_FALSE(def.is_workspace("a/b", 2));
  const scan::WorkspaceMatcher glob(std::string("spec-tasks/*"), std::nullopt);
  EXPECT_TRUE(glob.is_workspace("spec-tasks/t1", 2));
  EXPECT_FALSE(glob.is_workspace("spec-tasks", 1));
  const scan::WorkspaceMatcher depth(std::nullopt, 2u);
  EXPECT_TRUE(depth.is_workspace("x/y", 2));
  EXPECT_THROW(scan::WorkspaceMatcher(std::string("*"), 2u), util::Fatal);
}
