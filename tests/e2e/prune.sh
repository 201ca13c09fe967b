#!/usr/bin/env bash
# prune ROOT: every policy input, exclusive bytes (hardlinks across workspaces, reflinks on a
# loop-mounted btrfs), deletion only with --apply, symlink-swap races at pause points,
# workspaces in use, SIGKILL mid-deletion then a re-run, bad status files, the root lock.
source "$(dirname "$0")/lib.sh"

OLD=$(($(date +%s) - 40 * 86400))

# mkws ROOT NAME [old]: a workspace with a few files; "old" backdates everything in it.
mkws() {
  local d=$1/$2
  mkdir -p "$d/src" "$d/node_modules/pkg"
  head -c 20000 /dev/urandom >"$d/src/main.c"
  head -c 30000 /dev/urandom >"$d/node_modules/pkg/index.js"
  echo "$2" >"$d/README"
  if [[ ${3:-} == old ]]; then find "$d" -exec touch -h -d "@$OLD" {} +; fi
}

prun() { # root [args...]: sets RC, OUT, ERR
  local root=$1
  shift
  RC=0
  OUT=$("$WSDEDUP" prune "$root" --json --audit-log "$TESTDIR/audit.jsonl" "$@" 2>"$TESTDIR/stderr") || RC=$?
  ERR=$(cat "$TESTDIR/stderr")
}
selected() { json '[.workspaces[] | select(.selected) | .name] | join(",")' <<<"$OUT"; }

test_policies() {
  local r=$TESTDIR/policy
  mkdir -p "$r"
  mkws "$r" done-old old; mkws "$r" done-new; mkws "$r" running-old old; mkws "$r" unlisted-old old
  # Age is the newest mtime of anything inside, not the folder's own: an old folder with
  # one fresh file is young, a fresh folder with old contents is old.
  mkws "$r" fresh-inside old; touch "$r/fresh-inside/src/main.c"
  mkws "$r" touched-folder old; touch "$r/touched-folder"
  cat >"$TESTDIR/status.json" <<'JSON'
{"done-old": "done", "done-new": "archived", "running-old": "running",
 "fresh-inside": "done", "touched-folder": "done"}
JSON
  prun "$r" --status-file "$TESTDIR/status.json" --status "done",archived
  assert_eq 0 "$RC" "status policy ($ERR)"
  assert_eq "done-new,done-old,fresh-inside,touched-folder" "$(selected)" "by status"
  assert_eq "status \"running\"" "$(json '.workspaces[] | select(.name=="running-old") | .kept_because[0]' <<<"$OUT")" "kept reason"
  assert_eq "not in the status file" "$(json '.workspaces[] | select(.name=="unlisted-old") | .kept_because[0]' <<<"$OUT")" "unlisted"

  prun "$r" --older-than 30d
  assert_eq "done-old,running-old,touched-folder,unlisted-old" "$(selected)" "by age (newest mtime inside)"

  prun "$r" --keep 2
  assert_eq "done-old,running-old,touched-folder,unlisted-old" "$(selected)" "keep the 2 newest"
  prun "$r" --keep 5
  assert_eq "unlisted-old" "$(selected)" "keep 5 of 6: the oldest (ties by name) goes"

  prun "$r" --status-file "$TESTDIR/status.json" --status "done" --older-than 30d
  assert_eq "done-old,touched-folder" "$(selected)" "status AND age"
  # The 4 newest: done-new, fresh-inside, then the equally old ones by name: done-old, running-old.
  prun "$r" --status-file "$TESTDIR/status.json" --status "done" --older-than 30d --keep 4
  assert_eq "touched-folder" "$(selected)" "status AND age AND keep"

  # Nested workspaces with --workspaces.
  mkdir -p "$r/../nested/spec-tasks"
  mkws "$r/../nested/spec-tasks" t1 old; mkws "$r/../nested" other old
  prun "$r/../nested" --workspaces 'spec-tasks/*' --older-than 1d
  assert_eq "spec-tasks/t1" "$(selected)" "workspaces glob"

  # Dry run: nothing deleted, no trash, no audit log.
  local before
  before=$(find "$r" | sort | md5sum)
  assert_eq "$before" "$(find "$r" | sort | md5sum)" "tree unchanged by dry runs"
  [[ ! -e $r/.wsdedup-trash && ! -e $TESTDIR/audit.jsonl ]] || fail "dry run left a trash or audit log"

  # Usage errors: exit 2.
  prun "$r"
  assert_eq 2 "$RC" "no policy"
  assert_contains "$ERR" "prune needs a policy" "message"
  prun "$r" --status "done"
  assert_eq 2 "$RC" "--status without --status-file"
  prun "$r" --older-than 3x
  assert_eq 2 "$RC" "bad duration"
}

