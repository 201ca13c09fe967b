#!/usr/bin/env bash
# Installs what wsdedup needs from Debian 12 packages (DESIGN.md section 8).
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   plus what the test suites need (filesystems, zfs-fuse, jq)
#   scripts/install-deps.sh --bench  plus the peers the benchmarks compare against
set -euo pipefail

build=(cmake ninja-build g++ pkg-config libsqlite3-dev libxxhash-dev libssl-dev liblz4-dev
       libzstd-dev zlib1g-dev libcli11-dev nlohmann-json3-dev libfmt-dev libgtest-dev libgmock-dev
       libbenchmark-dev)
test=(btrfs-progs xfsprogs e2fsprogs zfs-fuse jq rsync attr acl util-linux perl python3 procps
      psmisc diffutils coreutils findutils jdupes rdfind sqlite3 chromium prometheus man-db strace)
bench=(gdu rmlint duperemove fdupes time hyperfine git npm)

pkgs=("${build[@]}")
for arg in "$@"; do
  case $arg in
    --test) pkgs+=("${test[@]}") ;;
    --bench) pkgs+=("${test[@]}" "${bench[@]}") ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || { echo "install-deps: run as root to install: ${missing[*]}" >&2; exit 2; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
