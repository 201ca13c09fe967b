#!/usr/bin/env bash
# estimate with the catalog: a re-run on an unchanged tree reads no file and prints the same
# JSON; every stale-row case (touch -d back in time, cp -a, inode reuse, a rewrite within the
# trust delay, other model parameters) is read again and gives what a run without the
# catalog gives.
source "$(dirname "$0")/lib.sh"

TREE=$TESTDIR/tree
CAT=$TESTDIR/catalog.db
gentree "$TREE" --workspaces 4 --packages 20 >/dev/null
# Content the block model treats specially: zero runs, a sparse file, a tiny (embedded) file.
head -c 300000 /dev/urandom >"$TREE/zeros-and-data"
head -c 262144 /dev/zero >>"$TREE/zeros-and-data"
truncate -s 5M "$TREE/sparse"
printf 'data in the middle' | dd of="$TREE/sparse" bs=1 seek=2000000 conv=notrunc status=none
printf 'x' >"$TREE/tiny"
sleep 2.2 # rows are trusted only when hashed 2 s after the files' last change

# The document without the host's memory figures (MemAvailable moves between runs).
est() { "$WSDEDUP" estimate "$TREE" --json "$@" | jq -S 'del(.host)'; }
est_cat() { est --catalog "$CAT" "$@"; }
stats() { "$WSDEDUP" estimate "$TREE" --json --stats --catalog "$CAT" "$@"; }

test_rerun_reads_nothing_and_prints_the_same_json() {
  local reference first second third
  reference=$(est --no-catalog)
  first=$("$WSDEDUP" estimate "$TREE" --json --catalog "$CAT")
  [[ $(json '.stats // empty' <<<"$first") == "" ]] || fail "no stats without --stats"
  second=$(stats)
  assert_eq 0 "$(json .stats.bytes_read <<<"$second")" "the re-run reads no file"
  assert_eq 0 "$(json .stats.files_read <<<"$second")" "no file opened for reading"
  assert_eq 0 "$(json .stats.catalog_misses <<<"$second")" "every file from the catalog"
  [[ $(json .stats.catalog_hits <<<"$second") -gt 100 ]] || fail "catalog hits: $(json .stats.catalog_hits <<<"$second")"
  third=$("$WSDEDUP" estimate "$TREE" --json --catalog "$CAT")
  # Byte-identical, but for the host's live memory figures.
  assert_eq "$(jq -c 'del(.host)' <<<"$first")" "$(jq -c 'del(.host)' <<<"$third")" "byte-identical JSON on the re-run"
  assert_eq "$reference" "$(jq -S 'del(.host)' <<<"$third")" "same as a run without the catalog"
}

test_other_parameters_are_other_rows() {
  local out reference
  reference=$(est --no-catalog --recordsize 4K,128K --compression off)
  out=$(stats --recordsize 4K,128K --compression off)
  [[ $(json .stats.bytes_read <<<"$out") -gt 0 ]] || fail "4K/off rows do not exist yet: must read"
  out=$(stats --recordsize 4K,128K --compression off)
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "then cached"
  assert_eq "$reference" "$(est_cat --recordsize 4K,128K --compression off)" "same as without the catalog"
  # --copies only changes the accounting: the same rows serve.
  out=$(stats --copies 2)
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "copies=2 uses the copies=1 rows"
  assert_eq "$(est --no-catalog --copies 2)" "$(est_cat --copies 2)" "copies=2 as without the catalog"
}

test_sampled_rows_do_not_stand_in_for_a_full_run() {
  local out
  out=$(stats --recordsize 64K --sample 10%)
  [[ $(json .stats.bytes_read <<<"$out") -gt 0 ]] || fail "64K rows do not exist yet"
  assert_eq "$(est --no-catalog --recordsize 64K --sample 10%)" "$(est_cat --recordsize 64K --sample 10%)" "sampled run as without the catalog"
  out=$(stats --recordsize 64K)
  [[ $(json .stats.bytes_read <<<"$out") -gt 0 ]] || fail "blocks the sample left out have no PSIZE: read again"
  assert_eq "$(est --no-catalog --recordsize 64K)" "$(est_cat --recordsize 64K)" "full run as without the catalog"
}

test_touch_back_in_time_is_read_again() {
  local f=$TREE/zeros-and-data size mtime out
  size=$(stat -c %s "$f")
  # Same size, other bytes, mtime put back: only ctime tells.
  head -c 300000 /dev/urandom | dd of="$f" conv=notrunc status=none
  touch -d "2001-01-01 00:00:00" "$f"
  sleep 2.2
  out=$(stats)
  assert_eq "$size" "$(json .stats.bytes_read <<<"$out")" "only the changed file is read, all $size bytes of it"
  assert_eq "$(est --no-catalog)" "$(est_cat)" "same as without the catalog"
}

