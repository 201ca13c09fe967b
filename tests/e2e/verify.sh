#!/usr/bin/env bash
# verify SRC DST: real copies (cp -a, rsync -aHX, cp -r), then every kind of difference one
# at a time, unreadable files (exit 2), odd names.
source "$(dirname "$0")/lib.sh"

# A base tree: gentree's workspaces plus hardlinks, symlinks, xattrs, an ACL, a sparse file.
make_base() {
  local d=$1
  gentree "$d" --workspaces 3 >/dev/null
  mkdir -p "$d/extra/sub"
  echo "linked content" >"$d/extra/h1"
  ln "$d/extra/h1" "$d/extra/h2"
  ln "$d/extra/h1" "$d/extra/sub/h3"
  echo "twin" >"$d/extra/twin1"
  echo "twin" >"$d/extra/twin2"
  head -c 100000 /dev/urandom >"$d/extra/big"
  ln -s ../big "$d/extra/sub/link"
  echo attrs >"$d/extra/attrs"
  setfattr -n user.origin -v base "$d/extra/attrs"
  setfacl -m u:1234:r "$d/extra/attrs"
  truncate -s 10M "$d/extra/sparse"
  printf 'tail' >>"$d/extra/sparse"
  echo 12345678 >"$d/extra/same-size"
  # Times an hour back: rsync skips setting a time whose second equals the copy's own
  # (a real rsync gap verify would report), which a fresh tree would trip over.
  find "$d" -exec touch -h -d "@$(($(date +%s) - 3600)).123456789" {} +
}

BASE=""
setup_base() {
  [[ -n $BASE ]] && return 0
  need_cmd setfattr "attr"; need_cmd setfacl "acl"
  BASE=$TESTDIR/base
  make_base "$BASE"
}

# Arguments every vrun adds (the suites below run once with the catalog, once without).
VERIFY_ARGS=()

# Runs verify and stores exit code, JSON and stderr: vrun DIR [args...]
vrun() {
  local dst=$1
  shift
  RC=0
  OUT=$("$WSDEDUP" verify "$BASE" "$dst" --json "${VERIFY_ARGS[@]}" "$@" 2>"$TESTDIR/stderr") || RC=$?
  ERR=$(cat "$TESTDIR/stderr")
}

test_real_copies() {
  setup_base
  need_cmd rsync
  cp -a "$BASE" "$TESTDIR/cp-a"
  vrun "$TESTDIR/cp-a" --metadata
  assert_eq 0 "$RC" "cp -a copy is identical, metadata included ($ERR $(json '.differences' <<<"$OUT"))"
  assert_eq true "$(json .identical <<<"$OUT")" "identical flag"
  [[ $(json .total.files_hashed <<<"$OUT") -gt 10 ]] || fail "files were read"
  [[ $(json .total.hardlinked_paths <<<"$OUT") -ge 3 ]] || fail "hardlinks were seen"

  rsync -aHAX "$BASE/" "$TESTDIR/rsync/"
  vrun "$TESTDIR/rsync" --metadata
  assert_eq 0 "$RC" "rsync -aHAX copy is identical ($(json '.differences' <<<"$OUT"))"

  # rsync -aH without -AX: contents identical, xattrs and the ACL lost.
  rsync -aH "$BASE/" "$TESTDIR/rsync-noX/"
  vrun "$TESTDIR/rsync-noX"
  assert_eq 0 "$RC" "rsync -aH: same content and structure"
  vrun "$TESTDIR/rsync-noX" --metadata
  assert_eq 1 "$RC" "rsync -aH lost xattrs"
  assert_contains "$(json '.differences[] | select(.path=="extra/attrs") | .details[]' <<<"$OUT")" \
    "user.origin only in SRC" "the xattr is named"
  assert_contains "$(json '.differences[] | select(.path=="extra/attrs") | .details[]' <<<"$OUT")" \
    "system.posix_acl_access only in SRC" "the ACL is named"

  # cp -r loses hardlinks (and metadata): verify must say so.
  cp -r "$BASE" "$TESTDIR/cp-r"
  vrun "$TESTDIR/cp-r"
  assert_eq 1 "$RC" "cp -r is not identical"
  assert_eq "hardlinks" "$(json '[.differences[].reasons[]] | unique | join(",")' <<<"$OUT")" \
    "without --metadata only the hardlinks differ"
  assert_contains "$(json '.differences[] | select(.path=="extra/h1") | .details[0]' <<<"$OUT")" \
    'hardlinked in SRC with "extra/h2", "extra/sub/h3", not in DST' "split named"
  local human
  human=$("$WSDEDUP" verify "$BASE" "$TESTDIR/cp-r" 2>&1) || true
  assert_contains "$human" 'different  extra/h2: hardlinks: hardlinked in SRC with "extra/h1"' "human line"
  assert_contains "$human" "NOT identical" "human summary"
}

