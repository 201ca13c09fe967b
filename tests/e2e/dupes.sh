#!/usr/bin/env bash
# dupes: exact groups on hand-made trees, the same duplicate bytes as jdupes and rdfind on a
# generated tree, identical directory trees, odd names in JSON and CSV, storage already
# shared (reflinks on a loop-mounted btrfs image) reported as shared, not as savings.
source "$(dirname "$0")/lib.sh"

test_handmade_groups() {
  local d=$TESTDIR/hand
  mkdir -p "$d/w1" "$d/w2" "$d/w3"
  head -c 10000 /dev/urandom >"$d/w1/a"
  cp "$d/w1/a" "$d/w2/a"; cp "$d/w1/a" "$d/w3/a-copy"
  ln "$d/w1/a" "$d/w1/a-hardlink"                 # same inode: folded, not a duplicate
  : >"$d/w1/empty1"; : >"$d/w2/empty2"           # empty files: never grouped
  head -c 10000 /dev/urandom >"$d/w2/same-size-other"
  # Same size, same head and tail, different middle: only the full hash tells them apart.
  head -c 200000 /dev/urandom >"$d/w1/big"
  cp "$d/w1/big" "$d/w2/big-near"
  printf 'X' | dd of="$d/w2/big-near" bs=1 seek=100000 conv=notrunc status=none
  # A sparse file and its dense copy have the same bytes.
  truncate -s 1M "$d/w1/sparse"; printf 'tail' >>"$d/w1/sparse"
  cp --sparse=never "$d/w1/sparse" "$d/w3/dense"
  ln -s a "$d/w2/link-to-a"                       # symlinks are not files
  local out
  out=$("$WSDEDUP" dupes "$d" --json)
  assert_eq 2 "$(json '.total.groups' <<<"$out")" "groups"
  assert_eq 3 "$(json '.total.duplicate_files' <<<"$out")" "copies beyond the first"
  assert_eq $((2 * 10000 + 1048580)) "$(json '.total.duplicate_bytes' <<<"$out")" "duplicate bytes"
  assert_eq "$d/w1/sparse $d/w3/dense" "$(json '.groups[] | select(.size == 1048580) | .paths | join(" ")' <<<"$out")" "sparse group"
  # The hardlinked inode appears once, under its smallest name.
  assert_eq "$d/w1/a $d/w2/a $d/w3/a-copy" "$(json '.groups[] | select(.size == 10000) | .paths | join(" ")' <<<"$out")" "a group"
  # reclaimable is allocated bytes of the copies beyond the first.
  local expect=$(( $(stat -c %b "$d/w2/a") * 512 + $(stat -c %b "$d/w3/a-copy") * 512 + $(stat -c %b "$d/w3/dense") * 512 ))
  assert_eq "$expect" "$(json '.total.reclaimable_bytes' <<<"$out")" "reclaimable bytes"
  # --min-size and --exclude.
  out=$("$WSDEDUP" dupes "$d" --json --min-size 20000)
  assert_eq 1 "$(json '.total.groups' <<<"$out")" "--min-size drops the 10000-byte group"
  out=$("$WSDEDUP" dupes "$d" --json --exclude w3)
  assert_eq 1 "$(json '.total.groups' <<<"$out")" "--exclude w3 leaves one group"
  assert_eq 1 "$(json '.total.duplicate_files' <<<"$out")" "one copy left"
  # Human output: largest savings first.
  out=$("$WSDEDUP" dupes "$d" --bytes)
  assert_contains "$out" "2 groups, 3 duplicate files, 1068580 duplicate bytes" "summary line"
}

# Sum of size x (copies - 1) from `jdupes -r -S` (sets separated by blank lines).
jdupes_bytes() {
  jdupes -r -S -q "$1" | awk '/ bytes each:$/ {size = $1; n = 0; next}
                              /^$/ {if (n > 1) s += size * (n - 1); n = 0; next}
                              {n++} END {if (n > 1) s += size * (n - 1); print s + 0}'
}

