#!/usr/bin/env bash
# usage: exact totals against du, categories, workspaces, hardlinks once, thread-independence.
source "$(dirname "$0")/lib.sh"

TREE=$TESTDIR/tree
gentree "$TREE" --workspaces 6 --seed 7 >/dev/null

test_totals_match_du() {
  assert_usage_matches_du "$TREE"
  assert_usage_matches_du "$TREE" --threads 1
  assert_usage_matches_du "$TREE/spec-tasks/task-002"
}

test_file_and_dir_counts_match_find() {
  local out files dirs
  out=$("$WSDEDUP" usage "$TREE" --json)
  # Distinct inodes, as du counts them.
  files=$(find "$TREE" -not -type d -printf '%i\n' | sort -u | wc -l)
  dirs=$(find "$TREE" -type d | wc -l)
  assert_eq "$files" "$(json .total.files <<<"$out")" "files (inodes once)"
  assert_eq "$dirs" "$(json .total.dirs <<<"$out")" "dirs"
}

test_same_result_on_any_thread_count() {
  local a b
  a=$("$WSDEDUP" usage "$TREE" --json --threads 1 | jq -S 'del(.stats)')
  for t in 2 3 8; do
    b=$("$WSDEDUP" usage "$TREE" --json --threads $t | jq -S 'del(.stats)')
    assert_eq "$a" "$b" "JSON with --threads $t vs 1"
  done
}

test_categories_and_counts() {
  local out
  out=$("$WSDEDUP" usage "$TREE" --json --workspaces 'spec-tasks/*')
  assert_eq 6 "$(json '.categories[] | select(.name=="node_modules") | .count' <<<"$out")" "outermost node_modules dirs"
  assert_eq 6 "$(json '.categories[] | select(.name==".git") | .count' <<<"$out")" ".git repos"
  # node_modules bytes equal du of the node_modules folders.
  local nm
  nm=$(du -s -B1 --apparent-size -c "$TREE"/spec-tasks/*/node_modules | tail -1 | cut -f1)
  assert_eq "$nm" "$(json '.categories[] | select(.name=="node_modules") | .logical_bytes' <<<"$out")" "node_modules logical bytes"
  local git
  git=$(du -s -B1 -c "$TREE"/spec-tasks/*/.git | tail -1 | cut -f1)
  assert_eq "$git" "$(json '.categories[] | select(.name==".git") | .allocated_bytes' <<<"$out")" ".git allocated bytes"
}

test_workspaces_glob_and_none_row() {
  local out
  out=$("$WSDEDUP" usage "$TREE" --json --workspaces 'spec-tasks/*')
  assert_eq 6 "$(json '[.workspaces[] | select(.none != true)] | length' <<<"$out")" "workspace rows"
  # task-003 has no cross-workspace hardlink: its row equals du of it.
  assert_eq "$(du_alloc "$TREE/spec-tasks/task-003")" \
    "$(json '.workspaces[] | select(.name=="spec-tasks/task-003") | .allocated_bytes' <<<"$out")" "task-003 allocated"
  # (none) holds the root, spec-tasks/ itself, sessions/ and README.
  local none_dirs
  none_dirs=$(json '.workspaces[] | select(.none == true) | .dirs' <<<"$out")
  assert_eq 4 "$none_dirs" "(none) dirs: root, spec-tasks, sessions, sessions/s1"
  # The sum of all rows is the total.
  assert_eq "$(json '.total.allocated_bytes' <<<"$out")" "$(json '[.workspaces[].allocated_bytes] | add' <<<"$out")" "rows add up"
  # --depth 2 is the same as spec-tasks/* plus sessions/s1.
  out=$("$WSDEDUP" usage "$TREE" --json --depth 2)
  assert_eq 7 "$(json '[.workspaces[] | select(.none != true)] | length' <<<"$out")" "--depth 2 rows"
}

test_hardlinks_counted_once_and_charged_to_smallest_path() {
  local out
  out=$("$WSDEDUP" usage "$TREE" --json --workspaces 'spec-tasks/*')
  # task-000/data.bin is linked from task-000/data-link.bin and task-001/shared-link.bin:
  # charged to spec-tasks/task-000 (the bytewise smallest path), not to task-001.
  local size
  size=$(stat -c %s "$TREE/spec-tasks/task-000/data.bin")
  local t1 t1_du
  t1=$(json '.workspaces[] | select(.name=="spec-tasks/task-001") | .logical_bytes' <<<"$out")
  t1_du=$(du -s -B1 --apparent-size "$TREE/spec-tasks/task-001" | cut -f1)
  assert_eq $((t1_du - size)) "$t1" "task-001 does not pay for the link into task-000"
  [[ $(json '.hardlinks.inodes' <<<"$out") -ge 6 ]] || fail "hardlinked inodes"
}

