// util/sigbus_guard, as verify's mapped comparison uses it: a mapped file truncated by
// someone else faults (SIGBUS) past its new end; the guard turns that into an answer.
#include "test_util.hpp"
#include "util/sigbus_guard.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

using namespace wsd;

namespace {

const size_t k_page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// A file of `pages` pages of 'x', mapped read-only (MAP_PRIVATE); unmapped on destruction.
class MappedFile {
public:
  MappedFile(const std::string& path, size_t pages) : m_size(pages * k_page) {
    test::write_file(path, std::string(m_size, 'x'));
    m_fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    EXPECT_GE(m_fd, 0);
    void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, m_fd, 0);
    EXPECT_NE(p, MAP_FAILED);
    m_data = static_cast<const char*>(p);
  }
  ~MappedFile() {
    ::munmap(const_cast<char*>(m_data), m_size);
    ::close(m_fd);
  }
  void truncate_to_pages(size_t pages) { ASSERT_EQ(::ftruncate(m_fd, static_cast<off_t>(pages * k_page)), 0); }
  const char* data() const { return m_data; }
  size_t size() const { return m_size; }

private:
  size_t m_size;
  int m_fd = -1;
  const char* m_data = nullptr;
};

// Sums the bytes of [from, to) of `data` (volatile: every byte is really read).
uint64_t touch(const char* data, size_t from, size_t to) {
  uint64_t sum = 0;
  for (size_t k = from; k < to; ++k) sum += static_cast<unsigned char>(static_cast<const volatile char*>(data)[k]);
  return sum;
}

} // namespace

TEST(VerifySigbusGuard, ReadingPastATruncatedEndReportsTheRangeInsteadOfCrashing) {
  if (!util::install_sigbus_handler()) GTEST_SKIP() << "the SIGBUS handler could not be installed (a sanitizer keeps its own)";
  test::TempDir t;
  MappedFile a(t / "a", 1);
  MappedFile b(t / "b", 4);
  b.truncate_to_pages(1); // pages 1..3 of b's mapping now fault
  const util::GuardedRange ranges[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  uint64_t sum = 0;
  size_t reached = 0;
  auto read_all = [&] {
    sum += touch(a.data(), 0, a.size());
    for (reached = 0; reached < b.size(); reached += k_page) sum += touch(b.data(), reached, reached + k_page);
  };
  EXPECT_EQ(util::run_sigbus_guarded(ranges, read_all), 1); // b, the second range
  EXPECT_EQ(reached, k_page);                                // cut short at b's second page
  EXPECT_EQ(sum, 2 * k_page * 'x');                          // what was read before

  // The guard is gone with the call; a run that stays within the file completes.
  sum = 0;
  auto read_first_pages = [&] { sum = touch(a.data(), 0, k_page) + touch(b.data(), 0, k_page); };
  EXPECT_EQ(util::run_sigbus_guarded(ranges, read_first_pages), -1);
  EXPECT_EQ(sum, 2 * k_page * 'x');
}

TEST(VerifySigbusGuard, EachThreadCatchesOnlyItsOwnFaults) {
  if (!util::install_sigbus_handler()) GTEST_SKIP() << "the SIGBUS handler could not be installed";
  test::TempDir t;
  MappedFile files[2] = {{t / "f0", 3}, {t / "f1", 3}};
  for (auto& f : files) f.truncate_to_pages(1);
  int results[2] = {0, 0};
  {
    std::jthread other([&] {
      const util::GuardedRange r[1] = {{files[1].data(), files[1].size()}};
      auto read = [&] { touch(files[1].data(), 0, files[1].size()); };
      for (int k = 0; k < 200; ++k) results[1] += util::run_sigbus_guarded(r, read) == 0 ? 1 : 0;
    });
    const util::GuardedRange r[1] = {{files[0].data(), files[0].size()}};
    auto read = [&] { touch(files[0].data(), 0, files[0].size()); };
    for (int k = 0; k < 200; ++k) results[0] += util::run_sigbus_guarded(r, read) == 0 ? 1 : 0;
  }
  EXPECT_EQ(results[0], 200);
  EXPECT_EQ(results[1], 200);
}

TEST(VerifySigbusGuardDeathTest, AFaultOutsideTheRegisteredRangesStillKills) {
  test::TempDir t;
  MappedFile guarded(t / "guarded", 2);
  MappedFile other(t / "other", 3);
  other.truncate_to_pages(1);
  const util::GuardedRange ranges[1] = {{guarded.data(), guarded.size()}};
  // Never swallowed as a guarded fault: the process dies (SIGBUS, or under AddressSanitizer
  // its report and exit status).
  EXPECT_DEATH(
      {
        auto read_other = [&] { touch(other.data(), 0, other.size()); };
        util::run_sigbus_guarded(ranges, read_other);
      },
      "");
  // Unguarded, outside any run: the same.
  EXPECT_DEATH(touch(other.data(), 0, other.size()), "");
}
