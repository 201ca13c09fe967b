# Shared helpers for end-to-end suites: each suite is a bash script run by CTest with
# WSDEDUP (the binary) and WSDEDUP_GENTREE in the environment. A suite exits 77 to skip,
# printing why. A failed suite keeps its directory for inspection and prints where it is.
set -o errexit -o nounset -o pipefail -o errtrace # errtrace: the ERR trap names the failing line inside test functions too

: "${WSDEDUP:?set WSDEDUP to the wsdedup binary}"
: "${WSDEDUP_GENTREE:=}"
SUITE=$(basename "$0" .sh)
mkdir -p "${WSDEDUP_TEST_TMP:-/tmp}"
TESTDIR=$(mktemp -d "${WSDEDUP_TEST_TMP:-/tmp}/$SUITE.XXXXXX")
export WSDEDUP_NO_PROGRESS=1
# Runs without --catalog use this suite's own catalog, never the host's /var/cache one.
export WSDEDUP_CATALOG=$TESTDIR/default-catalog.db
CLEANUPS=()
FAILED=0
CURRENT_TEST=""

on_exit() {
  local rc=$?
  for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUPS[$i]}" || true; done
  if [[ $rc -eq 0 && $FAILED -eq 0 ]]; then
    chmod -R u+rwX "$TESTDIR" 2>/dev/null || true
    rm -rf "$TESTDIR"
  elif [[ $rc -ne 77 ]]; then
    echo "FAILED in ${CURRENT_TEST:-setup}; kept $TESTDIR for inspection" >&2
  fi
}
trap on_exit EXIT
trap 'echo "error at line $LINENO: $BASH_COMMAND" >&2' ERR

# Registers a command to run at exit (mounts, daemons), last registered runs first.
at_exit() { CLEANUPS+=("$1"); }

# Under WSDEDUP_REQUIRE_ALL (CI) a skip is a failure: CI provides everything.
skip() {
  if [[ -n ${WSDEDUP_REQUIRE_ALL:-} ]]; then echo "FAIL $SUITE: would skip: $*" >&2; exit 1; fi
  echo "SKIP $SUITE: $*"
  exit 77
}
need_root() { [[ $(id -u) -eq 0 ]] || skip "needs root ($1)"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip "needs $1 (${2:-install it})"; }

fail() {
  echo "FAIL [$CURRENT_TEST]: $*" >&2
  FAILED=1
  exit 1
}

# Runs a named test function: `run_test name`.
run_test() {
  CURRENT_TEST=$1
  echo "--- $1"
  "$1"
}

assert_eq() { # expected actual message
  [[ "$1" == "$2" ]] || fail "$3: expected '$1', got '$2'"
}

assert_contains() { # haystack needle message
  [[ "$1" == *"$2"* ]] || fail "$3: '$2' not found in: $1"
}

# jq is in .ci/run's install list; JSON checks use it.
json() { jq -r "$@"; }

du_alloc() { du -s -B1 "$@" | awk '{s += $1} END {print s}'; }
du_apparent() { du -s -B1 --apparent-size "$@" | awk '{s += $1} END {print s}'; }

gentree() {
  [[ -n "$WSDEDUP_GENTREE" ]] || skip "WSDEDUP_GENTREE not set"
  "$WSDEDUP_GENTREE" "$@"
}

# Asserts wsdedup usage totals equal du's, to the byte.
assert_usage_matches_du() { # dir [extra wsdedup args...]
  local dir=$1
  shift
  local out
  out=$("$WSDEDUP" usage "$dir" --json "$@")
  assert_eq "$(du_alloc "$dir")" "$(json .total.allocated_bytes <<<"$out")" "allocated bytes vs du -s -B1"
  assert_eq "$(du_apparent "$dir")" "$(json .total.logical_bytes <<<"$out")" "logical bytes vs du --apparent-size"
}

finish() {
  echo "PASS $SUITE"
}
