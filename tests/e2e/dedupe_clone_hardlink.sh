#!/usr/bin/env bash
# --mode clone on btrfs and XFS (each path a private copy-on-write file with its own
# metadata), --mode hardlink on ext4 (invariants 3 and 4, journal, --undo), and the hostile
# cases: open for writing (lease refused), modified between hashing and sharing, different
# metadata, chattr +i, a directory swapped for a symlink mid-run, read-only filesystem.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dedupe_lib.bash"
need_root "loop-mounted images, leases on other users' files"

make_set() { # dir: a small tree with duplicates and varied metadata
  local d=$1
  mkdir -p "$d/w1/lib" "$d/w2/lib" "$d/w3/lib"
  head -c 300000 /dev/urandom >"$d/w1/lib/a.bin"
  head -c 200000 /dev/urandom >"$d/w1/lib/b.bin"
  for w in w2 w3; do cp --reflink=never -p "$d/w1/lib/a.bin" "$d/w1/lib/b.bin" "$d/$w/lib/"; done
  chown 1234:5678 "$d/w3/lib/a.bin"; chmod 600 "$d/w3/lib/a.bin"
  setfattr -n user.tag -v hello "$d/w3/lib/a.bin" 2>/dev/null || true
  touch -d '2020-01-02 03:04:05' "$d/w3/lib/a.bin"
}

test_clone_mode() {
  local kind
  for kind in btrfs xfs; do
    local mnt=$TESTDIR/clone-$kind
    mount_image "$kind" 300M "$mnt"
    make_set "$mnt/t"
    sync
    local before meta_before free_before
    before=$(content_hashes "$mnt/t")
    meta_before=$(cd "$mnt/t" && find . -type f -printf '%p %m %U %G %T@\n' | sort)
    local xattr_before; xattr_before=$(getfattr -n user.tag --only-values "$mnt/t/w3/lib/a.bin" 2>/dev/null || true)
    free_before=$(free_bytes "$mnt")
    dd_run "$TESTDIR/clone-$kind.json" "$mnt/t" --mode clone
    local out=$TESTDIR/clone-$kind.json
    assert_eq 4 "$(json .total.files_shared "$out")" "$kind: 4 copies cloned ($(json -c .skipped "$out"))"
    assert_eq "$before" "$(content_hashes "$mnt/t")" "$kind: same bytes"
    assert_eq "$meta_before" "$(cd "$mnt/t" && find . -type f -printf '%p %m %U %G %T@\n' | sort)" "$kind: owner, mode, mtime kept"
    assert_eq "$xattr_before" "$(getfattr -n user.tag --only-values "$mnt/t/w3/lib/a.bin" 2>/dev/null || true)" "$kind: xattr kept"
    [[ $(shared_extents "$mnt/t/w3/lib/a.bin") -gt 0 ]] || fail "$kind: shared extents after clone"
    assert_eq 1 "$(stat -c %h "$mnt/t/w2/lib/a.bin")" "$kind: private file, not a hardlink"
    [[ $(( $(free_bytes "$mnt") - free_before )) -gt 600000 ]] || fail "$kind: free space grew"
    # Each path is its own copy-on-write file: writing one leaves the others.
    echo change >>"$mnt/t/w2/lib/a.bin"
    assert_eq "$(sha256sum <"$mnt/t/w1/lib/a.bin")" "$(sha256sum <"$mnt/t/w3/lib/a.bin")" "$kind: others unchanged"
    grep -q '"action":"rename","phase":"done"' "$TESTDIR/audit.jsonl" || fail "renames audit-logged"
    [[ -z $(find "$mnt/t" -name '.wsdedup-tmp.*') ]] || fail "$kind: no temp names left"
  done
}

