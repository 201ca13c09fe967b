#include "catalog/catalog.hpp"
#include "catalog/result_memo.hpp"
#include "scan/tree_scan.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <sqlite3.h>
#include <thread>
#include <sys/stat.h>

using namespace wsd;
using catalog::Catalog;
using catalog::Memo;

namespace {

constexpr int64_t k_s = 1'000'000'000;

scan::FileList scan_dir(const std::string& dir, bool tree) {
  const fs::RootSet roots({dir});
  scan::ScanOptions o;
  o.collect_min_size = tree ? 0 : 1;
  o.collect_tree_entries = tree;
  return scan::scan_tree(roots, o, nullptr).files;
}

std::string signature_of(const std::string& dir, catalog::TreeShape shape = catalog::TreeShape::no) {
  const fs::RootSet roots({dir});
  const catalog::FilesystemIds ids(roots);
  return catalog::walk_signature(scan_dir(dir, shape == catalog::TreeShape::yes), ids, shape);
}

} // namespace

TEST(CatalogMemo, NewestOfAKeyIsFoundAndReplacesTheOlder) {
  test::TempDir t;
  auto c = Catalog::open(t / "c.db", nullptr);
  EXPECT_FALSE(c->has_memo("estimate", "k1"));
  EXPECT_FALSE(c->find_memo("estimate", "k1").has_value());
  ASSERT_TRUE(c->put_memo("estimate", "/r\n", "k1", Memo{100 * k_s, "sig-a", "value-a"}));
  ASSERT_TRUE(c->put_memo("estimate", "/r\n", "k1", Memo{200 * k_s, "sig-b", std::string("v\0b", 3)}));
  EXPECT_TRUE(c->has_memo("estimate", "k1"));
  const auto m = c->find_memo("estimate", "k1");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->created_ns, 200 * k_s);
  EXPECT_EQ(m->signature, "sig-b");
  EXPECT_EQ(m->value, std::string("v\0b", 3));
  EXPECT_FALSE(c->find_memo("dupes", "k1").has_value()); // another command
  EXPECT_EQ(c->stats().memos, 1u);
}

TEST(CatalogMemo, AtMostAFewPerCommandAndRoots) {
  test::TempDir t;
  auto c = Catalog::open(t / "c.db", nullptr);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(c->put_memo("estimate", "/r\n", "k" + std::to_string(i), Memo{i * k_s, "s", "v"}));
  }
  ASSERT_TRUE(c->put_memo("estimate", "/other\n", "x", Memo{k_s, "s", "v"}));
  ASSERT_TRUE(c->put_memo("dupes", "/r\n", "x", Memo{k_s, "s", "v"}));
  EXPECT_EQ(c->stats().memos, static_cast<uint64_t>(catalog::k_memos_kept) + 2);
  EXPECT_TRUE(c->find_memo("estimate", "k9").has_value()); // the newest stay
  EXPECT_FALSE(c->find_memo("estimate", "k0").has_value());
  c->vacuum();
  EXPECT_TRUE(c->find_memo("estimate", "k9").has_value());
}

TEST(CatalogMemo, DamagedMemoBytesAreIgnored) {
  test::TempDir t;
  {
    auto c = Catalog::open(t / "c.db", nullptr);
    ASSERT_TRUE(c->put_memo("estimate", "/r\n", "k", Memo{k_s, "sig", "value"}));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((t / "c.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE memos SET value = x'76616c7566'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto c = Catalog::open(t / "c.db", nullptr);
  EXPECT_FALSE(c->find_memo("estimate", "k").has_value()); // its checksum no longer matches
}

TEST(CatalogMemo, SchemaFiveIsUpgradedKeepingItsRows) {
  test::TempDir t;
  const catalog::FileIdentity id{7, 42, 1000, 100 * k_s, 100 * k_s};
  {
    auto c = Catalog::open(t / "c.db", nullptr);
    c->put("xxh3-128", "", catalog::Row{id, 200 * k_s, "digest"}, "a");
    c->flush();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((t / "c.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE memos; UPDATE meta SET value = '5' WHERE key = 'schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  std::string warning;
  auto c = Catalog::open(t / "c.db", &warning);
  EXPECT_EQ(warning, "");
  EXPECT_TRUE(c->load("xxh3-128", "").find(id).has_value());
  EXPECT_TRUE(c->put_memo("estimate", "/r\n", "k", Memo{k_s, "s", "v"}));
}

TEST(CatalogMemo, SignatureFollowsWhatResultsDependOn) {
  test::TempDir t;
  const std::string dir = t / "tree";
  test::write_file(dir + "/ws1/node_modules/a.js", "aaaa");
  test::write_file(dir + "/ws1/b.txt", "bbbb");
  const std::string s0 = signature_of(dir);
  EXPECT_EQ(s0.size(), 16u);
  EXPECT_EQ(s0, signature_of(dir)); // an unchanged tree
  std::this_thread::sleep_for(std::chrono::milliseconds(30)); // past the coarse clock's tick
  ASSERT_EQ(::chmod((dir + "/ws1/b.txt").c_str(), 0600), 0); // ctime only
  const std::string s1 = signature_of(dir);
  EXPECT_NE(s0, s1);
  ASSERT_EQ(::rename((dir + "/ws1/node_modules/a.js").c_str(), (dir + "/ws1/a.js").c_str()), 0);
  const std::string s2 = signature_of(dir);
  EXPECT_NE(s1, s2);
  // An empty directory changes only the tree's shape.
  std::filesystem::create_directories(dir + "/ws1/empty");
  EXPECT_EQ(s2, signature_of(dir));
  EXPECT_NE(signature_of(dir, catalog::TreeShape::yes), s2);
}

TEST(CatalogMemo, FilesSettleTwoSecondsAfterTheirLastChange) {
  test::TempDir t;
  const std::string dir = t / "tree";
  test::write_file(dir + "/ws/a", "a");
  const fs::RootSet roots({dir});
  const catalog::FilesystemIds ids(roots);
  const scan::FileList files = scan_dir(dir, false);
  const int64_t now = catalog::wall_clock_ns();
  EXPECT_FALSE(catalog::files_settled(files, ids, now));
  EXPECT_TRUE(catalog::files_settled(files, ids, now + catalog::k_trust_delay_ns + k_s));
}

TEST(CatalogMemo, ReaderRefusesShortValues) {
  catalog::MemoWriter w;
  w.put(uint64_t{7});
  w.put_vector(std::vector<uint32_t>{1, 2, 3});
  const std::string v = w.take();
  {
    catalog::MemoReader r(v);
    uint64_t a = 0;
    std::vector<uint32_t> b;
    r.get(a);
    r.get_vector(b);
    EXPECT_TRUE(r.at_end());
    EXPECT_EQ(a, 7u);
    EXPECT_EQ(b, (std::vector<uint32_t>{1, 2, 3}));
  }
  catalog::MemoReader r(std::string_view(v).substr(0, v.size() - 1));
  uint64_t a = 0;
  std::vector<uint32_t> b;
  r.get(a);
  r.get_vector(b);
  EXPECT_FALSE(r.ok());
}
