#!/usr/bin/env bash
# `wsdedup report FILE.json` re-renders every schema: a saved usage document prints the same
# text as the usage run; estimate, dupes, dedupe, verify and prune documents print their
# figures (migrate and monitor too); unknown or broken documents exit 2 with a message; and docs/json-schemas.md
# documents every top-level key each command emits.
source "$(dirname "$0")/lib.sh"

need_cmd jq
SCHEMAS="$(dirname "$0")/../../docs/json-schemas.md"
TREE=$TESTDIR/tree

setup() {
  gentree "$TREE" --workspaces 5 --packages 15 --seed 3 >/dev/null
  "$WSDEDUP" usage "$TREE" --json >"$TESTDIR/usage.json"
  "$WSDEDUP" estimate "$TREE" --no-catalog --json >"$TESTDIR/estimate.json"
  "$WSDEDUP" dupes "$TREE" --no-catalog --json >"$TESTDIR/dupes.json"
  "$WSDEDUP" dedupe "$TREE" --dry-run --no-catalog --json >"$TESTDIR/dedupe.json"
  cp -a "$TREE" "$TESTDIR/copy"
  echo changed >>"$(find "$TESTDIR/copy" -type f -name '*.js' | sort | sed -n 1p)"
  "$WSDEDUP" verify "$TREE" "$TESTDIR/copy" --json >"$TESTDIR/verify.json" || true
  "$WSDEDUP" prune "$TREE" --older-than 0s --json >"$TESTDIR/prune.json" || true
  "$WSDEDUP" migrate "$TREE" --to "$TESTDIR/migrated" --audit-log "$TESTDIR/audit.jsonl" --json >"$TESTDIR/migrate.json"
  # A monitor document as a zfs-fuse host writes it (no ARC, no on-disk size: null, not 0);
  # e2e.monitor_zfs checks real ones against zpool/zdb.
  jq -n '{schema: "wsdedup.monitor/1", target: {pool: "tank", dataset: "tank/ws"}, zfs_version: "",
          ddt: {entries: 285, in_core_bytes: 91200, on_disk_bytes: null, dedup_ratio: 1.31, compress_ratio: 1.02},
          arc: {exposed: false}, ram_budget: {bytes: 1073741824, basis: "RAM/8"},
          warnings: [{key: "ram_budget", text: "DDT <over> budget"}], notes: [], status: "warning"}' >"$TESTDIR/monitor.json"
  local k
  for k in usage estimate dupes dedupe verify prune migrate monitor; do
    assert_eq "wsdedup.$k/1" "$(json .schema "$TESTDIR/$k.json")" "$k document saved"
  done
}

test_usage_text_is_the_runs_text() {
  "$WSDEDUP" usage "$TREE" --bytes >"$TESTDIR/usage.txt"
  "$WSDEDUP" report "$TESTDIR/usage.json" --bytes >"$TESTDIR/usage-again.txt"
  diff "$TESTDIR/usage.txt" "$TESTDIR/usage-again.txt" || fail "report re-renders usage differently"
}