# An operator's --exclude inside a workspace, or another filesystem mounted in one, keeps the
# whole workspace: deleting it would delete what the walk never looked at.
test_excluded_and_mounted_are_never_deleted() {
  need_root "mounts a tmpfs inside a workspace"
  local r=$TESTDIR/protect
  mkdir -p "$r"
  mkws "$r" plain old; mkws "$r" has-keep old; mkws "$r" has-mount old
  mkdir -p "$r/has-keep/DO-NOT-TOUCH" "$r/has-mount/cache"
  echo precious >"$r/has-keep/DO-NOT-TOUCH/data"
  mount -t tmpfs -o size=1m wsdedup-test "$r/has-mount/cache" || skip "cannot mount tmpfs"
  at_exit "umount '$r/has-mount/cache' 2>/dev/null || true"
  echo precious >"$r/has-mount/cache/data"
  find "$r" -xdev -exec touch -h -d "@$OLD" {} +
  prun "$r" --older-than 30d --exclude '**/DO-NOT-TOUCH' --apply
  rm -f "$TESTDIR/audit.jsonl" # later tests count their own audit lines
  assert_eq 0 "$RC" "exit code: $ERR"
  assert_eq "has-keep,has-mount,plain" "$(selected)"
  assert_eq "skipped" "$(json '.workspaces[] | select(.name=="has-keep") | .action' <<<"$OUT")"
  assert_contains "$(json '.workspaces[] | select(.name=="has-keep") | .reason' <<<"$OUT")" \
    "has-keep/DO-NOT-TOUCH: excluded by --exclude"
  assert_contains "$(json '.workspaces[] | select(.name=="has-mount") | .reason' <<<"$OUT")" \
    "has-mount/cache: another filesystem is mounted there"
  assert_eq "deleted" "$(json '.workspaces[] | select(.name=="plain") | .action' <<<"$OUT")"
  assert_eq precious "$(cat "$r/has-keep/DO-NOT-TOUCH/data")"
  assert_eq precious "$(cat "$r/has-mount/cache/data")"
  [[ -e $r/has-keep/README && -e $r/has-mount/README && ! -e $r/plain ]] || fail "wrong workspaces left"
}

test_bad_status_file() {
  local r=$TESTDIR/badstatus
  mkdir -p "$r"; mkws "$r" a old; mkws "$r" b old
  local before
  before=$(find "$r" | sort | md5sum)
  echo '{"a": "done", ' >"$TESTDIR/bad1.json"
  prun "$r" --status-file "$TESTDIR/bad1.json" --status "done" --apply
  assert_eq 2 "$RC" "invalid JSON"
  assert_contains "$ERR" "status file \"$TESTDIR/bad1.json\" is not valid JSON" "clear message"
  echo '["a", "b"]' >"$TESTDIR/bad2.json"
  prun "$r" --status-file "$TESTDIR/bad2.json" --status "done" --apply
  assert_eq 2 "$RC" "not an object"
  assert_contains "$ERR" "expected a JSON object mapping workspace name to status string, got array" "message"
  echo '{"a": "done", "b": 3}' >"$TESTDIR/bad3.json"
  prun "$r" --status-file "$TESTDIR/bad3.json" --status "done" --apply
  assert_eq 2 "$RC" "a non-string status"
  assert_contains "$ERR" 'the status of "b" must be a string, got number' "message"
  prun "$r" --status-file "$TESTDIR/missing.json" --status "done" --apply
  assert_eq 2 "$RC" "missing file"
  assert_contains "$ERR" "open(\"$TESTDIR/missing.json\"): No such file or directory" "message"
  assert_eq "$before" "$(find "$r" | sort | md5sum)" "nothing deleted"
  [[ ! -e $r/.wsdedup-trash ]] || fail "no trash made"
}

