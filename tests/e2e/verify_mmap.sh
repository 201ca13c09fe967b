#!/usr/bin/env bash
# verify SRC DST, mapped comparison of large files: a file truncated by another process
# while verify has it mapped (SIGBUS on the pages past the new end) is reported as changed
# while being verified (exit 2), never a crash and never a match; deterministic through the
# verify.mapped pause point (both files mapped, nothing compared yet).
source "$(dirname "$0")/lib.sh"
# With AddressSanitizer refusing user SIGBUS handlers, verify reads instead of mapping.
[[ ${ASAN_OPTIONS:-} != *allow_user_segv_handler=0* ]] || skip "ASAN_OPTIONS=allow_user_segv_handler=0: files are read, not mapped"

wait_reached() { # pause_dir point
  for _ in $(seq 3000); do [[ -e $1/$2.reached ]] && return 0; sleep 0.01; done
  fail "pause point $2 never reached"
}

# A pair of identical trees with one large file (big) among small ones.
make_pair() {
  local d=$1 i
  mkdir -p "$d/src/sub"
  for i in 1 2 3; do head -c $((i * 700)) /dev/urandom >"$d/src/sub/s$i"; done
  head -c $((3 * 1024 * 1024 + 5)) /dev/urandom >"$d/src/sub/big"
  cp -a "$d/src" "$d/dst"
}

# Truncates SIDE's sub/big to NEW_SIZE while verify holds both mapped; checks the report.
truncate_while_mapped() { # side new_size [verify args...]
  local side=$1 new_size=$2 d pd pid rc=0
  shift 2
  d=$(mktemp -d "$TESTDIR/t.XXXX")
  make_pair "$d"
  pd=$(mktemp -d "$TESTDIR/pause.XXXX")
  WSDEDUP_PAUSE_AT=verify.mapped:sub/big WSDEDUP_PAUSE_DIR=$pd "$WSDEDUP" verify "$d/src" "$d/dst" \
    --no-catalog --json "$@" >"$d/out.json" 2>"$d/err" &
  pid=$!
  wait_reached "$pd" verify.mapped
  truncate -s "$new_size" "$d/$side/sub/big"
  touch "$pd/verify.mapped.go"
  wait "$pid" || rc=$?
  assert_eq 2 "$rc" "an error, not a crash nor identical ($(head -c 600 "$d/err"))"
  assert_eq "$d/$side/sub/big" "$(json '.errors[0].path' <"$d/out.json")" "the truncated file"
  assert_contains "$(json '.errors[0].message' <"$d/out.json")" "changed" "reported as changed"
  assert_eq 1 "$(json '.errors | length' <"$d/out.json")" "only that file"
  assert_eq 0 "$(json '.differences | length' <"$d/out.json")" "no difference claimed"
}

test_dst_truncated_to_one_page() { truncate_while_mapped dst 4096; }
test_src_truncated_to_zero() { truncate_while_mapped src 0; }
# With a catalog the mapped bytes are also hashed as compared (one worker).
test_dst_truncated_while_hashing() { truncate_while_mapped dst 100000 --catalog "$TESTDIR/cat.db" --threads 1; }
test_identical_large_files_match() {
  local d=$TESTDIR/same rc=0
  make_pair "$d"
  "$WSDEDUP" verify "$d/src" "$d/dst" --no-catalog --json >"$d/out.json" || rc=$?
  assert_eq 0 "$rc" "identical"
  assert_eq 8 "$(json .total.files_hashed <"$d/out.json")" "all four pairs read"
}

run_test test_identical_large_files_match
run_test test_dst_truncated_to_one_page
run_test test_src_truncated_to_zero
run_test test_dst_truncated_while_hashing
finish
