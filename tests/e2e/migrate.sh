#!/usr/bin/env bash
# migrate: the copy engine against rsync -aHAXS --numeric-ids on a hostile tree (hardlinks,
# sparse files, xattrs, ACLs, odd names, fifos, sockets, symlinks, devices, owners, setuid,
# nanosecond times), into ext4 and a loop-mounted XFS; re-runs; a SIGKILLed copy resumed;
# the two-phase --apply flow with the switch-over in a private mount namespace; a verify
# failure and a busy SRC refuse the switch-over and still run --start-cmd; --dry-run.
source "$(dirname "$0")/lib.sh"
need_root "lchown, mknod, trusted.* xattrs, mounts"
need_cmd rsync
need_cmd setfacl "apt-get install acl"
need_cmd setfattr "apt-get install attr"
need_cmd unshare

SRC=$TESTDIR/src

make_tree() {
  local d=$1
  mkdir -p "$d"/{a/deep/er,b,empty,acl,names,special}
  head -c 300000 /dev/urandom >"$d/a/big"
  echo small >"$d/a/small"
  : >"$d/a/empty-file"
  # hardlinks: three names, two directories
  echo linked >"$d/a/h1"; ln "$d/a/h1" "$d/b/h2"; ln "$d/a/h1" "$d/a/deep/h3"
  # sparse: data in the middle of 64 MiB; data then a trailing hole
  truncate -s 64M "$d/a/sparse"; printf 'middle' | dd of="$d/a/sparse" bs=1 seek=30000000 conv=notrunc status=none
  printf 'head' >"$d/a/trailing-hole"; truncate -s 10M "$d/a/trailing-hole"
  # xattrs in the namespaces root may set, ACLs (access and default)
  echo x >"$d/a/xattr"
  setfattr -n user.color -v blue "$d/a/xattr"
  setfattr -n trusted.note -v "$(printf 'bin\001ary')" "$d/a/xattr"
  echo acl >"$d/acl/file"
  setfacl -m u:1234:rwx,g:77:r "$d/acl/file"
  setfacl -d -m u:1234:rx "$d/acl"
  setfattr -n user.on-dir -v 1 "$d/b"
  # owners, setuid (chown clears it: mode must be set after), odd modes
  echo suid >"$d/a/suid"; chown 1234:5678 "$d/a/suid"; chmod 4755 "$d/a/suid"
  chown 4321:8765 "$d/b"; chmod 0750 "$d/b"; chmod 0600 "$d/a/small"
  # odd names
  echo nl >"$d/names/$(printf 'new\nline')"; echo bad >"$d/names/$(printf 'bad\xff\xfe')"
  echo sp >"$d/names/with space"; mkdir "$d/names/$(printf 'dir\tTab')"
  # special files
  mkfifo "$d/special/fifo"
  mknod "$d/special/null" c 1 3
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$d/special/sock"
  ln -s /etc/passwd "$d/special/abs"; ln -s ../nowhere "$d/special/dangling"; ln -s ../a/small "$d/special/rel"
  chown -h 1234:5678 "$d/special/rel"
  # nanosecond times on everything (symlinks too: rsync compares a fresh symlink's time to the
  # second and leaves the nanoseconds of one made within the same second), directories last
  find "$d" -depth -exec touch -h -d '2021-03-04 05:06:07.123456789' {} +
  touch -h -d '2019-01-01 00:00:00.5' "$d/special/abs"
  touch -d '2020-02-02 02:02:02.987654321' "$d/a/big" "$d"
}

assert_same_trees() { # a b label
  local out
  out=$("$WSDEDUP" verify --metadata "$1" "$2" 2>&1) || fail "$3: verify --metadata $1 $2: $out"
}