test_exclusive_bytes_with_hardlinks() {
  local r=$TESTDIR/links
  mkdir -p "$r"; mkws "$r" a old; mkws "$r" b old; mkws "$r" c
  head -c 100000 /dev/urandom >"$r/a/shared.bin"
  ln "$r/a/shared.bin" "$r/b/shared.bin"          # a <-> b
  head -c 70000 /dev/urandom >"$r/a/with-c.bin"
  ln "$r/a/with-c.bin" "$r/c/with-c.bin"          # a <-> c (c stays)
  head -c 50000 /dev/urandom >"$TESTDIR/outside.bin"
  ln "$TESTDIR/outside.bin" "$r/b/outside.bin"    # b <-> outside the root
  find "$r/a" "$r/b" -exec touch -h -d "@$OLD" {} +
  touch -d "@$((OLD + 2000))" "$r/b/README"   # a is the oldest (linked files share one mtime)
  local shared with_c outside
  shared=$(du -B1 "$r/a/shared.bin" | cut -f1); with_c=$(du -B1 "$r/a/with-c.bin" | cut -f1)
  outside=$(du -B1 "$r/b/outside.bin" | cut -f1)
  local a_du b_du
  a_du=$(du -s -B1 "$r/a" | cut -f1); b_du=$(du -s -B1 "$r/b" | cut -f1)

  # Only a: shared.bin (linked from b) and with-c.bin (linked from c) are not freed.
  prun "$r" --older-than 30d --keep 2
  assert_eq "a" "$(selected)" "a only"
  assert_eq $((a_du - shared - with_c)) "$(json .total.exclusive_bytes <<<"$OUT")" "a alone frees its own blocks"
  assert_eq "$a_du" "$(json .total.naive_bytes <<<"$OUT")" "naive = du of a"
  assert_eq $((shared + with_c)) "$(json '.workspaces[0].hardlinked_outside_bytes' <<<"$OUT")" "kept by links outside"
  # a and b: shared.bin is freed once; with-c.bin (c) and outside.bin (outside the root) are not.
  prun "$r" --older-than 30d
  assert_eq "a,b" "$(selected)" "a and b"
  assert_eq $((a_du + b_du - shared - with_c - outside)) "$(json .total.exclusive_bytes <<<"$OUT")" "a+b exclusive"
  assert_eq $((a_du + b_du)) "$(json .total.naive_bytes <<<"$OUT")" "naive sum counts shared.bin twice"
  assert_eq false "$(json .total.exclusive_is_upper_bound <<<"$OUT")" "exact on ext4"
  # Apply: the links outside the set survive with their content.
  local sum
  sum=$(md5sum <"$r/c/with-c.bin")
  prun "$r" --older-than 30d --apply
  assert_eq 0 "$RC" "apply ($ERR)"
  assert_eq "deleted,deleted" "$(json '[.workspaces[] | select(.selected) | .action] | join(",")' <<<"$OUT")" "deleted"
  [[ ! -e $r/a && ! -e $r/b && -d $r/c ]] || fail "a and b gone, c kept"
  assert_eq "$sum" "$(md5sum <"$r/c/with-c.bin")" "c's linked file intact"
  assert_eq 1 "$(stat -c %h "$TESTDIR/outside.bin")" "outside link intact"
  assert_eq 0 "$(find "$r/.wsdedup-trash" -mindepth 1 | wc -l)" "trash empty"
  # The audit log: before and after for each rename and delete.
  assert_eq 8 "$(wc -l <"$TESTDIR/audit.jsonl")" "audit lines"
  assert_eq "rename:before,rename:after,delete:before,delete:after" \
    "$(jq -r 'select(.path=="a" or .workspace=="a") | .action + ":" + .phase' "$TESTDIR/audit.jsonl" | paste -sd,)" "audit order for a"
  rm -f "$TESTDIR/audit.jsonl"
}

