#!/usr/bin/env bash
# dedupe acts on each duplicate group as soon as the finder has confirmed it (hashed, extents
# checked), while later groups are still checked: the streamed run plans exactly what a dry
# run (which changes nothing) plans, and a member changed after its group was confirmed but
# before it is shared is skipped and keeps its new bytes (pause point dedupe.group_confirmed).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dedupe_lib.bash"
need_root "loop-mounted btrfs images"

test_plan_equals_dry_run() {
  local mnt=$TESTDIR/plan
  mount_image btrfs 400M "$mnt"
  gentree "$mnt/tree" --workspaces 8 >/dev/null
  head -c 3000000 /dev/urandom >"$mnt/tree/big"; cp --reflink=never "$mnt/tree/big" "$mnt/tree/big-copy"
  sync
  local before; before=$(content_hashes "$mnt/tree")
  dd_run "$TESTDIR/dry.json" "$mnt/tree" --dry-run --no-catalog
  dd_run "$TESTDIR/run.json" "$mnt/tree" --no-catalog -j2
  local k
  for k in bytes_planned groups inline_files already_shared held_by_snapshots_bytes; do
    assert_eq "$(json .total.$k "$TESTDIR/dry.json")" "$(json .total.$k "$TESTDIR/run.json")" "streamed run: $k as planned"
  done
  assert_eq 0 "$(json .total.skipped "$TESTDIR/run.json")" "nothing skipped: $(json -c .skipped "$TESTDIR/run.json")"
  [[ $(json .total.files_shared "$TESTDIR/run.json") -gt 100 ]] || fail "files shared: $(json .total.files_shared "$TESTDIR/run.json")"
  assert_eq "$before" "$(content_hashes "$mnt/tree")" "every file reads the same bytes"
  # Intent before action: every confirmation follows its intent in the audit log.
  local bad
  bad=$(jq -r 'select(.action == "dedupe_range") | [.phase, .path] | @tsv' "$TESTDIR/audit.jsonl" |
        awk -F'\t' '$1 == "intent" { seen[$2] = 1; next } !($2 in seen) { n++ } END { print n + 0 }')
  assert_eq 0 "$bad" "every confirmation follows its intent"
}

test_member_changed_after_confirmation() {
  local mnt=$TESTDIR/changed
  mount_image btrfs 300M "$mnt"
  mkdir -p "$mnt/a" "$mnt/b" "$mnt/c"
  head -c 3000000 /dev/urandom >"$mnt/a/f"
  cp --reflink=never "$mnt/a/f" "$mnt/b/f"; cp --reflink=never "$mnt/a/f" "$mnt/c/f"
  head -c 2000000 /dev/urandom >"$mnt/a/g"; cp --reflink=never "$mnt/a/g" "$mnt/b/g"
  sync
  local keeper_sum; keeper_sum=$(sha256sum <"$mnt/a/f")
  local g_sum; g_sum=$(sha256sum <"$mnt/a/g")
  local pd; pd=$(mktemp -d "$TESTDIR/pause.XXXX")
  WSDEDUP_PAUSE_AT=dedupe.group_confirmed:a/f WSDEDUP_PAUSE_DIR=$pd "$WSDEDUP" dedupe "$mnt" --mode reflink \
    --no-catalog --audit-log "$TESTDIR/audit.jsonl" --json >"$TESTDIR/changed.json" &
  local pid=$!
  wait_reached "$pd" dedupe.group_confirmed
  # The group {a/f, b/f, c/f} is confirmed and not yet acted on: rewrite b/f in place, same size.
  head -c 3000000 /dev/urandom >"$TESTDIR/new"
  dd if="$TESTDIR/new" of="$mnt/b/f" conv=notrunc status=none
  local new_sum; new_sum=$(sha256sum <"$TESTDIR/new")
  touch "$pd/dedupe.group_confirmed.go"
  wait "$pid"
  local out=$TESTDIR/changed.json
  sync; echo 3 >/proc/sys/vm/drop_caches # read back from disk
  assert_eq "$keeper_sum" "$(sha256sum <"$mnt/a/f")" "keeper reads its bytes"
  assert_eq "$keeper_sum" "$(sha256sum <"$mnt/c/f")" "the untouched copy reads its bytes"
  assert_eq "$new_sum" "$(sha256sum <"$mnt/b/f")" "the changed member reads its new bytes"
  assert_eq "$g_sum" "$(sha256sum <"$mnt/b/g")" "the other group reads its bytes"
  assert_eq 2 "$(json .total.files_shared "$out")" "c/f and b/g shared"
  assert_eq 1 "$(json .total.skipped "$out")" "the changed member reported"
  assert_eq "$mnt/b/f" "$(json '.skipped[0].path' "$out")" "its path"
  assert_contains "$(json '.skipped[0].reason' "$out")" "changed since it was hashed" "reason"
  [[ $(shared_extents "$mnt/b/f") -eq 0 ]] || fail "the changed member shares nothing"
  [[ $(shared_extents "$mnt/c/f") -gt 0 ]] || fail "c/f shares the keeper's extents"
  [[ $(shared_extents "$mnt/b/g") -gt 0 ]] || fail "b/g shares a/g's extents"
}

run_test test_plan_equals_dry_run
run_test test_member_changed_after_confirmation