check_copy() { # dst label
  local dst=$1
  assert_same_trees "$SRC" "$dst" "$2 vs SRC"
  local ref=$TESTDIR/rsync-ref-$(basename "$dst")
  rm -rf "$ref"; mkdir -p "$(dirname "$dst")"
  rsync -aHAXS --numeric-ids "$SRC/" "$ref/"
  # rsync -H creates some hard links after it has set their directory's mtime, and sometimes
  # leaves a symlink's own mtime at its creation (both seen with rsync 3.2.7 under load); give
  # the reference SRC's directory and symlink times, so the comparison is about our copy.
  (cd "$SRC" && find . \( -type d -o -type l \) -print0) |
    while IFS= read -r -d '' d; do touch -h -r "$SRC/$d" "$ref/$d"; done
  assert_same_trees "$ref" "$dst" "$2: rsync copy vs ours"
  assert_same_trees "$dst" "$ref" "$2: ours vs rsync copy"
  # Sparse files stay sparse (allocated far below apparent size), like rsync -S.
  local alloc; alloc=$(du -B1 "$dst/a/sparse" | cut -f1)
  [[ $alloc -lt 1048576 ]] || fail "$2: a/sparse allocates $alloc bytes"
  alloc=$(du -B1 "$dst/a/trailing-hole" | cut -f1)
  [[ $alloc -lt 1048576 ]] || fail "$2: a/trailing-hole allocates $alloc bytes"
  assert_eq 10485760 "$(stat -c %s "$dst/a/trailing-hole")" "$2: trailing hole keeps the size"
  assert_eq "$(stat -c %h "$SRC/b/h2")" "$(stat -c %h "$dst/b/h2")" "$2: names of one inode"
  assert_eq "$(stat -c %i "$dst/a/h1")" "$(stat -c %i "$dst/b/h2")" "$2: hardlinks share the inode"
  assert_eq "4755 1234:5678" "$(stat -c '%a %u:%g' "$dst/a/suid")" "$2: setuid survives chown"
  assert_eq "$(getfacl -p "$SRC/acl" 2>/dev/null | tail -n +2)" "$(getfacl -p "$dst/acl" 2>/dev/null | tail -n +2)" "$2: default ACL"
  [[ -p $dst/special/fifo && -S $dst/special/sock && -c $dst/special/null ]] || fail "$2: special files"
  assert_eq "1,3" "$(stat -c '%t,%T' "$dst/special/null")" "$2: device numbers"
  [[ -z $(find "$dst" -name '.wsdedup-tmp.*') ]] || fail "$2: temp names left"
}

mig() { # json-file args...
  local out=$1; shift
  local rc=0
  "$WSDEDUP" migrate "$@" --audit-log "$TESTDIR/audit.jsonl" --json >"$out" 2>"$out.err" || rc=$?
  echo "$rc"
}

test_copy_into_ext4_matches_rsync() {
  make_tree "$SRC"
  local rc; rc=$(mig "$TESTDIR/m1.json" "$SRC" --to "$TESTDIR/dst")
  assert_eq 0 "$rc" "migrate exit code ($(cat "$TESTDIR/m1.json.err"))"
  assert_eq wsdedup.migrate/1 "$(json .schema "$TESTDIR/m1.json")" "schema"
  assert_eq true "$(json .verify.identical "$TESTDIR/m1.json")" "migrate's own verify"
  assert_eq false "$(json .switched "$TESTDIR/m1.json")" "no switch-over without --apply"
  assert_eq 2 "$(json '.passes[0].links' "$TESTDIR/m1.json")" "two extra names linked"
  check_copy "$TESTDIR/dst" ext4
  grep -q '"command":"migrate"' "$TESTDIR/audit.jsonl" || fail "audit log written"
}

