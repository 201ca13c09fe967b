#!/usr/bin/env bash
# usage on hostile trees: loops, special files, odd names, deep trees, unreadable and
# vanishing directories, swapped symlinks, mount points.
source "$(dirname "$0")/lib.sh"

test_symlinks_fifos_and_loops() {
  local d=$TESTDIR/special
  mkdir -p "$d/a"
  ln -s . "$d/a/self"          # a loop if followed
  ln -s ../a "$d/a/up"
  ln -s loop2 "$d/loop1"; ln -s loop1 "$d/loop2"
  ln -s /nonexistent "$d/dangling"
  mkfifo "$d/fifo"
  perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 1) or die' "$d/sock"
  [[ -S $d/sock ]] || fail "could not make a socket"
  echo data >"$d/a/file"
  local out
  out=$(timeout 20 "$WSDEDUP" usage "$d" --json) || fail "usage did not finish (followed a loop?)"
  assert_usage_matches_du "$d"
  assert_eq 0 "$(json '.errors | length' <<<"$out")" "no errors"
}

test_odd_names() {
  local d=$TESTDIR/names
  mkdir -p "$d/with space" "$d/$(printf 'new\nline')" "$d/$(printf 'bad\xff\xfe')" "$d/caf$(printf '\xc3\xa9')"
  echo 1 >"$d/with space/f"; echo 22 >"$d/$(printf 'new\nline')/f"
  echo 333 >"$d/$(printf 'bad\xff\xfe')/f"; echo 4444 >"$d/caf$(printf '\xc3\xa9')/f"
  assert_usage_matches_du "$d"
  local out
  out=$("$WSDEDUP" usage "$d" --json)
  # Valid UTF-8 names are strings; invalid ones are {bytes_b64}.
  assert_eq "new
line" "$(json '.workspaces[] | select(.name=="new\nline") | .name' <<<"$out")" "newline name is a JSON string"
  assert_eq "$(printf 'bad\xff\xfe' | base64)" "$(json '.workspaces[] | select(.name | type == "object") | .name.bytes_b64' <<<"$out")" "invalid UTF-8 as bytes_b64"
  assert_eq "café" "$(json '.workspaces[] | select(.name=="café") | .name' <<<"$out")" "UTF-8 name"
  # Human output escapes what a terminal would mangle.
  out=$("$WSDEDUP" usage "$d")
  assert_contains "$out" 'new\nline' "escaped newline"
  assert_contains "$out" 'bad\xff\xfe' "escaped invalid bytes"
  assert_contains "$out" 'café' "UTF-8 kept"
}