test_hardlink_mode_and_undo() {
  local d=$TESTDIR/hl   # ext4: the working disk
  make_set "$d"
  mkdir -p "$d/w1/mutable"; head -c 50000 /dev/urandom >"$d/w1/mutable/m"; cp -p "$d/w1/mutable/m" "$d/w2/m-copy"
  local before; before=$(content_hashes "$d")
  local rc=0
  "$WSDEDUP" dedupe "$d" --mode hardlink --audit-log "$TESTDIR/audit.jsonl" >/dev/null 2>&1 || rc=$?
  assert_eq 2 "$rc" "--immutable is required"
  dd_run "$TESTDIR/hl.json" "$d" --mode hardlink --immutable 'lib' --journal "$TESTDIR/hl-journal.jsonl"
  local out=$TESTDIR/hl.json
  # a.bin in w3 differs in owner/mode/mtime/xattr: not linked; m and m-copy not immutable.
  assert_eq 3 "$(json .total.files_shared "$out")" "w2 a.bin, w2 b.bin, w3 b.bin linked"
  assert_eq 3 "$(stat -c %h "$d/w1/lib/b.bin")" "b.bin has 3 names"
  assert_eq 2 "$(stat -c %h "$d/w1/lib/a.bin")" "a.bin has 2 names"
  assert_eq 1 "$(stat -c %h "$d/w3/lib/a.bin")" "different metadata: not linked"
  assert_contains "$(json '.skipped[] | select(.path | endswith("w3/lib/a.bin")) | .reason' "$out")" "different" "reason names the difference"
  assert_eq 1 "$(stat -c %h "$d/w1/mutable/m")" "outside --immutable: not linked"
  assert_eq "$before" "$(content_hashes "$d")" "same bytes after linking"
  assert_eq 3 "$(grep -c '"action":"hardlink"' "$TESTDIR/hl-journal.jsonl")" "journal lines"
  # Second run: nothing to do.
  dd_run "$TESTDIR/hl2.json" "$d" --mode hardlink --immutable 'lib'
  assert_eq 0 "$(json .total.files_shared "$TESTDIR/hl2.json")" "second run links nothing"
  # Undo: every linked path gets its own copy back, bytes and metadata intact.
  local meta; meta=$(cd "$d" && find . -type f -printf '%p %m %U %G %T@\n' | sort)
  "$WSDEDUP" dedupe --undo "$TESTDIR/hl-journal.jsonl" --audit-log "$TESTDIR/audit.jsonl" --json >"$TESTDIR/undo.json"
  assert_eq 3 "$(json .total.restored "$TESTDIR/undo.json")" "3 restored"
  assert_eq 1 "$(stat -c %h "$d/w1/lib/b.bin")" "b.bin alone again"
  assert_eq 1 "$(stat -c %h "$d/w2/lib/a.bin")" "a.bin alone again"
  assert_eq "$before" "$(content_hashes "$d")" "same bytes after undo"
  assert_eq "$meta" "$(cd "$d" && find . -type f -printf '%p %m %U %G %T@\n' | sort)" "metadata after undo"
}

test_open_for_writing_is_skipped() {
  local mode
  for mode in clone hardlink; do
    local mnt=$TESTDIR/open-$mode
    if [[ $mode == clone ]]; then mount_image btrfs 200M "$mnt"; else mkdir -p "$mnt"; fi
    mkdir -p "$mnt/a" "$mnt/b"
    head -c 200000 /dev/urandom >"$mnt/a/f"; cp --reflink=never -p "$mnt/a/f" "$mnt/b/f"
    exec {wfd}>>"$mnt/b/f"     # held open for writing by this shell
    dd_run "$TESTDIR/open-$mode.json" "$mnt" --mode "$mode" --immutable '*'
    exec {wfd}>&-
    assert_eq 0 "$(json .total.files_shared "$TESTDIR/open-$mode.json")" "$mode: nothing replaced"
    assert_eq "open by another process" "$(json '.skipped[0].reason' "$TESTDIR/open-$mode.json")" "$mode: reason"
    assert_eq "$(sha256sum <"$mnt/a/f")" "$(sha256sum <"$mnt/b/f")" "$mode: intact"
  done
}

test_modified_between_hashing_and_sharing() {
  local mode
  for mode in reflink clone hardlink; do
    local mnt=$TESTDIR/mod-$mode
    if [[ $mode == hardlink ]]; then mkdir -p "$mnt"; else mount_image btrfs 200M "$mnt"; fi
    mkdir -p "$mnt/a" "$mnt/b"
    head -c 300000 /dev/urandom >"$mnt/a/f"; cp --reflink=never -p "$mnt/a/f" "$mnt/b/f"
    sync
    local pd; pd=$(mktemp -d "$TESTDIR/pause.XXXX")
    local point=dedupe.before_share:b/f
    [[ $mode == reflink ]] || point=dedupe.leased:b/f
    WSDEDUP_PAUSE_AT=$point WSDEDUP_PAUSE_DIR=$pd "$WSDEDUP" dedupe "$mnt" --mode "$mode" --immutable '*' \
      --audit-log "$TESTDIR/audit.jsonl" --json >"$TESTDIR/mod-$mode.json" &
    local pid=$!
    wait_reached "$pd" "$point"
    if [[ $mode == reflink ]]; then
      # In place, same size and times restored: only the kernel's byte compare can notice.
      local mt; mt=$(stat -c %y "$mnt/b/f")
      printf 'XXXX' | dd of="$mnt/b/f" bs=1 seek=150000 conv=notrunc status=none
      touch -d "$mt" "$mnt/b/f"
    else
      # Under our lease this open blocks until the lease is released (lease break).
      (printf 'XXXX' | dd of="$mnt/b/f" bs=1 seek=150000 conv=notrunc status=none) &
      sleep 0.3
    fi
    local expect; expect=$(sha256sum <"$mnt/a/f")
    touch "$pd/${point%%:*}.go"
    wait "$pid"
    wait
    assert_eq 0 "$(json .total.files_shared "$TESTDIR/mod-$mode.json")" "$mode: not shared"
    assert_eq "$expect" "$(sha256sum <"$mnt/a/f")" "$mode: keeper intact"
    cmp -s "$mnt/a/f" "$mnt/b/f" && fail "$mode: the modification was lost"
    assert_eq 1 "$(stat -c %h "$mnt/b/f")" "$mode: not linked"
    echo "  $mode: $(json '.skipped[0].reason' "$TESTDIR/mod-$mode.json")"
  done
}