# Makes a fresh cp -a copy, applies "$@" inside it (a shell snippet), prints its path.
mutated_copy() {
  local name=$1 snippet=$2
  local d=$TESTDIR/case-$name
  rm -rf "$d"
  cp -a "$BASE" "$d"
  (cd "$d" && eval "$snippet")
  echo "$d"
}

# expect_one NAME SNIPPET PATH KIND REASON [verify args]: exactly one difference.
expect_one() {
  local name=$1 snippet=$2 path=$3 kind=$4 reason=$5
  shift 5
  local d
  d=$(mutated_copy "$name" "$snippet")
  vrun "$d" "$@"
  assert_eq 1 "$RC" "$name: exit code ($ERR)"
  assert_eq 1 "$(json '.differences | length' <<<"$OUT")" "$name: one difference: $(json -c .differences <<<"$OUT")"
  assert_eq "$path" "$(json '.differences[0].path' <<<"$OUT")" "$name: path"
  assert_eq "$kind" "$(json '.differences[0].kind' <<<"$OUT")" "$name: kind"
  assert_eq "$reason" "$(json '.differences[0].reasons | join(",")' <<<"$OUT")" "$name: reason"
  assert_eq 0 "$(json '.errors | length' <<<"$OUT")" "$name: no errors"
}

test_each_difference() {
  setup_base
  expect_one missing 'rm extra/twin1' extra/twin1 missing ""
  expect_one missing-dir 'rm -r extra/sub' extra/sub missing ""
  assert_eq 2 "$(json '.differences[0].entries_below' <<<"$OUT")" "entries under the missing dir"
  expect_one extra 'echo new >extra/new' extra/new extra ""
  expect_one type 'rm extra/twin1 && mkdir extra/twin1' extra/twin1 different type
  expect_one size 'echo more >>extra/big' extra/big different size
  expect_one content 'printf X | dd of=extra/same-size bs=1 seek=3 conv=notrunc status=none && touch -r extra/twin2 extra/same-size' \
    extra/same-size different content
  expect_one content-sparse 'printf X | dd of=extra/sparse bs=1 seek=5000000 conv=notrunc status=none' \
    extra/sparse different content
  expect_one symlink 'ln -sfn ../twin1 extra/sub/link && touch -h -r "'"$BASE"'/extra/sub/link" extra/sub/link' \
    extra/sub/link different symlink_target
  # Splitting one name off a 3-name inode: every name of it is told, once each.
  local d
  d=$(mutated_copy hardlink-split 'cp --preserve=all extra/sub/h3 extra/sub/h3.tmp && mv extra/sub/h3.tmp extra/sub/h3')
  vrun "$d"
  assert_eq 1 "$RC" "split: exit code"
  assert_eq "extra/h1,extra/h2,extra/sub/h3" "$(json '[.differences[].path] | join(",")' <<<"$OUT")" "split names"
  assert_eq "hardlinks" "$(json '[.differences[].reasons[]] | unique | join(",")' <<<"$OUT")" "split reasons"
  assert_eq 'hardlinked in SRC with "extra/h1", "extra/h2", not in DST' "$(json '.differences[2].details[0]' <<<"$OUT")" "split detail"
  # Joining two separate names changes both: each gets one difference.
  d=$(mutated_copy hardlink-joined 'ln -f extra/twin1 extra/twin2')
  vrun "$d"
  assert_eq 1 "$RC" "joined: exit code"
  assert_eq "extra/twin1,extra/twin2" "$(json '[.differences[].path] | join(",")' <<<"$OUT")" "joined pair"
  assert_eq "hardlinks,hardlinks" "$(json '[.differences[].reasons[]] | join(",")' <<<"$OUT")" "joined reasons"
  assert_eq 'hardlinked in DST with "extra/twin2", not in SRC' "$(json '.differences[0].details[0]' <<<"$OUT")" "joined detail"
}