test_cp_a_copies_are_new_inodes() {
  cp -a "$TREE/spec-tasks/task-003" "$TREE/spec-tasks/task-003-copy"
  sleep 2.2
  local out
  out=$(stats)
  [[ $(json .stats.files_read <<<"$out") -gt 0 ]] || fail "copies (same mtimes, new inodes) were not read"
  assert_eq "$(est --no-catalog)" "$(est_cat)" "same as without the catalog"
  out=$(stats)
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "and cached afterwards"
}

test_reused_inode_is_not_trusted() {
  local f=$TREE/reuse old_ino new_ino mtime out
  head -c 70000 /dev/urandom >"$f"
  touch -d "2002-02-02 02:02:02" "$f"
  sleep 2.2
  stats >/dev/null
  old_ino=$(stat -c %i "$f")
  rm "$f"
  head -c 70000 /dev/urandom >"$f" # same size, same name, other bytes: likely the same inode
  touch -d "2002-02-02 02:02:02" "$f"
  new_ino=$(stat -c %i "$f")
  echo "  inode $old_ino -> $new_ino ($([[ $old_ino == "$new_ino" ]] && echo reused || echo not reused))"
  sleep 2.2
  out=$(stats)
  [[ $(json .stats.bytes_read <<<"$out") -ge 70000 ]] || fail "the new file was not read"
  assert_eq "$(est --no-catalog)" "$(est_cat)" "same as without the catalog"
}

test_rows_written_within_the_trust_delay_are_not_trusted() {
  local f=$TREE/fresh out
  head -c 50000 /dev/urandom >"$f"
  out=$(stats) # hashed right after the write: stored, not trusted
  [[ $(json .stats.bytes_read <<<"$out") -ge 50000 ]] || fail "new file read"
  # Rewritten within the same second, same size, mtime put back to the first write's.
  local mtime
  mtime=$(stat -c %y "$f")
  head -c 50000 /dev/urandom | dd of="$f" conv=notrunc status=none
  touch -d "$mtime" "$f"
  out=$(stats)
  [[ $(json .stats.bytes_read <<<"$out") -ge 50000 ]] || fail "a row younger than 2 s after the change was trusted"
  assert_eq "$(est --no-catalog)" "$(est_cat)" "same as without the catalog"
  sleep 2.2
  stats >/dev/null
  out=$(stats)
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "trusted once hashed 2 s after the change"
}

test_cdc_chunks_are_cached() {
  local reference out
  reference=$(est --no-catalog --cdc)
  out=$(stats --cdc)
  [[ $(json .stats.bytes_read <<<"$out") -gt 0 ]] || fail "no CDC rows yet: must read"
  out=$(stats --cdc)
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "a CDC re-run reads nothing"
  assert_eq 0 "$(json .stats.catalog_misses <<<"$out")" "every file from the catalog"
  assert_eq "$reference" "$(est_cat --cdc)" "CDC answer as without the catalog"
  # A changed file is read again, its chunks replaced.
  head -c 40000 /dev/urandom >>"$TREE/zeros-and-data"
  sleep 2.2
  out=$(stats --cdc)
  assert_eq 1 "$(json .stats.files_read <<<"$out")" "only the changed file is read"
  assert_eq "$(est --no-catalog --cdc)" "$(est_cat --cdc)" "same as without the catalog after the change"
  # The run without --cdc still replays everything (its rows were stored alongside).
  out=$(stats)
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "non-CDC rows stored by the CDC run serve"
}

test_writes_are_batched() {
  local out
  rm -f "$CAT" "$CAT-wal" "$CAT-shm"
  out=$(stats)
  local rows batches
  rows=$(json .stats.catalog_writes.rows <<<"$out")
  batches=$(json .stats.catalog_writes.batches <<<"$out")
  echo "  $rows rows in $batches transactions, $(json .stats.catalog_writes.seconds <<<"$out") s"
  [[ $rows -gt 0 && $batches -gt 0 ]] || fail "nothing written"
  [[ $((rows / batches)) -ge 50 ]] || fail "writes are not batched: $rows rows in $batches transactions"
  assert_eq wal "$(sqlite3 "$CAT" 'PRAGMA journal_mode')" "WAL mode"
}

run_test test_rerun_reads_nothing_and_prints_the_same_json
run_test test_other_parameters_are_other_rows
run_test test_sampled_rows_do_not_stand_in_for_a_full_run
run_test test_touch_back_in_time_is_read_again
run_test test_cp_a_copies_are_new_inodes
run_test test_reused_inode_is_not_trusted
run_test test_rows_written_within_the_trust_delay_are_not_trusted
run_test test_cdc_chunks_are_cached
run_test test_writes_are_batched
finish
