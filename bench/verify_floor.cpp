// bench/verify_floor: a lower bound for any tool that compares two trees by reading them.
// It does only the per-file work no comparer can skip -- per directory pair one getdents
// loop, per regular file pair openat (directory-relative), statx on the fd, pread in
// 1 MiB pieces, memcmp, close -- in N threads, and keeps nothing: no listing, no paths, no
// report, no hardlink or metadata checks. Sparse files are skipped (not read), which only
// lowers the bound. Exit 0 when every pair compared equal, 1 otherwise.
//
//   verify_floor SRC DST [THREADS]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace {

struct Dirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

constexpr int k_file_flags = O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC;
constexpr int k_dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

int g_roots[2];
std::mutex g_mutex;
std::vector<std::string> g_dirs{"."}; // directories left to compare, relative to both roots
unsigned g_busy = 0;
std::atomic<long> g_files{0}, g_sparse{0}, g_different{0};

bool next_dir(std::string& out) {
  while (true) {
    {
      std::lock_guard lock(g_mutex);
      if (!g_dirs.empty()) {
        out = std::move(g_dirs.back());
        g_dirs.pop_back();
        ++g_busy;
        return true;
      }
      if (g_busy == 0) return false;
    }
    sched_yield(); // another thread is listing: it may add directories
  }
}

bool same_content(int a, int b, std::vector<char>& x, std::vector<char>& y) {
  struct statx sa {
  }, sb{};
  if (statx(a, "", AT_EMPTY_PATH, STATX_SIZE | STATX_BLOCKS, &sa) != 0 ||
      statx(b, "", AT_EMPTY_PATH, STATX_SIZE | STATX_BLOCKS, &sb) != 0 ||
      sa.stx_size != sb.stx_size)
    return false;
  if (sa.stx_blocks * 512 < sa.stx_size || sb.stx_blocks * 512 < sb.stx_size) {
    ++g_sparse;
    return true;
  }
  g_files += 2;
  for (off_t off = 0;;) {
    const ssize_t n = pread(a, x.data(), x.size(), off);
    const ssize_t m = pread(b, y.data(), y.size(), off);
    if (n != m || n < 0 || std::memcmp(x.data(), y.data(), static_cast<size_t>(n)) != 0)
      return false;
    if (static_cast<size_t>(n) < x.size()) return true; // a short count is the end of both
    off += n;
  }
}

void compare_dirs() {
  unshare(CLONE_FILES); // a private fd table: no lock shared with the other threads
  std::vector<char> x(1 << 20), y(1 << 20), dents(64 << 10);
  std::string rel;
  while (next_dir(rel)) {
    const int src = openat(g_roots[0], rel.c_str(), k_dir_flags);
    const int dst = openat(g_roots[1], rel.c_str(), k_dir_flags);
    std::vector<std::string> below;
    long n = 0;
    while (src >= 0 && dst >= 0 &&
           (n = syscall(SYS_getdents64, src, dents.data(), dents.size())) > 0) {
      for (long pos = 0; pos < n;) {
        const auto* d = reinterpret_cast<const Dirent64*>(dents.data() + pos);
        pos += d->d_reclen;
        if (d->d_type == DT_DIR && std::strcmp(d->d_name, ".") != 0 &&
            std::strcmp(d->d_name, "..") != 0)
          below.push_back(rel + "/" + d->d_name);
        if (d->d_type != DT_REG) continue;
        const int a = openat(src, d->d_name, k_file_flags);
        const int b = openat(dst, d->d_name, k_file_flags);
        if (a < 0 || b < 0 || !same_content(a, b, x, y)) ++g_different;
        if (a >= 0) close(a);
        if (b >= 0) close(b);
      }
    }
    if (src < 0 || dst < 0) ++g_different;
    if (src >= 0) close(src);
    if (dst >= 0) close(dst);
    std::lock_guard lock(g_mutex);
    for (auto& b : below) g_dirs.push_back(std::move(b));
    --g_busy;
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: verify_floor SRC DST [THREADS]\n");
    return 2;
  }
  for (int i = 0; i < 2; ++i) {
    g_roots[i] = open(argv[1 + i], k_dir_flags);
    if (g_roots[i] < 0) {
      std::perror(argv[1 + i]);
      return 2;
    }
  }
  const unsigned threads = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3]))
                                    : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) pool.emplace_back(compare_dirs);
  for (auto& t : pool) t.join();
  std::printf("files read %ld, sparse skipped %ld, different %ld\n", g_files.load(),
              g_sparse.load(), g_different.load());
  return g_different.load() == 0 ? 0 : 1;
}
