#!/usr/bin/env bash
# The catalog: a re-run on an unchanged tree reads nothing; every stale case is re-read.
source "$(dirname "$0")/lib.sh"

TREE=$TESTDIR/tree
CAT=$TESTDIR/catalog.db
gentree "$TREE" --workspaces 4 --packages 20 >/dev/null
sleep 2.2   # rows are trusted only when hashed 2 s after the files' last change

dupes_json() { "$WSDEDUP" dupes "$TREE" --catalog "$CAT" --json --stats "$@"; }

test_rerun_reads_nothing() {
  local first second
  first=$(dupes_json)
  [[ $(json .stats.bytes_read <<<"$first") -gt 0 ]] || fail "first run read nothing"
  assert_eq 0 "$(json .stats.catalog_hits <<<"$first")" "empty catalog"
  second=$(dupes_json)
  assert_eq 0 "$(json .stats.bytes_read <<<"$second")" "second run reads no file"
  assert_eq "$(json -S .groups <<<"$first")" "$(json -S .groups <<<"$second")" "same groups"
  local rows
  rows=$("$WSDEDUP" catalog stats --catalog "$CAT" --json | jq .rows)
  [[ $rows -gt 0 ]] || fail "catalog stats shows rows"
}

test_rewrite_keeping_size_and_mtime_is_reread() {
  local f=$TREE/spec-tasks/task-002/dist/vendor.js
  local size mtime
  size=$(stat -c %s "$f"); mtime=$(stat -c %y "$f")
  # Same size, different bytes, mtime put back: only ctime tells.
  head -c "$size" /dev/urandom >"$f"
  touch -d "$mtime" "$f"
  sleep 2.2
  local out
  out=$(dupes_json)
  # Only that file is read again: its head and tail (8 KiB), which no longer match any other.
  assert_eq 8192 "$(json .stats.bytes_read <<<"$out")" "only the rewritten file is read again"
  # vendor.js of task-002 no longer matches the others of its template.
  assert_eq 0 "$(json --arg f "spec-tasks/task-002/dist/vendor.js" '[.groups[].paths[] | select(endswith($f))] | length' <<<"$out")" "rewritten file left its group"
}

test_copy_with_cp_a_is_a_new_inode() {
  cp -a "$TREE/spec-tasks/task-003" "$TREE/spec-tasks/task-003-copy"
  sleep 2.2
  local out expect
  out=$(dupes_json)
  # cp -a keeps mtimes but the copies are new inodes: read, never trusted from the source's rows.
  [[ $(json .stats.bytes_read <<<"$out") -gt 0 ]] || fail "copies were not read"
  out=$(dupes_json)
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "and cached afterwards"
}

test_corrupt_catalog_is_rebuilt() {
  printf 'garbage%.0s' {1..2000} >"$CAT"
  rm -f "$CAT-wal" "$CAT-shm"
  local err out
  out=$("$WSDEDUP" dupes "$TREE" --catalog "$CAT" --json --stats 2>"$TESTDIR/err")
  err=$(cat "$TESTDIR/err")
  assert_contains "$err" "moved to" "warning names the moved-aside file"
  [[ $(json .stats.bytes_read <<<"$out") -gt 0 ]] || fail "rebuilt catalog starts empty"
  ls "$CAT".corrupt-* >/dev/null || fail "corrupt catalog kept aside"
}

test_prune_drops_rows_of_deleted_files() {
  local before after
  before=$("$WSDEDUP" catalog stats --catalog "$CAT" --json | jq .rows)
  rm -rf "$TREE/spec-tasks/task-003-copy"
  "$WSDEDUP" catalog prune "$TREE" --catalog "$CAT" >/dev/null
  after=$("$WSDEDUP" catalog stats --catalog "$CAT" --json | jq .rows)
  [[ $after -lt $before ]] || fail "prune removed nothing ($before -> $after)"
  local out
  out=$(dupes_json)
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "rows of live files kept"
}

test_no_catalog_reads_everything() {
  local out
  out=$("$WSDEDUP" dupes "$TREE" --no-catalog --json --stats)
  [[ $(json .stats.bytes_read <<<"$out") -gt 0 ]] || fail "--no-catalog read nothing"
}

test_verify_uses_fresh_rows_and_still_catches_a_same_size_rewrite() {
  local copy=$TESTDIR/copy
  cp -a "$TREE" "$copy"
  sleep 2.2
  "$WSDEDUP" verify "$TREE" "$copy" --catalog "$CAT" --json >/dev/null
  local out
  out=$("$WSDEDUP" verify "$TREE" "$copy" --catalog "$CAT" --json)
  assert_eq 0 "$(json .total.bytes_hashed <<<"$out")" "unchanged trees: nothing read"
  [[ $(json .total.catalog_hits <<<"$out") -gt 0 ]] || fail "no catalog hits"
  # Same size, different bytes, mtime restored: the catalog must not hide it.
  local f=$copy/spec-tasks/task-001/src/m1.ts size mtime
  size=$(stat -c %s "$f"); mtime=$(stat -c %y "$f")
  head -c "$size" /dev/urandom >"$f"; touch -d "$mtime" "$f"
  local rc=0
  out=$("$WSDEDUP" verify "$TREE" "$copy" --catalog "$CAT" --json) || rc=$?
  assert_eq 1 "$rc" "difference found"
  assert_contains "$(json '.differences[].path' <<<"$out")" "spec-tasks/task-001/src/m1.ts" "the rewritten file"
  rm -rf "$copy"
}

run_test test_rerun_reads_nothing
run_test test_rewrite_keeping_size_and_mtime_is_reread
run_test test_copy_with_cp_a_is_a_new_inode
run_test test_corrupt_catalog_is_rebuilt
run_test test_prune_drops_rows_of_deleted_files
run_test test_no_catalog_reads_everything
run_test test_verify_uses_fresh_rows_and_still_catches_a_same_size_rewrite
finish
