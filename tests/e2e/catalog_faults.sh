#!/usr/bin/env bash
# The catalog under faults: SIGKILL inside a write transaction, two runs on one catalog at
# once, and a filesystem whose st_dev changes across a remount (the key is the filesystem's
# id, statfs f_fsid, not st_dev).
source "$(dirname "$0")/lib.sh"
need_cmd sqlite3 "apt-get install sqlite3"

TREE=$TESTDIR/tree
CAT=$TESTDIR/catalog.db
gentree "$TREE" --workspaces 4 --packages 30 >/dev/null
sleep 2.2 # rows are trusted only when hashed 2 s after the files' last change

est() { "$WSDEDUP" estimate "$1" --json "${@:2}" | jq -S 'del(.host)'; }
REFERENCE=$(est "$TREE" --no-catalog)

# Starts `wsdedup estimate TREE --catalog CAT` paused at the catalog writer's pause point,
# half-way through its first transaction.
start_paused_writer() { # out_file [env...]
  local out=$1
  shift
  PAUSE_DIR=$(mktemp -d "$TESTDIR/pause.XXXX")
  env "$@" WSDEDUP_PAUSE_AT=catalog.mid_transaction WSDEDUP_PAUSE_DIR="$PAUSE_DIR" \
    "$WSDEDUP" estimate "$TREE" --json --catalog "$CAT" >"$out" 2>"$out.err" &
  PAUSED_PID=$!
  for _ in $(seq 3000); do [[ -e $PAUSE_DIR/catalog.mid_transaction.reached ]] && return 0; sleep 0.01; done
  fail "pause point catalog.mid_transaction never reached"
}

assert_catalog_consistent() {
  assert_eq ok "$(sqlite3 "$CAT" 'PRAGMA integrity_check')" "integrity_check"
  "$WSDEDUP" catalog stats --catalog "$CAT" --json >/dev/null || fail "catalog stats failed"
}

test_killed_mid_transaction() {
  rm -f "$CAT" "$CAT-wal" "$CAT-shm"
  start_paused_writer "$TESTDIR/killed.json"
  kill -9 "$PAUSED_PID"
  wait "$PAUSED_PID" 2>/dev/null || true
  [[ -e $CAT-wal ]] || fail "the killed run left no WAL (was it in WAL mode?)"
  assert_catalog_consistent
  # What earlier transactions committed is there; the killed one left nothing visible (the
  # next two runs prove every visible row right).
  echo "  rows visible after the kill: $("$WSDEDUP" catalog stats --catalog "$CAT" --json | jq .rows)"
  local out
  out=$("$WSDEDUP" estimate "$TREE" --json --catalog "$CAT" 2>"$TESTDIR/err")
  assert_eq "" "$(cat "$TESTDIR/err")" "no warning: the catalog was not corrupt"
  assert_eq "$REFERENCE" "$(jq -S 'del(.host)' <<<"$out")" "the next run is correct"
  out=$("$WSDEDUP" estimate "$TREE" --json --stats --catalog "$CAT")
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "and the one after reads nothing"
  assert_catalog_consistent
}

test_two_runs_at_once_one_waits() {
  rm -f "$CAT" "$CAT-wal" "$CAT-shm"
  start_paused_writer "$TESTDIR/a.json"
  # B needs the write lock A holds: it waits (default: up to 30 s) and then writes.
  "$WSDEDUP" estimate "$TREE" --json --catalog "$CAT" >"$TESTDIR/b.json" 2>"$TESTDIR/b.err" &
  local b=$!
  sleep 1
  kill -0 "$b" 2>/dev/null || fail "B finished while A held the write lock: $(cat "$TESTDIR/b.err")"
  touch "$PAUSE_DIR/catalog.mid_transaction.go"
  wait "$PAUSED_PID" || fail "A failed: $(cat "$TESTDIR/a.json.err")"
  wait "$b" || fail "B failed: $(cat "$TESTDIR/b.err")"
  assert_eq "" "$(cat "$TESTDIR/b.err")" "B warned"
  assert_eq "$REFERENCE" "$(jq -S 'del(.host)' "$TESTDIR/a.json")" "A's result"
  assert_eq "$REFERENCE" "$(jq -S 'del(.host)' "$TESTDIR/b.json")" "B's result"
  assert_catalog_consistent
  local out
  out=$("$WSDEDUP" estimate "$TREE" --json --stats --catalog "$CAT")
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "both runs' rows are there"
}

