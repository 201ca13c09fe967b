#!/usr/bin/env bash
# --prometheus metrics of usage, estimate, dupes and dedupe: accepted by promtool (the text
# format and the naming lints), values equal to the --json document of the same run, hostile
# names escaped in labels, files replaced atomically, and `report FILE.json --prometheus`
# producing the same metrics from the saved document.
source "$(dirname "$0")/lib.sh"

need_cmd jq
need_cmd python3
need_cmd promtool "Debian package prometheus"

# metric FILE NAME LABELMATCH: the value of the one sample of NAME whose labels contain LABELMATCH.
metric() {
  python3 - "$@" <<'PY'
import re, sys
path, name, match = sys.argv[1:4]
hits = []
for line in open(path, encoding="utf-8"):
    if line.startswith("#"):
        continue
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$", line.rstrip("\n"))
    if not m:
        sys.exit(f"malformed line: {line!r}")
    if m.group(1) == name and match in (m.group(2) or ""):
        hits.append(m.group(3))
if len(hits) != 1:
    sys.exit(f"{len(hits)} samples of {name} with {match}")
v = float(hits[0])
print(int(v) if v == int(v) else v)
PY
}

promcheck() { # FILE: promtool must accept it without a single lint complaint
  local out
  out=$(promtool check metrics <"$1" 2>&1) || fail "promtool rejected $1: $out"
  [[ -z $out ]] || fail "promtool lint on $1: $out"
}

test_usage_metrics() {
  local d=$TESTDIR/tree
  gentree "$d" --workspaces 4 --packages 20 --seed 7 >/dev/null
  mkdir -p "$d/$(printf 'new\nline')" "$d/q\"uote\\x" "$d/$(printf 'bad\xff')"
  echo hi >"$d/$(printf 'new\nline')/f"; echo hello >"$d/q\"uote\\x/f"; echo x >"$d/$(printf 'bad\xff')/f"
  local before after
  before=$(date +%s)
  "$WSDEDUP" usage "$d" --json --prometheus "$TESTDIR/usage.prom" >"$TESTDIR/usage.json"
  after=$(date +%s)
  promcheck "$TESTDIR/usage.prom"
  assert_eq "$(json .total.allocated_bytes "$TESTDIR/usage.json")" \
    "$(metric "$TESTDIR/usage.prom" wsdedup_usage_allocated_bytes 'command="usage"')" "total allocated"
  local cat
  for cat in $(json '.categories[].name' "$TESTDIR/usage.json"); do
    assert_eq "$(json ".categories[] | select(.name == \"$cat\") | .logical_bytes" "$TESTDIR/usage.json")" \
      "$(metric "$TESTDIR/usage.prom" wsdedup_usage_category_logical_bytes "category=\"$cat\"")" "category $cat"
  done
  assert_eq "$(json '.workspaces[] | select(.name == "new\nline") | .allocated_bytes' "$TESTDIR/usage.json")" \
    "$(metric "$TESTDIR/usage.prom" wsdedup_usage_workspace_allocated_bytes 'workspace="new\nline"')" "newline name escaped"
  assert_eq "$(json '.workspaces[] | select(.name == "q\"uote\\x") | .allocated_bytes' "$TESTDIR/usage.json")" \
    "$(metric "$TESTDIR/usage.prom" wsdedup_usage_workspace_allocated_bytes 'workspace="q\"uote\\x"')" "quote and backslash escaped"
  metric "$TESTDIR/usage.prom" wsdedup_usage_workspace_files 'workspace="bad\\xFF"' >/dev/null ||
    fail "invalid UTF-8 name not written as \\xFF text"
  local stamp
  stamp=$(metric "$TESTDIR/usage.prom" wsdedup_last_run_timestamp_seconds 'command="usage"')
  [[ ${stamp%.*} -ge $before && ${stamp%.*} -le $after ]] || fail "timestamp $stamp not in [$before, $after]"
  metric "$TESTDIR/usage.prom" wsdedup_run_duration_seconds 'command="usage"' >/dev/null || fail "no duration"
  assert_eq 0 "$(metric "$TESTDIR/usage.prom" wsdedup_errors 'command="usage"')" "no errors"
  assert_eq 644 "$(stat -c %a "$TESTDIR/usage.prom")" "textfile mode"
  # Re-rendering the saved document gives the same metrics, byte for byte.
  "$WSDEDUP" report "$TESTDIR/usage.json" --prometheus "$TESTDIR/usage-again.prom"
  cmp "$TESTDIR/usage.prom" "$TESTDIR/usage-again.prom" || fail "report --prometheus differs"
}

