// wsdedup-gentree: a small, fast, deterministic workspace tree for tests and the README demo.
// No network: node_modules, .git packs and build output are synthesized from a seed, with the
// shapes that matter (many small files duplicated across workspaces, near-duplicates, a few
// large files, sparse and empty files, hardlinks, symlinks, odd names).
//
//   wsdedup-gentree DIR [--workspaces N] [--seed S] [--packages N] [--no-odd-names]

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL) {}
  uint64_t next() { // splitmix64
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "wsdedup-gentree: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(2);
}

void mkdirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) die("mkdir " + path);
}

void write_file(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) die("write " + path);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

// Text that looks like source code: compressible, deterministic from the seed.
std::string source_text(Rng& rng, size_t size) {
  static const char* k_words[] = {"function", "return", "const", "let", "module", "exports",
                                  "require", "if", "else", "for", "while", "value", "options",
                                  "callback", "this", "new", "Error", "null", "undefined", "=>"};
  std::string out;
  out.reserve(size + 16);
  while (out.size() < size) {
    out += k_words[rng.below(20)];
    out += rng.below(8) == 0 ? ";\n  " : " ";
  }
  out.resize(size);
  return out;
}

std::string random_bytes(Rng& rng, size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t v = rng.next();
    for (size_t k = 0; k < 8 && i + k < size; ++k) out[i + k] = static_cast<char>((v >> (8 * k)) & 0xFF);
  }
  return out;
}

// A node_modules tree: `packages` packages; `variant` changes a few of them (version drift).
void write_node_modules(const std::string& dir, uint64_t template_seed, int variant, int packages) {
  for (int p = 0; p < packages; ++p) {
    const bool drifted = variant > 0 && p % 7 == variant % 7;
    Rng rng(template_seed * 1000 + static_cast<uint64_t>(p) + (drifted ? 77777u * static_cast<uint64_t>(variant) : 0u));
    const std::string pkg = dir + "/pkg-" + std::to_string(p);
    mkdirs(pkg + "/lib");
    write_file(pkg + "/package.json",
               "{\"name\": \"pkg-" + std::to_string(p) + "\", \"version\": \"1." +
                   std::to_string(drifted ? variant : 0) + ".0\"}\n");
    write_file(pkg + "/index.js", source_text(rng, 200 + rng.below(3000)));
    const int files = 2 + static_cast<int>(rng.below(6));
    for (int f = 0; f < files; ++f)
      write_file(pkg + "/lib/f" + std::to_string(f) + ".js", source_text(rng, 100 + rng.below(20000)));
    if (p % 5 == 0) { // a nested node_modules, not counted again
      mkdirs(pkg + "/node_modules/inner/");
      write_file(pkg + "/node_modules/inner/index.js", source_text(rng, 500));
    }
    if (p % 11 == 0) write_file(pkg + "/lib/native.node", random_bytes(rng, 150000 + rng.below(100000)));
  }
}

void write_git(const std::string& dir, uint64_t upstream, int extra_commits, Rng& rng) {
  mkdirs(dir + "/objects/pack");
  mkdirs(dir + "/refs/heads");
  write_file(dir + "/HEAD", "ref: refs/heads/main\n");
  write_file(dir + "/config", "[core]\n\trepositoryformatversion = 0\n\tbare = false\n");
  Rng up(upstream);
  write_file(dir + "/objects/pack/pack-" + std::to_string(upstream) + ".pack", random_bytes(up, 300000));
  write_file(dir + "/objects/pack/pack-" + std::to_string(upstream) + ".idx", random_bytes(up, 9000));
  for (int c = 0; c < extra_commits; ++c) {
    const std::string sub = dir + "/objects/" + std::to_string(10 + c);
    mkdirs(sub);
    write_file(sub + "/obj" + std::to_string(rng.below(1000000)), random_bytes(rng, 100 + rng.below(900)));
  }
  write_file(dir + "/refs/heads/main", std::to_string(rng.next()) + "\n");
}

} // namespace

