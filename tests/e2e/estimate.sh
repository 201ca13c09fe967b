#!/usr/bin/env bash
# estimate: exact DDT numbers on hand-made trees (block counts computed here from the rules),
# whole-file savings against du, attribution to workspaces and categories, --sample against
# the full run, thread-independence, and exit 2 on bad options.
source "$(dirname "$0")/lib.sh"

est() { "$WSDEDUP" estimate "$@"; }

# Two identical 300000-byte random files in two workspaces, a file of its own in a third.
HAND=$TESTDIR/hand
mkdir -p "$HAND/ws-a" "$HAND/ws-b" "$HAND/ws-c"
head -c 300000 /dev/urandom >"$HAND/ws-a/f"
cp "$HAND/ws-a/f" "$HAND/ws-b/f"
head -c 200000 /dev/urandom >"$HAND/ws-c/own"

test_identical_files_recordsize_128k() {
  local out
  out=$(est "$HAND" --compression off --json)
  # 300000 B > 128 KiB: ceil(300000 / 131072) = 3 blocks of 128 KiB each, twice; 200000 B: 2.
  assert_eq 5 "$(json .ddt.entries <<<"$out")" "entries"
  assert_eq 3 "$(json .ddt.duplicate_entries <<<"$out")" "duplicate entries"
  assert_eq 2 "$(json .ddt.unique_entries <<<"$out")" "unique entries"
  assert_eq 3 "$(json '.ddt.histogram[] | select(.refcnt_min==2) | .allocated.blocks' <<<"$out")" "bucket 2 blocks"
  assert_eq 6 "$(json '.ddt.histogram[] | select(.refcnt_min==2) | .referenced.blocks' <<<"$out")" "bucket 2 refs"
  assert_eq $((5 * 131072)) "$(json .after_bytes <<<"$out")" "after = 5 x 128 KiB (ashift 12)"
  assert_eq "$(du_alloc "$HAND/ws-a/f" "$HAND/ws-b/f" "$HAND/ws-c/own")" "$(json .before_bytes <<<"$out")" "before = du of the files"
  assert_eq sha256 "$(json .model.checksum <<<"$out")" "checksum modelled"
  assert_eq xxh3-128 "$(json .hash.algorithm <<<"$out")" "own hash reported separately"
  assert_eq wsdedup.estimate/1 "$(json .schema <<<"$out")" "schema"
  # The zdb lines, as zdb -DD prints them (OpenZFS 2.3 object line, nicebytes sizes).
  local text
  text=$(est "$HAND" --compression off)
  assert_contains "$text" "DDT-sha256-zap-duplicate: dspace=0; mspace=" "object line"
  assert_contains "$text" "entries=3" "duplicate entry count"
  assert_contains "$text" "     2        3    384K    384K    384K        6    768K    768K    768K" "bucket row"
  assert_contains "$text" " Total        5    640K    640K    640K        8      1M      1M      1M" "total row (zfs_nicenum: exact multiples without decimals)"
  assert_contains "$text" "dedup = 1.60, compress = 1.00, copies = 1.00, dedup * compress / copies = 1.60" "ratio line"
  # --bytes adds the histogram in exact numbers (5 x 131072 allocated, 8 x 131072 referenced).
  text=$(est "$HAND" --compression off --bytes)
  assert_contains "$text" "The histogram in exact numbers" "exact histogram"
  assert_contains "$(grep -E '^ +Total +5 +655360 +655360 +655360 +8 +1048576' <<<"$text")" "1048576" "exact total row"
}

test_recordsize_list_in_one_pass() {
  local out
  out=$(est "$HAND" --compression off --recordsize 16K,128K --json)
  # 16 KiB: ceil(300000/16384) = 19 blocks (twice), ceil(200000/16384) = 13.
  assert_eq 32 "$(json '.recordsizes[] | select(.recordsize==16384) | .ddt.entries' <<<"$out")" "16K entries"
  assert_eq 19 "$(json '.recordsizes[] | select(.recordsize==16384) | .ddt.duplicate_entries' <<<"$out")" "16K duplicates"
  assert_eq $((32 * 16384)) "$(json '.recordsizes[] | select(.recordsize==16384) | .after_bytes' <<<"$out")" "16K after"
  assert_eq 5 "$(json '.recordsizes[] | select(.recordsize==131072) | .ddt.entries' <<<"$out")" "128K entries"
  assert_eq 16384 "$(json .model.recordsize <<<"$out")" "model.recordsize is the first"
}

