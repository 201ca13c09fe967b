#include "content/content_reader.hpp"
#include "content/file_hasher.hpp"
#include "fs/file_stat.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <thread>
#include <unistd.h>

using namespace wsd;

namespace {

// Records the calls a consumer receives, for one file.
class Recorder final : public content::ContentConsumer {
public:
  void begin(const content::FileJob&) override { log.clear(); }
  void data(uint64_t off, std::span<const std::byte> b) override {
    log += "D" + std::to_string(off) + "+" + std::to_string(b.size()) + " ";
    bytes.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  void hole(uint64_t off, uint64_t len) override {
    log += "H" + std::to_string(off) + "+" + std::to_string(len) + " ";
    bytes.append(len, '\0');
  }
  void end(const content::FileJob&, const content::ReadResult& r) override { result = r; }
  std::string log;
  std::string bytes;
  content::ReadResult result;
};

content::FileJob job_for(const std::string& root, const std::string& rel, uint64_t id = 0) {
  fs::FileStat st;
  const int dirfd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(fs::stat_at(dirfd, rel.c_str(), st), 0);
  ::close(dirfd);
  content::FileJob j;
  j.id = id;
  j.rel_path = rel;
  j.dev = st.dev;
  j.ino = st.ino;
  j.size = st.size;
  j.mtime_ns = st.mtime_ns;
  j.ctime_ns = st.ctime_ns;
  return j;
}

content::ReadResult read_one(const std::string& root, const content::FileJob& job, Recorder& rec,
                             size_t buffer = 1 << 20, uint64_t* calls = nullptr) {
  const int fd = ::open((root + "/" + job.rel_path).c_str(), O_RDONLY);
  std::vector<std::byte> buf(buffer);
  auto r = content::read_open_file(fd, job, buf, 4096, rec, calls);
  ::close(fd);
  return r;
}

} // namespace

TEST(ContentReader, SmallFileIsOneRead) {
  test::TempDir t;
  const std::string body = test::random_bytes(5000, 1);
  test::write_file(t / "f", body);
  Recorder rec;
  uint64_t calls = 0;
  const auto r = read_one(t.path(), job_for(t.path(), "f"), rec, 1 << 20, &calls);
  EXPECT_EQ(r.outcome, content::ReadOutcome::ok);
  EXPECT_EQ(calls, 1u);
  EXPECT_EQ(rec.bytes, body);
}

TEST(ContentReader, LargeFileInBufferSizedPieces) {
  test::TempDir t;
  const std::string body = test::random_bytes(3 * 65536 + 100, 2);
  test::write_file(t / "f", body);
  Recorder rec;
  const auto r = read_one(t.path(), job_for(t.path(), "f"), rec, 65536 + 1);
  EXPECT_EQ(r.outcome, content::ReadOutcome::ok);
  EXPECT_EQ(rec.bytes, body);
  EXPECT_EQ(rec.log, "D0+65536 D65536+65536 D131072+65536 D196608+100 ");
}

TEST(ContentReader, SparseFileReportsHoles) {
  test::TempDir t;
  const int fd = ::open((t / "s").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(::ftruncate(fd, 1 << 20), 0);
  const std::string mid = test::random_bytes(8192, 3);
  ASSERT_EQ(::pwrite(fd, mid.data(), mid.size(), 65536), 8192);
  ::close(fd);
  Recorder rec;
  const auto r = read_one(t.path(), job_for(t.path(), "s"), rec);
  EXPECT_EQ(r.outcome, content::ReadOutcome::ok);
  EXPECT_EQ(rec.log, "H0+65536 D65536+8192 H73728+974848 ");
  EXPECT_EQ(r.hole_bytes, (1u << 20) - 8192);
  EXPECT_EQ(rec.bytes.substr(65536, 8192), mid);
}

TEST(ContentReader, ChangedFileIsNotRead) {
  test::TempDir t;
  test::write_file(t / "f", "before");
  auto job = job_for(t.path(), "f");
  test::write_file(t / "f", "after!!");
  Recorder rec;
  EXPECT_EQ(read_one(t.path(), job, rec).outcome, content::ReadOutcome::changed);
  EXPECT_TRUE(rec.bytes.empty());
}

TEST(ContentReader, HeadTailReadsTwoRanges) {
  test::TempDir t;
  const std::string body = test::random_bytes(100000, 4);
  test::write_file(t / "f", body);
  auto job = job_for(t.path(), "f");
  job.scope = content::ReadScope::head_tail;
  Recorder rec;
  read_one(t.path(), job, rec);
  EXPECT_EQ(rec.log, "D0+4096 D95904+4096 ");
}

TEST(ContentReader, PipelineHashesEveryFileAndReportsProblems) {
  test::TempDir t;
  std::vector<std::string> bodies;
  for (int i = 0; i < 200; ++i) {
    bodies.push_back(test::random_bytes(static_cast<size_t>(i * 997), static_cast<uint64_t>(i)));
    test::write_file(t / ("d/f" + std::to_string(i)), bodies.back());
  }
  const fs::RootSet roots({t.path()});
  std::vector<content::FileJob> jobs;
  for (int i = 0; i < 200; ++i) jobs.push_back(job_for(t.path(), "d/f" + std::to_string(i), static_cast<uint64_t>(i)));
  // A job whose file vanished, and one replaced by a symlink (never followed).
  test::write_file(t / "gone", "x");
  jobs.push_back(job_for(t.path(), "gone", 200));
  ::unlink((t / "gone").c_str());
  test::write_file(t / "swapped", "x");
  jobs.push_back(job_for(t.path(), "swapped", 201));
  ::unlink((t / "swapped").c_str());
  ASSERT_EQ(::symlink("d/f1", (t / "swapped").c_str()), 0);

  content::DigestTable table(jobs.size());
  content::ReaderOptions o;
  o.threads = 3;
  o.queue_capacity = 4; // exercises back-pressure
  o.buffer_bytes = 64 * 1024;
  content::ContentReader reader(roots, o);
  const auto stats = reader.run([&](const auto& push) { for (const auto& j : jobs) push(j); },
                                [&](unsigned) { return content::make_file_hasher(table); });
  EXPECT_EQ(stats.files, jobs.size());
  for (int i = 0; i < 200; ++i) {
    const auto& b = bodies[static_cast<size_t>(i)];
    EXPECT_EQ(table.outcomes[static_cast<size_t>(i)], content::ReadOutcome::ok);
    EXPECT_EQ(table.digests[static_cast<size_t>(i)],
              content::hash_bytes({reinterpret_cast<const std::byte*>(b.data()), b.size()}));
  }
  EXPECT_EQ(table.outcomes[200], content::ReadOutcome::changed);
  EXPECT_EQ(table.outcomes[201], content::ReadOutcome::error); // ELOOP: not followed
}

TEST(ContentReader, SparseAndDenseCopiesHashTheSame) {
  test::TempDir t;
  const int fd = ::open((t / "sparse").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(::ftruncate(fd, 300000), 0);
  ::close(fd);
  test::write_file(t / "dense", std::string(300000, '\0'));
  const fs::RootSet roots({t.path()});
  content::DigestTable table(2);
  content::ContentReader reader(roots, {});
  reader.run([&](const auto& push) {
    push(job_for(t.path(), "sparse", 0));
    push(job_for(t.path(), "dense", 1));
  }, [&](unsigned) { return content::make_file_hasher(table); });
  EXPECT_EQ(table.digests[0], table.digests[1]);
}

// skip_unopened: called with the job's directory before the open; a job it takes ends as
// skipped without its file being opened (one whose file is gone is not even noticed).
TEST(ContentReader, SkipUnopenedLeavesFilesUnopened) {
  test::TempDir t;
  for (int i = 0; i < 40; ++i) test::write_file(t / ("d" + std::to_string(i % 4) + "/f" + std::to_string(i)), "body" + std::to_string(i));
  const fs::RootSet roots({t.path()});
  std::vector<std::string> names; // the jobs' names are views
  for (int i = 0; i < 40; ++i) names.push_back("f" + std::to_string(i));
  std::vector<content::FileJob> jobs;
  for (int i = 0; i < 40; ++i) {
    fs::FileStat st;
    ASSERT_EQ(fs::stat_at(roots[0].fd.get(), ("d" + std::to_string(i % 4) + "/" + names[static_cast<size_t>(i)]).c_str(), st), 0);
    jobs.push_back(content::FileJob::in_dir(static_cast<uint64_t>(i), 0, static_cast<uint32_t>(i % 4), names[static_cast<size_t>(i)], st));
  }
  ::unlink((t / "d2/f2").c_str()); // even: skipped before anything notices
  ::unlink((t / "d3/f3").c_str()); // odd: read, and found gone
  content::DigestTable table(jobs.size());
  content::ReaderOptions o;
  o.threads = 2;
  o.dir_path = [](uint32_t dir) { return "d" + std::to_string(dir); };
  std::mutex m;
  std::vector<int> asked;
  o.skip_unopened = [&](const content::FileJob& job, int dir_fd) {
    fs::FileStat dir_st, want;
    EXPECT_EQ(fs::stat_fd(dir_fd, dir_st), 0);
    EXPECT_EQ(fs::stat_at(roots[0].fd.get(), ("d" + std::to_string(job.dir)).c_str(), want), 0);
    EXPECT_EQ(dir_st.ino, want.ino) << "the hook gets the job's directory";
    const std::lock_guard lock(m);
    asked.push_back(static_cast<int>(job.id));
    return job.id % 2 == 0;
  };
  content::ContentReader reader(roots, o);
  const auto stats = reader.run([&](const auto& push) { for (const auto& j : jobs) push(j); },
                                [&](unsigned) { return content::make_file_hasher(table); });
  EXPECT_EQ(stats.files, jobs.size());
  EXPECT_EQ(stats.changed, 1u) << "only the odd vanished file was opened";
  EXPECT_EQ(asked.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (i % 2 == 0) {
      EXPECT_EQ(table.outcomes[i], content::ReadOutcome::skipped) << i;
    } else if (i != 3) {
      EXPECT_EQ(table.outcomes[i], content::ReadOutcome::ok) << i;
    }
  }
  EXPECT_EQ(table.outcomes[3], content::ReadOutcome::changed);
}

namespace {

// Hashes like make_file_hasher, and records how many consumers were inside data() at once.
class CountingHasher final : public content::ContentConsumer {
public:
  CountingHasher(content::DigestTable& table, std::atomic<int>& inside, std::atomic<int>& most)
      : m_hasher(content::make_file_hasher(table)), m_inside(inside), m_most(most) {}
  void begin(const content::FileJob& job) override { m_hasher->begin(job); }
  void data(uint64_t off, std::span<const std::byte> b) override {
    const int now = ++m_inside;
    int seen = m_most.load();
    while (now > seen && !m_most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200)); // widens any overlap
    m_hasher->data(off, b);
    --m_inside;
  }
  void hole(uint64_t off, uint64_t len) override { m_hasher->hole(off, len); }
  void end(const content::FileJob& job, const content::ReadResult& r) override {
    m_hasher->end(job, r);
  }

private:
  std::unique_ptr<content::ContentConsumer> m_hasher;
  std::atomic<int>& m_inside;
  std::atomic<int>& m_most;
};

} // namespace

// Files not in the page cache are read by more threads than CPU slots, each giving its slot
// up while it waits for the disk; consumers never run on more threads than slots, every byte
// arrives (also of a file whose first page alone is cached), and a warm re-read waits for nothing.
TEST(ContentReader, UncachedFilesAreReadWithTheCpuSlotGivenUp) {
  test::TempDir t;
  std::vector<std::string> bodies;
  for (int i = 0; i < 48; ++i) {
    const size_t size = i % 3 == 0   ? 5000
                        : i % 3 == 1 ? 200 * 1024 + static_cast<size_t>(i)
                                     : 3 * 1024 * 1024 + 7;
    bodies.push_back(test::random_bytes(size, static_cast<uint64_t>(i) + 100));
    test::write_file(t / ("d/f" + std::to_string(i)), bodies.back());
  }
  for (int i = 0; i < 48; ++i)
    if (!test::drop_from_cache(t / ("d/f" + std::to_string(i))))
      GTEST_SKIP()
          << "this filesystem keeps files in the page cache after POSIX_FADV_DONTNEED (tmpfs?)";
  { // f1's first page alone back in the cache: a RWF_NOWAIT read gives a short count
    const int fd = ::open((t / "d/f1").c_str(), O_RDONLY);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    char page[4096];
    ASSERT_EQ(::pread(fd, page, sizeof page, 0), 4096);
    ::close(fd);
  }
  const fs::RootSet roots({t.path()});
  std::vector<content::FileJob> jobs;
  for (int i = 0; i < 48; ++i)
    jobs.push_back(job_for(t.path(), "d/f" + std::to_string(i), static_cast<uint64_t>(i)));
  content::ReaderOptions o;
  o.threads = 1;
  o.io_threads = 6;
  auto run = [&](content::DigestTable& table, int& most_inside) {
    std::atomic<int> inside{0}, most{0};
    content::ContentReader reader(roots, o);
    const auto stats = reader.run(
        [&](const auto& push) {
          for (const auto& j : jobs) push(j);
        },
        [&](unsigned) { return std::make_unique<CountingHasher>(table, inside, most); });
    most_inside = most.load();
    return stats;
  };
  content::DigestTable cold(jobs.size());
  int cold_most = 0;
  const auto cold_stats = run(cold, cold_most);
  EXPECT_EQ(content::reader_threads(o), 6u);
  EXPECT_EQ(cold_most, 1) << "consumers ran on more threads than CPU slots";
  EXPECT_GE(cold_stats.waited_reads, 47u)
      << "every uncached file (but f1's cached first page) waited";
  for (size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(cold.outcomes[i], content::ReadOutcome::ok) << i;
    EXPECT_EQ(cold.digests[i],
              content::hash_bytes(
                  {reinterpret_cast<const std::byte*>(bodies[i].data()), bodies[i].size()}))
        << i;
  }
  content::DigestTable warm(jobs.size());
  int warm_most = 0;
  const auto warm_stats = run(warm, warm_most);
  EXPECT_EQ(warm_stats.waited_reads, 0u);
  EXPECT_EQ(warm_stats.read_calls, cold_stats.read_calls)
      << "a read that waited is still one read call";
  EXPECT_EQ(warm.digests, cold.digests);
}
