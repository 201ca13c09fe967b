#!/usr/bin/env bash
# dedupe --mode reflink (and auto) on loop-mounted btrfs and XFS images: every file reads the
# same bytes afterwards, shared extents exist (FIEMAP), free space grew, metadata and mtimes
# untouched, a second run finds nothing to do.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dedupe_lib.bash"
need_root "loop-mounted btrfs/XFS images"

check_fs() { # kind
  local kind=$1 mnt=$TESTDIR/$1
  mount_image "$kind" 400M "$mnt"
  gentree "$mnt/tree" --workspaces 6 >/dev/null
  head -c 3000000 /dev/urandom >"$mnt/tree/big"; cp --reflink=never "$mnt/tree/big" "$mnt/tree/big-copy"
  truncate -s 5M "$mnt/tree/sparse"; printf end >>"$mnt/tree/sparse"; cp --reflink=never --sparse=never "$mnt/tree/sparse" "$mnt/tree/sparse-dense"
  truncate -s 2M "$mnt/tree/holes-1" "$mnt/tree/holes-2" # all holes: nothing to share, on any run
  sync
  local before meta_before free_before
  before=$(content_hashes "$mnt/tree")
  meta_before=$(cd "$mnt/tree" && find . -type f -printf '%p %m %U %G %T@\n' | sort)
  free_before=$(free_bytes "$mnt")
  [[ $(shared_extents "$mnt/tree/big-copy") -eq 0 ]] || fail "no sharing before"
  local dry
  dd_run "$TESTDIR/$kind-dry.json" "$mnt/tree" --dry-run
  dry=$(json .total.bytes_planned "$TESTDIR/$kind-dry.json")
  [[ $dry -gt 3000000 ]] || fail "dry run plans at least the big copy (got $dry)"
  assert_eq "$free_before" "$(free_bytes "$mnt")" "dry run changed nothing"
  dd_run "$TESTDIR/$kind-1.json" "$mnt/tree" --mode reflink
  local out=$TESTDIR/$kind-1.json
  assert_eq reflink "$(json '.filesystems[0].mode' "$out")" "mode"
  assert_eq 0 "$(json '.total.skipped' "$out")" "nothing skipped: $(json -c .skipped "$out")"
  [[ $(json .total.files_shared "$out") -gt 100 ]] || fail "files shared: $(json .total.files_shared "$out")"
  assert_eq "$before" "$(content_hashes "$mnt/tree")" "every file reads the same bytes"
  assert_eq "$meta_before" "$(cd "$mnt/tree" && find . -type f -printf '%p %m %U %G %T@\n' | sort)" "metadata and mtimes untouched"
  [[ $(shared_extents "$mnt/tree/big-copy") -gt 0 ]] || fail "big-copy has shared extents (FIEMAP)"
  [[ $(shared_extents "$mnt/tree/sparse-dense") -gt 0 ]] || fail "the dense copy shares the sparse file's data extent"
  local grew=$(( $(free_bytes "$mnt") - free_before ))
  [[ $grew -gt 3000000 ]] || fail "free space grew by $grew"
  [[ $(json .total.bytes_reclaimed "$out") -gt 3000000 ]] || fail "bytes_reclaimed from statfs: $(json .total.bytes_reclaimed "$out")"
  # The audit log holds an intent and a confirmation per file.
  [[ $(grep -c '"action":"dedupe_range","phase":"intent"' "$TESTDIR/audit.jsonl") -ge $(json .total.files_shared "$out") ]] || fail "audit intents"
  # Second run: nothing to do, and it says so.
  dd_run "$TESTDIR/$kind-2.json" "$mnt/tree"
  assert_eq 0 "$(json .total.files_shared "$TESTDIR/$kind-2.json")" "second run shares nothing"
  assert_eq 0 "$(json .total.bytes_planned "$TESTDIR/$kind-2.json")" "second run plans nothing"
  local text
  text=$("$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" "$mnt/tree")
  assert_contains "$text" "nothing to do" "second run says so"
  # dupes agrees: everything already shared.
  assert_eq 0 "$(json .total.reclaimable_bytes <<<"$("$WSDEDUP" dupes "$mnt/tree" --json)")" "dupes: nothing reclaimable"
}