test_same_bytes_as_jdupes_and_rdfind() {
  need_cmd jdupes "apt-get install jdupes"
  need_cmd rdfind "apt-get install rdfind"
  local d=$TESTDIR/gen
  gentree "$d" --workspaces 8 --no-odd-names >/dev/null
  local out
  out=$("$WSDEDUP" dupes "$d" --json)
  local ours
  ours=$(json '.total.duplicate_bytes' <<<"$out")
  [[ $ours -gt 1000000 ]] || fail "the generated tree should hold duplicates (got $ours)"
  assert_eq "$(jdupes_bytes "$d")" "$ours" "duplicate bytes vs jdupes -r -S"
  local jd_files
  jd_files=$(jdupes -r -m -q "$d" | sed -n 's/^\([0-9]*\) duplicate files.*/\1/p')
  assert_eq "$jd_files" "$(json '.total.duplicate_files' <<<"$out")" "duplicate files vs jdupes -m"
  # rdfind: the sizes of every non-first occurrence.
  (cd "$TESTDIR" && rdfind -dryrun true -outputname rdfind.txt "$d" >/dev/null)
  local rd
  rd=$(awk '!/^#/ && $1 != "DUPTYPE_FIRST_OCCURRENCE" {s += $4} END {print s + 0}' "$TESTDIR/rdfind.txt")
  assert_eq "$rd" "$ours" "duplicate bytes vs rdfind"
  # CSV: one row per file of every group.
  local rows
  rows=$("$WSDEDUP" dupes "$d" --csv | tail -n +2 | wc -l)
  assert_eq $(( $(json '.total.duplicate_files' <<<"$out") + $(json '.total.groups' <<<"$out") )) "$rows" "CSV rows"
}

test_identical_trees() {
  local d=$TESTDIR/trees t=$TESTDIR/template
  mkdir -p "$t/pkg/lib" "$t/pkg/empty-dir" "$d"
  head -c 50000 /dev/urandom >"$t/pkg/lib/index.js"
  head -c 3000 /dev/urandom >"$t/pkg/package.json"
  : >"$t/pkg/lib/empty"
  ln -s lib/index.js "$t/pkg/main"
  for i in 1 2 3; do
    mkdir -p "$d/ws$i/node_modules"; cp -a "$t/pkg" "$d/ws$i/node_modules/pkg"
    echo "workspace $i" >"$d/ws$i/README"   # the workspaces themselves differ
  done
  # ws4: the same except one symlink target; ws5: one extra empty file.
  mkdir -p "$d/ws4/node_modules" "$d/ws5/node_modules"
  cp -a "$t/pkg" "$d/ws4/node_modules/pkg"; ln -sfn lib/other "$d/ws4/node_modules/pkg/main"
  cp -a "$t/pkg" "$d/ws5/node_modules/pkg"; : >"$d/ws5/node_modules/pkg/extra"
  local out
  out=$("$WSDEDUP" dupes "$d" --json)
  # ws1..3/node_modules (holding identical pkg) are reported at the outermost level, not
  # their pkg folders; lib is identical in all five workspaces.
  assert_eq "$d/ws1/node_modules $d/ws2/node_modules $d/ws3/node_modules" \
    "$(json '.identical_dirs[] | select(.paths | length == 3) | .paths | join(" ")' <<<"$out")" "identical node_modules"
  assert_eq 53000 "$(json '.identical_dirs[] | select(.paths | length == 3) | .logical_bytes' <<<"$out")" "bytes per copy"
  # ws4's and ws5's pkg differ (symlink target, extra name): not in any group.
  [[ $(json '[.identical_dirs[].paths[]] | map(select(test("ws[45]/node_modules(/pkg)?$"))) | length' <<<"$out") -eq 0 ]] \
    || fail "a differing tree was reported identical"
  # Identical trees are not added to the totals a second time.
  assert_eq "$d/ws1/node_modules/pkg/lib $d/ws2/node_modules/pkg/lib $d/ws3/node_modules/pkg/lib $d/ws4/node_modules/pkg/lib $d/ws5/node_modules/pkg/lib" \
    "$(json '.identical_dirs[] | select(.paths | length == 5) | .paths | join(" ")' <<<"$out")" "identical lib"
  [[ $(json '.identical_dirs | length' <<<"$out") -eq 2 ]] || fail "nested identical dirs reported: $(json -c '.identical_dirs' <<<"$out")"
  # Identical trees are not added to the totals a second time: 4 copies beyond the first of
  # index.js and package.json.
  assert_eq $(( 4 * 53000 )) "$(json '.total.duplicate_bytes' <<<"$out")" "totals count files once"
  out=$("$WSDEDUP" dupes "$d")
  assert_contains "$out" "these 3 folders are identical" "human line"
}

