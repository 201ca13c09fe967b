#!/bin/bash
# zfs-fuse helpers for the ZFS oracle (source this file). Needs root and the zfs-fuse
# package. Every function prints what it does on stderr and fails loudly.
#
#   zf_start            start the zfs-fuse daemon unless one runs (remembers if we did)
#   zf_stop             stop the daemon if zf_start started it
#   zf_pool_create DIR POOL [PROP=VALUE...]
#                       a pool on a sparse 512 MiB file DIR/POOL.img, mounted at DIR/mnt,
#                       dedup=on plus the given dataset properties
#   zf_copy_in SRC POOL copy SRC's contents into the pool's root (cp -a: holes, hardlinks)
#   zf_commit DIR POOL  export + import so the open txg reaches disk (zfs-fuse has no
#                       `zpool sync`, and sync(1) does not commit it)
#   zf_zdb_dd POOL      zdb -DD POOL
#   zf_pool_destroy DIR POOL
#
# zfs-fuse quirks (DESIGN.md section 9): file vdevs get ashift=12; pool version 23 (no lz4,
# no zstd; compression=on is lzjb); copying runs at ~15 MB/s.

ZF_SOCKET=/var/run/zfs/zfs_socket
ZF_STARTED_PID=

zf_log() { echo "zfs-fuse: $*" >&2; }

zf_daemon_running() { [[ -S $ZF_SOCKET ]] && zpool list >/dev/null 2>&1; }

zf_start() {
  if zf_daemon_running; then
    return 0
  fi
  command -v zfs-fuse >/dev/null || { zf_log "zfs-fuse is not installed"; return 1; }
  zf_log "starting daemon"
  # Debian's init script may not run in a container: run the daemon in the foreground
  # (--no-daemon) as our own background job, so its PID is known. A daemon still shutting
  # down (that takes seconds) makes the new one exit at once: retry for a while.
  local attempt i
  for attempt in $(seq 1 10); do
    zfs-fuse --no-daemon --no-kstat-mount >/dev/null 2>&1 &
    ZF_STARTED_PID=$!
    for i in $(seq 1 100); do
      if zf_daemon_running; then
        return 0
      fi
      kill -0 "$ZF_STARTED_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$ZF_STARTED_PID" 2>/dev/null; then
      break # running but not answering: give up below
    fi
    sleep 2
  done
  zf_log "daemon did not come up ($ZF_SOCKET)"
  zf_stop
  return 1
}

zf_stop() {
  [[ -n $ZF_STARTED_PID ]] || return 0
  zf_log "stopping daemon $ZF_STARTED_PID"
  kill "$ZF_STARTED_PID" 2>/dev/null || true
  # It takes a few seconds to let go; wait so the next start does not collide.
  wait "$ZF_STARTED_PID" 2>/dev/null || true
  ZF_STARTED_PID=
}

zf_pool_create() {
  local dir=$1 pool=$2
  shift 2
  mkdir -p "$dir/mnt"
  truncate -s 512M "$dir/$pool.img"
  zpool create -m "$dir/mnt" "$pool" "$dir/$pool.img" || return 1
  zfs set dedup=on "$pool" || return 1
  local prop
  for prop in "$@"; do
    zfs set "$prop" "$pool" || return 1
  done
}

zf_copy_in() {
  local src=$1 pool=$2 mnt
  mnt=$(zfs get -H -o value mountpoint "$pool") || return 1
  cp -a "$src/." "$mnt/" || return 1
}

zf_commit() {
  local dir=$1 pool=$2
  zpool export "$pool" || return 1
  zpool import -d "$dir" "$pool" || return 1
}

zf_zdb_dd() { zdb -DD "$1"; }

zf_pool_destroy() {
  local dir=$1 pool=$2 i
  # Right after an import the FUSE mount can still be busy for a moment: retry.
  for i in $(seq 1 40); do
    zpool list "$pool" >/dev/null 2>&1 || break
    zpool destroy -f "$pool" 2>/dev/null && break
    sleep 0.5
  done
  if zpool list "$pool" >/dev/null 2>&1; then
    zf_log "could not destroy pool $pool"
    return 1
  fi
  rm -f "$dir/$pool.img"
  rmdir "$dir/mnt" 2>/dev/null || true
}

# Normalises zdb -DD output to the lines the model must reproduce exactly: the DDT object
# lines' entry counts, the histogram and the ratio line.
zf_comparable() {
  sed -n -e 's/^\(DDT-[a-z0-9]*-zap-[a-z]*\): \([0-9]*\) entries.*/\1: \2 entries/p' \
    -e '/^bucket/,/^dedup = /p'
}

# The DDT object lines' "in core" figure (zdb's mspace / entries), one "CLASS BYTES" line per
# class: `DDT-sha256-zap-unique: 300 entries, size 573 on disk, 177 in core` -> `unique 177`.
zf_in_core() {
  sed -n -e 's/^DDT-[a-z0-9]*-zap-\([a-z]*\): [0-9]* entries, size [0-9]* on disk, \([0-9]*\) in core$/\1 \2/p'
}
