# shellcheck shell=bash disable=SC2034
# bench/lib.sh - helpers shared by the whole-tool benchmarks in bench/ (sourced, not run).
#
# Provides: messages (bench_log, bench_warn, bench_die), tool checks (bench_need), locating or
# building a Release wsdedup (bench_wsdedup), timing a command for wall time and peak RSS
# (bench_time), statistics (bench_median, bench_min, bench_max, bench_ratio), JSON helpers built
# on jq, and facts about the machine and the tree being measured (bench_sysinfo_json,
# bench_tree_json). Every benchmark measures all tools in one run on a warm page cache: call
# bench_time once per tool to warm up, then round-robin the timed runs.
#
# Callers run with `set -euo pipefail`; nothing here changes shell options.

# Where things are.
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_DIR/.." && pwd)
BENCH_OUT_DIR=${WSDEDUP_BENCH_OUT:-$BENCH_DIR/out}

# ---------------------------------------------------------------------------------------------
# Messages. All go to stderr so that stdout carries only the report.

bench_log() { printf '%s: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; }
bench_warn() { printf '%s: warning: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; }
bench_die() {
  printf '%s: error: %s\n' "${BENCH_NAME:-bench}" "$*" >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# Tools.

# bench_need CMD PACKAGE: fail with an install hint unless CMD is on PATH.
bench_need() {
  command -v "$1" >/dev/null 2>&1 ||
    bench_die "'$1' not found: install Debian package '$2' (or run bench/install-deps)"
}

# bench_need_gnu_time: /usr/bin/time (package 'time'), not the shell keyword.
bench_need_gnu_time() {
  [[ -x /usr/bin/time ]] ||
    bench_die "/usr/bin/time not found: install Debian package 'time' (or run bench/install-deps)"
}

# bench_tool_version CMD: first line its --version prints (or "unknown").
bench_tool_version() {
  local v
  v=$("$@" --version 2>/dev/null | head -n 1) || true
  printf '%s' "${v:-unknown}"
}

# ---------------------------------------------------------------------------------------------
# The wsdedup binary under test.
#
# bench_wsdedup: sets BENCH_WSDEDUP (path) and BENCH_WSDEDUP_BUILD (how it was chosen).
#   1. $WSDEDUP if set (used as is);
#   2. $BENCH_REPO/build/src/wsdedup if that build tree is Release or RelWithDebInfo;
#   3. otherwise configures and builds a Release tree in ${WSDEDUP_BENCH_BUILD:-build-bench}
#      (ninja is incremental, so this is cheap when nothing changed). A Debug binary would make
#      every ratio meaningless, hence the refusal to use ./build blindly.
bench_wsdedup() {
  if [[ -n ${WSDEDUP:-} ]]; then
    [[ -x $WSDEDUP ]] || bench_die "WSDEDUP=$WSDEDUP is not an executable"
    BENCH_WSDEDUP=$WSDEDUP
    BENCH_WSDEDUP_BUILD="from \$WSDEDUP"
    return
  fi
  local main_build=$BENCH_REPO/build type=""
  if [[ -x $main_build/src/wsdedup && -f $main_build/CMakeCache.txt ]]; then
    type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$main_build/CMakeCache.txt")
    if [[ $type == Release || $type == RelWithDebInfo ]]; then
      BENCH_WSDEDUP=$main_build/src/wsdedup
      BENCH_WSDEDUP_BUILD="build/ ($type)"
      return
    fi
    bench_log "build/ is a '${type:-no type}' build; building a Release binary instead"
  fi
  local dir=${WSDEDUP_BENCH_BUILD:-$BENCH_REPO/build-bench}
  bench_need cmake cmake
  bench_need ninja ninja-build
  bench_log "building wsdedup (Release) in $dir"
  if [[ ! -f $dir/build.ninja ]]; then
    cmake -S "$BENCH_REPO" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DWSD_BUILD_TESTS=OFF -DWSD_BUILD_BENCH=OFF >&2 ||
      bench_die "cmake configure failed in $dir"
  fi
  ninja -C "$dir" wsdedup >&2 || bench_die "building wsdedup failed in $dir"
  BENCH_WSDEDUP=$dir/src/wsdedup
  BENCH_WSDEDUP_BUILD="$(basename "$dir")/ (Release)"
}

# ---------------------------------------------------------------------------------------------
# Timing.
#
# bench_time CMD...: runs CMD with stdout to /dev/null under /usr/bin/time and sets
#   BENCH_WALL  wall time in seconds (from $EPOCHREALTIME, microsecond resolution),
#   BENCH_RSS   peak resident set size in KiB (GNU time's %M),
#   BENCH_CPU   user + system CPU seconds (GNU time's %U + %S),
#   BENCH_RC    CMD's exit status.
# CMD's stderr is kept in $BENCH_TMP/last.stderr for error messages. Never fails itself.
bench_time() {
  local t0 t1 rc=0
  : "${BENCH_TMP:?call bench_tmpdir first}"
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%e %M %U %S' -o "$BENCH_TMP/last.time" "$@" >/dev/null 2>"$BENCH_TMP/last.stderr" || rc=$?
  t1=$EPOCHREALTIME
  BENCH_RC=$rc
  BENCH_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
  # GNU time prints "Command exited with non-zero status N" first when CMD fails.
  read -r BENCH_RSS BENCH_CPU < <(awk 'NF == 4 && $2 ~ /^[0-9]+$/ { r = $2; c = $3 + $4 }
    END { printf "%d %.2f\n", r, c }' "$BENCH_TMP/last.time")
}

# bench_tmpdir: creates BENCH_TMP, removed when the shell exits.
bench_tmpdir() {
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsd-bench.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$BENCH_TMP'" EXIT
}

# ---------------------------------------------------------------------------------------------
# Statistics over whitespace-separated numbers.

bench_median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) { print "nan"; exit }
          if (NR % 2) printf "%.6f\n", v[(NR + 1) / 2]
          else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
bench_min() { printf '%s\n' "$@" | sort -g | head -n 1; }
bench_max() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# bench_ratio A B: A/B with 3 decimals ("nan" when B is 0 or missing).
bench_ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "nan"; else printf "%.3f\n", a / b }'
}

# bench_human BYTES: binary units, as wsdedup prints them.
bench_human() {
  awk -v b="$1" 'BEGIN { split("B KiB MiB GiB TiB", u, " "); i = 1
    while (b >= 1024 && i < 5) { b /= 1024; i++ }
    if (i == 1) printf "%d %s\n", b, u[i]; else printf "%.2f %s\n", b, u[i] }'
}