test_immutable_attribute_and_readonly() {
  local mnt=$TESTDIR/attr
  mount_image btrfs 200M "$mnt"
  mkdir -p "$mnt/a" "$mnt/b"
  head -c 300000 /dev/urandom >"$mnt/a/f"; cp --reflink=never "$mnt/a/f" "$mnt/b/f"
  chattr +i "$mnt/b/f"; at_exit "chattr -i '$mnt/b/f' 2>/dev/null"
  sync
  dd_run "$TESTDIR/attr-clone.json" "$mnt" --mode clone
  assert_eq 0 "$(json .total.files_shared "$TESTDIR/attr-clone.json")" "clone: immutable file not replaced"
  assert_contains "$(json '.skipped[0].reason' "$TESTDIR/attr-clone.json")" "immutable" "clone reason"
  chattr -i "$mnt/b/f"
  mount -o remount,ro "$mnt"
  local rc=0
  dd_run "$TESTDIR/ro.json" "$mnt" --mode reflink || rc=$?
  assert_eq 0 "$rc" "read-only: a per-file skip, not a crash"
  assert_eq 0 "$(json .total.files_shared "$TESTDIR/ro.json")" "read-only: nothing shared"
  echo "  read-only: $(json -c '[.skipped[].reason, .notes[]]' "$TESTDIR/ro.json")"
  mount -o remount,rw "$mnt"
  assert_eq "$(sha256sum <"$mnt/a/f")" "$(sha256sum <"$mnt/b/f")" "intact"
}

test_directory_swapped_for_symlink() {
  local d=$TESTDIR/swap outside=$TESTDIR/outside
  mkdir -p "$d/a" "$d/b/victim" "$outside"
  head -c 200000 /dev/urandom >"$d/a/f"; cp -p "$d/a/f" "$d/b/victim/f"; cp -p "$d/a/f" "$outside/f"
  local out_before; out_before=$(stat -c '%i %h %Y' "$outside/f")
  local pd; pd=$(mktemp -d "$TESTDIR/pause.XXXX")
  WSDEDUP_PAUSE_AT=dedupe.leased:b/victim/f WSDEDUP_PAUSE_DIR=$pd "$WSDEDUP" dedupe "$d" --mode hardlink \
    --immutable '*' --audit-log "$TESTDIR/audit.jsonl" --json >"$TESTDIR/swap.json" &
  local pid=$!
  wait_reached "$pd" dedupe.leased
  mv "$d/b/victim" "$d/b/victim.moved"
  ln -s "$outside" "$d/b/victim"
  touch "$pd/dedupe.leased.go"
  wait "$pid" || true
  assert_eq "$out_before" "$(stat -c '%i %h %Y' "$outside/f")" "nothing outside the root touched"
  [[ -z $(find "$outside" -name '.wsdedup-tmp.*') ]] || fail "no temp name outside"
  # The directory fd we held is the real directory (now b/victim.moved): any link happened
  # there, inside the root, and the bytes are the same.
  assert_eq "$(sha256sum <"$d/a/f")" "$(sha256sum <"$d/b/victim.moved/f")" "moved file intact"
  [[ -L $d/b/victim ]] || fail "the symlink itself is untouched"
}

run_test test_clone_mode
run_test test_hardlink_mode_and_undo
run_test test_open_for_writing_is_skipped
run_test test_modified_between_hashing_and_sharing
run_test test_immutable_attribute_and_readonly
run_test test_directory_swapped_for_symlink
finish
