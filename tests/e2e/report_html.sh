#!/usr/bin/env bash
# --html pages of usage, estimate, dupes and dedupe on a tree with hostile names, loaded in
# headless Chromium: the page script runs without error (no console message, no error caught by
# the page), every number shown equals the --json document of the same run, the embedded JSON
# is that document, no name becomes markup, and each page leaves a screenshot.
source "$(dirname "$0")/lib.sh"

CHECK="$(dirname "$0")/report_page_check.py"
SHOTS=${WSDEDUP_TEST_TMP:-/tmp}/report-screenshots

find_chromium() {
  local c
  for c in chromium chromium-browser google-chrome; do
    command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return 0; }
  done
  return 1
}
CHROMIUM=$(find_chromium) || skip "needs chromium (apt-get install chromium)"
need_cmd jq
need_cmd python3

chrome() { # args...: headless Chromium with its own profile, console messages on stderr
  timeout 120 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --user-data-dir="$TESTDIR/chrome-profile" --enable-logging=stderr --v=0 "$@"
}

# Builds the hostile tree: workspaces whose names are markup, quotes, a newline, invalid UTF-8,
# and a path containing "</script>" (directory "<", file "script>"), with duplicates among them.
make_tree() {
  local d=$1
  mkdir -p "$d"
  local names=('<script>alert(1)<' "q\"uo'te" "$(printf 'new\nline')" "$(printf 'bad\xff\xfe')" '<' 'plain')
  head -c 300000 /dev/urandom >"$TESTDIR/blob"
  head -c 5000 /dev/urandom >"$TESTDIR/small"
  local n
  for n in "${names[@]}"; do
    mkdir -p "$d/$n/node_modules/pkg" "$d/$n/.git/objects" "$d/$n/src"
    cp "$TESTDIR/blob" "$d/$n/node_modules/pkg/index.js"
    cp "$TESTDIR/small" "$d/$n/src/$n.txt" 2>/dev/null || cp "$TESTDIR/small" "$d/$n/src/x.txt"
    head -c $((RANDOM * 3 + 1000)) /dev/urandom >"$d/$n/.git/objects/pack"
  done
  cp "$TESTDIR/small" "$d/</script>"  2>/dev/null || cp "$TESTDIR/small" "$d/<"/'script>'
}

# check_page NAME PAGE DOC: loads PAGE twice (human and #bytes), checks it, takes a screenshot.
check_page() {
  local name=$1 page=$2 doc=$3
  chrome --dump-dom "file://$page" >"$TESTDIR/$name.dom.html" 2>"$TESTDIR/$name.chrome.log" ||
    fail "chromium could not load $page (see $TESTDIR/$name.chrome.log)"
  chrome --dump-dom "file://$page#bytes" >"$TESTDIR/$name.dom-exact.html" 2>>"$TESTDIR/$name.chrome.log" ||
    fail "chromium could not load $page#bytes"
  if grep -a 'CONSOLE' "$TESTDIR/$name.chrome.log" >"$TESTDIR/$name.console" ; then
    fail "console messages while loading $name: $(head -5 "$TESTDIR/$name.console")"
  fi
  local result
  result=$(python3 "$CHECK" "$page" "$doc" "$TESTDIR/$name.dom.html" "$TESTDIR/$name.dom-exact.html") ||
    fail "$name page vs JSON: $result"
  echo "  $name: $result"
  mkdir -p "$SHOTS"
  chrome --screenshot="$SHOTS/$name.png" --window-size=1280,2400 --hide-scrollbars "file://$page" \
    >/dev/null 2>&1 || fail "no screenshot of $name"
  [[ -s $SHOTS/$name.png ]] || fail "empty screenshot of $name"
  echo "  screenshot: $SHOTS/$name.png"
}