# ---------------------------------------------------------------------------------------------
# JSON and context.

# bench_json_array ITEMS...: a JSON array of numbers ("nan" becomes null).
bench_json_array() {
  printf '%s\n' "$@" | jq -s -c 'map(if type == "number" then . else null end)' 2>/dev/null ||
    printf '%s\n' "$@" | awk 'BEGIN { printf "[" } { printf "%s%s", (NR > 1 ? "," : ""), ($1 == "nan" ? "null" : $1) } END { print "]" }'
}

# bench_sysinfo_json: the machine, as one JSON object.
bench_sysinfo_json() {
  local cpu
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
  jq -n -c --arg host "$(hostname 2>/dev/null || echo unknown)" --arg kernel "$(uname -r)" \
    --arg cpu "${cpu:-unknown}" --argjson cores "$(nproc)" \
    --argjson mem_kib "$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)" \
    '{host: $host, kernel: $kernel, cpu: $cpu, cores: $cores, mem_kib: $mem_kib}'
}

# bench_cpu_busy [SECONDS]: percent of all CPUs busy over SECONDS (default 1) of sampling,
# i.e. how much someone else is using the machine we are about to time on.
bench_cpu_busy() {
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  sleep "${1:-1}"
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
    busy = y[1] - x[1]; all = busy + y[2] - x[2]
    printf "%.1f\n", (all > 0 ? 100 * busy / all : 0) }'
}

# bench_cpu_mark: BENCH_MARK = "<seconds> <busy CPU seconds of the whole machine>" now.
# bench_other_busy MARK OUR_CPU_SECONDS: percent of the machine's CPU capacity used since MARK
# by anything but our timed commands (which used OUR_CPU_SECONDS): the noise in the timings.
bench_cpu_mark() {
  BENCH_MARK="$EPOCHREALTIME $(awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat)"
}
bench_other_busy() {
  local now
  now="$EPOCHREALTIME $(awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat)"
  awk -v a="$1" -v b="$now" -v ours="$2" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " ")
    t = y[1] - x[1]; busy = y[2] - x[2] - ours; if (busy < 0) busy = 0
    printf "%.1f\n", (t > 0 ? 100 * busy / (t * n) : 0) }'
}

# bench_wait_idle MAX_SECONDS: wait (up to MAX_SECONDS) until the CPUs are < 10% busy; sets
# BENCH_BUSY to the last sample. Timings on a machine others are using are noise: callers
# record BENCH_BUSY and warn.
bench_wait_idle() {
  local waited=0
  BENCH_BUSY=$(bench_cpu_busy 1)
  while awk -v b="$BENCH_BUSY" 'BEGIN { exit !(b >= 10) }' && ((waited < $1)); do
    ((waited == 0)) && bench_log "machine is ${BENCH_BUSY}% busy; waiting up to $1 s for it to settle"
    sleep 4
    waited=$((waited + 5))
    BENCH_BUSY=$(bench_cpu_busy 1)
  done
  if awk -v b="$BENCH_BUSY" 'BEGIN { exit !(b >= 10) }'; then
    bench_warn "the CPUs are ${BENCH_BUSY}% busy with other work: timings will be noisy"
  fi
}

# bench_tree_json DIR: filesystem type and entry counts of the tree measured (one find pass).
bench_tree_json() {
  local fstype counts total files dirs links
  fstype=$(findmnt -n -o FSTYPE -T "$1" 2>/dev/null || stat -f -c %T "$1")
  counts=$(find "$1" -xdev -printf '%y\n' | awk '{ n[$1]++; t++ }
    END { printf "%d %d %d %d\n", t, n["f"], n["d"], n["l"] }')
  read -r total files dirs links <<<"$counts"
  jq -n -c --arg path "$1" --arg fstype "$fstype" --argjson entries "$total" \
    --argjson regular_files "$files" --argjson dirs "$dirs" --argjson symlinks "$links" \
    '{path: $path, fstype: $fstype, entries: $entries, regular_files: $regular_files,
      dirs: $dirs, symlinks: $symlinks}'
}

# bench_out_file NAME: bench/out/NAME-<date>.json (creates bench/out/).
bench_out_file() {
  mkdir -p "$BENCH_OUT_DIR"
  printf '%s/%s-%s.json' "$BENCH_OUT_DIR" "$1" "$(date +%Y%m%d-%H%M%S)"
}

# bench_check_corpus DIR: DIR exists; warns if it does not look like a make-corpus tree.
bench_check_corpus() {
  [[ -d $1 ]] || bench_die "$1: not a directory"
  [[ -f $1/.wsdedup-corpus.json ]] ||
    bench_warn "$1 has no .wsdedup-corpus.json: not made by bench/make-corpus (measuring it anyway)"
}