test_small_files_and_sector_rounding() {
  local d=$TESTDIR/small
  mkdir -p "$d/w"
  head -c 5000 /dev/urandom >"$d/w/a"
  cp "$d/w/a" "$d/w/b"
  head -c 100 /dev/urandom >"$d/w/tiny"
  local out
  out=$(est "$d" --compression off --json)
  # 5000 B: one block of LSIZE roundup(5000, 512) = 5120, DSIZE 8192 at ashift 12; 100 B: 512/4096.
  assert_eq 2 "$(json .ddt.entries <<<"$out")" "entries"
  assert_eq $((5120 + 512)) "$(json .ddt.total.allocated.lsize <<<"$out")" "LSIZE"
  assert_eq $((8192 + 4096)) "$(json .after_bytes <<<"$out")" "DSIZE"
  out=$(est "$d" --compression off --ashift 9 --json)
  assert_eq $((5120 + 512)) "$(json .after_bytes <<<"$out")" "DSIZE at ashift 9"
}

test_sparse_and_zero_blocks_per_profile() {
  local d=$TESTDIR/sparse
  mkdir -p "$d/w"
  truncate -s 1M "$d/w/hole"
  head -c 1048576 /dev/zero >"$d/w/zeros"
  local out
  # Newest profile, compression off: zero blocks are holes under dedup; holes stay holes.
  out=$(est "$d" --compression off --json)
  assert_eq 0 "$(json .ddt.entries <<<"$out")" "2.3.3: no entry"
  # openzfs-2.2, compression off: the 8 zero blocks of `zeros` share one entry.
  out=$(est "$d" --compression off --zfs openzfs-2.2 --json)
  assert_eq 1 "$(json .ddt.entries <<<"$out")" "2.2: one zero entry"
  assert_eq 8 "$(json .ddt.total.referenced.blocks <<<"$out")" "2.2: 8 references"
  # --fill-holes writes the sparse file's holes as zeros too.
  out=$(est "$d" --compression off --zfs openzfs-2.2 --fill-holes --json)
  assert_eq 16 "$(json .ddt.total.referenced.blocks <<<"$out")" "2.2 fill: 16 references"
  # With compression, zero blocks are holes everywhere.
  out=$(est "$d" --compression lzjb --zfs openzfs-2.2 --fill-holes --json)
  assert_eq 0 "$(json .ddt.entries <<<"$out")" "compressed: holes"
}

test_whole_file_savings_equal_du_of_duplicates() {
  local out
  out=$(est "$HAND" --compression off --json)
  assert_eq "$(du_alloc "$HAND/ws-b/f")" "$(json .whole_file.reflink.saved_bytes <<<"$out")" "reflink saved = du of the copy"
  assert_eq 1 "$(json .whole_file.reflink.duplicate_files <<<"$out")" "one duplicate"
  # Hardlinks need the same owner, mode and mtime: the copy has another mtime.
  assert_eq 0 "$(json .whole_file.hardlink.saved_bytes <<<"$out")" "hardlinks: metadata differs"
  touch -r "$HAND/ws-a/f" "$HAND/ws-b/f"
  out=$(est "$HAND" --compression off --json)
  assert_eq "$(du_alloc "$HAND/ws-b/f")" "$(json .whole_file.hardlink.saved_bytes <<<"$out")" "hardlinks once metadata agrees"
  # An existing hardlink is one inode: counted once, saves nothing more.
  ln "$HAND/ws-c/own" "$HAND/ws-c/own-link"
  out=$(est "$HAND" --compression off --json)
  assert_eq 5 "$(json .ddt.entries <<<"$out")" "hardlink counted once"
  assert_eq 3 "$(json .files <<<"$out")" "three inodes"
  rm "$HAND/ws-c/own-link"
}

