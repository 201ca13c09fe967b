// dedupe/temp_names: the names of interrupted replacements are recognised exactly.
#include "dedupe/temp_names.hpp"

#include <gtest/gtest.h>
#include <set>
#include <string>

#include <unistd.h>

using namespace wsd;

TEST(DedupeTempNames, MadeNamesAreRecognisedAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string name = dedupe::make_temp_name();
    EXPECT_TRUE(dedupe::is_temp_name(name)) << name;
    EXPECT_EQ(name.find('/'), std::string::npos) << name;
    EXPECT_EQ(name.rfind(".wsdedup-tmp." + std::to_string(::getpid()) + ".", 0), 0u) << name;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate temp name " << name;
  }
}

TEST(DedupeTempNames, OtherNamesAreNotTempNames) {
  for (const char* name :
       {"", ".wsdedup-tmp.", ".wsdedup-tmp.12", ".wsdedup-tmp.12.", ".wsdedup-tmp..3",
        ".wsdedup-tmp.12.3.4", ".wsdedup-tmp.12.3x", ".wsdedup-tmp.a.3", ".wsdedup-tmp.-1.3",
        "wsdedup-tmp.12.3", "x.wsdedup-tmp.12.3", ".wsdedup-tmp.12.3 ", " .wsdedup-tmp.12.3",
        ".WSDEDUP-TMP.12.3", "index.js", ".wsdedup-tmp-12.3"})
    EXPECT_FALSE(dedupe::is_temp_name(name)) << '"' << name << '"';
  EXPECT_TRUE(dedupe::is_temp_name(".wsdedup-tmp.1.0"));
  EXPECT_TRUE(dedupe::is_temp_name(".wsdedup-tmp.4194304.18446744073709551615"));
}

TEST(DedupeTempNames, BaseAndDirName) {
  EXPECT_EQ(dedupe::base_name("a/b/c.txt"), "c.txt");
  EXPECT_EQ(dedupe::base_name("c.txt"), "c.txt");
  EXPECT_EQ(dedupe::base_name(""), "");
  EXPECT_EQ(dedupe::base_name("a/.wsdedup-tmp.1.2"), ".wsdedup-tmp.1.2");
  EXPECT_TRUE(dedupe::is_temp_name(dedupe::base_name("ws/node_modules/.wsdedup-tmp.77.5")));
  EXPECT_EQ(dedupe::dir_name("a/b/c.txt"), "a/b");
  EXPECT_EQ(dedupe::dir_name("c.txt"), "");
}
