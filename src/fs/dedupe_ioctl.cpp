#include "fs/dedupe_ioctl.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/fs.h>
#include <mutex>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vector>

#include "util/fd.hpp"

namespace wsd::fs {

namespace {

// bees' loop for one destination from `offset`: continue from what the kernel deduped.
void dedupe_from(int src_fd, int dst_fd, uint64_t offset, uint64_t length, uint64_t max_per_call,
                 DedupeResult& result) {
  std::vector<std::byte> buf(sizeof(struct file_dedupe_range) +
                             sizeof(struct file_dedupe_range_info));
  while (offset < length) {
    std::memset(buf.data(), 0, buf.size());
    auto* range = reinterpret_cast<struct file_dedupe_range*>(buf.data());
    range->src_offset = offset;
    range->src_length = std::min(length - offset, max_per_call);
    range->dest_count = 1;
    range->info[0].dest_fd = dst_fd;
    range->info[0].dest_offset = offset;
    result.calls++;
    if (::ioctl(src_fd, FIDEDUPERANGE, range) != 0) {
      result.status = DedupeStatus::error;
      result.err = errno;
      return;
    }
    const struct file_dedupe_range_info& info = range->info[0];
    if (info.status == FILE_DEDUPE_RANGE_DIFFERS) {
      result.status = DedupeStatus::differs;
      return;
    }
    if (info.status < 0) {
      result.status = DedupeStatus::error;
      result.err = -info.status;
      return;
    }
    if (info.bytes_deduped == 0) { // no progress: never loop forever
      result.status = DedupeStatus::error;
      result.err = EAGAIN;
      return;
    }
    offset += info.bytes_deduped;
    result.bytes_deduped += info.bytes_deduped;
  }
  result.status = DedupeStatus::shared;
}

} // namespace

DedupeResult dedupe_range(int src_fd, int dst_fd, uint64_t length, uint64_t max_per_call) {
  DedupeResult result;
  dedupe_from(src_fd, dst_fd, 0, length, max_per_call, result);
  return result;
}

void dedupe_ranges(int src_fd, std::span<DedupeTarget> targets, uint64_t length,
                   uint64_t max_per_call) {
  if (targets.size() > k_max_dedupe_targets) {
    for (size_t i = 0; i < targets.size(); i += k_max_dedupe_targets)
      dedupe_ranges(src_fd, targets.subspan(i, std::min(k_max_dedupe_targets, targets.size() - i)),
                    length, max_per_call);
    return;
  }
  for (DedupeTarget& t : targets) t.result = DedupeResult{};
  std::vector<size_t> active(targets.size());
  for (size_t i = 0; i < active.size(); ++i) active[i] = i;
  std::vector<size_t> alone; // targets the kernel shared less of than asked: (index)
  std::vector<uint64_t> alone_from;
  std::vector<std::byte> buf(sizeof(struct file_dedupe_range) +
                             k_max_dedupe_targets * sizeof(struct file_dedupe_range_info));
  uint64_t offset = 0;
  while (offset < length && !active.empty()) {
    const uint64_t len = std::min(length - offset, max_per_call);
    std::memset(buf.data(), 0, buf.size());
    auto* range = reinterpret_cast<struct file_dedupe_range*>(buf.data());
    range->src_offset = offset;
    range->src_length = len;
    range->dest_count = static_cast<__u16>(active.size());
    for (size_t k = 0; k < active.size(); ++k) {
      range->info[k].dest_fd = targets[active[k]].fd;
      range->info[k].dest_offset = offset;
    }
    if (::ioctl(src_fd, FIDEDUPERANGE, range) != 0) {
      const int err = errno;
      for (const size_t i : active) {
        targets[i].result.calls++;
        targets[i].result.status = DedupeStatus::error;
        targets[i].result.err = err;
      }
      active.clear();
      break;
    }
    std::vector<size_t> still;
    for (size_t k = 0; k < active.size(); ++k) {
      DedupeResult& r = targets[active[k]].result;
      const struct file_dedupe_range_info& info = range->info[k];
      r.calls++;
      if (info.status == FILE_DEDUPE_RANGE_DIFFERS) {
        r.status = DedupeStatus::differs;
      } else if (info.status < 0) {
        r.status = DedupeStatus::error;
        r.err = -info.status;
      } else if (info.bytes_deduped == 0) {
        r.status = DedupeStatus::error;
        r.err = EAGAIN;
      } else {
        r.bytes_deduped += info.bytes_deduped;
        if (info.bytes_deduped < len) {
          alone.push_back(active[k]);
          alone_from.push_back(offset + info.bytes_deduped);
        } else {
          still.push_back(active[k]);
        }
      }
    }
    active = std::move(still);
    offset += len;
  }
  for (const size_t i : active) targets[i].result.status = DedupeStatus::shared;
  for (size_t k = 0; k < alone.size(); ++k) {
    DedupeTarget& t = targets[alone[k]];
    dedupe_from(src_fd, t.fd, alone_from[k], length, max_per_call, t.result);
  }
}

int clone_whole_file(int src_fd, int dst_fd) {
  return ::ioctl(dst_fd, FICLONE, src_fd) == 0 ? 0 : errno;
}

int take_write_lease(int fd) {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGIO, SIG_IGN); });
  return ::fcntl(fd, F_SETLEASE, F_WRLCK) == 0 ? 0 : errno;
}

bool write_lease_held(int fd) { return ::fcntl(fd, F_GETLEASE) == F_WRLCK; }

void release_lease(int fd) { ::fcntl(fd, F_SETLEASE, F_UNLCK); }

namespace {

util::Fd make_scratch(int dirfd) {
  return util::Fd(::openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
}

bool write_all(int fd, const std::vector<char>& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
                               static_cast<off_t>(done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return ::fsync(fd) == 0;
}

} // namespace

ShareCapability probe_share_capability(int dirfd) {
  ShareCapability cap;
  constexpr size_t k_size = 64 * 1024; // above btrfs's inline limit
  std::vector<char> data(k_size);
  for (size_t i = 0; i < k_size; ++i) data[i] = static_cast<char>((i * 2654435761U) >> 13);
  util::Fd a = make_scratch(dirfd);
  util::Fd b = make_scratch(dirfd);
  if (!a || !b) {
    cap.dedupe_err = cap.clone_err = errno;
    return cap;
  }
  if (!write_all(a.get(), data) || !write_all(b.get(), data)) {
    cap.dedupe_err = cap.clone_err = errno ? errno : EIO;
    return cap;
  }
  const DedupeResult d = dedupe_range(a.get(), b.get(), k_size);
  cap.dedupe_range = d.status == DedupeStatus::shared;
  cap.dedupe_err = cap.dedupe_range ? 0 : (d.status == DedupeStatus::differs ? EIO : d.err);
  util::Fd c = make_scratch(dirfd);
  if (!c) {
    cap.clone_err = errno;
    return cap;
  }
  cap.clone_err = clone_whole_file(a.get(), c.get());
  cap.clone = cap.clone_err == 0;
  return cap;
}

} // namespace wsd::fs