test_user_category_rules() {
  local out
  out=$("$WSDEDUP" usage "$TREE" --json --category 'build=dist/' --category 'logs=*.log')
  assert_eq 6 "$(json '.categories[] | select(.name=="build") | .count' <<<"$out")" "dist dirs"
  assert_eq "$(du -s -B1 -c "$TREE"/spec-tasks/*/dist | tail -1 | cut -f1)" \
    "$(json '.categories[] | select(.name=="build") | .allocated_bytes' <<<"$out")" "build bytes"
  assert_eq 6 "$(json '.categories[] | select(.name=="logs") | .files' <<<"$out")" "log files"
  assert_eq "$(du_alloc "$TREE")" "$(json .total.allocated_bytes <<<"$out")" "total unchanged by rules"
}

test_exclude() {
  local out expect
  out=$("$WSDEDUP" usage "$TREE" --json --exclude node_modules --exclude '*.log')
  expect=$(du -s -B1 --exclude node_modules --exclude '*.log' "$TREE" | cut -f1)
  assert_eq "$expect" "$(json .total.allocated_bytes <<<"$out")" "matches du --exclude"
  assert_eq 0 "$(json '.categories[] | select(.name=="node_modules") | .files' <<<"$out")" "no node_modules left"
}

test_multiple_roots() {
  local out
  out=$("$WSDEDUP" usage "$TREE/spec-tasks/task-004" "$TREE/spec-tasks/task-005" --json)
  assert_eq "$(du_alloc "$TREE/spec-tasks/task-004" "$TREE/spec-tasks/task-005")" "$(json .total.allocated_bytes <<<"$out")" "two roots"
  # The same root twice counts once.
  out=$("$WSDEDUP" usage "$TREE/sessions" "$TREE/sessions/" --json)
  assert_eq "$(du_alloc "$TREE/sessions")" "$(json .total.allocated_bytes <<<"$out")" "duplicate root"
}

test_human_output() {
  local out
  out=$("$WSDEDUP" usage "$TREE" --workspaces 'spec-tasks/*')
  assert_contains "$out" "6 node_modules dirs" "count column"
  assert_contains "$out" "6 .git repos" "count column"
  assert_contains "$out" "(none)" "none row"
  out=$("$WSDEDUP" usage "$TREE" --bytes)
  assert_contains "$out" "$(du_alloc "$TREE")" "--bytes prints exact numbers"
  out=$("$WSDEDUP" usage "$TREE" --top 2 --workspaces 'spec-tasks/*')
  assert_contains "$out" "the 2 largest" "--top"
}

test_bad_input() {
  local rc=0 err
  err=$("$WSDEDUP" usage "$TESTDIR/missing" 2>&1 >/dev/null) || rc=$?
  assert_eq 2 "$rc" "missing root exits 2"
  assert_contains "$err" "No such file or directory" "message"
  ln -s "$TREE" "$TESTDIR/rootlink"
  rc=0
  err=$("$WSDEDUP" usage "$TESTDIR/rootlink" 2>&1 >/dev/null) || rc=$?
  assert_eq 2 "$rc" "symlink root exits 2"
  assert_contains "$err" "symlink" "message"
  rc=0
  "$WSDEDUP" usage "$TREE" --category nonsense >/dev/null 2>&1 || rc=$?
  assert_eq 2 "$rc" "bad --category exits 2"
  rc=0
  "$WSDEDUP" usage >/dev/null 2>&1 || rc=$?
  assert_eq 2 "$rc" "no root exits 2"
}

run_test test_totals_match_du
run_test test_file_and_dir_counts_match_find
run_test test_same_result_on_any_thread_count
run_test test_categories_and_counts
run_test test_workspaces_glob_and_none_row
run_test test_hardlinks_counted_once_and_charged_to_smallest_path
run_test test_user_category_rules
run_test test_exclude
run_test test_multiple_roots
run_test test_human_output
run_test test_bad_input
finish
