#!/usr/bin/env bash
# migrate into a zfs-fuse dataset: `--to zfs:POOL/NAME` creates the dataset with the asked
# properties, copies into its mountpoint and verifies (FUSE there: no SEEK_HOLE, odd st_blocks,
# slow: the tree stays at a few MB). zfs-fuse keeps whole seconds: migrate probes that and
# compares times at the second, so a tree with sub-second times verifies clean. A re-run copies
# nothing; --dry-run names the create command and the mountpoint the new dataset will get.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../zfs/zfs_fuse_lib.sh"
need_root "zfs-fuse pools"
need_cmd zfs-fuse "apt-get install zfs-fuse"
[[ -e /dev/fuse ]] || skip "no /dev/fuse"

POOL=wsdmig$$
zf_start || skip "zfs-fuse daemon does not start here"
at_exit "zf_stop"
zf_pool_create "$TESTDIR/pool" "$POOL" || fail "zpool create"
at_exit "zf_pool_destroy '$TESTDIR/pool' '$POOL'"

test_migrate_into_new_dataset() {
  local src=$TESTDIR/src
  mkdir -p "$src/w1/node_modules/x" "$src/w2/empty" "$src/w3"
  head -c 2000000 /dev/urandom >"$src/w1/blob"
  cp "$src/w1/blob" "$src/w3/blob-copy"
  echo hi >"$src/w1/node_modules/x/index.js"; ln "$src/w1/node_modules/x/index.js" "$src/w3/hl"
  truncate -s 3M "$src/w2/sparse"; printf 'tail' >>"$src/w2/sparse"
  ln -s ../w1/blob "$src/w2/link"; mkfifo "$src/w2/fifo"
  # (no xattrs: zfs-fuse answers ENOTSUP to setxattr, for rsync -X as well)
  chown -R 1000:1000 "$src/w3"; chmod 0700 "$src/w3"
  # Sub-second times: zfs-fuse keeps whole seconds (FUSE), migrate must notice and compare so.
  find "$src" -depth -exec touch -h -d '2022-05-06 07:08:09.123456789' {} +
  touch -d '2022-05-06 07:08:10.987654321' "$src/w1/blob"

  local out=$TESTDIR/m.json rc=0
  "$WSDEDUP" migrate "$src" --to "zfs:$POOL/ws" --compression on --recordsize 64K \
    --audit-log "$TESTDIR/audit.jsonl" --json >"$out" 2>"$out.err" || rc=$?
  assert_eq 0 "$rc" "migrate into zfs ($(cat "$out.err"))"
  assert_eq "$POOL/ws" "$(json .dataset "$out")" "dataset named"
  assert_eq "on on 65536" "$(zfs get -Hp -o value dedup,compression,recordsize "$POOL/ws" | tr '\n' ' ' | sed 's/ $//')" "dataset properties"
  local mp; mp=$(zfs get -H -o value mountpoint "$POOL/ws")
  assert_eq "$mp" "$(json -r .copy_dir "$out")" "copied into the mountpoint"
  assert_eq true "$(json .verify.identical "$out")" "verify inside migrate"
  assert_eq 1000000000 "$(json .mtime_granularity_ns "$out")" "whole-second times probed"
  assert_contains "$(json -r '.steps[] | select(.name == "verify") | .detail' "$out")" "mtimes compared to 1 s" "verify says so"
  assert_eq "1651820890" "$(stat -c %Y "$mp/w1/blob")" "mtime floored to the second"
  "$WSDEDUP" verify "$src" "$mp" >/dev/null || fail "verify SRC vs dataset (content)"
  # Exact comparison sees only the lost fractions: every difference is an mtime.
  "$WSDEDUP" verify --metadata --json "$src" "$mp" >"$TESTDIR/v.json" || true
  assert_eq '["mtime"]' "$(json -c '[.differences[].reasons[]] | unique' "$TESTDIR/v.json")" "only sub-second mtimes differ"
  assert_eq "$(stat -c %i "$mp/w1/node_modules/x/index.js")" "$(stat -c %i "$mp/w3/hl")" "hardlink kept on zfs"
  # Re-run: nothing to copy.
  rc=0
  "$WSDEDUP" migrate "$src" --to "zfs:$POOL/ws" --audit-log "$TESTDIR/audit.jsonl" --json >"$out" 2>"$out.err" || rc=$?
  assert_eq 0 "$rc" "re-run"
  assert_eq 0 "$(json '.passes[0].files_copied' "$out")" "re-run copies nothing"
  # Dry run against a dataset that does not exist: the create command, nothing created.
  local dry; dry=$("$WSDEDUP" migrate "$src" --to "zfs:$POOL/other" --dry-run --dedup on --compression lzjb)
  assert_contains "$dry" "zfs create -p -o dedup=on -o compression=lzjb $POOL/other" "dry run shows zfs create"
  assert_contains "$dry" "it will be mounted at $(zfs get -H -o value mountpoint "$POOL")/other" "dry run names the mountpoint"
  zfs list "$POOL/other" >/dev/null 2>&1 && fail "dry run created a dataset"
  dry=$("$WSDEDUP" migrate "$src" --to "zfs:$POOL/ws/deeper/still" --dry-run)
  assert_contains "$dry" "it will be mounted at $mp/deeper/still" "inherited through a missing parent"
  return 0
}

run_test test_migrate_into_new_dataset
finish