# Without a catalog, regular files are stat'ed where they are opened (not in the listing):
# the same differences, sizes and hardlink splits included, must be found that way.
test_each_difference_without_catalog() {
  VERIFY_ARGS=(--no-catalog)
  test_each_difference
  local d
  d=$(mutated_copy bigger 'head -c 20000000 /dev/urandom >extra/large && cp -a extra/large extra/large2')
  vrun "$d"
  assert_eq 1 "$RC" "new files are extra"
  cp -a "$d" "$TESTDIR/bigger-copy"
  printf X | dd of="$TESTDIR/bigger-copy/extra/large2" bs=1 seek=15000000 conv=notrunc status=none
  RC=0
  OUT=$("$WSDEDUP" verify "$d" "$TESTDIR/bigger-copy" --json --no-catalog 2>"$TESTDIR/stderr") || RC=$?
  assert_eq 1 "$RC" "a large file (compared after its stat) differs ($(cat "$TESTDIR/stderr"))"
  assert_eq "extra/large2" "$(json '[.differences[].path] | join(",")' <<<"$OUT")" "the large file, only"
  assert_eq content "$(json '.differences[0].reasons | join(",")' <<<"$OUT")" "by content"
  VERIFY_ARGS=()
}

test_real_copies_without_catalog() {
  VERIFY_ARGS=(--no-catalog)
  rm -rf "$TESTDIR/cp-a" "$TESTDIR/rsync" "$TESTDIR/rsync-noX" "$TESTDIR/cp-r"
  test_real_copies
  VERIFY_ARGS=()
}

test_metadata_differences() {
  setup_base
  expect_one mode 'chmod 0600 extra/twin1' extra/twin1 different mode --metadata
  expect_one owner 'chown 1234 extra/twin1' extra/twin1 different owner --metadata
  expect_one group 'chgrp 1234 extra/twin1' extra/twin1 different group --metadata
  expect_one mtime 'touch -d "2001-02-03 04:05:06" extra/twin1' extra/twin1 different mtime --metadata
  expect_one xattr 'setfattr -n user.origin -v copy extra/attrs' extra/attrs different xattrs --metadata
  expect_one acl 'setfacl -x u:1234 extra/attrs && setfacl -m u:4321:r extra/attrs' extra/attrs different xattrs --metadata
  # Without --metadata the same copies are identical.
  vrun "$TESTDIR/case-mtime"
  assert_eq 0 "$RC" "mtime ignored without --metadata"
  vrun "$TESTDIR/case-owner"
  assert_eq 0 "$RC" "owner ignored without --metadata"
}

