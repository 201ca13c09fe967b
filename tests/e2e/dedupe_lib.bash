# Helpers shared by the dedupe_*.sh suites (sourced after lib.sh; not a suite itself).

# Makes a filesystem image, loop-mounts it at DIR, unmounts at exit. Skips when impossible.
mount_image() { # kind size dir
  local kind=$1 size=$2 dir=$3 img=$3.img
  need_root "loop mounts"
  truncate -s "$size" "$img"
  case $kind in
    btrfs) need_cmd mkfs.btrfs btrfs-progs; mkfs.btrfs -q -f "$img" >/dev/null 2>&1 ;;
    xfs) need_cmd mkfs.xfs xfsprogs; mkfs.xfs -q -f -m reflink=1 "$img" >/dev/null ;;
    ext4) mkfs.ext4 -q -F "$img" >/dev/null ;;
  esac
  mkdir -p "$dir"
  mount -o loop "$img" "$dir" || skip "cannot loop-mount a $kind image"
  at_exit "umount -l '$dir' 2>/dev/null; rm -f '$img'"
}

# sha256 of every regular file, by path (the "reads the same bytes" oracle).
content_hashes() { # dir
  (cd "$1" && find . -type f ! -name '.wsdedup-tmp.*' -print0 | sort -z | xargs -0 -r sha256sum)
}

# Number of extents FIEMAP flags as shared in a file.
shared_extents() { # file
  filefrag -v "$1" | grep -c shared || true
}

free_bytes() { sync; df -B1 --output=avail "$1" | tail -1 | tr -d ' '; }

dd_run() { # json-out-file args...: runs dedupe with the suite's audit log
  local out=$1
  shift
  "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --json "$@" >"$out"
}

# Waits for a pause point reached by a background dedupe.
wait_reached() { # pause_dir point
  for _ in $(seq 2000); do [[ -e $1/${2%%:*}.reached ]] && return 0; sleep 0.01; done
  fail "pause point $2 never reached"
}