test_odd_names() {
  local d=$TESTDIR/odd
  mkdir -p "$d"
  head -c 5000 /dev/urandom >"$d/$(printf 'new\nline')"
  cp "$d/$(printf 'new\nline')" "$d/$(printf 'bad\xff')"
  cp "$d/$(printf 'new\nline')" "$d/with,comma"
  local out
  out=$("$WSDEDUP" dupes "$d" --json)
  assert_eq "$(printf '%s/bad\xff' "$d" | base64 -w0)" "$(json '.groups[0].paths[] | objects | .bytes_b64' <<<"$out")" "bytes_b64 path"
  assert_eq "$d/new
line" "$(json '.groups[0].paths[] | strings | select(test("new"))' <<<"$out")" "newline path"
  out=$("$WSDEDUP" dupes "$d" --csv)
  assert_contains "$out" "\"$d/with,comma\"" "CSV quoting"
  out=$("$WSDEDUP" dupes "$d")
  assert_contains "$out" 'bad\xff' "escaped in human output"
  # A plain name below an odd directory, and one 80 levels deep: the report builds each
  # directory's prefix once (and tests it for JSON escapes once), so both must still come out
  # whole.
  local odd deep=$d/deep
  odd="$d/$(printf 'dir\xfe')"
  mkdir -p "$odd"
  cp "$d/with,comma" "$odd/plain"
  for _ in $(seq 80); do deep=$deep/d; done
  mkdir -p "$deep"
  cp "$d/with,comma" "$deep/plain"
  out=$("$WSDEDUP" dupes "$d" --json --no-catalog)
  assert_eq "$(printf '%s/plain' "$odd" | base64 -w0)" \
    "$(json '.groups[0].paths[] | objects | .bytes_b64' <<<"$out" | grep -v "$(printf '%s/bad\xff' "$d" | base64 -w0)")" \
    "bytes_b64 path of a plain name in an odd directory"
  assert_eq "$deep/plain" "$(json '.groups[0].paths[] | strings | select(endswith("d/plain"))' <<<"$out")" "80-level path"
  out=$("$WSDEDUP" dupes "$d" --csv --no-catalog)
  assert_contains "$out" ",$deep/plain" "80-level path in CSV"
}

test_unreadable_file_is_reported() {
  [[ $(id -u) -eq 0 ]] || { echo "  (not root: skipping)"; return 0; }
  local d=$TESTDIR/perm
  mkdir -p "$d"
  head -c 5000 /dev/urandom >"$d/a"; cp "$d/a" "$d/b"; cp "$d/a" "$d/c"
  chmod 0711 "$TESTDIR"; chmod 755 "$d"; chmod 644 "$d/a" "$d/b"; chmod 000 "$d/c"
  local out err rc=0
  err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$WSDEDUP" dupes "$d" --json 2>&1 >"$TESTDIR/perm.json") || rc=$?
  out=$(cat "$TESTDIR/perm.json")
  assert_eq 0 "$rc" "per-file errors do not fail the run"
  assert_contains "$err" "(\"$d/c\"): Permission denied" "error names the path"
  assert_eq 1 "$(json '.total.duplicate_files' <<<"$out")" "a and b still grouped"
}