test_every_schema_renders() {
  local out
  out=$("$WSDEDUP" report "$TESTDIR/estimate.json" --bytes)
  assert_contains "$out" "$(json .before_bytes "$TESTDIR/estimate.json")" "estimate before bytes"
  assert_contains "$out" "$(json '.alternatives[0].saved_bytes' "$TESTDIR/estimate.json")" "estimate savings"
  assert_contains "$out" "$(json '.recordsizes[0].ddt.ram_bytes.fast_dedup' "$TESTDIR/estimate.json")" "DDT RAM"
  out=$("$WSDEDUP" report "$TESTDIR/dupes.json" --bytes)
  assert_contains "$out" "$(json .total.reclaimable_bytes "$TESTDIR/dupes.json") reclaimable" "dupes total"
  out=$("$WSDEDUP" report "$TESTDIR/dedupe.json" --bytes)
  assert_contains "$out" "$(json .total.bytes_planned "$TESTDIR/dedupe.json") planned" "dedupe planned"
  out=$("$WSDEDUP" report "$TESTDIR/verify.json")
  assert_contains "$out" "$(json .total.differences "$TESTDIR/verify.json") differences" "verify count"
  [[ $(json .total.differences "$TESTDIR/verify.json") -ge 1 ]] || fail "the modified copy must differ"
  out=$("$WSDEDUP" report "$TESTDIR/prune.json" --bytes)
  assert_contains "$out" "$(json .total.selected "$TESTDIR/prune.json") of $(json .total.workspaces "$TESTDIR/prune.json") workspaces selected" "prune summary"
  out=$("$WSDEDUP" report "$TESTDIR/migrate.json" --bytes)
  assert_contains "$out" "copied $(json .files_copied "$TESTDIR/migrate.json") files, $(json .bytes_copied "$TESTDIR/migrate.json")" "migrate totals"
  assert_contains "$out" "verify: identical" "migrate verify"
  out=$("$WSDEDUP" report "$TESTDIR/monitor.json" --bytes)
  assert_contains "$out" "DDT: 285 entries, 91200 in core, - on disk; dedup 1.31" "monitor figures, null shown as -"
  assert_contains "$out" "warning: DDT <over> budget" "monitor warning"
  # Standard input works too.
  out=$("$WSDEDUP" report - --bytes <"$TESTDIR/dupes.json")
  assert_contains "$out" "reclaimable" "report - reads stdin"
  # Every schema gives a page and metrics.
  local k
  for k in usage estimate dupes dedupe verify prune migrate monitor; do
    "$WSDEDUP" report "$TESTDIR/$k.json" --html "$TESTDIR/$k.html" --prometheus "$TESTDIR/$k.prom"
    [[ -s $TESTDIR/$k.html && -s $TESTDIR/$k.prom ]] || fail "$k: no page or metrics"
    grep -q "wsdedup_last_run_timestamp_seconds{command=\"$k\"" "$TESTDIR/$k.prom" || fail "$k: no timestamp metric"
  done
}

test_bad_documents_fail_cleanly() {
  local rc=0 err
  echo '{"schema": "wsdedup.usage/9"}' >"$TESTDIR/future.json"
  err=$("$WSDEDUP" report "$TESTDIR/future.json" 2>&1) || rc=$?
  assert_eq 2 "$rc" "unknown schema version exits 2"
  assert_contains "$err" "not a wsdedup document of a known schema" "message"
  rc=0
  echo '{"schema": ' >"$TESTDIR/broken.json"
  err=$("$WSDEDUP" report "$TESTDIR/broken.json" 2>&1) || rc=$?
  assert_eq 2 "$rc" "malformed JSON exits 2"
  rc=0
  err=$("$WSDEDUP" report "$TESTDIR/missing.json" 2>&1) || rc=$?
  assert_eq 2 "$rc" "missing file exits 2"
  assert_contains "$err" "missing.json" "names the file"
}

test_schemas_are_documented() {
  [[ -f $SCHEMAS ]] || fail "no docs/json-schemas.md"
  local k key section n=0
  for k in usage estimate dupes dedupe verify prune migrate monitor; do
    # The section of this schema: from its "## wsdedup.K/1" heading to the next "## ".
    section=$(awk -v h="## \`wsdedup.$k/1\`" 'index($0, h) == 1 {on = 1; next} on && /^## / {exit} on' "$SCHEMAS")
    [[ -n $section ]] || fail "no section for wsdedup.$k/1"
    for key in $(json 'keys_unsorted[]' "$TESTDIR/$k.json"); do
      grep -qF "\`$key\`" <<<"$section" || fail "wsdedup.$k/1: top-level key '$key' not documented"
      n=$((n + 1))
    done
  done
  # --html/--prometheus runs add the run stamp (plain --json does not: re-runs stay identical).
  "$WSDEDUP" usage "$TREE" --json --prometheus "$TESTDIR/x.prom" >"$TESTDIR/stamped.json"
  assert_eq "true" "$(json 'has("run")' "$TESTDIR/stamped.json")" "run stamp present"
  assert_eq "false" "$(json 'has("run")' "$TESTDIR/usage.json")" "no run stamp on plain --json"
  grep -qF '`run`' "$SCHEMAS" || fail "run stamp not documented"
  echo "  $n top-level keys documented"
}

setup
run_test test_usage_text_is_the_runs_text
run_test test_every_schema_renders
run_test test_bad_documents_fail_cleanly
run_test test_schemas_are_documented
finish