test_reflinks_on_btrfs() {
  need_root "loop-mount a btrfs image"
  need_cmd mkfs.btrfs "btrfs-progs"
  local img=$TESTDIR/btrfs.img mnt=$TESTDIR/btrfs
  truncate -s 300M "$img"
  mkfs.btrfs -q "$img" >/dev/null 2>&1 || skip "mkfs.btrfs failed"
  mkdir -p "$mnt"
  mount -o loop "$img" "$mnt" 2>/dev/null || skip "cannot loop-mount (no loop device?)"
  at_exit "umount '$mnt'"
  local r=$mnt/root
  mkdir -p "$r"; mkws "$r" x; mkws "$r" y; mkws "$r" z
  head -c 4M /dev/urandom >"$r/x/big"
  cp --reflink=always "$r/x/big" "$r/y/big"
  head -c 2M /dev/urandom >"$r/z/solo"
  sync
  find "$r/x" -exec touch -h -d "@$((OLD - 1000))" {} +   # x is the oldest
  find "$r/y" -exec touch -h -d "@$OLD" {} +
  local big=$((4 * 1024 * 1024))
  # x alone: big's extents are also y's, which stays: not freed.
  prun "$r" --older-than 30d --keep 2
  assert_eq "x" "$(selected)" "x only"
  local x_du
  x_du=$(du -s -B1 "$r/x" | cut -f1)
  assert_eq $((x_du - big)) "$(json .total.exclusive_bytes <<<"$OUT")" "reflinked blocks kept by y are not freed"
  # x and y: big's extents are freed once; an upper bound (snapshots are invisible).
  prun "$r" --older-than 30d
  assert_eq "x,y" "$(selected)" "x and y"
  local y_du
  y_du=$(du -s -B1 "$r/y" | cut -f1)
  assert_eq $((x_du + y_du - big)) "$(json .total.exclusive_bytes <<<"$OUT")" "shared extents counted once"
  assert_eq true "$(json .total.exclusive_is_upper_bound <<<"$OUT")" "stated as an upper bound"
  assert_contains "$(json '.notes[0]' <<<"$OUT")" "btrfs" "snapshot note"
  # Really freed: btrfs' own count of used bytes drops by about the exclusive figure.
  local used_before used_after
  sync; used_before=$(btrfs filesystem usage -b "$mnt" 2>/dev/null | awk '/Used:/ {print $2; exit}')
  prun "$r" --older-than 30d --apply
  assert_eq 0 "$RC" "apply on btrfs ($ERR)"
  sync; btrfs filesystem sync "$mnt" >/dev/null 2>&1 || true
  used_after=$(btrfs filesystem usage -b "$mnt" 2>/dev/null | awk '/Used:/ {print $2; exit}')
  local freed=$((used_before - used_after))
  echo "  btrfs: exclusive $(json .total.exclusive_bytes <<<"$OUT"), used dropped by $freed"
  [[ $freed -ge $big ]] || fail "btrfs freed at least the reflinked file once ($freed)"
  [[ -d $r/z ]] || fail "z kept"
}

