#!/usr/bin/env bash
# Result memos (catalog/result_memo.hpp): a re-run of `estimate` or `dupes` on an unchanged tree uses
# the stored result (one walk), printing what a run without the catalog prints; every change
# the result could depend on misses the memo: a rewrite with the mtime put back (ctime moves),
# a rename into another category, a file added or removed, other model options, a file
# changed within the trust delay of the run.
source "$(dirname "$0")/lib.sh"

TREE=$TESTDIR/tree
CAT=$TESTDIR/catalog.db
gentree "$TREE" --workspaces 4 --packages 20 >/dev/null
head -c 300000 /dev/urandom >"$TREE/zeros-and-data"
head -c 262144 /dev/zero >>"$TREE/zeros-and-data"
sleep 2.2 # a memo is used only when every file settled 2 s before the run that made it

# The document without the host's live memory figures and the run's stats.
est() { "$WSDEDUP" estimate "$TREE" --json "$@" | jq -S 'del(.host, .stats)'; }
# The memo state of a run with the catalog.
memo() { "$WSDEDUP" estimate "$TREE" --json --stats --catalog "$CAT" "$@" | jq -r .stats.result_memo; }
# A run with the catalog must print what a run without it prints.
same_as_no_catalog() { # message [options...]
  local what=$1
  shift
  assert_eq "$(est --no-catalog "$@")" "$(est --catalog "$CAT" "$@")" "$what: same JSON as --no-catalog"
}

test_unchanged_tree_uses_the_memo() {
  assert_eq stored "$(memo)" "first run stores a memo"
  local out
  out=$("$WSDEDUP" estimate "$TREE" --json --stats --catalog "$CAT")
  assert_eq used "$(json .stats.result_memo <<<"$out")" "re-run uses it"
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "and reads no file"
  same_as_no_catalog "memo"
  # The human output too (no timings without --stats).
  assert_eq "$("$WSDEDUP" estimate "$TREE" --no-catalog --bytes | grep -v -i 'memory\|ram')" \
    "$("$WSDEDUP" estimate "$TREE" --catalog "$CAT" --bytes | grep -v -i 'memory\|ram')" "text output"
  local memos
  memos=$("$WSDEDUP" catalog stats --catalog "$CAT" --json | jq .memos)
  [[ $memos -ge 1 ]] || fail "catalog stats counts memos: $memos"
}

test_rewrite_with_mtime_put_back_misses() {
  local f=$TREE/zeros-and-data size mtime
  size=$(stat -c %s "$f"); mtime=$(stat -c %y "$f")
  head -c "$size" /dev/urandom >"$f"
  touch -d "$mtime" "$f" # same size and mtime: only ctime tells
  sleep 2.2
  assert_eq stored "$(memo)" "the rewritten tree is a new state: read, memo stored"
  same_as_no_catalog "rewrite"
  assert_eq used "$(memo)" "then used"
}

test_rename_into_another_category_misses() {
  local f
  f=$(find "$TREE" -path '*node_modules*' -type f -size +4k -print -quit)
  [[ -n $f ]] || fail "no node_modules file in the test tree"
  mv "$f" "$TREE/$(basename "$f").moved"
  sleep 2.2
  assert_eq stored "$(memo)" "renamed file: memo missed"
  same_as_no_catalog "rename"
}

test_added_and_removed_files_miss() {
  cp "$TREE/zeros-and-data" "$TREE/added-copy"
  sleep 2.2
  assert_eq stored "$(memo)" "added file: memo missed"
  same_as_no_catalog "added"
  rm "$TREE/added-copy"
  assert_eq stored "$(memo)" "removed file: memo missed"
  same_as_no_catalog "removed"
  assert_eq used "$(memo)" "then used"
}

test_other_options_miss() {
  assert_eq used "$(memo)" "default options: memo"
  local opts
  for opts in "--recordsize 4K" "--compression off" "--copies 2" "--recordsize 64K --sample 10%" "--cdc"; do
    # shellcheck disable=SC2086
    [[ $(memo $opts) != used ]] || fail "$opts used the default options' memo"
    # shellcheck disable=SC2086
    same_as_no_catalog "$opts" $opts
    # shellcheck disable=SC2086
    assert_eq used "$(memo $opts)" "$opts: its own memo"
  done
}

test_change_within_the_trust_delay_misses() {
  local f=$TREE/zeros-and-data
  # Written just before the run: the run may have read it mid-write within the timestamps'
  # granularity, so no memo covers it yet.
  head -c 1000 /dev/urandom | dd of="$f" bs=1 seek=5000 conv=notrunc status=none
  local state
  state=$(memo)
  [[ $state != used && $state != stored ]] || fail "a file changed within 2 s: memo $state"
  same_as_no_catalog "fresh change"
  sleep 2.2
  assert_eq stored "$(memo)" "settled: stored"
  assert_eq used "$(memo)" "then used"
}

test_memos_are_bounded() {
  local i
  for i in 1 2 3 4 5; do
    printf 'new %s' "$i" >"$TREE/bounded-$i"
    sleep 2.1
    memo >/dev/null
  done
  local memos
  memos=$("$WSDEDUP" catalog stats --catalog "$CAT" --json | jq .memos)
  # One per option set, the newest 4 per (command, roots).
  [[ $memos -le 4 ]] || fail "memos kept: $memos"
  "$WSDEDUP" catalog vacuum --catalog "$CAT" >/dev/null
  assert_eq used "$(memo)" "vacuum keeps the newest memo"
}

