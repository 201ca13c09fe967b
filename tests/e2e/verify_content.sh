#!/usr/bin/env bash
# verify SRC DST, content paths: pairs read side by side (small files in one read, large ones
# in chunks, a difference in the last byte), sparse files through the hashing pipeline, and
# the catalog answering for one side or both, rows stored by side-by-side reads, a directory
# swapped for a symlink between the listing and the reads.
source "$(dirname "$0")/lib.sh"

# Runs verify SRC DST [args...], keeping exit code, JSON and stderr.
vrun() {
  local src=$1 dst=$2
  shift 2
  RC=0
  OUT=$("$WSDEDUP" verify "$src" "$dst" --json "$@" 2>"$TESTDIR/stderr") || RC=$?
  ERR=$(cat "$TESTDIR/stderr")
}

# A tree of small files in nested directories and a few multi-chunk ones.
make_tree() {
  local d=$1 i j
  for i in 1 2 3 4 5; do
    mkdir -p "$d/dir$i/sub"
    for j in 1 2 3 4 5 6 7 8; do
      head -c $((i * 1000 + j * 37)) /dev/urandom >"$d/dir$i/f$j"
      head -c $((j * 5)) /dev/urandom >"$d/dir$i/sub/s$j"
    done
  done
  head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$d/big1"
  head -c $((20 * 1024 * 1024)) /dev/urandom >"$d/dir1/big2"
  head -c $((1024 * 1024)) /dev/urandom >"$d/dir2/exact-chunk"
}

# Overwrites one byte of FILE at OFFSET with a different value, keeping the size.
flip_byte() {
  local file=$1 offset=$2 old new
  old=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')
  new=$(((old + 1) % 256))
  printf "$(printf '\\%03o' "$new")" | dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}