test_unreadable_file_is_an_error() {
  need_cmd setpriv "util-linux"
  [[ $(id -u) -eq 0 ]] || skip "needs root to run as another user (setpriv)"
  local d=$TESTDIR/perm
  mkdir -p "$d/src" "$d/dst"
  echo secret >"$d/src/locked"; echo secret >"$d/dst/locked"
  echo open >"$d/src/open"; echo open >"$d/dst/open"
  chmod 0711 "$TESTDIR"
  chmod -R a+rX "$d"
  chmod 000 "$d/dst/locked"
  local rc=0 err mode
  for mode in default --no-catalog; do
    local args=()
    [[ $mode == default ]] || args=("$mode")
    rc=0
    err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$WSDEDUP" verify "$d/src" "$d/dst" --json "${args[@]}" 2>&1 >"$TESTDIR/perm.json") || rc=$?
    assert_eq 2 "$rc" "an unreadable file is an error, not a match ($mode)"
    assert_contains "$err" "open(\"$d/dst/locked\"): Permission denied" "error names op and path ($mode)"
    assert_eq false "$(json .identical <"$TESTDIR/perm.json")" "not identical ($mode)"
    assert_eq "$d/dst/locked" "$(json '.errors[0].path' <"$TESTDIR/perm.json")" "error path in JSON ($mode)"
    assert_eq 1 "$(json '.errors | length' <"$TESTDIR/perm.json")" "one error ($mode)"
  done
  # Root reads it: identical.
  rc=0; "$WSDEDUP" verify "$d/src" "$d/dst" >/dev/null || rc=$?
  assert_eq 0 "$rc" "root can read it: identical"
}

test_odd_names_and_excludes() {
  local d=$TESTDIR/odd
  mkdir -p "$d/src/$(printf 'new\nline')" "$d/src/$(printf 'bad\xff')" "$d/src/a" "$d/src/a-b"
  echo 1 >"$d/src/$(printf 'new\nline')/f"; echo 2 >"$d/src/$(printf 'bad\xff')/f"
  echo 3 >"$d/src/a/f"; echo 4 >"$d/src/a-b/f"
  cp -a "$d/src" "$d/dst"
  rm "$d/dst/$(printf 'bad\xff')/f"
  echo changed >"$d/dst/a-b/f"
  mkdir "$d/dst/cache"; echo junk >"$d/dst/cache/x"
  local rc=0 out
  out=$("$WSDEDUP" verify "$d/src" "$d/dst" --json --exclude cache) || rc=$?
  assert_eq 1 "$rc" "differences found"
  assert_eq "a-b/f" "$(json '.differences[0].path' <<<"$out")" "first difference"
  assert_eq "$(printf 'bad\xff/f' | base64)" "$(json '.differences[1].path.bytes_b64' <<<"$out")" "invalid UTF-8 path as bytes_b64"
  assert_eq 2 "$(json '.differences | length' <<<"$out")" "cache excluded"
  out=$("$WSDEDUP" verify "$d/src" "$d/dst" --exclude cache) || true
  assert_contains "$out" 'missing    bad\xff/f' "escaped in human output"
  # The same tree against itself: every file is its own pair's other side, nothing is read
  # (with the catalog, and without it, where the inode is known only once both are open).
  rc=0; "$WSDEDUP" verify "$d/src" "$d/src" >/dev/null || rc=$?
  assert_eq 0 "$rc" "a tree equals itself"
  rc=0; out=$("$WSDEDUP" verify "$d/src" "$d/src" --no-catalog --json) || rc=$?
  assert_eq 0 "$rc" "a tree equals itself without the catalog"
  assert_eq 0 "$(json .total.files_hashed <<<"$out")" "one inode on both sides: not read"
  rc=0; "$WSDEDUP" verify "$d/src" "$d/nonexistent" >/dev/null 2>&1 || rc=$?
  assert_eq 2 "$rc" "a missing root is fatal"
}

run_test test_real_copies
run_test test_each_difference
run_test test_each_difference_without_catalog
run_test test_real_copies_without_catalog
run_test test_metadata_differences
run_test test_unreadable_file_is_an_error
run_test test_odd_names_and_excludes
finish
