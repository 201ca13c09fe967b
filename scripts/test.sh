#!/usr/bin/env bash
# README command (b): install what the tests need, build with -Werror and ASan+UBSan, and run
# every test (unit, end-to-end, real btrfs/XFS loop mounts, the zfs-fuse oracle).
# Under CI=true a test that would skip fails instead: CI provides root, loop devices and zfs-fuse.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSD_SANITIZE=ON \
  -DWSD_WERROR=ON -DWSD_BUILD_BENCH=ON >/dev/null
ninja -C build/asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [[ ${CI:-} == true ]]; then export WSDEDUP_REQUIRE_ALL=1; fi
ctest --test-dir build/asan --output-on-failure -j2 "$@"