test_in_use_is_skipped() {
  local r=$TESTDIR/inuse
  mkdir -p "$r"; mkws "$r" cwd-ws old; mkws "$r" fd-ws old; mkws "$r" free-ws old
  (cd "$r/cwd-ws/src" && exec sleep 300) &
  local cwd_pid=$!
  # shellcheck disable=SC2217 # the open stdin is the point: a process holding a file open
  sleep 300 <"$r/fd-ws/node_modules/pkg/index.js" &
  local fd_pid=$!
  at_exit "kill $cwd_pid $fd_pid 2>/dev/null"
  sleep 0.2
  prun "$r" --older-than 30d
  assert_eq "in use,in use,would delete" "$(json '[.workspaces[] | .action] | join(",")' <<<"$OUT")" "dry run sees the users"
  assert_eq "sleep $cwd_pid cwd" "$(json '.workspaces[0].in_use[0] | "\(.comm) \(.pid) \(.how)"' <<<"$OUT")" "the cwd user"
  assert_eq "sleep $fd_pid fd 0" "$(json '.workspaces[1].in_use[0] | "\(.comm) \(.pid) \(.how)"' <<<"$OUT")" "the open-file user"
  prun "$r" --older-than 30d --apply
  assert_eq 0 "$RC" "in-use workspaces are skipped, not errors"
  [[ -d $r/cwd-ws && -d $r/fd-ws && ! -e $r/free-ws ]] || fail "only the free workspace went"
  local human
  human=$("$WSDEDUP" prune "$r" --older-than 30d)
  assert_contains "$human" "used by sleep (pid $cwd_pid, cwd)" "human output names the process"
  kill $cwd_pid $fd_pid 2>/dev/null; wait $cwd_pid $fd_pid 2>/dev/null || true
}

# Waits for a pause point file.
wait_for() { local f=$1; for _ in $(seq 1 1000); do [[ -e $f ]] && return 0; sleep 0.01; done; fail "never reached $f"; }