test_workspace_unique_bytes_and_categories() {
  local d=$TESTDIR/attr
  mkdir -p "$d/w1/node_modules/p" "$d/w2/node_modules/p" "$d/w3"
  head -c 40000 /dev/urandom >"$d/w1/node_modules/p/index.js"
  cp "$d/w1/node_modules/p/index.js" "$d/w2/node_modules/p/index.js"
  head -c 70000 /dev/urandom >"$d/w1/mine"
  head -c 9000 /dev/urandom >"$d/w3/x"
  cp "$d/w3/x" "$d/w3/y"
  local out
  out=$(est "$d" --compression off --json)
  # w1: its own 70000 B file = one block of LSIZE 70144 -> DSIZE 73728; the shared package is not unique.
  assert_eq 73728 "$(json '.workspaces[] | select(.name=="w1") | .unique_bytes' <<<"$out")" "w1 unique"
  assert_eq 0 "$(json '.workspaces[] | select(.name=="w2") | .unique_bytes' <<<"$out")" "w2 unique"
  # w3: two copies of one 9000 B block -> one entry of DSIZE 12288, referenced only by w3.
  assert_eq 12288 "$(json '.workspaces[] | select(.name=="w3") | .unique_bytes' <<<"$out")" "w3 unique (dedup inside)"
  assert_eq 40960 "$(json .workspaces_shared_dsize <<<"$out")" "shared by w1 and w2"
  # Categories: the package is node_modules' alone; the rest is other.
  assert_eq 40960 "$(json '.categories[] | select(.name=="node_modules") | .exclusive_dsize' <<<"$out")" "node_modules exclusive"
  assert_eq 81920 "$(json '.categories[] | select(.name=="node_modules") | .referenced_dsize' <<<"$out")" "node_modules referenced"
  assert_eq $((73728 + 12288)) "$(json '.categories[] | select(.name=="other") | .exclusive_dsize' <<<"$out")" "other exclusive"
  # Everything adds up to the total after.
  assert_eq "$(json .after_bytes <<<"$out")" \
    "$(json '([.workspaces[].unique_bytes] | add) + .workspaces_shared_dsize' <<<"$out")" "workspace rows + shared = after"
}

test_categories_and_workspaces_per_recordsize() {
  # b repeats the first 64 KiB of a (node_modules, w1) in another category and workspace:
  # at 16K, 4 of the 8 blocks of each file are shared; at 128K each file is one block of
  # its own. Compression off, ashift 12: DSIZE = LSIZE.
  local d=$TESTDIR/perrs
  mkdir -p "$d/w1/node_modules/p" "$d/w2"
  head -c 131072 /dev/urandom >"$d/w1/node_modules/p/a"
  { head -c 65536 "$d/w1/node_modules/p/a"; head -c 65536 /dev/urandom; } >"$d/w2/b"
  local out
  out=$(est "$d" --compression off --recordsize 16K,128K --json)
  lane() { json ".recordsizes[] | select(.recordsize==$1) | $2" <<<"$out"; }
  assert_eq 65536 "$(lane 16384 '.categories[] | select(.name=="node_modules") | .exclusive_dsize')" "16K node_modules exclusive"
  assert_eq 65536 "$(lane 16384 '.categories[] | select(.name=="other") | .exclusive_dsize')" "16K other exclusive"
  assert_eq 65536 "$(lane 16384 .categories_shared_dsize)" "16K shared by categories"
  assert_eq 65536 "$(lane 16384 '.workspaces[] | select(.name=="w2") | .unique_bytes')" "16K w2 unique"
  assert_eq 65536 "$(lane 16384 .workspaces_shared_dsize)" "16K shared by workspaces"
  assert_eq 131072 "$(lane 131072 '.categories[] | select(.name=="node_modules") | .exclusive_dsize')" "128K node_modules exclusive"
  assert_eq 131072 "$(lane 131072 '.categories[] | select(.name=="other") | .exclusive_dsize')" "128K other exclusive"
  assert_eq 0 "$(lane 131072 .categories_shared_dsize)" "128K shared by categories"
  assert_eq 131072 "$(lane 131072 '.workspaces[] | select(.name=="w1") | .unique_bytes')" "128K w1 unique"
  assert_eq 0 "$(lane 131072 .workspaces_shared_dsize)" "128K shared by workspaces"
  # Each lane adds up to its own after_bytes; the top-level rows are the first lane's.
  local rs
  for rs in 16384 131072; do
    assert_eq "$(lane $rs .after_bytes)" "$(lane $rs '([.categories[].exclusive_dsize] | add) + .categories_shared_dsize')" "$rs: category rows + shared = after"
  done
  assert_eq "$(lane 16384 .categories)" "$(json .categories <<<"$out")" "top-level rows = first recordsize"
  assert_eq 131072 "$(json '.categories[] | select(.name=="node_modules") | .referenced_dsize' <<<"$out")" "referenced at 16K"
  # The same run with the lanes the other way round gives the same rows per recordsize.
  local swapped
  swapped=$(est "$d" --compression off --recordsize 128K,16K --json)
  assert_eq "$(lane 16384 .workspaces)" "$(json '.recordsizes[] | select(.recordsize==16384) | .workspaces' <<<"$swapped")" "16K rows independent of lane order"
  assert_eq "$(lane 131072 .categories)" "$(json .categories <<<"$swapped")" "top level follows the first recordsize"
  # The human tables name each recordsize; report re-renders the per-lane exclusive bytes.
  local text
  text=$(est "$d" --compression off --recordsize 16K,128K --bytes)
  assert_contains "$text" "By category (recordsize 16K, 128K):" "category heading"
  assert_contains "$(grep -E '^node_modules ' <<<"$text")" "65536" "16K exclusive column"
  [[ $(grep -E '^node_modules ' <<<"$text" | awk '{print $NF}') == 131072 ]] || fail "128K exclusive column: $(grep -E '^node_modules ' <<<"$text")"
  [[ $(grep -E '^w2 ' <<<"$text" | awk '{print $(NF-2), $NF}') == "65536 131072" ]] || fail "workspace row: $(grep -E '^w2 ' <<<"$text")"
  printf '%s' "$out" >"$TESTDIR/perrs.json"
  text=$("$WSDEDUP" report --bytes "$TESTDIR/perrs.json")
  [[ $(grep -E '^node_modules ' <<<"$text" | awk '{print $(NF-1), $NF}') == "65536 131072" ]] || fail "report row: $(grep -E '^node_modules ' <<<"$text")"
  "$WSDEDUP" report --prometheus "$TESTDIR/perrs.prom" "$TESTDIR/perrs.json"
  assert_contains "$(cat "$TESTDIR/perrs.prom")" 'recordsize="131072",compression="off",category="other"} 131072' "prometheus per recordsize"
  assert_contains "$(cat "$TESTDIR/perrs.prom")" 'recordsize="16384",compression="off",category="other"} 65536' "prometheus 16K"
}

