#!/usr/bin/env bash
# A destination grows while dedupe is about to call FIDEDUPERANGE (pause point
# dedupe.before_dedupe_call): afterwards every path reads its own correct bytes (invariant 1:
# the keeper its original, the grown file its original plus the appended tail), and the grown
# file is reported with the reason instead of being counted as shared.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dedupe_lib.bash"
need_root "loop-mounted btrfs/XFS images"

grow_during_call() { # kind
  local kind=$1 mnt=$TESTDIR/$1
  mount_image "$kind" 300M "$mnt"
  mkdir -p "$mnt/a" "$mnt/b" "$mnt/c"
  head -c 3000000 /dev/urandom >"$mnt/a/f"
  cp --reflink=never "$mnt/a/f" "$mnt/b/f"; cp --reflink=never "$mnt/a/f" "$mnt/c/f"
  sync
  local keeper_sum; keeper_sum=$(sha256sum <"$mnt/a/f")
  local pd; pd=$(mktemp -d "$TESTDIR/pause.XXXX")
  WSDEDUP_PAUSE_AT=dedupe.before_dedupe_call WSDEDUP_PAUSE_DIR=$pd "$WSDEDUP" dedupe "$mnt" --mode reflink \
    --no-catalog --audit-log "$TESTDIR/audit.jsonl" --json >"$TESTDIR/$kind.json" &
  local pid=$!
  wait_reached "$pd" dedupe.before_dedupe_call
  # The targets are open in the dedupe process: append to one of them now.
  head -c 70000 /dev/urandom >"$TESTDIR/tail"
  cat "$TESTDIR/tail" >>"$mnt/b/f"
  local grown_sum; grown_sum=$( (cat "$mnt/a/f" "$TESTDIR/tail") | sha256sum)
  assert_eq "$grown_sum" "$(sha256sum <"$mnt/b/f")" "$kind: append landed"
  touch "$pd/dedupe.before_dedupe_call.go"
  wait "$pid"
  local out=$TESTDIR/$kind.json
  sync; echo 3 >/proc/sys/vm/drop_caches # read back from disk, not the page cache
  assert_eq "$keeper_sum" "$(sha256sum <"$mnt/a/f")" "$kind: keeper reads its original bytes"
  assert_eq "$keeper_sum" "$(sha256sum <"$mnt/c/f")" "$kind: the untouched copy reads its bytes"
  assert_eq "$grown_sum" "$(sha256sum <"$mnt/b/f")" "$kind: the grown file reads original + tail"
  assert_eq 1 "$(json .total.files_shared "$out")" "$kind: only the untouched copy counted as shared"
  assert_eq 1 "$(json .total.skipped "$out")" "$kind: the grown file reported"
  assert_eq "$mnt/b/f" "$(json '.skipped[0].path' "$out")" "$kind: its path"
  assert_contains "$(json '.skipped[0].reason' "$out")" "changed during FIDEDUPERANGE (size 3000000 -> 3070000)" "$kind: reason"
  grep -q '"changed":' "$TESTDIR/audit.jsonl" || fail "$kind: the audit log records the change"
  # What was shared is really shared: the grown file's first extents with the keeper's.
  [[ $(shared_extents "$mnt/b/f") -gt 0 ]] || fail "$kind: the grown file's original range is shared"
  echo "  $kind: $(json '.skipped[0].reason' "$out")"
}

test_btrfs() { grow_during_call btrfs; }
test_xfs() { grow_during_call xfs; }

run_test test_btrfs
run_test test_xfs
finish