test_reflinked_copies_are_already_shared() {
  [[ $(id -u) -eq 0 ]] || { echo "  (not root: skipping the btrfs case)"; return 0; }
  command -v mkfs.btrfs >/dev/null || { echo "  (no mkfs.btrfs: skipping)"; return 0; }
  local img=$TESTDIR/btrfs.img mnt=$TESTDIR/btrfs
  truncate -s 200M "$img"; mkfs.btrfs -q "$img" >/dev/null; mkdir -p "$mnt"
  mount -o loop "$img" "$mnt" || { echo "  (cannot loop-mount: skipping)"; return 0; }
  at_exit "umount '$mnt'"
  head -c 300000 /dev/urandom >"$mnt/a"
  cp --reflink=always "$mnt/a" "$mnt/b"     # shares a's extents
  cp --reflink=never "$mnt/a" "$mnt/c"      # its own copy
  sync
  local out
  out=$("$WSDEDUP" dupes "$mnt" --json)
  assert_eq 2 "$(json '.total.duplicate_files' <<<"$out")" "b and c are duplicates of a"
  assert_eq 1 "$(json '.total.already_shared_files' <<<"$out")" "b already shares a's storage"
  assert_eq "$(( $(stat -c %b "$mnt/c") * 512 ))" "$(json '.total.reclaimable_bytes' <<<"$out")" "only c is reclaimable"
}

# btrfs keeps small files inline in metadata: they cannot be shared, so they are counted as
# inline, not as reclaimable. wsdedup learns that from the subvolume tree (a search that needs
# CAP_SYS_ADMIN) or, without that capability, from FIEMAP: both must give the same report.
test_inline_files_with_and_without_tree_search() {
  [[ $(id -u) -eq 0 ]] || { echo "  (not root: skipping the btrfs case)"; return 0; }
  command -v mkfs.btrfs >/dev/null || { echo "  (no mkfs.btrfs: skipping)"; return 0; }
  command -v setpriv >/dev/null || { echo "  (no setpriv: skipping)"; return 0; }
  local img=$TESTDIR/btrfs-inline.img mnt=$TESTDIR/btrfs-inline
  truncate -s 200M "$img"; mkfs.btrfs -q "$img" >/dev/null; mkdir -p "$mnt"
  mount -o loop "$img" "$mnt" || { echo "  (cannot loop-mount: skipping)"; return 0; }
  at_exit "umount '$mnt'"
  head -c 1000 /dev/urandom >"$mnt/small"                          # inline (<= 2048 bytes)
  cp --reflink=never "$mnt/small" "$mnt/small-2"; cp --reflink=never "$mnt/small" "$mnt/small-3"
  head -c 3000 /dev/urandom >"$mnt/regular"                        # its own 4 KiB extent
  cp --reflink=never "$mnt/regular" "$mnt/regular-2"
  sync
  local out limited
  out=$("$WSDEDUP" dupes "$mnt" --json --no-catalog)
  assert_eq 3 "$(json '.total.duplicate_files' <<<"$out")" "two copies of small, one of regular"
  assert_eq 3 "$(json '.total.inline_files' <<<"$out")" "the three inline copies"
  assert_eq "$(( $(stat -c %b "$mnt/regular-2") * 512 ))" "$(json '.total.reclaimable_bytes' <<<"$out")" \
    "only the regular copy is reclaimable"
  limited=$(setpriv --bounding-set -sys_admin -- "$WSDEDUP" dupes "$mnt" --json --no-catalog)
  assert_eq "$(jq -S 'del(.stats)' <<<"$out")" "$(jq -S 'del(.stats)' <<<"$limited")" \
    "without CAP_SYS_ADMIN (FIEMAP instead of the tree search): the same report"
  # A re-run whose hashes come from the catalog reads no file: the members' inline state is
  # then asked through their directories (the tree search, or FIEMAP without the capability).
  sleep 2.1 # catalog rows are trusted 2 s after a file's last change
  "$WSDEDUP" dupes "$mnt" --json --catalog "$TESTDIR/inline.db" >/dev/null
  local again
  again=$("$WSDEDUP" dupes "$mnt" --json --stats --catalog "$TESTDIR/inline.db")
  assert_eq 0 "$(json '.stats.bytes_read' <<<"$again")" "the re-run read nothing"
  assert_eq "$(jq -S 'del(.stats)' <<<"$out")" "$(jq -S 'del(.stats)' <<<"$again")" "re-run: the same report"
  again=$(setpriv --bounding-set -sys_admin -- "$WSDEDUP" dupes "$mnt" --json --catalog "$TESTDIR/inline.db")
  assert_eq "$(jq -S 'del(.stats)' <<<"$out")" "$(jq -S 'del(.stats)' <<<"$again")" "re-run without CAP_SYS_ADMIN: the same report"
}