test_cdc() {
  local out
  out=$(est "$HAND" --compression off --cdc --json)
  local size
  size=$(stat -c %s "$HAND/ws-a/f")
  for avg in 8192 16384 65536; do
    assert_eq $((2 * size + 200000)) "$(json ".cdc[] | select(.average==$avg) | .bytes" <<<"$out")" "CDC $avg bytes"
    assert_eq $((size + 200000)) "$(json ".cdc[] | select(.average==$avg) | .unique_bytes" <<<"$out")" "CDC $avg unique"
  done
  assert_contains "$(json '.alternatives[].name' <<<"$out")" "CDC FastCDC avg 16.0 KiB" "alternative listed"
}

GEN=$TESTDIR/gen
gentree "$GEN" --workspaces 8 --seed 3 >/dev/null

test_same_result_on_any_thread_count() {
  local a b
  a=$(est "$GEN" --json --threads 1 --recordsize 16K,128K | jq -S 'del(.host, .recommendation)')
  b=$(est "$GEN" --json --threads 4 --recordsize 16K,128K | jq -S 'del(.host, .recommendation)')
  assert_eq "$a" "$b" "JSON with --threads 4 vs 1"
}

test_sample_close_to_full() {
  local full s after_full after_s bound
  full=$(est "$GEN" --compression off --recordsize 16K --json)
  s=$(est "$GEN" --compression off --recordsize 16K --sample 25% --json)
  after_full=$(json .after_bytes <<<"$full")
  after_s=$(json .after_bytes <<<"$s")
  bound=$(json .ddt.bounds.dsize <<<"$s")
  assert_eq true "$(json .sample.sampled <<<"$s")" "sampled flag"
  # Within three standard-error bounds (1.5 x the printed 2-sigma bound).
  awk -v a="$after_full" -v b="$after_s" -v e="$bound" \
    'BEGIN { d = a - b; if (d < 0) d = -d; exit !(e > 0 && d <= 1.5 * e) }' ||
    fail "sampled after $after_s vs full $after_full, bound $bound"
  # Memory: fewer entries held.
  local held_full held_s
  held_full=$(est "$GEN" --compression off --recordsize 16K --json --stats | json '.stats.ddt_index[0].entries_held')
  held_s=$(est "$GEN" --compression off --recordsize 16K --sample 25% --json --stats | json '.stats.ddt_index[0].entries_held')
  [[ $held_s -lt $((held_full / 2)) ]] || fail "sample holds $held_s of $held_full entries"
  assert_contains "$(est "$GEN" --sample 0.25)" "+-" "bounds printed"
}

