#!/usr/bin/env bash
# Invariant 6: SIGKILL at 50+ points of a hardlink run (ext4) and of a clone run (btrfs):
# afterwards every path reads its original bytes, and the next run removes the temp names
# left behind. Points are chosen with a seeded RNG among the executor's pause points and the
# target files, plus kills at random times. Also: ENOSPC on a full image.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dedupe_lib.bash"
need_root "loop-mounted btrfs image"

make_dupes() { # dir: 30 groups of 3 copies
  local d=$1 i w
  for w in w1 w2 w3; do mkdir -p "$d/$w/lib"; done
  for i in $(seq 30); do
    head -c $((20000 + i * 1000)) /dev/urandom >"$d/w1/lib/f$i"
    cp --reflink=never -p "$d/w1/lib/f$i" "$d/w2/lib/f$i"
    cp --reflink=never -p "$d/w1/lib/f$i" "$d/w3/lib/f$i"
  done
}

kill_loop() { # dir mode rounds: each round starts from the pristine copies
  local d=$1 mode=$2 rounds=$3 before points=(dedupe.leased dedupe.before_link dedupe.before_rename)
  make_dupes "$TESTDIR/pristine-$mode"
  rm -rf "$d"; cp -a --reflink=never "$TESTDIR/pristine-$mode" "$d"
  before=$(content_hashes "$d")
  RANDOM=42
  local killed=0 temps=0 r
  for r in $(seq "$rounds"); do
    rm -rf "$d"; cp -a --reflink=never "$TESTDIR/pristine-$mode" "$d"; sync
    local point=${points[$((RANDOM % 3))]} target="w$((2 + RANDOM % 2))/lib/f$((1 + RANDOM % 30))"
    local pd; pd=$(mktemp -d "$TESTDIR/pause.XXXX")
    if (( r % 5 == 0 )); then
      point="random time"
      # A kill at a random time instead of a pause point.
      "$WSDEDUP" dedupe "$d" --mode "$mode" --immutable lib --audit-log "$TESTDIR/audit.jsonl" >/dev/null 2>&1 &
      local pid=$!
      sleep "0.0$((RANDOM % 10))"
      kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
      wait "$pid" 2>/dev/null || true
    else
      WSDEDUP_PAUSE_AT=$point:$target WSDEDUP_PAUSE_DIR=$pd "$WSDEDUP" dedupe "$d" --mode "$mode" \
        --immutable lib --audit-log "$TESTDIR/audit.jsonl" >/dev/null 2>&1 &
      local pid=$!
      while kill -0 "$pid" 2>/dev/null && [[ ! -e $pd/$point.reached ]]; do sleep 0.005; done
      if [[ -e $pd/$point.reached ]]; then kill -9 "$pid"; killed=$((killed + 1)); fi
      wait "$pid" 2>/dev/null || true
    fi
    assert_eq "$before" "$(content_hashes "$d")" "$mode round $r ($point $target): every path reads its original bytes"
    # Every name is a regular file (never missing, never a symlink).
    [[ $(find "$d" -type f ! -name '.wsdedup-tmp.*' | wc -l) -eq 90 ]] || fail "$mode round $r: a path is missing"
    # The next run removes the temp names and finishes the job.
    local left; left=$(find "$d" -name '.wsdedup-tmp.*' | wc -l)
    temps=$((temps + left))
    dd_run "$TESTDIR/next.json" "$d" --mode "$mode" --immutable lib
    assert_eq "$left" "$(json .total.temp_names_removed "$TESTDIR/next.json")" "$mode round $r: temp names removed"
    [[ -z $(find "$d" -name '.wsdedup-tmp.*') ]] || fail "$mode round $r: temp names remain"
    assert_eq "$before" "$(content_hashes "$d")" "$mode round $r: same bytes after the next run"
    assert_eq 0 "$(json .total.skipped "$TESTDIR/next.json")" "$mode round $r: next run completes ($(json -c .skipped "$TESTDIR/next.json"))"
  done
  echo "  $mode: $killed kills, $temps temp names left by kills and removed by the next run"
  [[ $killed -ge 50 ]] || fail "$mode: only $killed kills landed"
  [[ $temps -ge 5 ]] || fail "$mode: kills between link and rename should leave temp names"
}

test_kill_hardlink_run() {
  kill_loop "$TESTDIR/hl" hardlink 65
  [[ $(stat -c %h "$TESTDIR/hl/w1/lib/f7") -eq 3 ]] || fail "linked at the end"
}

test_kill_clone_run() {
  mount_image btrfs 300M "$TESTDIR/cl"
  kill_loop "$TESTDIR/cl/t" clone 65
  [[ $(shared_extents "$TESTDIR/cl/t/w3/lib/f7") -gt 0 ]] || fail "cloned at the end"
}

test_enospc() {
  local mnt=$TESTDIR/full
  mount_image btrfs 120M "$mnt"
  make_dupes "$mnt/t"
  head -c 2000000 /dev/urandom >"$mnt/t/w1/big"; cp --reflink=never "$mnt/t/w1/big" "$mnt/t/w2/big"
  dd if=/dev/zero of="$mnt/filler" bs=1M status=none 2>/dev/null || true   # fill it up
  sync
  local before; before=$(content_hashes "$mnt/t")
  local mode
  for mode in clone reflink; do
    local rc=0
    dd_run "$TESTDIR/full-$mode.json" "$mnt/t" --mode "$mode" || rc=$?
    assert_eq 0 "$rc" "$mode on a full filesystem: no crash"
    assert_eq "$before" "$(content_hashes "$mnt/t")" "$mode on a full filesystem: same bytes"
    echo "  $mode: shared $(json .total.files_shared "$TESTDIR/full-$mode.json"), skipped: $(json -c '[.skipped[].reason] | unique' "$TESTDIR/full-$mode.json")"
  done
}

run_test test_kill_hardlink_run
run_test test_kill_clone_run
run_test test_enospc
finish