test_pages_equal_json() {
  local d=$TESTDIR/tree
  make_tree "$d"
  "$WSDEDUP" usage "$d" --json --html "$TESTDIR/usage.html" >"$TESTDIR/usage.json"
  [[ $(json '.workspaces | length' "$TESTDIR/usage.json") -ge 6 ]] || fail "workspaces missing from usage"
  check_page usage "$TESTDIR/usage.html" "$TESTDIR/usage.json"
  "$WSDEDUP" dupes "$d" --json --html "$TESTDIR/dupes.html" >"$TESTDIR/dupes.json"
  [[ $(json '.total.groups' "$TESTDIR/dupes.json") -ge 2 ]] || fail "expected duplicate groups"
  check_page dupes "$TESTDIR/dupes.html" "$TESTDIR/dupes.json"
  "$WSDEDUP" estimate "$d" --no-catalog --json --html "$TESTDIR/estimate.html" >"$TESTDIR/estimate.json"
  check_page estimate "$TESTDIR/estimate.html" "$TESTDIR/estimate.json"
  "$WSDEDUP" dedupe "$d" --dry-run --no-catalog --json --html "$TESTDIR/dedupe.html" >"$TESTDIR/dedupe.json"
  check_page dedupe "$TESTDIR/dedupe.html" "$TESTDIR/dedupe.json"
  # The strategies table puts savings and DDT RAM side by side; the DDT histogram is there.
  local page
  page=$(cat "$TESTDIR/estimate.html")
  assert_contains "$page" 'data-key="/recordsizes/0/ddt/ram_bytes/fast_dedup"' "DDT RAM beside the savings"
  assert_contains "$page" 'data-key="/recordsizes/0/ddt/histogram/0/refcnt_min"' "DDT histogram"
  assert_contains "$(cat "$TESTDIR/dupes.html")" 'data-key="/identical_dirs/0/reclaimable_bytes"' "identical trees"
}

test_hostile_names_stay_text() {
  local dom=$TESTDIR/usage.dom.html
  [[ -f $dom ]] || fail "run test_pages_equal_json first"
  # The names are in the rendered DOM as escaped text, never as elements.
  assert_contains "$(cat "$dom")" '&lt;script&gt;alert(1)&lt;' "markup name shown as text"
  assert_contains "$(cat "$dom")" 'new\nline' "newline shown escaped"
  assert_contains "$(cat "$dom")" 'bad\xff\xfe' "invalid UTF-8 shown escaped"
  assert_contains "$(cat "$TESTDIR/dupes.dom.html")" '/&lt;/script&gt;' "a path holding </script> is text"
  # The data block survives "</script>" in a path: the page script parsed it (data-ready set).
  assert_eq 1 "$(grep -c '<script type="application/json"' "$TESTDIR/dupes.html")" "one data block"
  grep -q 'alert(1)</script>' "$TESTDIR/dupes.html" && fail "raw </script> in the page" || true
}

test_report_command_renders_the_same_page() {
  "$WSDEDUP" report "$TESTDIR/usage.json" --html "$TESTDIR/usage-again.html"
  cmp "$TESTDIR/usage.html" "$TESTDIR/usage-again.html" || fail "report --html differs from usage --html"
  "$WSDEDUP" report "$TESTDIR/estimate.json" --html "$TESTDIR/estimate-again.html"
  cmp "$TESTDIR/estimate.html" "$TESTDIR/estimate-again.html" || fail "report --html differs from estimate --html"
  assert_eq 644 "$(stat -c %a "$TESTDIR/usage-again.html")" "page mode"
  [[ -z $(find "$TESTDIR" -maxdepth 1 -name '*.tmp*' -o -maxdepth 1 -name '.*usage*') ]] || fail "temp files left behind"
}

test_broken_page_is_caught() {
  # The checker itself must fail on a page whose numbers disagree with the JSON.
  sed 's/data-key="\/total\/files" data-kind="count" title="\([0-9]*\)">[0-9,]*</data-key="\/total\/files" data-kind="count" title="\1">999999</' \
    "$TESTDIR/usage.html" >"$TESTDIR/tampered.html"
  cmp -s "$TESTDIR/usage.html" "$TESTDIR/tampered.html" && fail "could not tamper with the page"
  chrome --dump-dom "file://$TESTDIR/tampered.html" >"$TESTDIR/tampered.dom.html" 2>/dev/null
  if python3 "$CHECK" "$TESTDIR/tampered.html" "$TESTDIR/usage.json" "$TESTDIR/tampered.dom.html" \
    "$TESTDIR/usage.dom-exact.html" >/dev/null; then
    fail "the checker accepted a page showing a wrong number"
  fi
}

run_test test_pages_equal_json
run_test test_hostile_names_stay_text
run_test test_report_command_renders_the_same_page
run_test test_broken_page_is_caught
finish