test_pairwise_content() {
  local d=$TESTDIR/pw
  make_tree "$d/src"
  cp -a "$d/src" "$d/dst"
  vrun "$d/src" "$d/dst" --no-catalog
  assert_eq 0 "$RC" "copy is identical ($ERR)"
  local files
  files=$(find "$d/src" -type f -size +0 | wc -l)
  assert_eq $((2 * files)) "$(json .total.files_hashed <<<"$OUT")" "every non-empty file read on both sides"
  assert_eq $((2 * $(find "$d/src" -type f -printf '%s\n' | paste -sd+ | bc))) \
    "$(json .total.bytes_hashed <<<"$OUT")" "every byte read on both sides"

  local case offset
  for case in "big1:$((3 * 1024 * 1024 + 16))" "big1:0" "dir1/big2:$((20 * 1024 * 1024 - 1))" \
    "dir1/big2:$((1024 * 1024))" "dir2/exact-chunk:$((1024 * 1024 - 1))" "dir3/f4:0" \
    "dir4/sub/s2:9" "dir5/f8:$((5000 + 8 * 37 - 1))"; do
    local path=${case%%:*}
    offset=${case##*:}
    rm -rf "$d/dst"
    cp -a "$d/src" "$d/dst"
    flip_byte "$d/dst/$path" "$offset"
    vrun "$d/src" "$d/dst" --no-catalog
    assert_eq 1 "$RC" "$path changed at byte $offset: different ($ERR)"
    assert_eq 1 "$(json '.differences | length' <<<"$OUT")" "$path: one difference"
    assert_eq "$path" "$(json '.differences[0].path' <<<"$OUT")" "$path: the changed file"
    assert_eq content "$(json '.differences[0].reasons[0]' <<<"$OUT")" "$path: content"
  done
}

test_sparse_files() {
  local d=$TESTDIR/sparse
  mkdir -p "$d/src"
  truncate -s 50M "$d/src/holes"
  printf 'tail' >>"$d/src/holes"
  printf 'head' | dd of="$d/src/holes" conv=notrunc status=none
  cp -a --sparse=always "$d/src" "$d/dst"
  vrun "$d/src" "$d/dst" --no-catalog
  assert_eq 0 "$RC" "sparse copy identical ($ERR)"
  [[ $(json .total.bytes_hashed <<<"$OUT") -lt $((8 * 1024 * 1024)) ]] || fail "holes were read: $(json .total.bytes_hashed <<<"$OUT")"
  # Sparse on one side only (cp with --sparse=never): still the same content.
  rm -rf "$d/dst"
  cp -a --sparse=never "$d/src" "$d/dst"
  vrun "$d/src" "$d/dst" --no-catalog
  assert_eq 0 "$RC" "sparse vs dense identical ($ERR)"
  flip_byte "$d/dst/holes" $((30 * 1024 * 1024))
  vrun "$d/src" "$d/dst" --no-catalog
  assert_eq 1 "$RC" "a byte written into a hole is a difference"
  assert_eq content "$(json '.differences[0].reasons[0]' <<<"$OUT")" "content"
}

test_catalog_one_side_and_both() {
  local d=$TESTDIR/cat cat=$TESTDIR/cat.db
  make_tree "$d/src"
  # Every file twice, so that `dupes` hashes (and stores rows for) all of them.
  cp -a "$d/src" "$d/twins" && mv "$d/twins" "$d/src/twins"
  cp -a "$d/src" "$d/dst"
  flip_byte "$d/dst/dir2/f3" 5
  flip_byte "$d/dst/big1" 100
  sleep 2.1 # rows are trusted only when hashed 2 s after the file's last change
  "$WSDEDUP" dupes "$d/src" --quiet --catalog "$cat" >/dev/null
  local files
  files=$(find "$d/src" -type f -size +0 | wc -l)
  # SRC's rows only: DST is read and hashed, SRC not read.
  vrun "$d/src" "$d/dst" --catalog "$cat"
  assert_eq 1 "$RC" "differences found with SRC rows ($ERR)"
  assert_eq "big1 dir2/f3" "$(json -j '.differences[] | .path, " "' <<<"$OUT" | xargs)" "the two changed files"
  assert_eq "$files" "$(json .total.catalog_hits <<<"$OUT")" "SRC's files answered by the catalog"
  assert_eq "$files" "$(json .total.files_hashed <<<"$OUT")" "only DST's files read"
  # Now DST has rows too (stored by that run): nothing is read, the same differences.
  vrun "$d/src" "$d/dst" --catalog "$cat"
  assert_eq 1 "$RC" "differences found from rows alone"
  assert_eq "big1 dir2/f3" "$(json -j '.differences[] | .path, " "' <<<"$OUT" | xargs)" "the same two files"
  assert_eq 0 "$(json .total.files_hashed <<<"$OUT")" "nothing read"
  assert_eq $((2 * files)) "$(json .total.catalog_hits <<<"$OUT")" "both sides from the catalog"
  # A file changed after its row was stored is read again, not trusted.
  flip_byte "$d/dst/dir3/f1" 0
  vrun "$d/src" "$d/dst" --catalog "$cat"
  assert_eq "big1 dir2/f3 dir3/f1" "$(json -j '.differences[] | .path, " "' <<<"$OUT" | xargs)" "the stale row is not used"
  # DST's rows carry DST's paths: `catalog prune` of the directory a deleted file was in drops
  # its row (a row stored under the root's path alone would be out of that prune's scope).
  rm "$d/dst/dir3/f1"
  assert_eq 1 "$("$WSDEDUP" catalog prune "$d/dst/dir3" --catalog "$cat" --json | json .pruned_rows)" \
    "the deleted DST file's row, pruned from its directory"
}

test_side_by_side_reads_store_rows_for_both_sides() {
  local d=$TESTDIR/rows cat=$TESTDIR/rows.db
  make_tree "$d/src"
  cp -a "$d/src" "$d/dst"
  flip_byte "$d/dst/dir2/f3" 5       # small: both read whole, both hashed
  flip_byte "$d/dst/dir1/big2" 100   # large, differs in its first chunk: reading stops there
  sleep 2.1 # rows are trusted only when hashed 2 s after the file's last change
  local files
  files=$(find "$d/src" -type f -size +0 | wc -l)
  vrun "$d/src" "$d/dst" --catalog "$cat"
  assert_eq 1 "$RC" "differences found, empty catalog ($ERR)"
  assert_eq 0 "$(json .total.catalog_hits <<<"$OUT")" "no rows yet"
  assert_eq $((2 * files)) "$(json .total.files_hashed <<<"$OUT")" "every file read"
  # Every pair read to its end now has rows on both sides: only dir1/big2 is read again.
  vrun "$d/src" "$d/dst" --catalog "$cat"
  assert_eq 1 "$RC" "differences found again"
  assert_eq "dir1/big2 dir2/f3" "$(json -j '.differences[] | .path, " "' <<<"$OUT" | xargs)" "the two changed files"
  assert_eq $((2 * (files - 1))) "$(json .total.catalog_hits <<<"$OUT")" "rows for all but the early-stopped pair"
  assert_eq 2 "$(json .total.files_hashed <<<"$OUT")" "only dir1/big2 read, on both sides"
  # Without the catalog nothing is hashed or stored, and the answer is the same.
  local before
  before=$(cat "$cat"* | md5sum)
  vrun "$d/src" "$d/dst" --no-catalog
  assert_eq "dir1/big2 dir2/f3" "$(json -j '.differences[] | .path, " "' <<<"$OUT" | xargs)" "same answer without the catalog"
  assert_eq $((2 * files)) "$(json .total.files_hashed <<<"$OUT")" "every file read"
  assert_eq "$before" "$(cat "$cat"* | md5sum)" "catalog untouched"
}

wait_reached() { # pause_dir point
  for _ in $(seq 2000); do [[ -e $1/${2%%:*}.reached ]] && return 0; sleep 0.01; done
  fail "pause point $2 never reached"
}

test_directory_swapped_for_symlink_after_listing() {
  local d=$TESTDIR/swap outside=$TESTDIR/outside pd
  mkdir -p "$d/src/p/q" "$d/src/p/r" "$outside"
  head -c 5000 /dev/urandom >"$d/src/p/q/f"
  head -c 7000 /dev/urandom >"$d/src/p/r/f"
  cp -a "$d/src" "$d/dst"
  cp -a "$d/src/p/r/f" "$outside/f" # the same bytes outside the tree
  pd=$(mktemp -d "$TESTDIR/pause.XXXX")
  # One worker: p and p/q are open in its chain when it reaches p/r.
  WSDEDUP_PAUSE_AT=verify.open_dir:p/r WSDEDUP_PAUSE_DIR=$pd "$WSDEDUP" verify "$d/src" "$d/dst" \
    --no-catalog --threads 1 --json >"$TESTDIR/swap.json" 2>"$TESTDIR/swap.err" &
  local pid=$! rc=0
  wait_reached "$pd" verify.open_dir
  mv "$d/dst/p/r" "$d/dst/p/r.moved"
  ln -s "$outside" "$d/dst/p/r"
  touch "$pd/verify.open_dir.go"
  wait "$pid" || rc=$?
  assert_eq 2 "$rc" "an error, not identical ($(cat "$TESTDIR/swap.err"))"
  assert_eq "$d/dst/p/r/f" "$(json '.errors[0].path' <"$TESTDIR/swap.json")" "the file below the symlink"
  assert_eq 0 "$(json '.differences | length' <"$TESTDIR/swap.json")" "no difference claimed"
}

# Files not in the page cache (dropped with dd iflag=nocache): the comparison waits for the
# disk with its CPU slot given up (--stats counts the reads that waited) and finds the same
# differences; read again from the cache, nothing waits.
test_uncached_files() {
  local d=$TESTDIR/cold res
  make_tree "$d/src"
  cp -a "$d/src" "$d/dst"
  flip_byte "$d/dst/dir3/f4" 0
  flip_byte "$d/dst/dir1/big2" $((1024 * 1024))
  sync
  find "$d" -type f -exec dd if={} iflag=nocache count=0 status=none \;
  need_cmd fincore util-linux
  res=$(fincore --bytes --noheadings --output RES "$d/src/dir1/big2" "$d/dst/dir3/f4" | paste -sd+ | bc)
  [[ $res == 0 ]] || skip "files stay in the page cache here after dd iflag=nocache ($res bytes)"
  vrun "$d/src" "$d/dst" --no-catalog --stats
  assert_eq 1 "$RC" "cold: different ($ERR)"
  assert_eq "dir1/big2,dir3/f4" "$(json '[.differences[].path] | join(",")' <<<"$OUT")" "cold: the changed files"
  (($(json .stats.waited_reads <<<"$OUT") > 0)) || fail "cold: no read waited for the disk: $(json -c .stats <<<"$OUT")"
  vrun "$d/src" "$d/dst" --no-catalog --stats
  assert_eq "dir1/big2,dir3/f4" "$(json '[.differences[].path] | join(",")' <<<"$OUT")" "warm: the changed files"
  assert_eq 0 "$(json .stats.waited_reads <<<"$OUT")" "warm: nothing waits"
}

run_test test_pairwise_content
run_test test_sparse_files
run_test test_catalog_one_side_and_both
run_test test_side_by_side_reads_store_rows_for_both_sides
run_test test_directory_swapped_for_symlink_after_listing
run_test test_uncached_files # last: it skips the suite where the cache cannot be dropped
finish