test_rerun_copies_nothing() {
  local rc; rc=$(mig "$TESTDIR/m2.json" "$SRC" --to "$TESTDIR/dst")
  assert_eq 0 "$rc" "re-run exit code"
  local p='.passes[0]'
  assert_eq "0 0 0 0 0 0 0" "$(json "[$p.files_copied, $p.links, $p.specials_created, $p.metadata_fixed, $p.removed, $p.dirs_created, $p.dirs_metadata] | join(\" \")" "$TESTDIR/m2.json")" "nothing to do on an unchanged tree"
  assert_eq "$(json "$p.src_entries" "$TESTDIR/m2.json")" "$(json "$p.unchanged" "$TESTDIR/m2.json")" "every entry unchanged"
}

test_changes_between_runs() {
  echo more >>"$SRC/a/small"                    # content + size + mtime
  rm "$SRC/a/big"; rm -r "$SRC/a/deep"          # removed file and directory (with a link name)
  echo new >"$SRC/b/new"                        # added
  chmod 0640 "$SRC/a/xattr"                     # metadata only
  setfattr -x user.color "$SRC/a/xattr"
  rm "$SRC/special/rel"; ln -s ../b/new "$SRC/special/rel"   # retargeted symlink
  mkdir "$TESTDIR/dst/a/.wsdedup-tmp.99999.1" 2>/dev/null || true
  local rc; rc=$(mig "$TESTDIR/m3.json" "$SRC" --to "$TESTDIR/dst")
  assert_eq 0 "$rc" "exit code after changes ($(cat "$TESTDIR/m3.json.err"))"
  local p='.passes[0]'
  assert_eq 2 "$(json "$p.files_copied" "$TESTDIR/m3.json")" "a/small and b/new copied"
  assert_eq 1 "$(json "$p.metadata_fixed" "$TESTDIR/m3.json")" "a/xattr fixed in place"
  assert_eq 3 "$(json "$p.removed" "$TESTDIR/m3.json")" "a/big, a/deep, a stray name removed"
  check_copy "$TESTDIR/dst" "ext4 after changes"
}

