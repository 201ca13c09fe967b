#include "catalog/catalog.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>
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
  EXPECT_EQ(c->prune({{1, "/"}}, {{1, 2}, {1, 5}}), 8u);
  EXPECT_EQ(c->stats().rows, 3u);
  c->vacuum();
}

TEST(Catalog, PruneOfADirectoryDropsOnlyRowsUnderIt) {
  test::TempDir t;
  auto c = Catalog::open(t / "c.db", nullptr);
  c->put("k", "", row_for({1, 1, 1, 1, 1}, 5 * k_s, "v"), "/ws/a/gone");
  c->put("k", "", row_for({1, 2, 1, 1, 1}, 5 * k_s, "v"), "/ws/a/seen");
  c->put("k", "", row_for({1, 3, 1, 1, 1}, 5 * k_s, "v"), "/ws/ab/elsewhere");
  c->put("k", "", row_for({1, 4, 1, 1, 1}, 5 * k_s, "v"), "/ws/b/elsewhere");
  c->put("k", "", row_for({1, 5, 1, 1, 1}, 5 * k_s, "v"), "relative/unknown");
  c->put("k", "", row_for({2, 6, 1, 1, 1}, 5 * k_s, "v"), "/ws/a/other-fs");
  EXPECT_EQ(c->prune({{1, "/ws/a"}}, {{1, 2}}), 1u);
  EXPECT_EQ(c->stats().rows, 5u);
  EXPECT_EQ(c->prune({{1, ""}}, {}), 0u) << "an unknown top checks nothing";
  EXPECT_EQ(c->prune({{1, "/"}}, {{1, 2}}), 3u) << "the top of the filesystem covers every row";
  EXPECT_EQ(c->stats().rows, 2u);
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

TEST(Catalog, DamageFoundWhileLoadingRowsRebuildsTheCatalog) {
  test::TempDir t;
  {
    auto c = Catalog::open(t / "c.db", nullptr);
    for (uint64_t ino = 1; ino <= 100; ++ino) c->put("k", "", row_for({1, ino, 1, 1, 1}, 5 * k_s, "v"), "p");
  }
  // One byte of a segment changed behind SQLite's back (its pages stay well-formed).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((t / "c.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE segments SET data = substr(data, 1, 60) || X'FF' || "
                         "substr(data, 62)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  std::string warning;
  auto c = Catalog::open(t / "c.db", &warning);
  EXPECT_EQ(warning, "") << "the damage is not visible at open";
  EXPECT_EQ(c->load("k", "").size(), 0u) << "no row of a damaged segment is trusted";
  EXPECT_EQ(c->rebuilds(), 1u);
  bool aside = false;
  for (const auto& e : std::filesystem::directory_iterator(t.path()))
    aside = aside || e.path().filename().string().starts_with("c.db.corrupt-");
  EXPECT_TRUE(aside) << "the damaged file is kept aside";
  c->put("k", "", row_for({1, 1, 1, 1, 1}, 5 * k_s, "v"), "p");
  c->flush();
  EXPECT_EQ(c->load("k", "").size(), 1u) << "the new catalog works";
}

TEST(Catalog, DeltaEncodedRowsRoundTripThroughWritesAndRewrites) {
  // Rows are stored as differences from the previous row of their segment: identities that
  // go up and down, filesystems that alternate, times before 1970, values and paths of every
  // length must all come back exactly, also after prune and vacuum re-encode them.
  test::TempDir t;
  auto c = Catalog::open(t / "c.db", nullptr);
  struct Want {
    FileIdentity first;
    std::string second;
    std::string path;
  };
  std::vector<Want> want;
  uint64_t x = 88172645463325252ull;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (uint64_t i = 0; i < 3000; ++i) {
    const uint64_t fs = i % 7 == 0 ? ~uint64_t{0} - (i % 3) : 1 + (i / 1000);
    const uint64_t ino = i % 5 == 0 ? next() : 1000 + (i * 37 % 2000);
    const int64_t mtime = static_cast<int64_t>(next() % (200 * k_s)) - 100 * k_s;
    const int64_t ctime = i % 2 ? mtime : mtime - static_cast<int64_t>(next() % k_s);
    const FileIdentity id{fs, ino, next() % (uint64_t{1} << (i % 60)), mtime, ctime};
    std::string value(i % 40, static_cast<char>(i));
    // Long paths whose neighbours differ at many offsets (here: the package letter, byte 34).
    const std::string path =
        i % 4 == 3 ? ""
                   : "/ws/" + std::to_string(i % 7) + "/node_modules/@scope/package-" +
                         static_cast<char>('a' + i % 3) + "/lib/" + std::to_string(i);
    c->put("k", "", row_for(id, 300 * k_s, value), path);
    std::erase_if(want, [&](const auto& w) { return w.first.fs_id == fs && w.first.ino == ino; });
    want.push_back({id, value, path});
  }
  auto check = [&](const char* when) {
    c->flush();
    const auto snap = c->load("k", "");
    EXPECT_EQ(snap.size(), want.size()) << when;
    for (const auto& [id, value, p] : want) {
      const auto row = snap.find(id);
      ASSERT_TRUE(row.has_value()) << when << ": ino " << id.ino;
      EXPECT_EQ(row->value, value) << when;
      EXPECT_EQ(row->id.mtime_ns, id.mtime_ns);
      EXPECT_EQ(row->id.ctime_ns, id.ctime_ns);
      EXPECT_EQ(row->id.size, id.size);
    }
  };
  check("after writing");
  c->vacuum();
  check("after vacuum");
  // Paths survive the re-encoding: a prune of one package drops exactly the unseen rows
  // stored there (a path decoded with a byte of its neighbour's would land in another).
  const std::string top = "/ws/3/node_modules/@scope/package-b";
  const auto goes = [&top](const Want& w) {
    return w.first.fs_id == 1 && w.path.starts_with(top + "/") && w.first.ino % 2 == 0;
  };
  std::vector<std::pair<uint64_t, uint64_t>> live;
  uint64_t gone = 0;
  for (const auto& w : want) {
    if (goes(w))
      ++gone;
    else live.emplace_back(w.first.fs_id, w.first.ino);
  }
  ASSERT_GT(gone, 0u);
  EXPECT_EQ(c->prune({{1, top}}, live), gone);
  std::erase_if(want, goes);
  check("after a prune");
}

TEST(Catalog, WalkOrderedRowsAreSmall) {
  // A batch like a walk's (neighbouring inodes, close times, paths sharing directories)
  // stores a digest row in a few dozen bytes, path included.
  test::TempDir t;
  const std::string path = t / "c.db";
  constexpr uint64_t k_rows = 20000;
  {
    auto c = Catalog::open(path, nullptr);
    for (uint64_t i = 0; i < k_rows; ++i) {
      const int64_t mtime = 1'700'000'000 * k_s + static_cast<int64_t>(i) * 1'234'567;
      c->put("xxh3-128", "", row_for({0xabcdef12345678ull, 5'000'000 + i, 100 + i % 5000, mtime, mtime},
                                     1'800'000'000 * k_s + static_cast<int64_t>(i) * 20'000, std::string(16, 'h')),
             "/home/dev/workspaces/project-" + std::to_string(i / 2000) + "/node_modules/pkg-" +
                 std::to_string(i / 50) + "/lib/file-" + std::to_string(i) + ".js");
    }
    c->vacuum();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT SUM(length(data)) FROM segments", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  const int64_t bytes = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_LT(bytes / static_cast<int64_t>(k_rows), 48) << "bytes per row: " << bytes / static_cast<int64_t>(k_rows);
}

TEST(Catalog, PruneOfADirectoryDropsThePathlessRowsOfItsGoneFiles) {
  // estimate stores a file's path once (with its digest row) and its block rows without one:
  // those go with the digest row.
  test::TempDir t;
  auto c = Catalog::open(t / "c.db", nullptr);
  c->put("digest", "", row_for({1, 1, 1, 1, 1}, 5 * k_s, "v"), "/ws/a/gone");
  c->put("blocks", "rs=4K", row_for({1, 1, 1, 1, 1}, 5 * k_s, "b"), "");
  c->put("digest", "", row_for({1, 2, 1, 1, 1}, 5 * k_s, "v"), "/ws/b/not-looked-at");
  c->put("blocks", "rs=4K", row_for({1, 2, 1, 1, 1}, 5 * k_s, "b"), "");
  c->put("blocks", "rs=4K", row_for({1, 3, 1, 1, 1}, 5 * k_s, "b"), ""); // no path anywhere
  EXPECT_EQ(c->prune({{1, "/ws/a"}}, {}), 2u);
  c->flush();
  EXPECT_EQ(c->load("blocks", "rs=4K").size(), 2u);
  EXPECT_FALSE(c->load("blocks", "rs=4K").find({1, 1, 1, 1, 1}).has_value());
  EXPECT_EQ(c->load("digest", "").size(), 1u);
}

TEST(Catalog, RowsFromManyThreadsAllReachTheCatalogAtFlushAndAtClose) {
  // Each thread encodes into its own stage; flush() and the destructor hand every stage over,
  // including stages far below the hand-over size, and rows of several kinds interleaved.
  test::TempDir t;
  constexpr uint64_t k_threads = 4;
  constexpr uint64_t k_rows = 5000; // one full hand-over (4096 rows) plus a partial stage
  auto write_rows = [&](Catalog& c, uint64_t base) {
    std::vector<std::thread> threads;
    for (uint64_t th = 0; th < k_threads; ++th)
      threads.emplace_back([&c, th, base] {
        for (uint64_t i = 0; i < k_rows; ++i) {
          const uint64_t ino = base + th * k_rows + i;
          c.put(i % 3 == 0 ? "k2" : "k1", "", row_for({1, ino, ino, 1, 1}, 5 * k_s, std::to_string(ino)),
                "ws/" + std::to_string(th) + "/" + std::to_string(i));
        }
      });
    for (auto& th : threads) th.join();
  };
  {
    auto c = Catalog::open(t / "c.db", nullptr);
    write_rows(*c, 0);
    c->flush();
    EXPECT_EQ(c->writer_stats().rows, k_threads * k_rows);
    const auto k1 = c->load("k1", "");
    const auto k2 = c->load("k2", "");
    EXPECT_EQ(k1.size() + k2.size(), k_threads * k_rows);
    for (uint64_t ino = 0; ino < k_threads * k_rows; ++ino) {
      const auto row = ((ino % k_rows) % 3 == 0 ? k2 : k1).find({1, ino, ino, 1, 1});
      ASSERT_TRUE(row.has_value()) << ino;
      EXPECT_EQ(row->value, std::to_string(ino));
    }
    write_rows(*c, 1'000'000); // no flush: closing the catalog commits them
  }
  auto c = Catalog::open(t / "c.db", nullptr);
  EXPECT_EQ(c->stats().rows, 2 * k_threads * k_rows);
}

TEST(Catalog, LoadOfSomeFilesHoldsOnlyTheirRows) {
  test::TempDir t;
  auto c = Catalog::open(t / "c.db", nullptr);
  for (uint64_t i = 0; i < 3000; ++i) c->put("k", "", row_for({1, i, 10, 1, 1}, 5 * k_s, "v" + std::to_string(i)), "f");
  c->put("k", "", row_for({1, 7, 11, 1, 1}, 5 * k_s, "newer"), ""); // supersedes ino 7's row
  c->put("k", "", row_for({2, 8, 10, 1, 1}, 5 * k_s, "other fs"), "g");
  c->flush();
  const std::vector<std::pair<uint64_t, uint64_t>> only{{1, 7}, {1, 2999}, {2, 8}, {3, 1}};
  const auto snap = c->load("k", "", &only);
  EXPECT_EQ(snap.size(), 3u);
  EXPECT_FALSE(snap.find({1, 7, 10, 1, 1}).has_value()); // the superseded row is not trusted
  ASSERT_TRUE(snap.find({1, 7, 11, 1, 1}).has_value());
  EXPECT_EQ(snap.find({1, 7, 11, 1, 1})->value, "newer");
  ASSERT_TRUE(snap.find({1, 2999, 10, 1, 1}).has_value());
  EXPECT_EQ(snap.find({1, 2999, 10, 1, 1})->value, "v2999");
  ASSERT_TRUE(snap.find({2, 8, 10, 1, 1}).has_value());
  EXPECT_FALSE(snap.find({1, 8, 10, 1, 1}).has_value()); // not asked for
  EXPECT_EQ(c->load("k", "").size(), 3001u);
}
