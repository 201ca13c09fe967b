#!/bin/bash
# The ZFS oracle: copies a generated tree into zfs-fuse pools (dedup=on; recordsize 128K
# and 16K; compression off, lzjb, gzip-6, zle), reads `zdb -DD`, and checks that
# model_dump (the wsdedup ZFS model, profile zfs-fuse) prints the same DDT entry counts,
# histogram rows and ratio line, and that its "in core" figure per DDT class is within
# ORACLE_IN_CORE_TOLERANCE percent (default 25) of zdb's: that figure counts ZAP blocks, and
# which leaf an entry lands in depends on the block's SHA-256, which the model does not
# compute (docs/zfs-model.md, "DDT memory"), so it is exact only where zfs-fuse's fill count
# saturates (ZdbFillRule::first_blkptr). When WSDEDUP names the wsdedup binary, the CLI is checked
# the same way: `wsdedup estimate --zfs zfs-fuse --recordsize R --compression C TREE` must
# print zdb's entry-count lines, histogram rows and ratio line. Exit 0 all agree, 1 a
# difference, 77 skipped (not root, no zfs-fuse, no FUSE).
#
#   MODEL_DUMP=path/to/model_dump [WSDEDUP=path/to/wsdedup] tests/zfs/oracle_check.sh [TREE_DIR]
#
# ORACLE_CONFIGS overrides the list ("RECORDSIZE:COMPRESSION ..."); ORACLE_KEEP=1 keeps
# the work directory for inspection.
set -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=zfs_fuse_lib.sh
. "$here/zfs_fuse_lib.sh"

skip() { echo "SKIP: $*" >&2; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root"
command -v zfs-fuse >/dev/null || skip "zfs-fuse is not installed"
[[ -e /dev/fuse ]] || skip "no /dev/fuse"
model_dump=${MODEL_DUMP:-}
[[ -x $model_dump ]] || { echo "MODEL_DUMP must name the model_dump binary" >&2; exit 2; }
wsdedup=${WSDEDUP:-}
if [[ -n $wsdedup && ! -x $wsdedup ]]; then
  echo "WSDEDUP does not name an executable: $wsdedup" >&2
  exit 2
fi

work=$(mktemp -d /tmp/wsd-zfs-oracle.XXXXXX)
pool=wsdor$$
cleanup() {
  zf_pool_destroy "$work" "$pool"
  zf_stop
  if [[ ${ORACLE_KEEP:-0} == 1 ]]; then
    echo "kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'echo "oracle_check: failed at line $LINENO" >&2' ERR

tree=${1:-}
if [[ -z $tree ]]; then
  tree=$work/tree
  python3 "$here/gen_tree.py" "$tree" 1
fi
zf_start || skip "zfs-fuse daemon could not start"

# "CLASS zdb model" per DDT class, from zdb's and the model's object lines.
in_core_join() { join <(zf_in_core <"$1" | sort) <(zf_in_core <"$2" | sort); }
in_core_pairs() { in_core_join "$1" "$2" | awk '{ printf "%s%s %s/%s", sep, $1, $2, $3; sep = ", " }'; }
# Succeeds when both list the same classes and each model figure is within the tolerance.
in_core_close() {
  local tol=${ORACLE_IN_CORE_TOLERANCE:-25}
  [[ $(zf_in_core <"$1" | wc -l) -eq $(zf_in_core <"$2" | wc -l) ]] || {
    echo "in core: zdb and the model list different DDT classes"
    return 1
  }
  in_core_join "$1" "$2" | awk -v tol="$tol" '
    { d = $3 - $2; if (d < 0) d = -d
      if (d * 100 > tol * $2) { printf "in core %s: zdb %s, model %s (more than %s%% apart)\n", $1, $2, $3, tol; bad = 1 } }
    END { exit bad }'
}

configs=${ORACLE_CONFIGS:-"128K:off 128K:lzjb 128K:gzip-6 128K:zle 16K:off 16K:lzjb 16K:gzip-6 16K:zle"}
passed=0
failed=0
for cfg in $configs; do
  rs=${cfg%%:*}
  comp=${cfg#*:}
  zf_pool_create "$work" "$pool" "recordsize=$rs" "compression=$comp"
  zf_copy_in "$tree" "$pool"
  zf_commit "$work" "$pool"
  zf_zdb_dd "$pool" >"$work/zdb.$rs.$comp.txt"
  zf_pool_destroy "$work" "$pool"
  "$model_dump" --profile zfs-fuse --recordsize "$rs" --compression "$comp" "$tree" \
    >"$work/model.$rs.$comp.txt"
  if diff -u <(zf_comparable <"$work/zdb.$rs.$comp.txt") \
    <(zf_comparable <"$work/model.$rs.$comp.txt") >"$work/diff.$rs.$comp.txt" &&
    in_core_close "$work/zdb.$rs.$comp.txt" "$work/model.$rs.$comp.txt" >>"$work/diff.$rs.$comp.txt"; then
    echo "ok   recordsize=$rs compression=$comp (in core, zdb vs model: $(in_core_pairs "$work/zdb.$rs.$comp.txt" "$work/model.$rs.$comp.txt"))"
    passed=$((passed + 1))
  else
    echo "FAIL recordsize=$rs compression=$comp"
    cat "$work/diff.$rs.$comp.txt"
    failed=$((failed + 1))
    ORACLE_KEEP=1
  fi
  [[ -n $wsdedup ]] || continue
  # The CLI: the same lines must come out of `wsdedup estimate` (its other output -- the
  # operators' table, notes -- never starts with "DDT-" or lies between "bucket" and "dedup =").
  WSDEDUP_NO_PROGRESS=1 "$wsdedup" estimate --zfs zfs-fuse --recordsize "$rs" --compression "$comp" \
    "$tree" >"$work/estimate.$rs.$comp.txt"
  if diff -u <(zf_comparable <"$work/zdb.$rs.$comp.txt") \
    <(zf_comparable <"$work/estimate.$rs.$comp.txt") >"$work/diff-cli.$rs.$comp.txt" &&
    [[ -s "$work/estimate.$rs.$comp.txt" ]] && grep -q '^dedup = ' "$work/estimate.$rs.$comp.txt"; then
    echo "ok   wsdedup estimate recordsize=$rs compression=$comp"
    passed=$((passed + 1))
  else
    echo "FAIL wsdedup estimate recordsize=$rs compression=$comp"
    cat "$work/diff-cli.$rs.$comp.txt"
    failed=$((failed + 1))
    ORACLE_KEEP=1
  fi
done
echo "oracle: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