test_interrupted_copy_resumes() {
  local pd=$TESTDIR/pause dst=$TESTDIR/dst-kill
  mkdir -p "$pd"
  WSDEDUP_PAUSE_AT=migrate.copied:a/small WSDEDUP_PAUSE_DIR=$pd \
    "$WSDEDUP" migrate "$SRC" --to "$dst" --audit-log "$TESTDIR/audit.jsonl" -j 1 >/dev/null 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null && [[ ! -e $pd/migrate.copied.reached ]]; do sleep 0.01; done
  [[ -e $pd/migrate.copied.reached ]] || fail "pause point not reached"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  # a/ was created by this pass: its files are written under their names, and a file killed
  # before its metadata was set does not carry SRC's mtime, so the next pass redoes it.
  [[ -e $dst/a/small ]] || fail "a/small is written under its name in a directory the pass created"
  [[ $(stat -c %.9Y "$dst/a/small") != $(stat -c %.9Y "$SRC/a/small") ]] || fail "a killed copy has SRC's mtime"
  local rc; rc=$(mig "$TESTDIR/m4.json" "$SRC" --to "$dst")
  assert_eq 0 "$rc" "resumed run ($(cat "$TESTDIR/m4.json.err"))"
  [[ $(json '.passes[0].files_copied' "$TESTDIR/m4.json") -ge 1 ]] || fail "the killed file is copied again"
  check_copy "$dst" "resumed"
  # Replacing a file of an existing directory goes through a temp name: killed before the
  # rename, the old file is intact and the temp name is removed by the next run.
  local old; old=$(cat "$SRC/a/small")
  echo "small, changed" >"$SRC/a/small"
  rm -f "$pd"/*
  WSDEDUP_PAUSE_AT=migrate.copied:a/small WSDEDUP_PAUSE_DIR=$pd \
    "$WSDEDUP" migrate "$SRC" --to "$dst" --audit-log "$TESTDIR/audit.jsonl" -j 1 >/dev/null 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && [[ ! -e $pd/migrate.copied.reached ]]; do sleep 0.01; done
  [[ -e $pd/migrate.copied.reached ]] || fail "pause point not reached (second run)"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  assert_eq "$old" "$(cat "$dst/a/small")" "killed before the rename: the old a/small is intact"
  local temps; temps=$(find "$dst" -name '.wsdedup-tmp.*' | wc -l)
  [[ $temps -ge 1 ]] || fail "the kill should leave a temp name"
  rc=$(mig "$TESTDIR/m4b.json" "$SRC" --to "$dst")
  assert_eq 0 "$rc" "resumed run ($(cat "$TESTDIR/m4b.json.err"))"
  assert_eq "$temps" "$(json '.passes[0].temps_removed' "$TESTDIR/m4b.json")" "temp names recognised and removed"
  check_copy "$dst" "resumed after the rename kill"
  printf '%s\n' "$old" >"$SRC/a/small"
}

test_copy_into_xfs() {
  need_cmd mkfs.xfs "apt-get install xfsprogs"
  local img=$TESTDIR/xfs.img mnt=$TESTDIR/xfs
  truncate -s 400M "$img"; mkfs.xfs -q "$img"; mkdir -p "$mnt"
  mount -o loop "$img" "$mnt" || skip "cannot loop-mount XFS"
  at_exit "umount '$mnt' 2>/dev/null"
  local rc; rc=$(mig "$TESTDIR/m5.json" "$SRC" --to "$mnt/copy")
  assert_eq 0 "$rc" "migrate into XFS ($(cat "$TESTDIR/m5.json.err"))"
  check_copy "$mnt/copy" xfs
  # XFS -> XFS on one filesystem goes through copy_file_range (a reflink there).
  rc=$(mig "$TESTDIR/m6.json" "$mnt/copy" --to "$mnt/copy2")
  assert_eq 0 "$rc" "migrate within XFS"
  [[ $(json '.passes[0].kernel_copies' "$TESTDIR/m6.json") -gt 0 ]] || fail "copy_file_range used within XFS"
  assert_same_trees "$mnt/copy" "$mnt/copy2" "xfs to xfs"
  umount "$mnt"
}

test_dry_run_touches_nothing() {
  echo '{"schema":"wsdedup.estimate/1","model":{"recordsize":131072,"compression":"lz4"},"ddt":{"dedup_ratio":1.5,"compress_ratio":2.0,"ram_bytes":{"legacy":123456,"fast_dedup":65432}},"after_bytes":1000}' >"$TESTDIR/plan.json"
  local out
  out=$("$WSDEDUP" migrate "$SRC" --to "$TESTDIR/never" --apply --dry-run --stop-cmd 'touch /never' --fstab "$TESTDIR/fstab-never" --plan "$TESTDIR/plan.json")
  [[ ! -e $TESTDIR/never && ! -e $TESTDIR/fstab-never ]] || fail "dry run touched something"
  assert_contains "$out" "dedup 1.50x" "expected ratio from --plan"
  assert_contains "$out" "DDT RAM legacy" "DDT RAM from --plan"
  assert_contains "$out" "mount --bind $TESTDIR/never $SRC" "bind mount step"
  assert_contains "$out" "x-systemd.requires-mounts-for=$TESTDIR/never" "fstab line"
  local files; files=$(find "$SRC" -type f | sort -u | wc -l)
  out=$("$WSDEDUP" migrate "$SRC" --to "$TESTDIR/never" --dry-run --json)
  assert_eq "$(du -s -B1 --apparent-size "$SRC" | cut -f1)" "$(json .src_usage.logical_bytes <<<"$out")" "logical bytes from the scan"
  out=$("$WSDEDUP" migrate "$SRC" --to "$TESTDIR/never" --dry-run)
  assert_contains "$out" "wsdedup estimate" "points at estimate without --plan"
  [[ $files -gt 0 ]] || fail "tree has files"
}

# The --apply flow inside a private mount namespace: nothing reaches the host's mounts.
apply_in_namespace() { # script
  unshare -m --propagation private bash -c "$1"
}

test_two_phase_apply_with_switch_over() {
  local src=$TESTDIR/live dst=$TESTDIR/live-copy fstab=$TESTDIR/fstab
  make_tree "$src"
  printf '# scratch fstab\nUUID=x / ext4 defaults 0 1\n/stale %s none bind 0 0\n' "$src" >"$fstab"
  cat >"$TESTDIR/stop.sh" <<EOS
#!/bin/sh
# The service's last writes land between the bulk copy and the final pass.
echo late >>"$src/a/small"
echo created-at-stop >"$src/b/late"
rm "$src/a/big"
touch "$TESTDIR/stopped"
EOS
  chmod +x "$TESTDIR/stop.sh"
  apply_in_namespace "
    set -e
    rc=0
    '$WSDEDUP' migrate '$src' --to '$dst' --apply --stop-cmd '$TESTDIR/stop.sh' \
      --start-cmd 'touch $TESTDIR/started' --fstab '$fstab' --audit-log '$TESTDIR/audit.jsonl' --json \
      >'$TESTDIR/apply.json' 2>'$TESTDIR/apply.err' || rc=\$?
    echo \$rc >'$TESTDIR/apply.rc'
    # Inside the namespace: SRC is now the copy.
    stat -c %d:%i '$src' >'$TESTDIR/src-inode'
    stat -c %d:%i '$dst' >'$TESTDIR/dst-inode'
    cat '$src/b/late' >'$TESTDIR/late-through-mount'
    findmnt -n -o TARGET --target '$src' >'$TESTDIR/findmnt' || true
  "
  assert_eq 0 "$(cat "$TESTDIR/apply.rc")" "apply exit code ($(cat "$TESTDIR/apply.err"))"
  [[ -e $TESTDIR/stopped && -e $TESTDIR/started ]] || fail "stop and start commands ran"
  assert_eq true "$(json .switched "$TESTDIR/apply.json")" "switched"
  assert_eq true "$(json .verify.identical "$TESTDIR/apply.json")" "verify after the final pass"
  assert_eq 2 "$(json '.passes | length' "$TESTDIR/apply.json")" "bulk and final pass"
  assert_eq 2 "$(json '.passes[1].files_copied' "$TESTDIR/apply.json")" "final pass copies only what changed"
  assert_eq 1 "$(json '.passes[1].removed' "$TESTDIR/apply.json")" "final pass removes what SRC lost"
  assert_eq "$(cat "$TESTDIR/dst-inode")" "$(cat "$TESTDIR/src-inode")" "SRC is a bind mount of the copy"
  assert_eq "created-at-stop" "$(cat "$TESTDIR/late-through-mount")" "the last write is in the copy"
  assert_eq "$src" "$(cat "$TESTDIR/findmnt")" "a mount on SRC inside the namespace"
  # Outside the namespace the host saw no mount: SRC is the empty mount point dir.
  [[ -z $(ls -A "$src") ]] || fail "host sees the bind mount"
  local old; old=$(json -r .old_path "$TESTDIR/apply.json")
  [[ $old == "$src.wsdedup-old-"* && -e $old/a/small ]] || fail "SRC moved aside to $old"
  assert_eq "$(stat -c '%a %u:%g' "$old")" "$(stat -c '%a %u:%g' "$src")" "mount point has SRC's owner and mode"
  # fstab: the stale line for SRC replaced (not duplicated), backup kept.
  assert_eq 1 "$(grep -c " $src " "$fstab")" "one fstab line for SRC"
  assert_contains "$(cat "$fstab")" "$dst $src none bind,x-systemd.requires-mounts-for=$dst 0 0" "fstab line"
  assert_contains "$(cat "$fstab")" "UUID=x / ext4" "other lines kept"
  assert_contains "$(cat "$(json -r .fstab_backup "$TESTDIR/apply.json")")" "/stale $src" "backup holds the old fstab"
  grep -q '"action":"bind_mount","phase":"after"' "$TESTDIR/audit.jsonl" || fail "bind mount audited"
  grep -q '"action":"fstab","phase":"before"' "$TESTDIR/audit.jsonl" || fail "fstab edit audited"
}

test_verify_failure_refuses_switch_over() {
  local src=$TESTDIR/vf dst=$TESTDIR/vf-copy pd=$TESTDIR/pause-vf fstab=$TESTDIR/fstab-vf
  mkdir -p "$src/x" "$pd"; echo one >"$src/x/f"; echo '# empty' >"$fstab"
  WSDEDUP_PAUSE_AT=migrate.verify WSDEDUP_PAUSE_DIR=$pd apply_in_namespace "
    '$WSDEDUP' migrate '$src' --to '$dst' --apply --stop-cmd true --start-cmd 'touch $TESTDIR/vf-started' \
      --fstab '$fstab' --audit-log '$TESTDIR/audit.jsonl' --json >'$TESTDIR/vf.json' 2>'$TESTDIR/vf.err'
    echo \$? >'$TESTDIR/vf.rc'" &
  local pid=$!
  # The first pause is the final pass's verify: change SRC behind migrate's back.
  while kill -0 "$pid" 2>/dev/null && [[ ! -e $pd/migrate.verify.reached ]]; do sleep 0.01; done
  echo changed-after-final-pass >"$src/x/f"
  touch "$pd/migrate.verify.go"
  wait "$pid" || true
  assert_eq 2 "$(cat "$TESTDIR/vf.rc")" "exit 2 when verify finds a difference"
  assert_contains "$(json -r .failure "$TESTDIR/vf.json")" "switch-over refused" "failure names the refusal"
  assert_eq false "$(json .switched "$TESTDIR/vf.json")" "not switched"
  [[ -e $TESTDIR/vf-started ]] || fail "start command must run after a failure"
  [[ -z $(ls -d "$src".wsdedup-old-* 2>/dev/null) && -e $src/x/f ]] || fail "SRC left in place"
  assert_eq "# empty" "$(cat "$fstab")" "fstab untouched"
}

test_busy_src_refuses_switch_over() {
  local src=$TESTDIR/busy dst=$TESTDIR/busy-copy
  mkdir -p "$src/d"; echo x >"$src/d/f"
  (cd "$src/d" && exec sleep 60) &
  local sleeper=$!
  at_exit "kill $sleeper 2>/dev/null"
  apply_in_namespace "
    '$WSDEDUP' migrate '$src' --to '$dst' --apply --start-cmd 'touch $TESTDIR/busy-started' --no-fstab \
      --audit-log '$TESTDIR/audit.jsonl' >'$TESTDIR/busy.out' 2>'$TESTDIR/busy.err'
    echo \$? >'$TESTDIR/busy.rc'"
  kill "$sleeper" 2>/dev/null || true
  assert_eq 2 "$(cat "$TESTDIR/busy.rc")" "exit 2 while SRC is in use"
  assert_contains "$(cat "$TESTDIR/busy.err")" "pid $sleeper (sleep, cwd)" "names the process"
  [[ -e $TESTDIR/busy-started ]] || fail "start command ran"
  [[ -e $src/d/f && -z $(ls -d "$src".wsdedup-old-* 2>/dev/null) ]] || fail "SRC left in place"
}

run_test test_copy_into_ext4_matches_rsync
run_test test_rerun_copies_nothing
run_test test_changes_between_runs
run_test test_interrupted_copy_resumes
run_test test_copy_into_xfs
run_test test_dry_run_touches_nothing
run_test test_two_phase_apply_with_switch_over
run_test test_verify_failure_refuses_switch_over
run_test test_busy_src_refuses_switch_over
finish