test_symlink_swap_races() {
  local r=$TESTDIR/race
  mkdir -p "$r" "$TESTDIR/outside/sub"
  echo precious >"$TESTDIR/outside/sub/keep"
  echo precious >"$TESTDIR/outside/keep2"
  mkws "$r" victim old
  mkdir -p "$r/victim/sub/deeper"; echo x >"$r/victim/sub/deeper/f"
  find "$r/victim" -exec touch -h -d "@$OLD" {} +
  local p=$TESTDIR/pause
  mkdir -p "$p"
  # Mid-deletion, sub (already in the trash) becomes a symlink to a directory outside.
  WSDEDUP_PAUSE_AT=prune.open_dir:sub WSDEDUP_PAUSE_DIR=$p \
    "$WSDEDUP" prune "$r" --older-than 30d --apply --json --audit-log "$TESTDIR/race.log" >"$TESTDIR/race.json" 2>&1 &
  local pid=$!
  wait_for "$p/prune.open_dir.reached"
  local entry
  entry=$(ls "$r/.wsdedup-trash")
  rm -rf "$r/.wsdedup-trash/$entry/sub"
  ln -s "$TESTDIR/outside/sub" "$r/.wsdedup-trash/$entry/sub"
  touch "$p/prune.open_dir.go"
  local rc=0
  wait $pid || rc=$?
  assert_eq 0 "$rc" "deletion finished ($(cat "$TESTDIR/race.json"))"
  assert_eq precious "$(cat "$TESTDIR/outside/sub/keep")" "the symlink was not followed"
  [[ ! -e $r/victim ]] || fail "victim deleted"
  assert_eq 0 "$(find "$r/.wsdedup-trash" -mindepth 1 | wc -l)" "trash empty (the symlink itself removed)"

  # Between the scan and the rename, the workspace becomes a symlink to outside.
  mkws "$r" victim2 old
  rm -f "$p"/*
  WSDEDUP_PAUSE_AT=prune.rename:victim2 WSDEDUP_PAUSE_DIR=$p \
    "$WSDEDUP" prune "$r" --older-than 30d --apply --json --audit-log "$TESTDIR/race.log" >"$TESTDIR/race2.json" 2>&1 &
  pid=$!
  wait_for "$p/prune.rename.reached"
  mv "$r/victim2" "$TESTDIR/victim2.moved"
  ln -s "$TESTDIR/outside" "$r/victim2"
  touch "$p/prune.rename.go"
  rc=0
  wait $pid || rc=$?
  assert_eq 0 "$rc" "a replaced workspace is skipped"
  assert_eq skipped "$(json '.workspaces[] | select(.name=="victim2") | .action' <"$TESTDIR/race2.json")" "skipped"
  assert_contains "$(json '.workspaces[] | select(.name=="victim2") | .reason' <"$TESTDIR/race2.json")" "replaced since the scan" "reason"
  assert_eq precious "$(cat "$TESTDIR/outside/keep2")" "outside intact"
  [[ -L $r/victim2 ]] || fail "the symlink left in place"
}

test_sigkill_then_rerun_finishes() {
  local r=$TESTDIR/kill
  mkdir -p "$r/big/files"
  for i in $(seq -w 1 2000); do echo "$i" >"$r/big/files/f$i"; done
  mkws "$r" keep
  find "$r/big" -exec touch -h -d "@$OLD" {} +
  local p=$TESTDIR/killpause
  mkdir -p "$p"
  WSDEDUP_PAUSE_AT=prune.unlink:files/f1000 WSDEDUP_PAUSE_DIR=$p \
    "$WSDEDUP" prune "$r" --older-than 30d --apply --audit-log "$TESTDIR/kill.log" >/dev/null 2>&1 &
  local pid=$!
  wait_for "$p/prune.unlink.reached"
  kill -KILL $pid
  wait $pid 2>/dev/null || true
  [[ ! -e $r/big ]] || fail "the workspace was already renamed into the trash"
  local left
  left=$(find "$r/.wsdedup-trash" -type f | wc -l)
  [[ $left -gt 0 && $left -lt 2000 ]] || fail "killed mid-deletion ($left files left)"
  # A dry run reports the leftover; a re-run with --apply finishes it.
  prun "$r" --older-than 30d
  assert_eq 1 "$(json '.trash_leftovers | length' <<<"$OUT")" "leftover reported"
  assert_eq "keep" "$(json '[.workspaces[].name] | join(",")' <<<"$OUT")" "the trash is not a workspace"
  assert_eq "$left" "$(find "$r/.wsdedup-trash" -type f | wc -l)" "dry run touched nothing"
  prun "$r" --older-than 30d --apply
  assert_eq 0 "$RC" "re-run ($ERR)"
  assert_eq true "$(json '.trash_leftovers[0].deleted' <<<"$OUT")" "leftover deleted"
  assert_eq "$left" "$(json '.trash_leftovers[0].files' <<<"$OUT")" "the rest of the files"
  assert_eq 0 "$(find "$r/.wsdedup-trash" -mindepth 1 | wc -l)" "trash empty"
  [[ -d $r/keep ]] || fail "keep untouched"
  # The killed run logged "before" for its delete and nothing after it.
  assert_eq "before" "$(jq -r 'select(.action=="delete") | .phase' "$TESTDIR/kill.log" | tail -1)" "audit shows the interrupted step"
}

test_lock() {
  need_cmd flock "util-linux"
  local r=$TESTDIR/lock
  mkdir -p "$r"; mkws "$r" a old
  flock "$r" sleep 30 &
  local pid=$!
  at_exit "kill $pid 2>/dev/null"
  sleep 0.2
  prun "$r" --older-than 30d --apply
  assert_eq 2 "$RC" "a locked root"
  assert_contains "$ERR" "another wsdedup run holds the lock" "message"
  [[ -d $r/a ]] || fail "nothing deleted"
  kill $pid 2>/dev/null; wait $pid 2>/dev/null || true
}

run_test test_policies
run_test test_excluded_and_mounted_are_never_deleted
run_test test_bad_status_file
run_test test_exclusive_bytes_with_hardlinks
run_test test_in_use_is_skipped
run_test test_symlink_swap_races
run_test test_sigkill_then_rerun_finishes
run_test test_lock
run_test test_reflinks_on_btrfs
finish