# Runs a command under strace -f, tracing SYSCALLS into OUT. LeakSanitizer cannot run under
# ptrace (the ASan build of CI): leak checks are off for that run only.
traced() { # out syscalls cmd...
  local out=$1 calls=$2
  shift 2
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace="$calls" -o "$out" "$@"
}

test_btrfs() { check_fs btrfs; }
test_xfs() { check_fs xfs; }

test_auto_on_ext4_changes_nothing() {
  local mnt=$TESTDIR/ext4
  mount_image ext4 64M "$mnt"
  mkdir -p "$mnt/t"; head -c 100000 /dev/urandom >"$mnt/t/a"; cp --reflink=never "$mnt/t/a" "$mnt/t/b"
  local ino_before; ino_before=$(stat -c %i "$mnt/t/b")
  dd_run "$TESTDIR/ext4.json" "$mnt/t"
  assert_eq true "$(json '.filesystems[0].preview_only' "$TESTDIR/ext4.json")" "ext4: preview only"
  [[ $(json .total.hardlink_preview_bytes "$TESTDIR/ext4.json") -ge 100000 ]] || fail "hardlink savings shown"
  assert_eq "$ino_before" "$(stat -c %i "$mnt/t/b")" "nothing changed"
  assert_eq 1 "$(stat -c %h "$mnt/t/b")" "not linked"
  local rc=0
  "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --mode reflink "$mnt/t" --json >"$TESTDIR/ext4r.json" || rc=$?
  assert_eq 0 "$rc" "reflink on ext4 is a per-file skip, not a failure"
  assert_contains "$(json '.skipped[0].reason' "$TESTDIR/ext4r.json")" "FIDEDUPERANGE not supported" "reason"
}

# The executor runs the FIDEDUPERANGE calls of independent groups on several threads: the
# result (files shared, bytes planned, free space, bytes read) is the one of a single thread,
# and every confirmation in the audit log follows its intent.
test_threads_same_result() {
  local mnt=$TESTDIR/threads
  mount_image btrfs 400M "$mnt"
  gentree "$mnt/p" --workspaces 8 >/dev/null
  cp -a --reflink=never "$mnt/p" "$mnt/a"; cp -a --reflink=never "$mnt/p" "$mnt/b"; rm -rf "$mnt/p"; sync
  local before; before=$(content_hashes "$mnt/a")
  local free0; free0=$(free_bytes "$mnt")
  dd_run "$TESTDIR/j1.json" "$mnt/a" -j1
  local free1; free1=$(free_bytes "$mnt")
  "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit-j4.jsonl" --json "$mnt/b" -j4 >"$TESTDIR/j4.json"
  local free4; free4=$(free_bytes "$mnt")
  local k
  for k in files_shared bytes_planned bytes_shared skipped inline_files groups; do
    assert_eq "$(json .total.$k "$TESTDIR/j1.json")" "$(json .total.$k "$TESTDIR/j4.json")" "-j4 $k equals -j1"
  done
  [[ $(json .total.files_shared "$TESTDIR/j4.json") -gt 100 ]] || fail "files shared: $(json .total.files_shared "$TESTDIR/j4.json")"
  # Both runs freed about the same (statfs granularity, metadata: within 1 MiB).
  local d1=$((free1 - free0)) d4=$((free4 - free1))
  (( d4 > d1 - 1048576 && d4 < d1 + 1048576 )) || fail "freed: -j1 $d1, -j4 $d4"
  assert_eq "$before" "$(content_hashes "$mnt/b")" "-j4: every file reads the same bytes"
  # Every "done" line follows an "intent" line for the same path.
  local bad
  bad=$(jq -r 'select(.action == "dedupe_range") | [.phase, .path] | @tsv' "$TESTDIR/audit-j4.jsonl" |
        awk -F'\t' '$1 == "intent" { seen[$2] = 1; next } !($2 in seen) { n++ } END { print n + 0 }')
  assert_eq 0 "$bad" "-j4: every confirmation follows its intent"
  assert_eq "$(json .total.files_shared "$TESTDIR/j4.json")" \
    "$(jq -c 'select(.action == "dedupe_range" and .phase == "done")' "$TESTDIR/audit-j4.jsonl" | wc -l)" \
    "-j4: one confirmation per shared file"
}

