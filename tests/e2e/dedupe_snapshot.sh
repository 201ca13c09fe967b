#!/usr/bin/env bash
# DESIGN.md invariant 9 on btrfs: duplicates whose storage a snapshot also references free
# less. With a snapshot of the subvolume holding the files, `dupes` counts nothing of it as
# reclaimable and `dedupe` plans nothing for it (both report the bytes the snapshot holds);
# files written after the snapshot are reclaimable as usual. Content is unchanged throughout.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dedupe_lib.bash"
need_root "loop-mounted btrfs image"
need_cmd btrfs btrfs-progs

setup() { # mnt: subvolume vol with two 1 MiB duplicate pairs, snapshot snap of it
  local mnt=$1
  mount_image btrfs 300M "$mnt"
  btrfs subvolume create "$mnt/vol" >/dev/null
  mkdir -p "$mnt/vol/a" "$mnt/vol/b"
  head -c 1048576 /dev/urandom >"$mnt/vol/a/one"; cp --reflink=never "$mnt/vol/a/one" "$mnt/vol/b/one"
  head -c 1048576 /dev/urandom >"$mnt/vol/a/two"; cp --reflink=never "$mnt/vol/a/two" "$mnt/vol/b/two"
  sync
}

test_snapshot_holds_everything() {
  local mnt=$TESTDIR/s1
  setup "$mnt"
  # Without a snapshot: both copies reclaimable, nothing held.
  local j; j=$("$WSDEDUP" dupes "$mnt/vol" --json --no-catalog)
  assert_eq 2097152 "$(json .total.reclaimable_bytes <<<"$j")" "no snapshot: both copies reclaimable"
  assert_eq 0 "$(json .total.held_by_snapshots_bytes <<<"$j")" "no snapshot: nothing held"
  btrfs subvolume snapshot -r "$mnt/vol" "$mnt/snap" >/dev/null
  sync
  j=$("$WSDEDUP" dupes "$mnt/vol" --json --no-catalog)
  assert_eq 0 "$(json .total.reclaimable_bytes <<<"$j")" "snapshot: nothing reclaimable"
  assert_eq 2097152 "$(json .total.held_by_snapshots_bytes <<<"$j")" "snapshot: the copies' storage is held"
  local text; text=$("$WSDEDUP" dupes "$mnt/vol" --no-catalog)
  assert_contains "$text" "referenced by a snapshot" "dupes says why"
  local before; before=$(content_hashes "$mnt/vol")
  dd_run "$TESTDIR/s1-dry.json" "$mnt/vol" --no-catalog --dry-run
  assert_eq 0 "$(json .total.bytes_planned "$TESTDIR/s1-dry.json")" "dry run: nothing planned"
  assert_eq 2097152 "$(json .total.held_by_snapshots_bytes "$TESTDIR/s1-dry.json")" "dry run: held bytes"
  text=$("$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --no-catalog --dry-run "$mnt/vol")
  assert_contains "$text" "referenced by a snapshot" "dedupe says why"
  dd_run "$TESTDIR/s1.json" "$mnt/vol" --no-catalog
  assert_eq 0 "$(json .total.bytes_planned "$TESTDIR/s1.json")" "nothing planned"
  assert_eq 2097152 "$(json .total.held_by_snapshots_bytes "$TESTDIR/s1.json")" "held bytes reported"
  # The free space did not grow by the copies' size: the snapshot keeps their extents.
  [[ $(json .total.bytes_reclaimed "$TESTDIR/s1.json") -lt 1048576 ]] || fail "freed $(json .total.bytes_reclaimed "$TESTDIR/s1.json") despite the snapshot"
  assert_eq "$before" "$(content_hashes "$mnt/vol")" "every file reads the same bytes"
  assert_eq "$before" "$(content_hashes "$mnt/snap")" "the snapshot reads the same bytes"
}

test_files_after_the_snapshot_are_reclaimable() {
  local mnt=$TESTDIR/s2
  setup "$mnt"
  btrfs subvolume snapshot -r "$mnt/vol" "$mnt/snap" >/dev/null
  # New duplicates written after the snapshot: only the live subvolume references them.
  head -c 1048576 /dev/urandom >"$mnt/vol/a/three"; cp --reflink=never "$mnt/vol/a/three" "$mnt/vol/b/three"
  sync
  local j; j=$("$WSDEDUP" dupes "$mnt/vol" --json --no-catalog)
  assert_eq 1048576 "$(json .total.reclaimable_bytes <<<"$j")" "the new pair is reclaimable"
  assert_eq 2097152 "$(json .total.held_by_snapshots_bytes <<<"$j")" "the old pairs are held"
  local before; before=$(content_hashes "$mnt/vol")
  dd_run "$TESTDIR/s2.json" "$mnt/vol" --no-catalog
  assert_eq 1048576 "$(json .total.bytes_planned "$TESTDIR/s2.json")" "planned: the new copy only"
  [[ $(json .total.bytes_reclaimed "$TESTDIR/s2.json") -gt 900000 ]] || fail "freed $(json .total.bytes_reclaimed "$TESTDIR/s2.json")"
  assert_eq "$before" "$(content_hashes "$mnt/vol")" "every file reads the same bytes"
}

run_test test_snapshot_holds_everything
run_test test_files_after_the_snapshot_are_reclaimable