test_two_runs_at_once_one_gives_up_cleanly() {
  rm -f "$CAT" "$CAT-wal" "$CAT-shm"
  start_paused_writer "$TESTDIR/a.json"
  local rc=0 out
  out=$(WSDEDUP_CATALOG_TIMEOUT_MS=300 "$WSDEDUP" estimate "$TREE" --json --catalog "$CAT" 2>"$TESTDIR/b.err") || rc=$?
  assert_eq 0 "$rc" "B's exit code"
  assert_contains "$(cat "$TESTDIR/b.err")" "catalog" "B says its rows were not stored"
  assert_eq "$REFERENCE" "$(jq -S 'del(.host)' <<<"$out")" "B's result"
  touch "$PAUSE_DIR/catalog.mid_transaction.go"
  wait "$PAUSED_PID" || fail "A failed: $(cat "$TESTDIR/a.json.err")"
  assert_eq "$REFERENCE" "$(jq -S 'del(.host)' "$TESTDIR/a.json")" "A's result"
  assert_catalog_consistent
}

# ext4 on a loop device, unmounted and mounted again from another loop device: st_dev
# changes, the UUID (and so f_fsid) does not. Rows stay valid: same filesystem, same inodes.
test_remount_with_another_st_dev() {
  [[ $(id -u) -eq 0 ]] || { echo "  (not root: skipping the remount case)"; return 0; }
  command -v mkfs.ext4 >/dev/null || { echo "  (no mkfs.ext4: skipping)"; return 0; }
  local img=$TESTDIR/ext4.img mnt=$TESTDIR/ext4 l1 l2
  truncate -s 64M "$img"
  mkfs.ext4 -q -F "$img"
  mkdir -p "$mnt"
  l1=$(losetup -f --show "$img") || { echo "  (no loop device: skipping)"; return 0; }
  at_exit "losetup -d '$l1'"
  mount "$l1" "$mnt"
  at_exit "umount '$mnt' 2>/dev/null"
  gentree "$mnt/tree" --workspaces 2 --packages 5 >/dev/null
  # The file changed below: dense, so bytes read = its size (gentree's sparse files would
  # read only their data, and which file `find` meets first depends on ext4's hash seed).
  head -c 300000 /dev/urandom >"$mnt/tree/dense.bin"
  sleep 2.2
  local reference dev1 dev2 out
  reference=$(est "$mnt/tree" --no-catalog)
  dev1=$(stat -c %d "$mnt/tree")
  est "$mnt/tree" --catalog "$CAT" >/dev/null
  umount "$mnt"
  # l1 stays attached, so the image comes back on another loop device.
  l2=$(losetup -f --show "$img")
  at_exit "losetup -d '$l2'"
  mount "$l2" "$mnt"
  dev2=$(stat -c %d "$mnt/tree")
  [[ $dev1 != "$dev2" ]] || fail "st_dev did not change ($dev1)"
  out=$("$WSDEDUP" estimate "$mnt/tree" --json --stats --catalog "$CAT")
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "rows keyed by the fs UUID survive a new st_dev"
  assert_eq "$reference" "$(est "$mnt/tree" --catalog "$CAT")" "and give the same answer"
  # The same filesystem seen through a bind mount: the same rows.
  local bind=$TESTDIR/bind
  mkdir -p "$bind"
  mount --bind "$mnt/tree" "$bind"
  at_exit "umount '$bind' 2>/dev/null"
  out=$("$WSDEDUP" estimate "$bind" --json --stats --catalog "$CAT")
  assert_eq 0 "$(json .stats.bytes_read <<<"$out")" "a bind mount of the same filesystem"
  umount "$bind"
  # A file changed while the filesystem was elsewhere is read again.
  umount "$mnt"
  local l3
  l3=$(losetup -f --show "$img")
  at_exit "losetup -d '$l3'"
  local other=$TESTDIR/other
  mkdir -p "$other"
  mount "$l3" "$other"
  at_exit "umount '$other' 2>/dev/null"
  local f=$other/tree/dense.bin
  head -c 10000 /dev/urandom | dd of="$f" conv=notrunc status=none
  sleep 2.2
  reference=$(est "$other/tree" --no-catalog)
  out=$("$WSDEDUP" estimate "$other/tree" --json --stats --catalog "$CAT")
  assert_eq "$(stat -c %s "$f")" "$(json .stats.bytes_read <<<"$out")" "only the changed file is read"
  assert_eq "$reference" "$(est "$other/tree" --catalog "$CAT")" "same as without the catalog"
}

run_test test_killed_mid_transaction
run_test test_two_runs_at_once_one_waits
run_test test_two_runs_at_once_one_gives_up_cleanly
run_test test_remount_with_another_st_dev
finish