test_human_output() {
  local out
  out=$(est "$GEN")
  assert_contains "$out" "DDT histogram (aggregated over all DDTs):" "zdb header"
  assert_contains "$out" "dedup = " "ratio line"
  assert_contains "$out" "DDT RAM, OpenZFS 2.3 fast dedup" "RAM rows"
  assert_contains "$out" "By category" "categories"
  assert_contains "$out" "By workspace" "workspaces"
  assert_contains "$out" "Alternatives:" "alternatives"
  assert_contains "$out" "Debian's liblz4" "lz4 note"
  assert_contains "$out" "prefer" "recommendation"
  out=$(est "$GEN" --compression zstd-3)
  assert_contains "$out" "Debian's libzstd" "zstd note"
  out=$(est "$GEN" --bytes --compression off)
  assert_contains "$out" "before: allocated today" "operators' table"
}

test_bad_options_exit_2() {
  local rc err
  rc=0; err=$(est "$HAND" --zfs zfs-fuse --compression lz4 2>&1 >/dev/null) || rc=$?
  assert_eq 2 "$rc" "zfs-fuse with lz4"
  assert_contains "$err" "zfs-fuse" "sentence names zfs-fuse"
  rc=0; est "$HAND" --zfs zfs-fuse --compression zstd >/dev/null 2>&1 || rc=$?
  assert_eq 2 "$rc" "zfs-fuse with zstd"
  for bad in "--recordsize 3000" "--recordsize 32M" "--ashift 20" "--compression brotli" \
    "--zfs 9.9-nope" "--sample 0" "--sample 2" "--sample abc" "--copies 4"; do
    rc=0
    # shellcheck disable=SC2086
    est "$HAND" $bad >/dev/null 2>&1 || rc=$?
    assert_eq 2 "$rc" "$bad exits 2"
  done
  rc=0; est "$TESTDIR/missing" >/dev/null 2>&1 || rc=$?
  assert_eq 2 "$rc" "missing root"
  # zfs-fuse without --compression defaults to its compression=on (lzjb).
  assert_eq lzjb "$(est "$HAND" --zfs zfs-fuse --json | json .model.compression)" "zfs-fuse default"
}

test_unreadable_file_is_reported_not_fatal() {
  # Root reads everything: run as nobody to get EACCES (needs root to switch, and setpriv).
  if [[ $(id -u) -ne 0 ]] || ! command -v setpriv >/dev/null; then
    echo "    (skipped: needs root and setpriv)"
    return 0
  fi
  local d=$TESTDIR/unread
  mkdir -p "$d/w"
  head -c 10000 /dev/urandom >"$d/w/ok"
  head -c 10000 /dev/urandom >"$d/w/secret"
  chmod 000 "$d/w/secret"
  chmod 755 "$TESTDIR" "$d" "$d/w"
  local rc=0 out
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$WSDEDUP" estimate "$d" --json 2>/dev/null) || rc=$?
  assert_eq 0 "$rc" "exit 0 despite EACCES"
  assert_eq 1 "$(json '.errors | length' <<<"$out")" "one error"
  assert_contains "$(json '.errors[0].message' <<<"$out")" "Permission denied" "message"
  assert_eq 1 "$(json .ddt.entries <<<"$out")" "the readable file still counts"
  assert_eq 2 "$(json .files <<<"$out")" "both files listed (before counts the unreadable one)"
}

run_test test_identical_files_recordsize_128k
run_test test_recordsize_list_in_one_pass
run_test test_small_files_and_sector_rounding
run_test test_sparse_and_zero_blocks_per_profile
run_test test_whole_file_savings_equal_du_of_duplicates
run_test test_workspace_unique_bytes_and_categories
run_test test_categories_and_workspaces_per_recordsize
run_test test_cdc
run_test test_same_result_on_any_thread_count
run_test test_sample_close_to_full
run_test test_human_output
run_test test_bad_options_exit_2
run_test test_unreadable_file_is_reported_not_fatal
finish