int main(int argc, char** argv) {
  // DIR first; "--help" (or any option there) is not a directory to fill.
  if (argc < 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: wsdedup-gentree DIR [--workspaces N] [--seed S] [--packages N] [--no-odd-names]\n");
    return 2;
  }
  std::string root = argv[1];
  int workspaces = 6;
  uint64_t seed = 1;
  int packages = 40;
  bool odd_names = true;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "wsdedup-gentree: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--workspaces") workspaces = std::stoi(value());
    else if (a == "--seed") seed = std::stoull(value());
    else if (a == "--packages") packages = std::stoi(value());
    else if (a == "--no-odd-names") odd_names = false;
    else {
      std::fprintf(stderr, "wsdedup-gentree: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  Rng rng(seed);
  mkdirs(root + "/spec-tasks");
  mkdirs(root + "/sessions/s1");
  write_file(root + "/sessions/s1/state.json", source_text(rng, 700));
  write_file(root + "/README", "workspaces\n");
  for (int w = 0; w < workspaces; ++w) {
    char name[64];
    std::snprintf(name, sizeof name, "/spec-tasks/task-%03d", w);
    const std::string ws = root + name;
    mkdirs(ws + "/src");
    const uint64_t tmpl = 1 + static_cast<uint64_t>(w % 2);   // two project templates
    const int variant = w < 3 ? 0 : static_cast<int>(w % 3);   // most identical, some drift
    write_node_modules(ws + "/node_modules", tmpl, variant, packages);
    write_git(ws + "/.git", 100 + tmpl, w % 3, rng);
    for (int f = 0; f < 8; ++f)
      write_file(ws + "/src/m" + std::to_string(f) + ".ts", source_text(rng, 300 + rng.below(6000)));
    mkdirs(ws + "/dist");
    Rng shared(4242 + tmpl);
    write_file(ws + "/dist/vendor.js", source_text(shared, 120000)); // identical per template
    write_file(ws + "/dist/app.js", source_text(rng, 30000 + rng.below(30000)));
    mkdirs(ws + "/logs");
    write_file(ws + "/logs/build.log", source_text(rng, 5000 + rng.below(50000)));
    mkdirs(ws + "/.zed");
    write_file(ws + "/.zed/settings.json", "{\"tab_size\": 2}\n");
    write_file(ws + "/empty.txt", "");
    write_file(ws + "/data.bin", random_bytes(rng, 200000 + rng.below(100000)));
    if (::link((ws + "/data.bin").c_str(), (ws + "/data-link.bin").c_str()) != 0) die("link");
    if (::symlink("src/m0.ts", (ws + "/main.ts").c_str()) != 0) die("symlink");
    if (w == 0 && ::symlink("does-not-exist", (ws + "/dangling").c_str()) != 0) die("symlink");
    // A sparse file: 4 MiB apparent, 64 KiB of data in the middle.
    const int fd = ::open((ws + "/sparse.img").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::ftruncate(fd, 4 << 20) != 0) die("sparse");
    const std::string mid = random_bytes(rng, 65536);
    if (::pwrite(fd, mid.data(), mid.size(), 1 << 20) != static_cast<ssize_t>(mid.size())) die("pwrite");
    ::close(fd);
  }
  if (odd_names && workspaces > 0) {
    const std::string ws = root + "/spec-tasks/task-000";
    write_file(ws + "/name with spaces.txt", "spaces\n");
    write_file(ws + "/new\nline.txt", "newline\n");
    write_file(ws + "/bad-\xff\xfe-utf8.bin", "invalid utf8\n");
    write_file(ws + "/caf\xc3\xa9.txt", "valid utf8\n");
  }
  // A hardlink across workspaces: counted once, charged to the smallest path.
  if (workspaces > 1 &&
      ::link((root + "/spec-tasks/task-000/data.bin").c_str(), (root + "/spec-tasks/task-001/shared-link.bin").c_str()) != 0)
    die("link");
  return 0;
}
