#!/usr/bin/env bash
# dedupe writes catalog rows for the files it changed (issue 5 item 3): after a clone run
# (new inodes), a hardlink run (the keeper's ctime moves) and a reflink run (identity kept),
# `dupes` and a second `dedupe` read 0 bytes, and the second dedupe has nothing to do.
# Rows are only vouched for when the hashes they copy were trustworthy (the tree's last
# change >= 2 s before the run: see src/dedupe/catalog_rows.hpp), checked both ways.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dedupe_lib.bash"
need_root "loop-mounted images, leases"

make_set() { # dir: small (whole-hash) and large (head/tail + full hash) duplicates
  local d=$1 w
  mkdir -p "$d/w1/lib" "$d/w1/src"
  head -c 300000 /dev/urandom >"$d/w1/lib/a.bin"
  head -c 20000 /dev/urandom >"$d/w1/lib/b.bin"
  head -c 5000 /dev/urandom >"$d/w1/src/c.txt"
  head -c 70000 /dev/urandom >"$d/w1/src/unique.bin"
  for w in w2 w3; do
    mkdir -p "$d/$w/lib" "$d/$w/src"
    cp --reflink=never -p "$d/w1/lib/a.bin" "$d/w1/lib/b.bin" "$d/$w/lib/"
    cp --reflink=never -p "$d/w1/src/c.txt" "$d/$w/src/"
  done
}

# Runs dedupe (args...) on DIR with catalog DB twice and dupes once; checks the re-runs.
check_rerun() { # label dir db expected_shared mode-args...
  local label=$1 dir=$2 db=$3 expected=$4
  shift 4
  local before; before=$(content_hashes "$dir")
  dd_run "$TESTDIR/$label-1.json" "$dir" --catalog "$db" --stats "$@"
  local out=$TESTDIR/$label-1.json
  assert_eq "$expected" "$(json .total.files_shared "$out")" "$label: shared ($(json -c .skipped "$out"))"
  assert_eq "$before" "$(content_hashes "$dir")" "$label: every path reads the same bytes"
  assert_eq 0 "$(json .catalog_rows.files_without_rows "$out")" "$label: every changed file vouched for"
  local d; d=$("$WSDEDUP" dupes "$dir" --catalog "$db" --stats --json)
  assert_eq 0 "$(json .stats.bytes_read <<<"$d")" "$label: dupes after dedupe reads nothing"
  assert_eq 0 "$(json .total.reclaimable_bytes <<<"$d")" "$label: dupes: nothing reclaimable"
  dd_run "$TESTDIR/$label-2.json" "$dir" --catalog "$db" --stats "$@"
  out=$TESTDIR/$label-2.json
  assert_eq 0 "$(json .stats.bytes_read "$out")" "$label: second dedupe reads nothing"
  assert_eq 0 "$(json .total.files_shared "$out")" "$label: second dedupe shares nothing"
  assert_eq 0 "$(json .total.bytes_planned "$out")" "$label: second dedupe plans nothing"
  local text; text=$("$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --catalog "$db" "$dir" "$@")
  assert_contains "$text" "nothing to do" "$label: second dedupe says so"
  assert_eq "$before" "$(content_hashes "$dir")" "$label: still the same bytes"
}

test_clone_writes_rows() {
  local kind
  for kind in btrfs xfs; do
    local mnt=$TESTDIR/clone-$kind
    mount_image "$kind" 300M "$mnt"
    make_set "$mnt/t"
    sleep 2.1 # the hashes are trustworthy only 2 s after the files' last change
    check_rerun "clone-$kind" "$mnt/t" "$TESTDIR/clone-$kind.db" 6 --mode clone
    assert_eq 6 "$(json .catalog_rows.files "$TESTDIR/clone-$kind-1.json")" "$kind: a row set per new inode"
    # 2 large groups x 2 copies x (whole + head/tail) + 1 small group x 2 copies x whole
    assert_eq 10 "$(json .catalog_rows.rows "$TESTDIR/clone-$kind-1.json")" "$kind: whole and head/tail rows"
  done
}

test_hardlink_writes_keeper_row() {
  local d=$TESTDIR/hl # ext4, the working disk
  make_set "$d"
  sleep 2.1
  check_rerun hardlink "$d" "$TESTDIR/hl.db" 6 --mode hardlink --immutable lib --immutable src \
    --journal "$TESTDIR/hl-journal.jsonl"
  assert_eq 3 "$(json .catalog_rows.files "$TESTDIR/hardlink-1.json")" "a row set per keeper (its ctime moved)"
  assert_eq 3 "$(stat -c %h "$d/w1/lib/a.bin")" "linked"
}

test_reflink_keeps_identity() {
  local mnt=$TESTDIR/reflink
  mount_image btrfs 300M "$mnt"
  make_set "$mnt/t"
  sleep 2.1
  local ident_before; ident_before=$(cd "$mnt/t" && find . -type f -printf '%p %i %s %T@ %C@\n' | sort)
  check_rerun reflink "$mnt/t" "$TESTDIR/reflink.db" 6 --mode reflink
  # FIDEDUPERANGE keeps inode, mtime and ctime: the hashing pass's rows stay valid.
  assert_eq "$ident_before" "$(cd "$mnt/t" && find . -type f -printf '%p %i %s %T@ %C@\n' | sort)" "identity unchanged"
  assert_eq 0 "$(json .catalog_rows.rows "$TESTDIR/reflink-1.json")" "no rows needed"
}

test_fresh_tree_gets_no_rows() {
  # Hashes read within 2 s of the files' last change are not trustworthy, so dedupe does
  # not vouch for the clones built from them: the next run reads them again.
  local mnt=$TESTDIR/fresh
  mount_image btrfs 300M "$mnt"
  make_set "$mnt/t"
  dd_run "$TESTDIR/fresh-1.json" "$mnt/t" --catalog "$TESTDIR/fresh.db" --mode clone
  assert_eq 6 "$(json .total.files_shared "$TESTDIR/fresh-1.json")" "shared"
  assert_eq 0 "$(json .catalog_rows.files "$TESTDIR/fresh-1.json")" "no rows from untrusted hashes"
  local d; d=$("$WSDEDUP" dupes "$mnt/t" --catalog "$TESTDIR/fresh.db" --stats --json)
  [[ $(json .stats.bytes_read <<<"$d") -gt 0 ]] || fail "the next run reads the files again"
}

run_test test_clone_writes_rows
run_test test_hardlink_writes_keeper_row
run_test test_reflink_keeps_identity
run_test test_fresh_tree_gets_no_rows
finish
