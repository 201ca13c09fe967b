// fs/extents (FIEMAP) and fs/dedupe_ioctl on real files: ext4 (this machine's /tmp) and, as
// root with loop devices, a btrfs image made and loop-mounted by the test.
#include "dupes/duplicate_finder.hpp"
#include "fs/btrfs_extents.hpp"
#include "fs/btrfs_inline.hpp"
#include "fs/dedupe_ioctl.hpp"
#include "fs/extents.hpp"
#include "scan/tree_scan.hpp"
#include "test_util.hpp"
#include "util/fd.hpp"

#include <cstdlib>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <linux/fiemap.h>
#include <string>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

using namespace wsd;

namespace {

util::Fd open_read(const std::string& path) {
  util::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) ADD_FAILURE() << "open " << path << " failed, errno " << errno;
  return fd;
}

// Writes `content` and fsyncs it, so FIEMAP sees allocated (not delayed) extents.
void write_synced(const std::string& path, std::string_view content) {
  test::write_file(path, content);
  util::Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(static_cast<bool>(fd)) << path;
  ASSERT_EQ(::fsync(fd.get()), 0) << path;
}

std::vector<fs::Extent> extents_of(const std::string& path) {
  util::Fd fd = open_read(path);
  auto e = fs::read_extents(fd.get());
  if (!e) {
    ADD_FAILURE() << "read_extents " << path << " errno " << e.error();
    return {};
  }
  return std::move(*e);
}

uint64_t mapped_bytes(const std::vector<fs::Extent>& extents) {
  uint64_t n = 0;
  for (const auto& e : extents) n += e.length;
  return n;
}

bool on_filesystem(const std::string& path, long magic) {
  struct statfs sf {};
  return ::statfs(path.c_str(), &sf) == 0 && static_cast<long>(sf.f_type) == magic;
}

constexpr long k_ext4_magic = 0xEF53;

} // namespace

// ---- pure functions -----------------------------------------------------------------------

TEST(DupesExtents, SamePhysicalExtentsComparesRangesAndRejectsUnknownOrInline) {
  const std::vector<fs::Extent> a = {{0, 4096, 8192, 0}, {8192, 65536, 4096, FIEMAP_EXTENT_LAST}};
  EXPECT_TRUE(fs::same_physical_extents(a, a));
  EXPECT_FALSE(fs::same_physical_extents({}, {}));
  EXPECT_FALSE(fs::same_physical_extents(a, {}));
  auto b = a;
  b[1].physical += 4096;
  EXPECT_FALSE(fs::same_physical_extents(a, b));
  b = a;
  b[1].logical += 4096;
  EXPECT_FALSE(fs::same_physical_extents(a, b));
  b = a;
  b[0].length -= 4096;
  EXPECT_FALSE(fs::same_physical_extents(a, b));
  b = a;
  b.pop_back();
  EXPECT_FALSE(fs::same_physical_extents(a, b));
  for (uint32_t flag : {uint32_t{FIEMAP_EXTENT_DATA_INLINE}, uint32_t{FIEMAP_EXTENT_UNKNOWN},
                        uint32_t{FIEMAP_EXTENT_DELALLOC}}) {
    b = a;
    b[0].flags |= flag;
    EXPECT_FALSE(fs::same_physical_extents(b, b)) << flag;
  }
  b = a;
  b[0].flags |= FIEMAP_EXTENT_SHARED; // sharing flags do not make the ranges differ
  EXPECT_TRUE(fs::same_physical_extents(a, b));
}

TEST(DupesExtents, InlineAndSharedFlags) {
  EXPECT_FALSE(fs::has_inline_extent({}));
  EXPECT_FALSE(fs::has_inline_extent({{0, 4096, 4096, FIEMAP_EXTENT_LAST}}));
  EXPECT_TRUE(fs::has_inline_extent(
      {{0, 4096, 4096, 0}, {4096, 0, 100, FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_LAST}}));
  EXPECT_TRUE(fs::is_shared({0, 4096, 4096, FIEMAP_EXTENT_SHARED}));
  EXPECT_FALSE(fs::is_shared({0, 4096, 4096, FIEMAP_EXTENT_LAST}));
}

