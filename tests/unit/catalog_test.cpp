#include "catalog/catalog.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace wsd;
using catalog::Catalog;
using catalog::FileIdentity;
using catalog::Row;

namespace {

constexpr int64_t k_s = 1'000'000'000;

Row row_for(FileIdentity id, int64_t computed_ns, std::string value) {
  return Row{id, computed_ns, std::move(value)};
}

} // namespace

TEST(Catalog, StoresAndFindsFreshRows) {
  test::TempDir t;
  const FileIdentity id{7, 42, 1000, 100 * k_s, 100 * k_s};
  {
    auto c = Catalog::open(t / "c.db", nullptr);
    c->put("xxh3-128", "", row_for(id, 200 * k_s, "digest"), "ws/a.js");
    c->flush();
  }
  auto c = Catalog::open(t / "c.db", nullptr);
  const auto snap = c->load("xxh3-128", "");
  ASSERT_TRUE(snap.find(id).has_value());
  EXPECT_EQ(snap.find(id)->value, "digest");
  EXPECT_EQ(c->load("xxh3-128", "other-params").size(), 0u);
}

TEST(Catalog, StaleIdentitiesAreNotTrusted) {
  const FileIdentity id{7, 42, 1000, 100 * k_s, 100 * k_s};
  const Row row = row_for(id, 200 * k_s, "d");
  EXPECT_TRUE(catalog::row_is_fresh(row, id));
  FileIdentity other = id;
  other.ino = 43; // cp -a: same size and mtime, another inode
  EXPECT_FALSE(catalog::row_is_fresh(row, other));
  other = id;
  other.ctime_ns += 1; // touch -d back in time: mtime restored, ctime moves
  EXPECT_FALSE(catalog::row_is_fresh(row, other));
  other = id;
  other.size += 1;
  EXPECT_FALSE(catalog::row_is_fresh(row, other));
  other = id;
  other.fs_id = 8; // another filesystem, same inode number
  EXPECT_FALSE(catalog::row_is_fresh(row, other));
}

TEST(Catalog, RowHashedWithinTwoSecondsOfAChangeIsNotTrusted) {
  const FileIdentity id{1, 2, 3, 100 * k_s, 100 * k_s};
  EXPECT_FALSE(catalog::row_is_fresh(row_for(id, 100 * k_s + k_s, "d"), id));
  EXPECT_TRUE(catalog::row_is_fresh(row_for(id, 102 * k_s, "d"), id));
}

TEST(Catalog, CorruptFileIsMovedAsideAndRebuilt) {
  test::TempDir t;
  test::write_file(t / "c.db", std::string(8192, 'x'));
  std::string warning;
  auto c = Catalog::open(t / "c.db", &warning);
  EXPECT_NE(warning.find("moved to"), std::string::npos) << warning;
  c->put("k", "", row_for({1, 1, 1, 1, 1}, 5 * k_s, "v"), "p");
  c->flush();
  EXPECT_EQ(c->stats().rows, 1u);
}

TEST(Catalog, OtherSchemaVersionIsRebuilt) {
  test::TempDir t;
  {
    auto c = Catalog::open(t / "c.db", nullptr);
    c->put("k", "", row_for({1, 1, 1, 1, 1}, 5 * k_s, "v"), "p");
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((t / "c.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value='99' WHERE key='schema_version'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  std::string warning;
  auto c = Catalog::open(t / "c.db", &warning);
  EXPECT_NE(warning.find("schema version 99"), std::string::npos) << warning;
  EXPECT_EQ(c->stats().rows, 0u);
}

TEST(Catalog, PruneDropsRowsOfGoneFiles) {
  test::TempDir t;
  auto c = Catalog::open(t / "c.db", nullptr);
  for (uint64_t ino = 1; ino <= 10; ++ino) c->put("k", "", row_for({1, ino, 1, 1, 1}, 5 * k_s, "v"), "p");
  c->put("k", "", row_for({2, 1, 1, 1, 1}, 5 * k_s, "v"), "other filesystem");
  EXPECT_EQ(c->prune({1}, {{1, 2}, {1, 5}}), 8u);
  EXPECT_EQ(c->stats().rows, 3u);
  c->vacuum();
}

TEST(Catalog, TwoProcessesWriteTheSameCatalog) {
  test::TempDir t;
  const std::string path = t / "c.db";
  Catalog::open(path, nullptr); // create
  std::vector<pid_t> kids;
  for (int p = 0; p < 2; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto c = Catalog::open(path, nullptr);
      for (uint64_t i = 0; i < 3000; ++i)
        c->put("k", "", row_for({static_cast<uint64_t>(p), i, 1, 1, 1}, 5 * k_s, "v"), "p");
      c->flush();
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (const pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto c = Catalog::open(path, nullptr);
  EXPECT_EQ(c->stats().rows, 6000u);
}

TEST(Catalog, FilesystemIdIsStableForOneFilesystem) {
  test::TempDir t;
  const int a = ::open(t.path().c_str(), O_RDONLY | O_DIRECTORY);
  const int b = ::open("/", O_RDONLY | O_DIRECTORY);
  EXPECT_NE(catalog::filesystem_id(a), 0u);
  EXPECT_EQ(catalog::filesystem_id(a), catalog::filesystem_id(a));
  ::close(a);
  ::close(b);
}

TEST(Catalog, AWriterBlockedByAnotherRunGivesUpCleanly) {
  test::TempDir t;
  const std::string path = t / "c.db";
  Catalog::open(path, nullptr); // create
  // Another run inside a write transaction.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  ::setenv("WSDEDUP_CATALOG_TIMEOUT_MS", "100", 1);
  {
    auto c = Catalog::open(path, nullptr); // reading needs no lock
    EXPECT_EQ(c->load("k", "").size(), 0u);
    c->put("k", "", row_for({1, 1, 1, 1, 1}, 5 * k_s, "v"), "p");
    c->flush(); // returns: the row is dropped, not waited for forever
    EXPECT_NE(c->write_error().find("locked"), std::string::npos) << c->write_error();
    EXPECT_EQ(c->writer_stats().dropped_rows, 1u);
  }
  ::unsetenv("WSDEDUP_CATALOG_TIMEOUT_MS");
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  auto c = Catalog::open(path, nullptr);
  c->put("k", "", row_for({1, 1, 1, 1, 1}, 5 * k_s, "v"), "p");
  c->flush();
  EXPECT_EQ(c->write_error(), "");
  EXPECT_EQ(c->stats().rows, 1u);
}

TEST(Catalog, WritesAreBatchedInFewTransactions) {
  test::TempDir t;
  auto c = Catalog::open(t / "c.db", nullptr);
  for (uint64_t i = 0; i < 10000; ++i)
    c->put("k", "p", row_for({1, i, 1, 1, 1}, 5 * k_s, "v"), "dir/file");
  c->flush();
  const catalog::WriterStats w = c->writer_stats();
  EXPECT_EQ(w.rows, 10000u);
  EXPECT_LE(w.batches, 10000u / 500) << "rows per transaction: " << w.rows / std::max<uint64_t>(1, w.batches);
  const auto snap = c->load("k", "p");
  EXPECT_EQ(snap.size(), 10000u);
}

TEST(Catalog, EnvironmentChoosesTheDefaultPath) {
  ::setenv("WSDEDUP_CATALOG", "/tmp/elsewhere.db", 1);
  EXPECT_EQ(catalog::default_catalog_path(), "/tmp/elsewhere.db");
  ::unsetenv("WSDEDUP_CATALOG");
  EXPECT_NE(catalog::default_catalog_path(), "/tmp/elsewhere.db");
}