dup() { "$WSDEDUP" dupes "$TREE" --json "$@" | jq -S 'del(.stats)'; }
dmemo() { "$WSDEDUP" dupes "$TREE" --json --stats --catalog "$CAT" "$@" | jq -r .stats.result_memo; }
dupes_same_as_no_catalog() { # message [options...]
  local what=$1
  shift
  assert_eq "$(dup --no-catalog "$@")" "$(dup --catalog "$CAT" "$@")" "$what: same dupes JSON as --no-catalog"
  assert_eq "$("$WSDEDUP" dupes "$TREE" --no-catalog --csv "$@")" "$("$WSDEDUP" dupes "$TREE" --catalog "$CAT" --csv "$@")" "$what: same CSV"
}

test_dupes_memo() {
  sleep 2.2 # the earlier tests' last changes settle
  assert_eq stored "$(dmemo)" "dupes: first run stores a memo"
  local out
  out=$("$WSDEDUP" dupes "$TREE" --json --stats --catalog "$CAT")
  assert_eq used "$(json .stats.result_memo <<<"$out")" "dupes: re-run uses it"
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "dupes: and reads no file"
  dupes_same_as_no_catalog "dupes memo"
  assert_eq "$("$WSDEDUP" dupes "$TREE" --no-catalog --top 0)" "$("$WSDEDUP" dupes "$TREE" --catalog "$CAT" --top 0)" "dupes text"
  # Another --min-size and --no-dirs are other memos.
  [[ $(dmemo --min-size 64K) != used ]] || fail "--min-size 64K used the default memo"
  dupes_same_as_no_catalog "min-size" --min-size 64K
  assert_eq used "$(dmemo --min-size 64K)" "its own memo"
  [[ $(dmemo --no-dirs) != used ]] || fail "--no-dirs used the default memo"
  assert_eq used "$(dmemo --no-dirs)" "--no-dirs: its own memo"
  dupes_same_as_no_catalog "no-dirs" --no-dirs
  # A copy of a file makes a new group member; an empty directory changes no group but may
  # change the identical trees: both miss.
  cp "$TREE/zeros-and-data" "$TREE/dupes-copy"
  sleep 2.2
  assert_eq stored "$(dmemo)" "dupes: added copy"
  dupes_same_as_no_catalog "added copy"
  local ws
  ws=$(find "$TREE" -mindepth 1 -maxdepth 1 -type d -print -quit)
  mkdir "$ws/an-empty-dir" # inside a workspace: not a new workspace name
  sleep 2.2
  [[ $(dmemo) != used ]] || fail "an empty directory used the memo"
  dupes_same_as_no_catalog "empty directory"
  # Content rewritten, mtime put back.
  local f=$TREE/dupes-copy size mtime
  size=$(stat -c %s "$f"); mtime=$(stat -c %y "$f")
  head -c "$size" /dev/urandom >"$f"
  touch -d "$mtime" "$f"
  sleep 2.2
  assert_eq stored "$(dmemo)" "dupes: rewritten copy"
  dupes_same_as_no_catalog "rewritten copy"
  assert_eq used "$(dmemo)" "then used"
  # The memo holds the identical trees too. Two twin trees with a symlink each; then one
  # symlink points elsewhere, on the same inode number where the filesystem gives it back
  # (ext4 does at once): only its ctime tells, and the trees are no longer identical.
  local d
  for d in twin-a twin-b; do
    mkdir "$ws/$d"
    head -c 5000 /dev/zero | tr '\0' t >"$ws/$d/data"
    ln -s data "$ws/$d/link"
  done
  sleep 2.2
  assert_eq stored "$(dmemo)" "dupes: twin trees"
  local twins='.identical_dirs[] | select(.paths | map(strings | test("/twin-[ab]$")) | all) | .paths | length'
  assert_eq 2 "$("$WSDEDUP" dupes "$TREE" --json --catalog "$CAT" | json "$twins")" "twin trees identical (from the memo)"
  local ino
  ino=$(stat -c %i "$ws/twin-b/link")
  rm "$ws/twin-b/link"
  ln -s elsewhere "$ws/twin-b/link"
  [[ $(stat -c %i "$ws/twin-b/link") == "$ino" ]] || echo "  (the new symlink got another inode: its ctime is not what tells here)"
  sleep 2.2
  [[ $(dmemo) != used ]] || fail "a retargeted symlink used the memo"
  dupes_same_as_no_catalog "retargeted symlink"
  assert_eq "" "$("$WSDEDUP" dupes "$TREE" --json --catalog "$CAT" | json "$twins")" "twin trees no longer identical"
}

run_test test_unchanged_tree_uses_the_memo
run_test test_rewrite_with_mtime_put_back_misses
run_test test_rename_into_another_category_misses
run_test test_added_and_removed_files_miss
run_test test_other_options_miss
run_test test_change_within_the_trust_delay_misses
run_test test_memos_are_bounded
run_test test_dupes_memo