TEST(DupesExtents, KindNamesAndWhichKindsShare) {
  EXPECT_EQ(fs::fs_kind_name(fs::FsKind::ext4), "ext4");
  EXPECT_EQ(fs::fs_kind_name(fs::FsKind::btrfs), "btrfs");
  EXPECT_EQ(fs::fs_kind_name(fs::FsKind::xfs), "xfs");
  EXPECT_EQ(fs::fs_kind_name(fs::FsKind::zfs), "zfs");
  EXPECT_EQ(fs::fs_kind_name(fs::FsKind::tmpfs), "tmpfs");
  EXPECT_EQ(fs::fs_kind_name(fs::FsKind::other), "other");
  EXPECT_TRUE(fs::fs_can_share_extents(fs::FsKind::btrfs));
  EXPECT_TRUE(fs::fs_can_share_extents(fs::FsKind::xfs));
  EXPECT_FALSE(fs::fs_can_share_extents(fs::FsKind::ext4));
  EXPECT_FALSE(fs::fs_can_share_extents(fs::FsKind::zfs));
  EXPECT_FALSE(fs::fs_can_share_extents(fs::FsKind::tmpfs));
  EXPECT_FALSE(fs::fs_can_share_extents(fs::FsKind::other));
}

// ---- ext4 ---------------------------------------------------------------------------------

class DupesExtentsExt4 : public ::testing::Test {
protected:
  void SetUp() override {
    if (!on_filesystem(m_dir.path(), k_ext4_magic))
      GTEST_SKIP() << m_dir.path() << " is not on ext4 (set TMPDIR to an ext4 directory)";
  }
  test::TempDir m_dir;
};