test_estimate_dupes_dedupe_metrics() {
  local d=$TESTDIR/tree
  "$WSDEDUP" estimate "$d" --no-catalog --json --prometheus "$TESTDIR/estimate.prom" >"$TESTDIR/estimate.json"
  promcheck "$TESTDIR/estimate.prom"
  local rs
  rs=$(json '.recordsizes[0].recordsize' "$TESTDIR/estimate.json")
  assert_eq "$(json '.recordsizes[0].ddt.entries' "$TESTDIR/estimate.json")" \
    "$(metric "$TESTDIR/estimate.prom" wsdedup_estimate_ddt_entries "recordsize=\"$rs\"")" "DDT entries"
  assert_eq "$(json '.recordsizes[0].ddt.ram_bytes.legacy' "$TESTDIR/estimate.json")" \
    "$(metric "$TESTDIR/estimate.prom" wsdedup_estimate_ddt_ram_bytes "recordsize=\"$rs\",compression=\"$(json .model.compression "$TESTDIR/estimate.json")\",format=\"legacy\"")" "DDT RAM"
  python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(abs(a-b)>1e-9*max(1,a))" \
    "$(json '.ddt.dedup_ratio' "$TESTDIR/estimate.json")" \
    "$(metric "$TESTDIR/estimate.prom" wsdedup_estimate_dedup_ratio "recordsize=\"$rs\"")" || fail "dedup ratio"
  "$WSDEDUP" dupes "$d" --no-catalog --json --prometheus "$TESTDIR/dupes.prom" >"$TESTDIR/dupes.json"
  promcheck "$TESTDIR/dupes.prom"
  assert_eq "$(json .total.reclaimable_bytes "$TESTDIR/dupes.json")" \
    "$(metric "$TESTDIR/dupes.prom" wsdedup_dupes_reclaimable_bytes 'command="dupes"')" "dupes reclaimable"
  "$WSDEDUP" dedupe "$d" --dry-run --no-catalog --json --prometheus "$TESTDIR/dedupe.prom" >"$TESTDIR/dedupe.json"
  promcheck "$TESTDIR/dedupe.prom"
  assert_eq "$(json .total.bytes_planned "$TESTDIR/dedupe.json")" \
    "$(metric "$TESTDIR/dedupe.prom" wsdedup_dedupe_planned_bytes 'dry_run="true"')" "dedupe planned"
  # All four files side by side in one textfile directory: no series clashes.
  cat "$TESTDIR"/{usage,estimate,dupes,dedupe}.prom | python3 -c '
import sys, collections
seen = collections.Counter(l.rsplit(" ", 1)[0] for l in sys.stdin if not l.startswith("#"))
dup = [k for k, n in seen.items() if n > 1]
sys.exit("duplicate series: %s" % dup[:3] if dup else 0)' || fail "series clash across files"
}

test_broken_metrics_are_caught() {
  # promtool is a real check: a metric name with a dash fails it.
  printf '# HELP bad-name x\n# TYPE bad-name gauge\nbad-name 1\n' >"$TESTDIR/bad.prom"
  if promtool check metrics <"$TESTDIR/bad.prom" >/dev/null 2>&1; then fail "promtool accepted a bad name"; fi
}

run_test test_usage_metrics
run_test test_estimate_dupes_dedupe_metrics
run_test test_broken_metrics_are_caught
finish