test_deep_tree() {
  local d=$TESTDIR/deep
  mkdir -p "$d"
  # 10,000 levels: far beyond PATH_MAX, so built relative to the current directory.
  # (perl: bash's cd re-resolves the whole logical path each time, quadratic at this depth)
  (cd "$d" && perl -e 'for (1..10000) { mkdir "d" or die "mkdir: $!"; chdir "d" or die "chdir: $!" }
                        open(my $f, ">", "leaf") or die; print $f "leaf\n";')
  local out
  out=$("$WSDEDUP" usage "$d" --json)
  assert_eq 10001 "$(json .total.dirs <<<"$out")" "dirs in the deep tree"
  assert_eq 1 "$(json .total.files <<<"$out")" "the leaf"
  assert_eq 0 "$(json '.errors | length' <<<"$out")" "no errors"
  # du agrees (GNU du handles deep trees too).
  assert_usage_matches_du "$d"
  rm -rf "$d" 2>/dev/null || true
}

test_unreadable_directory_as_unprivileged_user() {
  need_cmd setpriv "util-linux"
  [[ $(id -u) -eq 0 ]] || { echo "  (not root: skipping the setpriv case)"; return 0; }
  local d=$TESTDIR/perm
  mkdir -p "$d/open" "$d/locked/inner"
  echo x >"$d/open/f"; echo y >"$d/locked/inner/g"
  chmod 0711 "$TESTDIR"
  chmod -R a+rX "$d"
  chmod 000 "$d/locked"
  local out err rc=0
  err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$WSDEDUP" usage "$d" --json 2>&1 >"$TESTDIR/perm.json") || rc=$?
  out=$(cat "$TESTDIR/perm.json")
  assert_eq 0 "$rc" "per-path errors do not fail the run"
  assert_contains "$err" "open(\"$d/locked\"): Permission denied" "error names op and path"
  assert_eq 1 "$(json '.errors | length' <<<"$out")" "one error"
  assert_eq "$d/locked" "$(json '.errors[0].path' <<<"$out")" "error path"
  # Same numbers as du run by the same user (du counts the unreadable dir itself, too).
  local du_alloc_user
  du_alloc_user=$(setpriv --reuid=65534 --regid=65534 --clear-groups du -s -B1 "$d" 2>/dev/null | cut -f1 || true)
  assert_eq "$du_alloc_user" "$(json .total.allocated_bytes <<<"$out")" "matches du as the same user"
  chmod 755 "$d/locked"
}

# Starts usage paused at a pause point; waits until it is reached.
start_paused() { # point dir json_out
  local point=$1 dir=$2 outfile=$3
  PAUSE_DIR=$(mktemp -d "$TESTDIR/pause.XXXX")
  WSDEDUP_PAUSE_AT=$point WSDEDUP_PAUSE_DIR=$PAUSE_DIR "$WSDEDUP" usage "$dir" --json --threads 2 \
    >"$outfile" 2>"$outfile.err" &
  PAUSED_PID=$!
  for _ in $(seq 1000); do [[ -e $PAUSE_DIR/${point%%:*}.reached ]] && return 0; sleep 0.01; done
  fail "pause point $point never reached"
}
resume() { touch "$PAUSE_DIR/${1%%:*}.go"; wait "$PAUSED_PID"; }

test_entry_vanishes_mid_walk() {
  local d=$TESTDIR/vanish
  mkdir -p "$d/a/victim/sub" "$d/a/keep"
  echo x >"$d/a/victim/sub/f"; echo y >"$d/a/keep/g"
  start_paused "walk.listed:a" "$d" "$TESTDIR/vanish.json"
  rm -rf "$d/a/victim"          # listed but not yet stat'ed
  resume "walk.listed:a"
  local out
  out=$(cat "$TESTDIR/vanish.json")
  assert_eq "a/victim" "$(json '.errors[0].path' <<<"$out" | sed "s|^$d/||")" "vanished entry reported"
  assert_contains "$(cat "$TESTDIR/vanish.json.err")" "No such file or directory" "ENOENT text"
  assert_usage_matches_du "$d"  # the rest is still counted exactly
}

test_directory_removed_before_open() {
  local d=$TESTDIR/vanish2
  mkdir -p "$d/a/victim/sub"
  echo x >"$d/a/victim/sub/f"
  start_paused "walk.open_dir:a/victim" "$d" "$TESTDIR/vanish2.json"
  rm -rf "$d/a/victim"
  resume "walk.open_dir:a/victim"
  assert_eq "open" "$(json '.errors[0].op' <<<"$(cat "$TESTDIR/vanish2.json")")" "open failed, reported"
}

test_directory_swapped_for_symlink_is_not_followed() {
  local d=$TESTDIR/swap outside=$TESTDIR/outside
  mkdir -p "$d/a/victim" "$outside/secret-dir"
  head -c 100000 /dev/urandom >"$outside/secret-dir/big"
  echo x >"$d/a/victim/f"
  start_paused "walk.open_dir:a/victim" "$d" "$TESTDIR/swap.json"
  rm -rf "$d/a/victim"
  ln -s "$outside/secret-dir" "$d/a/victim"
  resume "walk.open_dir:a/victim"
  local out
  out=$(cat "$TESTDIR/swap.json")
  assert_eq 1 "$(json '.errors | length' <<<"$out")" "swap reported"
  # Nothing of the outside tree was counted: the total stays below its size.
  [[ $(json .total.logical_bytes <<<"$out") -lt 100000 ]] || fail "followed the swapped symlink"
}

test_directory_swapped_for_other_directory_is_detected() {
  local d=$TESTDIR/swap2
  mkdir -p "$d/a/victim" "$d/other"
  head -c 50000 /dev/urandom >"$d/other/big"
  start_paused "walk.open_dir:a/victim" "$d" "$TESTDIR/swap2.json"
  rmdir "$d/a/victim"
  mv "$d/other" "$d/a/victim"
  resume "walk.open_dir:a/victim"
  assert_contains "$(json '.errors[0].error' <<<"$(cat "$TESTDIR/swap2.json")")" "replaced" "inode check caught the swap"
}

test_mount_points_not_crossed() {
  [[ $(id -u) -eq 0 ]] || { echo "  (not root: skipping the mount case)"; return 0; }
  local d=$TESTDIR/mnt
  mkdir -p "$d/m" "$d/a"
  echo x >"$d/a/f"
  mount -t tmpfs -o size=4m tmpfs "$d/m"
  at_exit "umount '$d/m'"
  head -c 100000 /dev/urandom >"$d/m/big"
  local out
  out=$("$WSDEDUP" usage "$d" --json)
  assert_eq "$(du -s -x -B1 "$d" | cut -f1)" "$(json .total.allocated_bytes <<<"$out")" "like du -x"
  out=$("$WSDEDUP" usage "$d" --json --cross-fs)
  assert_eq "$(du -s -B1 "$d" | cut -f1)" "$(json .total.allocated_bytes <<<"$out")" "--cross-fs like du"
}

run_test test_symlinks_fifos_and_loops
run_test test_odd_names
run_test test_deep_tree
run_test test_unreadable_directory_as_unprivileged_user
run_test test_entry_vanishes_mid_walk
run_test test_directory_removed_before_open
run_test test_directory_swapped_for_symlink_is_not_followed
run_test test_directory_swapped_for_other_directory_is_detected
run_test test_mount_points_not_crossed
finish