# btrfs keeps small files inline in metadata, where neither FIDEDUPERANGE nor FICLONE can
# share them: dedupe asks the subvolume tree through the file's directory and never opens
# them. Whether a file is inline is the tree's answer, not its size: a 1000-byte file cut
# down from a larger one keeps its regular extent, and is shared.
test_inline_files_left_unread() {
  local mnt=$TESTDIR/inline
  mount_image btrfs 200M "$mnt"
  mkdir "$mnt/t"
  head -c 1000 /dev/urandom >"$mnt/t/small"                           # inline (<= 2048 bytes)
  cp --reflink=never "$mnt/t/small" "$mnt/t/small-2"; cp --reflink=never "$mnt/t/small" "$mnt/t/small-3"
  head -c 3000 /dev/urandom >"$mnt/t/regular"                         # its own 4 KiB extent
  cp --reflink=never "$mnt/t/regular" "$mnt/t/regular-2"
  head -c 1000 /dev/urandom >"$TESTDIR/cut"
  local f
  for f in cut cut-2; do                                              # 1000 bytes, regular extent
    { cat "$TESTDIR/cut"; head -c 8000 /dev/zero; } >"$mnt/t/$f"; sync; truncate -s 1000 "$mnt/t/$f"
  done
  sync
  assert_eq 0 "$(filefrag -v "$mnt/t/cut-2" | grep -Ec '[ ,]inline(,|$)' || true)" "the cut file has a regular extent"
  local before; before=$(content_hashes "$mnt/t")
  local out=$TESTDIR/inline.json
  traced "$TESTDIR/inline.strace" openat \
    "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --json --no-catalog "$mnt/t" >"$out" || fail "dedupe"
  assert_eq 3 "$(json .total.inline_files "$out")" "the three inline copies"
  assert_eq 2 "$(json .total.files_shared "$out")" "regular-2 and cut-2 shared"
  assert_eq 0 "$(json .total.skipped "$out")" "nothing skipped: $(json -c .skipped "$out")"
  assert_eq "" "$(grep -E '"small(-[23])?"' "$TESTDIR/inline.strace" || true)" "no inline file was opened"
  grep -q '"cut-2"' "$TESTDIR/inline.strace" || fail "the strace saw the files opened (cut-2)"
  [[ $(shared_extents "$mnt/t/cut-2") -gt 0 ]] || fail "cut-2 shares its extent"
  assert_eq "$before" "$(content_hashes "$mnt/t")" "every file reads the same bytes"
  # Without CAP_SYS_ADMIN the tree search is refused: each file is read and its FIEMAP
  # answers; the copies beyond the first of the inline group are counted.
  for f in regular-2 cut-2; do cp --reflink=never "$mnt/t/${f%-2}" "$mnt/t/$f.new"; mv "$mnt/t/$f.new" "$mnt/t/$f"; done
  setpriv --bounding-set -sys_admin -- \
    "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --json --no-catalog "$mnt/t" >"$out" || fail "dedupe without CAP_SYS_ADMIN"
  assert_eq 1 "$(json .total.files_shared "$out")" "regular-2 shared"
  assert_eq 3 "$(json .total.inline_files "$out")" "small-2, small-3 and cut-2 (rewritten inline)"
  assert_eq "$before" "$(content_hashes "$mnt/t")" "every file reads the same bytes"
}

