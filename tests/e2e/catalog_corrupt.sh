#!/usr/bin/env bash
# A catalog damaged in the middle (a page overwritten after the header, so it still opens
# and the damage is found only while rows are read) is moved aside and rebuilt with a
# warning: the run exits 0 with the result of --no-catalog. And `catalog prune DIR` drops
# only rows of files gone from below DIR, never rows of files elsewhere it did not look at.
source "$(dirname "$0")/lib.sh"

TREE=$TESTDIR/tree
CAT=$TESTDIR/catalog.db
gentree "$TREE" --workspaces 4 --packages 40 >/dev/null
sleep 2.2 # rows are trusted only when hashed 2 s after the files' last change

est() { "$WSDEDUP" estimate "$TREE" --json "$@" | jq -S 'del(.host, .stats)'; }
dup() { "$WSDEDUP" dupes "$TREE" --json "$@" | jq -S 'del(.host, .stats)'; }

# Overwrites 4 KiB of the catalog file at FRACTION (0..1) of its size with random bytes.
damage() { # fraction
  local size off
  size=$(stat -c %s "$CAT")
  off=$(awk -v s="$size" -v f="$1" 'BEGIN { o = int(s * f / 4096) * 4096; if (o < 4096) o = 4096; print o }')
  [[ -e $CAT-wal ]] && fail "a WAL is left: the damage would not be read"
  head -c 4096 /dev/urandom | dd of="$CAT" bs=4096 seek=$((off / 4096)) conv=notrunc status=none
}

test_damaged_page_is_rebuilt_not_fatal() {
  local ref_est ref_dup fraction out rc
  printf 'x' >"$TREE/flip" # re-created after each damage: the tree changed, so rows are read
  ref_est=$(est --no-catalog)
  ref_dup=$(dup --no-catalog)
  for fraction in 0.25 0.5 0.75 0.95; do
    for cmd in est dup; do
      # Only this command's rows, so every page holds rows it reads.
      rm -f "$CAT"*
      $cmd --catalog "$CAT" >/dev/null
      damage "$fraction"
      # A new inode: the result memo (catalog/result_memo.hpp) no longer matches, so this run
      # reads rows (an unchanged tree would be answered by the memo, its own bytes checked).
      rm "$TREE/flip"
      printf 'x' >"$TREE/flip"
      rc=0
      out=$($cmd --catalog "$CAT" 2>"$TESTDIR/err") || rc=$?
      assert_eq 0 "$rc" "$cmd exit code, damage at $fraction"
      assert_contains "$(cat "$TESTDIR/err")" "moved to" "$cmd warns, damage at $fraction"
      local ref=$ref_est
      [[ $cmd == dup ]] && ref=$ref_dup
      assert_eq "$ref" "$out" "$cmd result with the damage at $fraction"
      ls "$CAT".corrupt-* >/dev/null 2>&1 || fail "the damaged file was not kept aside"
      # The rebuilt catalog works: the next runs are right and (after one more) read nothing.
      assert_eq "$ref_est" "$(est --catalog "$CAT" 2>"$TESTDIR/err2")" "estimate after the rebuild"
      assert_eq "$ref_dup" "$(dup --catalog "$CAT" 2>>"$TESTDIR/err2")" "dupes after the rebuild"
      assert_eq "" "$(cat "$TESTDIR/err2")" "no further warning"
      out=$("$WSDEDUP" estimate "$TREE" --json --stats --catalog "$CAT")
      # All but the re-created one-byte file, changed too recently for its row to be trusted.
      [[ $(json .stats.bytes_read <<<"$out") -le 1 ]] || fail "the rebuilt catalog answers everything: read $(json .stats.bytes_read <<<"$out")"
    done
  done
  rm -f "$CAT"* "$TREE/flip"
}

test_catalog_commands_survive_damage() {
  rm -f "$CAT"*
  "$WSDEDUP" estimate "$TREE" --json --catalog "$CAT" >/dev/null
  damage 0.5
  local rc=0
  "$WSDEDUP" catalog stats --catalog "$CAT" --json >"$TESTDIR/stats.json" 2>"$TESTDIR/err" || rc=$?
  assert_eq 0 "$rc" "catalog stats exit code"
  assert_contains "$(cat "$TESTDIR/err")" "moved to" "catalog stats warns"
  assert_eq 0 "$(json .rows "$TESTDIR/stats.json")" "the rebuilt catalog is empty"
  rm -f "$CAT"*
}

rows() { "$WSDEDUP" catalog stats --catalog "$CAT" --json | jq '[.rows_by_kind[]] | add // 0'; }

test_prune_of_a_subdirectory_keeps_rows_elsewhere() {
  rm -f "$CAT"*
  "$WSDEDUP" dupes "$TREE" --json --min-size 1 --catalog "$CAT" >/dev/null
  "$WSDEDUP" estimate "$TREE" --json --catalog "$CAT" >/dev/null
  local before after ws1 ws2 gone out
  before=$(rows)
  ws1=$(find "$TREE" -mindepth 1 -maxdepth 1 -type d | sort | sed -n 1p)
  ws2=$(find "$TREE" -mindepth 1 -maxdepth 1 -type d | sort | sed -n 2p)
  # Nothing is gone: pruning either workspace drops nothing.
  out=$("$WSDEDUP" catalog prune "$ws1" --catalog "$CAT" --json 2>"$TESTDIR/err")
  assert_eq 0 "$(json .pruned_rows <<<"$out")" "prune of a workspace, nothing gone"
  assert_eq "$before" "$(rows)" "rows after pruning an unchanged workspace"
  # Files deleted in ws2: pruning ws1 keeps their rows (ws2 was not looked at) ...
  local n_gone
  find "$ws2" -type f -size +0 -name '*.js' | sort >"$TESTDIR/all" # not `| head`: pipefail
  sed -n 1,5p "$TESTDIR/all" >"$TESTDIR/gone"
  n_gone=$(wc -l <"$TESTDIR/gone")
  [[ $n_gone -gt 0 ]] || fail "no files to delete in $ws2"
  # (one inode may have several names: delete every name of the chosen inodes)
  while read -r gone; do
    local ino
    ino=$(stat -c %i "$gone")
    find "$TREE" -xdev -inum "$ino" -delete
  done <"$TESTDIR/gone"
  out=$("$WSDEDUP" catalog prune "$ws1" --catalog "$CAT" --json)
  assert_eq 0 "$(json .pruned_rows <<<"$out")" "prune of ws1 keeps rows of files gone from ws2"
  assert_eq "$before" "$(rows)" "rows after pruning ws1"
  # ... pruning ws2 drops them, and only them.
  out=$("$WSDEDUP" catalog prune "$ws2" --catalog "$CAT" --json)
  local pruned
  pruned=$(json .pruned_rows <<<"$out")
  [[ $pruned -ge $n_gone ]] || fail "prune of ws2 dropped $pruned rows, expected at least $n_gone"
  assert_eq "$((before - pruned))" "$(rows)" "rows after pruning ws2"
  # Every remaining file still has its rows: a re-run reads nothing.
  out=$("$WSDEDUP" estimate "$TREE" --json --stats --catalog "$CAT")
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "no row of an existing file was dropped"
  # Pruning the whole tree now drops nothing more.
  out=$("$WSDEDUP" catalog prune "$TREE" --catalog "$CAT" --json)
  assert_eq 0 "$(json .pruned_rows <<<"$out")" "prune of the tree after ws2's prune"
}

run_test test_damaged_page_is_rebuilt_not_fatal
run_test test_catalog_commands_survive_damage
run_test test_prune_of_a_subdirectory_keeps_rows_elsewhere
finish