# Physical addresses compare only within one filesystem. Two btrfs filesystems made alike
# (same mkfs, same writes) put their copies at the same address; the copy on the second is
# not "already shared" with the first. A second subvolume of the first filesystem is the
# same storage (its statfs f_fsid differs, its filesystem id does not): its reflink counts.
test_alike_filesystems_are_not_one_storage() {
  [[ $(id -u) -eq 0 ]] || { echo "  (not root: skipping the btrfs case)"; return 0; }
  command -v mkfs.btrfs >/dev/null || { echo "  (no mkfs.btrfs: skipping)"; return 0; }
  head -c 300000 /dev/urandom >"$TESTDIR/alike.data"
  local n mnt
  for n in 1 2; do
    mnt=$TESTDIR/alike-$n
    truncate -s 200M "$mnt.img"; mkfs.btrfs -q "$mnt.img" >/dev/null; mkdir -p "$mnt"
    mount -o loop "$mnt.img" "$mnt" || { echo "  (cannot loop-mount: skipping)"; return 0; }
    at_exit "umount '$mnt'"
    mkdir "$mnt/t"
    cp "$TESTDIR/alike.data" "$mnt/t/f"; sync
    cp --reflink=always "$mnt/t/f" "$mnt/t/g"; sync # f and g flagged SHARED: their maps are compared
  done
  btrfs subvolume create "$TESTDIR/alike-1/sv" >/dev/null
  cp --reflink=always "$TESTDIR/alike-1/t/f" "$TESTDIR/alike-1/sv/h"; sync
  assert_eq "$(filefrag -v "$TESTDIR/alike-1/t/f" | sed -n 4p)" "$(filefrag -v "$TESTDIR/alike-2/t/f" | sed -n 4p)" \
    "both filesystems put f at the same address (else this test proves nothing)"
  local out
  out=$("$WSDEDUP" dupes "$TESTDIR/alike-1/t" "$TESTDIR/alike-1/sv" "$TESTDIR/alike-2/t" --json --no-catalog)
  assert_eq 4 "$(json '.total.duplicate_files' <<<"$out")" "five copies"
  assert_eq 3 "$(json '.total.already_shared_files' <<<"$out")" "g and h share f's storage on the first, g on the second"
  assert_eq "$(( $(stat -c %b "$TESTDIR/alike-2/t/f") * 512 ))" "$(json '.total.reclaimable_bytes' <<<"$out")" \
    "the second filesystem's copy is reclaimable"
}

run_test test_handmade_groups
run_test test_same_bytes_as_jdupes_and_rdfind
run_test test_identical_trees
run_test test_odd_names
run_test test_unreadable_file_is_reported
run_test test_reflinked_copies_are_already_shared
run_test test_inline_files_with_and_without_tree_search
run_test test_alike_filesystems_are_not_one_storage
finish