# The catalog remembers which files btrfs stores inline: a re-run asks the tree about none of
# them, and a file whose storage changed (new ctime, same size and inode) is asked again.
test_inline_rows_answer_a_rerun() {
  local mnt=$TESTDIR/inline-rows
  mount_image btrfs 200M "$mnt"
  mkdir "$mnt/t"
  head -c 1000 /dev/urandom >"$mnt/t/small"
  local f
  for f in small-2 small-3; do cp --reflink=never "$mnt/t/small" "$mnt/t/$f"; done
  head -c 3000 /dev/urandom >"$mnt/t/regular"
  cp --reflink=never "$mnt/t/regular" "$mnt/t/regular-2"
  sync
  sleep 2.1 # rows are trusted only 2 s after the files' last change
  local db=$TESTDIR/inline-rows.db out=$TESTDIR/inline-rows.json
  "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --json --catalog "$db" "$mnt/t" >"$out" || fail "first dedupe"
  assert_eq 3 "$(json .total.inline_files "$out")" "three inline copies"
  assert_eq 1 "$(json .total.files_shared "$out")" "regular-2 shared"
  assert_eq 3 "$("$WSDEDUP" catalog stats --catalog "$db" --json | json '.rows_by_kind["btrfs-inline "]')" \
    "one btrfs-inline row per inline file"
  traced "$TESTDIR/rows.strace" ioctl \
    "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --json --catalog "$db" "$mnt/t" >"$out" || fail "re-run"
  assert_eq 3 "$(json .total.inline_files "$out")" "the re-run counts the same inline files"
  local ino searched=""
  for f in small small-2 small-3; do
    ino=$(stat -c %i "$mnt/t/$f")
    grep -q "TREE_SEARCH_V2, {key={tree_id=0, min_objectid=$ino," "$TESTDIR/rows.strace" && searched+=" $f"
  done
  assert_eq "" "$searched" "inline files the re-run asked the tree about (their rows unused)"
  grep -q TREE_SEARCH_V2 "$TESTDIR/rows.strace" || fail "the strace saw the tree asked about the 3000-byte files"
  # small-2 gets a regular extent holding the same 1000 bytes, its mtime set back: only its
  # ctime tells its row is stale. small-4, a new regular copy, can then share with it.
  touch -r "$mnt/t/small-2" "$TESTDIR/small-2.times" # its mtime to the nanosecond
  for f in small-2 small-4; do
    { cat "$mnt/t/small"; head -c 8000 /dev/zero; } >"$mnt/t/$f"; sync; truncate -s 1000 "$mnt/t/$f"
  done
  touch -r "$TESTDIR/small-2.times" "$mnt/t/small-2"
  sync
  local before; before=$(content_hashes "$mnt/t")
  "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --json --catalog "$db" "$mnt/t" >"$out" || fail "dedupe after the change"
  assert_eq 2 "$(json .total.inline_files "$out")" "small and small-3 still inline"
  assert_eq 1 "$(json .total.files_shared "$out")" "small-4 shared with small-2 (its stale row not trusted)"
  [[ $(shared_extents "$mnt/t/small-4") -gt 0 ]] || fail "small-4 shares its extent"
  assert_eq "$before" "$(content_hashes "$mnt/t")" "every file reads the same bytes"
  # The rows store the files' paths like every row: `catalog prune` drops a deleted file's.
  rm "$mnt/t/small-3"
  "$WSDEDUP" catalog prune --catalog "$db" "$mnt/t" >/dev/null || fail "catalog prune"
  assert_eq 2 "$("$WSDEDUP" catalog stats --catalog "$db" --json | json '.rows_by_kind["btrfs-inline "]')" \
    "btrfs-inline rows after small-3 was deleted and the catalog pruned"
}