TEST_F(DupesExtentsExt4, KindOfTheDirectoryAndAFile) {
  write_synced(m_dir / "f", "x");
  util::Fd dir(::open(m_dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(static_cast<bool>(dir));
  EXPECT_EQ(fs::fs_kind(dir.get()), fs::FsKind::ext4);
  util::Fd f = open_read(m_dir / "f");
  EXPECT_EQ(fs::fs_kind(f.get()), fs::FsKind::ext4);
  EXPECT_FALSE(fs::fs_can_share_extents(fs::fs_kind(f.get())));
}

TEST_F(DupesExtentsExt4, RegularFileExtentsCoverItsBytes) {
  const size_t size = 300 * 1024 + 17;
  write_synced(m_dir / "f", test::random_bytes(size, 1));
  const auto ext = extents_of(m_dir / "f");
  ASSERT_FALSE(ext.empty());
  EXPECT_EQ(ext.front().logical, 0u);
  EXPECT_TRUE(ext.back().flags & FIEMAP_EXTENT_LAST);
  EXPECT_GE(mapped_bytes(ext), size);
  EXPECT_LT(mapped_bytes(ext), size + 4096);
  uint64_t next = 0;
  for (const auto& e : ext) {
    EXPECT_EQ(e.logical, next) << "a dense file has no gaps";
    EXPECT_NE(e.physical, 0u);
    EXPECT_FALSE(e.flags & (FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_UNKNOWN));
    next = e.logical + e.length;
  }
  EXPECT_FALSE(fs::has_inline_extent(ext));
}

TEST_F(DupesExtentsExt4, SyncFirstFlushesDelayedAllocation) {
  // Written but not synced: ext4's delayed allocation has no physical address yet, so the
  // extents could not be compared; FIEMAP_FLAG_SYNC writes the pages back first.
  test::write_file(m_dir / "f", test::random_bytes(256 * 1024, 7));
  util::Fd fd = open_read(m_dir / "f");
  const auto before = fs::read_extents(fd.get());
  ASSERT_TRUE(before.ok());
  ASSERT_FALSE(before->empty());
  EXPECT_TRUE(before->front().flags & FIEMAP_EXTENT_DELALLOC) << "not yet written back";
  const auto synced = fs::read_extents(fd.get(), fs::SyncFirst::yes);
  ASSERT_TRUE(synced.ok());
  ASSERT_FALSE(synced->empty());
  for (const auto& e : *synced) {
    EXPECT_FALSE(e.flags & (FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_UNKNOWN));
    EXPECT_NE(e.physical, 0u);
  }
  EXPECT_TRUE(fs::same_physical_extents(*synced, *synced));
}

TEST_F(DupesExtentsExt4, EmptyFileHasNoExtents) {
  write_synced(m_dir / "empty", "");
  const auto ext = extents_of(m_dir / "empty");
  EXPECT_TRUE(ext.empty());
  EXPECT_FALSE(fs::same_physical_extents(ext, ext)) << "nothing to share";
}

// More extents than one FIEMAP call returns (256): every one must come back, in order.
TEST_F(DupesExtentsExt4, SparseFileWithManyExtentsIsReadCompletely) {
  const std::string path = m_dir / "sparse";
  util::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(static_cast<bool>(fd));
  constexpr int k_blocks = 700;
  const std::string block = test::random_bytes(4096, 7);
  for (int i = 0; i < k_blocks; ++i)
    ASSERT_EQ(::pwrite(fd.get(), block.data(), block.size(), static_cast<off_t>(i) * 3 * 4096),
              4096);
  ASSERT_EQ(::fsync(fd.get()), 0);
  auto ext = fs::read_extents(fd.get());
  ASSERT_TRUE(static_cast<bool>(ext)) << ext.error();
  ASSERT_EQ(ext->size(), static_cast<size_t>(k_blocks));
  for (int i = 0; i < k_blocks; ++i) {
    const auto& e = (*ext)[static_cast<size_t>(i)];
    EXPECT_EQ(e.logical, static_cast<uint64_t>(i) * 3 * 4096) << i;
    EXPECT_EQ(e.length, 4096u) << i;
  }
  EXPECT_TRUE(ext->back().flags & FIEMAP_EXTENT_LAST);
  EXPECT_TRUE(fs::same_physical_extents(*ext, *ext));
  const auto flags = fs::read_extent_flags(fd.get()); // many batches of its small buffer
  ASSERT_TRUE(static_cast<bool>(flags)) << flags.error();
  EXPECT_EQ(flags->count, static_cast<uint64_t>(k_blocks));
  EXPECT_EQ(flags->any & FIEMAP_EXTENT_SHARED, 0u);
}

TEST_F(DupesExtentsExt4, AFileSharesWithItselfNotWithACopy) {
  const std::string data = test::random_bytes(256 * 1024, 2);
  write_synced(m_dir / "a", data);
  write_synced(m_dir / "b", data);
  ASSERT_EQ(::link((m_dir / "a").c_str(), (m_dir / "a-link").c_str()), 0);
  const auto a = extents_of(m_dir / "a");
  const auto a2 = extents_of(m_dir / "a");
  const auto link = extents_of(m_dir / "a-link");
  const auto b = extents_of(m_dir / "b");
  EXPECT_TRUE(fs::same_physical_extents(a, a2));
  EXPECT_TRUE(fs::same_physical_extents(a, link)) << "a hardlink is the same inode";
  EXPECT_FALSE(fs::same_physical_extents(a, b)) << "ext4 copies never share storage";
  for (const auto& e : a) EXPECT_FALSE(fs::is_shared(e));
}

TEST_F(DupesExtentsExt4, DedupeRangeIsRefusedWithAnErrnoNotAnAnswer) {
  const std::string data = test::random_bytes(128 * 1024, 3);
  write_synced(m_dir / "a", data);
  write_synced(m_dir / "b", data);
  util::Fd a = open_read(m_dir / "a");
  util::Fd b(::open((m_dir / "b").c_str(), O_RDWR | O_CLOEXEC));
  const fs::DedupeResult r = fs::dedupe_range(a.get(), b.get(), data.size());
  EXPECT_EQ(r.status, fs::DedupeStatus::error);
  EXPECT_NE(r.err, 0);
  EXPECT_EQ(r.bytes_deduped, 0u);
  util::Fd dir(::open(m_dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const fs::ShareCapability cap = fs::probe_share_capability(dir.get());
  EXPECT_FALSE(cap.dedupe_range);
  EXPECT_FALSE(cap.clone);
  EXPECT_NE(cap.dedupe_err, 0);
  EXPECT_NE(cap.clone_err, 0);
}

TEST_F(DupesExtentsExt4, TreeSearchOffBtrfsIsAnErrno) {
  write_synced(m_dir / "small", std::string(100, 's'));
  util::Fd fd = open_read(m_dir / "small");
  struct stat st {};
  ASSERT_EQ(::fstat(fd.get(), &st), 0);
  const auto r = fs::btrfs_is_inline(fd.get(), st.st_ino, 100);
  ASSERT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error(), ENOTTY);
}

// tmpfs has no FIEMAP: the caller (check_sharing) relies on EOPNOTSUPP to say so once.
TEST(DupesExtentsTmpfs, NoFiemapIsEopnotsupp) {
  constexpr long k_tmpfs_magic = 0x01021994;
  if (!on_filesystem("/dev/shm", k_tmpfs_magic)) GTEST_SKIP() << "/dev/shm is not a tmpfs";
  const std::string path = "/dev/shm/wsdedup-extents-test-" + std::to_string(::getpid());
  util::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  ASSERT_TRUE(static_cast<bool>(fd));
  ::unlink(path.c_str());
  ASSERT_EQ(::write(fd.get(), "data", 4), 4);
  EXPECT_EQ(fs::fs_kind(fd.get()), fs::FsKind::tmpfs);
  const auto ext = fs::read_extents(fd.get());
  ASSERT_FALSE(static_cast<bool>(ext));
  EXPECT_EQ(ext.error(), EOPNOTSUPP);
}

// ---- btrfs (root, loop device) ------------------------------------------------------------

namespace {

int run(const std::string& cmd) {
  return std::system(cmd.c_str());
}

} // namespace

class DupesExtentsBtrfs : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to loop-mount a btrfs image";
    if (::access("/dev/loop-control", F_OK) != 0)
      GTEST_SKIP() << "no loop devices (/dev/loop-control)";
    if (run("command -v mkfs.btrfs >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "mkfs.btrfs not installed (btrfs-progs)";
    const std::string img = m_dir / "img";
    m_mnt = m_dir / "mnt";
    test::make_dirs(m_mnt);
    ASSERT_EQ(run("truncate -s 200M '" + img + "'"), 0);
    ASSERT_EQ(run("mkfs.btrfs -q '" + img + "' >/dev/null 2>&1"), 0);
    ASSERT_EQ(run("mount -o loop" + mount_options() + " '" + img + "' '" + m_mnt + "'"), 0);
    m_mounted = true;
    ASSERT_TRUE(on_filesystem(m_mnt, static_cast<long>(0x9123683E)));
  }
  void TearDown() override {
    if (m_mounted) {
      EXPECT_EQ(run("umount '" + m_mnt + "'"), 0);
      m_mounted = false;
    }
  }
  // Runs even when SetUp failed half-way: never leave the image mounted under a removed dir.
  ~DupesExtentsBtrfs() override {
    if (m_mounted) run("umount -l '" + m_mnt + "'");
  }
  std::string path(std::string_view rel) const { return m_mnt + "/" + std::string(rel); }
  // Extra mount options after "loop".
  virtual std::string mount_options() const { return ""; }

  test::TempDir m_dir;
  std::string m_mnt;
  bool m_mounted = false;
};

TEST_F(DupesExtentsBtrfs, KindIsBtrfsAndCanShare) {
  util::Fd dir(::open(m_mnt.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(static_cast<bool>(dir));
  EXPECT_EQ(fs::fs_kind(dir.get()), fs::FsKind::btrfs);
  EXPECT_TRUE(fs::fs_can_share_extents(fs::fs_kind(dir.get())));
  const fs::ShareCapability cap = fs::probe_share_capability(dir.get());
  EXPECT_TRUE(cap.dedupe_range) << cap.dedupe_err;
  EXPECT_TRUE(cap.clone) << cap.clone_err;
}

TEST_F(DupesExtentsBtrfs, ReflinkCopySharesPhysicalExtents) {
  write_synced(path("a"), test::random_bytes(1024 * 1024 + 5, 4));
  ASSERT_EQ(run("cp --reflink=always '" + path("a") + "' '" + path("b") + "'"), 0);
  write_synced(path("c"), test::random_bytes(1024 * 1024 + 5, 4)); // same bytes, own storage
  const auto a = extents_of(path("a"));
  const auto b = extents_of(path("b"));
  const auto c = extents_of(path("c"));
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(fs::same_physical_extents(a, b));
  EXPECT_TRUE(fs::same_physical_extents(b, a));
  EXPECT_FALSE(fs::same_physical_extents(a, c));
  for (const auto& e : b) EXPECT_TRUE(fs::is_shared(e));
  for (const auto& e : c) EXPECT_FALSE(fs::is_shared(e));
  EXPECT_FALSE(fs::has_inline_extent(a));
  // The flags-only reading (dupes takes it on the read pass's open file) agrees.
  const auto flags_of = [&](const std::string& name) {
    util::Fd fd = open_read(path(name));
    auto f = fs::read_extent_flags(fd.get(), fs::SyncFirst::yes);
    EXPECT_TRUE(static_cast<bool>(f));
    return f ? *f : fs::ExtentFlags{};
  };
  EXPECT_NE(flags_of("b").any & FIEMAP_EXTENT_SHARED, 0u);
  EXPECT_EQ(flags_of("c").any & FIEMAP_EXTENT_SHARED, 0u);
  EXPECT_EQ(flags_of("c").count, c.size());
  EXPECT_NE(flags_of("c").any & FIEMAP_EXTENT_LAST, 0u);
}

TEST_F(DupesExtentsBtrfs, SmallFileIsInline) {
  write_synced(path("small"), std::string(1000, 's'));
  write_synced(path("small2"), std::string(1000, 's'));
  const auto s = extents_of(path("small"));
  ASSERT_FALSE(s.empty());
  EXPECT_TRUE(fs::has_inline_extent(s));
  EXPECT_FALSE(fs::same_physical_extents(s, extents_of(path("small2"))));
  EXPECT_FALSE(fs::same_physical_extents(s, s)) << "inline data has no physical address to share";
  util::Fd fd = open_read(path("small"));
  const auto flags = fs::read_extent_flags(fd.get());
  ASSERT_TRUE(static_cast<bool>(flags));
  EXPECT_NE(flags->any & FIEMAP_EXTENT_DATA_INLINE, 0u);
  EXPECT_EQ(flags->count, 1u);
}

// The tree search says "inline" only when one inline item holds every byte; anything else
// (a regular extent, a size the item does not match, a large file) goes to FIEMAP.
TEST_F(DupesExtentsBtrfs, TreeSearchFindsInlineFilesOnly) {
  write_synced(path("inline"), std::string(1000, 'i'));
  write_synced(path("regular"), test::random_bytes(3000, 4)); // over max_inline (2048)
  write_synced(path("large"), test::random_bytes(128 * 1024, 5));
  auto is_inline = [&](const std::string& name, int64_t size_delta = 0) {
    util::Fd fd = open_read(path(name));
    struct stat st {};
    EXPECT_EQ(::fstat(fd.get(), &st), 0);
    const auto r = fs::btrfs_is_inline(fd.get(), st.st_ino, static_cast<uint64_t>(st.st_size + size_delta));
    EXPECT_TRUE(static_cast<bool>(r)) << name << " errno " << (r ? 0 : r.error());
    return r && *r;
  };
  EXPECT_TRUE(is_inline("inline"));
  EXPECT_TRUE(fs::has_inline_extent(extents_of(path("inline")))) << "FIEMAP agrees";
  EXPECT_FALSE(is_inline("inline", 1)) << "an item that does not hold every byte";
  EXPECT_FALSE(is_inline("regular"));
  EXPECT_FALSE(fs::has_inline_extent(extents_of(path("regular")))) << "FIEMAP agrees";
  EXPECT_FALSE(is_inline("large"));
  // Another file's inode number: that file's item, never this one's answer.
  util::Fd fd = open_read(path("regular"));
  struct stat other {};
  ASSERT_EQ(::stat(path("inline").c_str(), &other), 0);
  const auto r = fs::btrfs_is_inline(fd.get(), other.st_ino, 1000);
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_TRUE(*r) << "the search reads the inode it is given, in fd's subvolume";
}

TEST_F(DupesExtentsBtrfs, DedupeRangeSharesIdenticalFiles) {
  const std::string data = test::random_bytes(256 * 1024, 5);
  write_synced(path("a"), data);
  write_synced(path("b"), data);
  EXPECT_FALSE(fs::same_physical_extents(extents_of(path("a")), extents_of(path("b"))));
  util::Fd a = open_read(path("a"));
  util::Fd b = open_read(path("b")); // root may dedupe into a read-only descriptor
  const fs::DedupeResult r = fs::dedupe_range(a.get(), b.get(), data.size(), 64 * 1024);
  EXPECT_EQ(r.status, fs::DedupeStatus::shared) << r.err;
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.bytes_deduped, data.size());
  EXPECT_EQ(r.calls, 4u) << "64 KiB per call over 256 KiB";
  EXPECT_TRUE(fs::same_physical_extents(extents_of(path("a")), extents_of(path("b"))));
}

// Large enough for several default-sized (16 MiB) calls: the destination ends up referring to
// the source's extent in pieces, and must still compare as sharing it.
TEST_F(DupesExtentsBtrfs, DedupeRangeInSeveralCallsStillComparesAsShared) {
  const std::string data = test::random_bytes(40 * 1024 * 1024 + 4096, 6);
  write_synced(path("a"), data);
  write_synced(path("b"), data);
  util::Fd a = open_read(path("a"));
  util::Fd b = open_read(path("b"));
  const fs::DedupeResult r = fs::dedupe_range(a.get(), b.get(), data.size());
  ASSERT_EQ(r.status, fs::DedupeStatus::shared) << r.err;
  EXPECT_EQ(r.bytes_deduped, data.size());
  EXPECT_GE(r.calls, 3u);
  EXPECT_TRUE(fs::same_physical_extents(extents_of(path("a")), extents_of(path("b"))));
}

// The subvolume tree's map of a file, in FIEMAP's terms: equal to FIEMAP's for plain files,
// a reflink copy's equal to its source's, a file deduplicated in 16 MiB pieces equal to its
// keeper's one extent (neighbours merged), and every extent of a file with more than one
// search call's worth.
TEST_F(DupesExtentsBtrfs, TreeExtentsMapLikeFiemap) {
  const auto tree_of = [&](const std::string& name) {
    util::Fd fd = open_read(path(name));
    struct stat st {};
    EXPECT_EQ(::fstat(fd.get(), &st), 0);
    auto ext = fs::btrfs_tree_extents(fd.get(), st.st_ino);
    EXPECT_TRUE(static_cast<bool>(ext)) << name << " errno " << (ext ? 0 : ext.error());
    return ext ? *ext : std::vector<fs::Extent>{};
  };
  write_synced(path("a"), test::random_bytes(1024 * 1024 + 5, 4));
  ASSERT_EQ(run("cp --reflink=always '" + path("a") + "' '" + path("b") + "'"), 0);
  write_synced(path("c"), test::random_bytes(1024 * 1024 + 5, 4));
  EXPECT_TRUE(fs::same_physical_extents(tree_of("a"), extents_of(path("a")))) << "the tree maps a as FIEMAP does";
  EXPECT_TRUE(fs::same_physical_extents(tree_of("a"), tree_of("b")));
  EXPECT_FALSE(fs::same_physical_extents(tree_of("a"), tree_of("c")));
  for (const auto& e : tree_of("b")) EXPECT_FALSE(fs::is_shared(e)) << "the tree has no SHARED flag";

  const std::string data = test::random_bytes(40 * 1024 * 1024 + 4096, 6);
  write_synced(path("keeper"), data);
  write_synced(path("pieces"), data);
  util::Fd keeper = open_read(path("keeper"));
  util::Fd pieces = open_read(path("pieces"));
  ASSERT_EQ(fs::dedupe_range(keeper.get(), pieces.get(), data.size()).status, fs::DedupeStatus::shared);
  EXPECT_TRUE(fs::same_physical_extents(tree_of("keeper"), tree_of("pieces")));

  // 2000 separate extents: about 170 KB of search results, more than one call returns.
  const std::string sparse = path("sparse");
  util::Fd fd(::open(sparse.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(static_cast<bool>(fd));
  constexpr int k_blocks = 2000;
  const std::string block = test::random_bytes(4096, 7);
  for (int i = 0; i < k_blocks; ++i)
    ASSERT_EQ(::pwrite(fd.get(), block.data(), block.size(), static_cast<off_t>(i) * 3 * 4096), 4096);
  ASSERT_EQ(::fsync(fd.get()), 0);
  const auto many = tree_of("sparse");
  ASSERT_EQ(many.size(), static_cast<size_t>(k_blocks));
  for (int i = 0; i < k_blocks; ++i) EXPECT_EQ(many[static_cast<size_t>(i)].logical, static_cast<uint64_t>(i) * 3 * 4096) << i;
  EXPECT_TRUE(fs::same_physical_extents(many, extents_of(sparse)));
}

TEST_F(DupesExtentsBtrfs, DedupeRangeOnDifferentBytesAnswersDiffers) {
  std::string data = test::random_bytes(256 * 1024, 7);
  write_synced(path("a"), data);
  data[200 * 1024] = static_cast<char>(data[200 * 1024] ^ 1);
  write_synced(path("b"), data);
  util::Fd a = open_read(path("a"));
  util::Fd b = open_read(path("b"));
  const fs::DedupeResult r = fs::dedupe_range(a.get(), b.get(), data.size());
  EXPECT_EQ(r.status, fs::DedupeStatus::differs);
  EXPECT_EQ(r.err, 0);
  EXPECT_FALSE(fs::same_physical_extents(extents_of(path("a")), extents_of(path("b"))));
}

// The caller's view (duplicate_finder's check_sharing): a reflink copy is already shared and
// not reclaimable, a plain copy is, inline small files are counted apart.
TEST_F(DupesExtentsBtrfs, FinderMarksReflinkCopiesAsAlreadyShared) {
  const std::string data = test::random_bytes(512 * 1024, 8);
  write_synced(path("a"), data);
  ASSERT_EQ(run("cp --reflink=always '" + path("a") + "' '" + path("b") + "'"), 0);
  write_synced(path("c"), data);
  write_synced(path("s1"), std::string(1500, 'q'));
  write_synced(path("s2"), std::string(1500, 'q'));
  const fs::RootSet roots({m_mnt});
  scan::ScanOptions o;
  o.collect_min_size = 1;
  const auto scanned = scan::scan_tree(roots, o, nullptr);
  const dupes::DuplicateSet found = dupes::find_duplicates(roots, scanned.files, {});
  ASSERT_EQ(found.groups.size(), 2u);
  const dupes::DuplicateGroup& g = found.groups[0];
  ASSERT_EQ(g.files.size(), 3u); // a, b, c in path order
  EXPECT_EQ(std::vector<uint32_t>(g.shares_with.begin(), g.shares_with.end()), (std::vector<uint32_t>{0, 0, 2}));
  EXPECT_EQ(g.already_shared, 1u);
  EXPECT_EQ(g.duplicate_bytes, 2 * data.size());
  EXPECT_EQ(g.reclaimable_bytes, data.size()) << "only c's own copy can be reclaimed";
  const dupes::DuplicateGroup& s = found.groups[1];
  EXPECT_EQ(s.size, 1500u);
  EXPECT_EQ(s.inline_files, 2u) << "both members are inline: nothing to reclaim";
  EXPECT_EQ(s.reclaimable_bytes, 0u);
  EXPECT_TRUE(found.problems.empty());
}

// Compressed extents (FIEMAP_EXTENT_ENCODED, common on production btrfs): FIEMAP reports the
// compressed extent's disk address, and the comparison must still tell a reflink from a copy.
class DupesExtentsBtrfsCompressed : public DupesExtentsBtrfs {
protected:
  std::string mount_options() const override { return ",compress=zstd"; }
};

TEST_F(DupesExtentsBtrfsCompressed, ReflinkSharesCopyDoesNot) {
  std::string data;
  for (int i = 0; i < 100; ++i)
    data += std::string(8000, static_cast<char>('a' + i % 7)) +
            test::random_bytes(100, static_cast<uint64_t>(i));
  write_synced(path("a"), data);
  write_synced(path("c"), data);
  ASSERT_EQ(run("cp --reflink=always '" + path("a") + "' '" + path("b") + "'"), 0);
  const auto a = extents_of(path("a"));
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a.front().flags & FIEMAP_EXTENT_ENCODED) << "the data should have compressed";
  EXPECT_TRUE(fs::same_physical_extents(a, extents_of(path("b"))));
  EXPECT_FALSE(fs::same_physical_extents(a, extents_of(path("c"))));
  util::Fd fa = open_read(path("a"));
  util::Fd fc = open_read(path("c"));
  const fs::DedupeResult r = fs::dedupe_range(fa.get(), fc.get(), data.size());
  EXPECT_EQ(r.status, fs::DedupeStatus::shared) << r.err;
  EXPECT_TRUE(fs::same_physical_extents(a, extents_of(path("c"))));
}

// One FIDEDUPERANGE per chunk for several destinations: each gets its own answer, a differing
// one does not stop the others, and the shared ones end up on the source's extents.
TEST_F(DupesExtentsBtrfs, DedupeRangesSharesManyDestinationsPerCall) {
  const std::string data = test::random_bytes(256 * 1024, 8);
  std::string other = data;
  other[200000] = static_cast<char>(other[200000] ^ 1); // differs in the 4th 64 KiB chunk
  write_synced(path("src"), data);
  for (const char* n : {"d1", "d2", "d3"}) write_synced(path(n), data);
  write_synced(path("diff"), other);
  util::Fd src = open_read(path("src"));
  std::vector<util::Fd> fds;
  std::vector<fs::DedupeTarget> targets;
  for (const char* n : {"d1", "diff", "d2", "d3"}) {
    fds.push_back(open_read(path(n)));
    targets.push_back({fds.back().get(), {}});
  }
  fs::dedupe_ranges(src.get(), targets, data.size(), 64 * 1024);
  for (size_t i : {0u, 2u, 3u}) {
    EXPECT_EQ(targets[i].result.status, fs::DedupeStatus::shared) << i << ": " << targets[i].result.err;
    EXPECT_EQ(targets[i].result.bytes_deduped, data.size());
    EXPECT_EQ(targets[i].result.calls, 4u) << "one call per 64 KiB chunk, shared by all";
  }
  EXPECT_EQ(targets[1].result.status, fs::DedupeStatus::differs);
  for (const char* n : {"d1", "d2", "d3"})
    EXPECT_TRUE(fs::same_physical_extents(extents_of(path("src")), extents_of(path(n)))) << n;
  EXPECT_FALSE(fs::same_physical_extents(extents_of(path("src")), extents_of(path("diff"))));
  std::ifstream in(path("diff"), std::ios::binary);
  const std::string now((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(now, other) << "a differing destination keeps its bytes";
}

// Compressed inline data (a 3000-byte compressible file fits in 2 KiB): the item's ram_bytes
// is the uncompressed size, and the tree search agrees with FIEMAP either way.
TEST_F(DupesExtentsBtrfsCompressed, TreeSearchAgreesWithFiemapOnCompressedInlineData) {
  write_synced(path("packed"), std::string(3000, 'z'));
  write_synced(path("random"), test::random_bytes(3000, 6));
  for (const char* name : {"packed", "random"}) {
    util::Fd fd = open_read(path(name));
    struct stat st {};
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    const auto r = fs::btrfs_is_inline(fd.get(), st.st_ino, static_cast<uint64_t>(st.st_size));
    ASSERT_TRUE(static_cast<bool>(r)) << name;
    const bool fiemap_inline = fs::has_inline_extent(extents_of(path(name)));
    EXPECT_EQ(*r, fiemap_inline) << name;
    if (std::string_view(name) == "packed") {
      EXPECT_TRUE(*r) << "3000 compressible bytes are stored inline, compressed";
    }
  }
}