# A re-run maps members it did not read (catalog hits) from the btrfs tree, without opening
# them, once their data is surely written back (WSDEDUP_WRITEBACK_SECONDS, 60 by default);
# the tree is read afresh each time, so a copy unshared by defragmentation (no ctime change)
# is seen and shared again.
test_rerun_maps_members_from_the_tree() {
  local mnt=$TESTDIR/tree-map
  mount_image btrfs 300M "$mnt"
  mkdir "$mnt/t"
  head -c 300000 /dev/urandom >"$mnt/t/a"
  local f
  for f in b c; do cp --reflink=never "$mnt/t/a" "$mnt/t/$f"; done
  sync
  sleep 2.1 # rows are trusted only 2 s after the files' last change
  local db=$TESTDIR/tree-map.db out=$TESTDIR/tree-map.json
  "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --json --catalog "$db" "$mnt/t" >"$out" || fail "first dedupe"
  assert_eq 2 "$(json .total.files_shared "$out")" "b and c shared"
  cp --reflink=never "$mnt/t/a" "$mnt/t/e"; sync
  local before; before=$(content_hashes "$mnt/t")
  opened() { # strace file -> the names of b and c it saw opened
    { grep -oE 'openat\([0-9A-Z_]+, "([^"]*/)?(b|c)"' "$1" | grep -oE '[bc]"$' | tr -d '"' | sort -u | tr '\n' ' '; } || true
  }
  # Changed within the last minute: b and c are opened for FIEMAP as before.
  traced "$TESTDIR/fresh.strace" openat \
    "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --json --catalog "$db" --dry-run "$mnt/t" >"$out" || fail "dry run"
  assert_eq "2" "$(json .total.already_shared "$out")" "b and c already shared (FIEMAP)"
  assert_eq "b c " "$(opened "$TESTDIR/fresh.strace")" "recent files opened for FIEMAP"
  WSDEDUP_WRITEBACK_SECONDS=0 traced "$TESTDIR/tree.strace" openat \
    "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --json --catalog "$db" "$mnt/t" >"$out" || fail "re-run"
  assert_eq "2" "$(json .total.already_shared "$out")" "b and c already shared (tree)"
  assert_eq "1" "$(json .total.files_shared "$out")" "the new copy e shared"
  assert_eq "" "$(opened "$TESTDIR/tree.strace")" "b and c opened though the tree maps them"
  [[ $(shared_extents "$mnt/t/e") -gt 0 ]] || fail "e shares its extent"
  # Defragmenting c gives it extents of its own (some or all), and leaves its times alone.
  local ctime; ctime=$(stat -c %Z "$mnt/t/c")
  btrfs filesystem defragment -czstd "$mnt/t/c" >/dev/null; sync # -c: rewritten even as one extent
  local unshared="filefrag -v $mnt/t/c | grep -E '^ *[0-9]+:' | grep -vc shared"
  [[ $(eval "$unshared" || true) -gt 0 ]] || fail "defragmentation left c fully shared: this test proves nothing"
  assert_eq "$ctime" "$(stat -c %Z "$mnt/t/c")" "defragmentation changed c's ctime: this test proves nothing"
  WSDEDUP_WRITEBACK_SECONDS=0 "$WSDEDUP" dedupe --audit-log "$TESTDIR/audit.jsonl" --json --catalog "$db" "$mnt/t" >"$out" \
    || fail "dedupe after defragment"
  assert_eq "1" "$(json .total.files_shared "$out")" "c shared again"
  assert_eq 0 "$(eval "$unshared" || true)" "extents of c left unshared"
  assert_eq "$before" "$(content_hashes "$mnt/t")" "every file reads the same bytes"
}

run_test test_btrfs
run_test test_xfs
run_test test_auto_on_ext4_changes_nothing
run_test test_threads_same_result
run_test test_inline_files_left_unread
run_test test_inline_rows_answer_a_rerun
run_test test_rerun_maps_members_from_the_tree
finish
