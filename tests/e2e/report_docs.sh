#!/usr/bin/env bash
# The man page and the bash completion are generated from the CLI definitions that produce
# --help: every subcommand and every option --help lists is in the rendered man page, and the
# completion offers them through bash's programmable completion (compgen).
source "$(dirname "$0")/lib.sh"

need_cmd man "Debian package man-db"

# Subcommands listed by `wsdedup --help` (CLI11 prints them under "Subcommands:").
subcommands() { "$WSDEDUP" --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'; }
# Long and short options listed by `wsdedup CMD --help`.
# (the first column of the lines CLI11 starts with an option name, e.g. "  --threads,-j N   ...")
options_of() { "$WSDEDUP" "$@" --help | awk '/^ +-/ {print $1}' | tr ',' '\n' | grep -E '^--?[a-zA-Z]' | sort -u; }

test_generated_files() {
  "$WSDEDUP" generate-docs --man "$TESTDIR/wsdedup.1" --bash-completion "$TESTDIR/wsdedup.bash"
  [[ -s $TESTDIR/wsdedup.1 && -s $TESTDIR/wsdedup.bash ]] || fail "generate-docs wrote nothing"
  # The hidden generator is not a user command.
  [[ $("$WSDEDUP" --help) != *generate-docs* ]] || fail "generate-docs shows in --help"
  # The build leaves the same page in the build tree (src/CMakeLists.txt), when it was built.
  local built
  built=$(dirname "$(dirname "$WSDEDUP")")/wsdedup.1
  if [[ -f $built ]]; then
    # (the build generates without lib.sh's per-suite WSDEDUP_CATALOG, which --help shows)
    env -u WSDEDUP_CATALOG "$WSDEDUP" generate-docs --man "$TESTDIR/wsdedup-noenv.1"
    cmp "$built" "$TESTDIR/wsdedup-noenv.1" || fail "build tree wsdedup.1 is stale"
  else
    echo "  (no $built: the wsdedup_docs target was not built)"
  fi
}

test_man_page_lists_everything_in_help() {
  local rendered
  rendered=$(MANWIDTH=200 man -l "$TESTDIR/wsdedup.1" 2>"$TESTDIR/man.err" | col -b) || fail "man -l failed: $(cat "$TESTDIR/man.err")"
  [[ ! -s $TESTDIR/man.err ]] || fail "man warnings: $(cat "$TESTDIR/man.err")"
  assert_contains "$rendered" "EXIT STATUS" "exit status section"
  local cmds cmd opt n=0
  cmds=$(subcommands)
  [[ $(wc -w <<<"$cmds") -ge 7 ]] || fail "expected the commands in --help, got: $cmds"
  for cmd in $cmds; do
    grep -qE "^ +wsdedup $cmd( |$)" <<<"$rendered" || fail "command $cmd missing from the man page"
    for opt in $(options_of "$cmd"); do
      grep -qE -- "(^|[ ,])$opt([ ,]|$)" <<<"$rendered" || fail "option $opt of $cmd missing from the man page"
      n=$((n + 1))
    done
  done
  # Nested subcommands (catalog stats, ...) too.
  local sub
  for sub in $("$WSDEDUP" catalog --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'); do
    grep -qE "^ +wsdedup catalog $sub( |$)" <<<"$rendered" || fail "catalog $sub missing from the man page"
  done
  echo "  $n options of $(wc -w <<<"$cmds") commands found in the man page"
}

# complete_words WORDS...: what the completion offers for the last word.
complete_words() {
  bash --norc --noprofile -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    spec=$(complete -p wsdedup) || exit 3
    [[ $spec == *"-F _wsdedup"* ]] || exit 4
    _wsdedup
    printf "%s\n" "${COMPREPLY[@]}"' bash "$TESTDIR/wsdedup.bash" "$@"
}

test_bash_completion() {
  local out cmd
  out=$(complete_words wsdedup "")
  for cmd in $(subcommands); do
    grep -qx "$cmd" <<<"$out" || fail "completion does not offer $cmd: $out"
  done
  grep -qx generate-docs <<<"$out" && fail "completion offers the hidden command"
  assert_eq "estimate" "$(complete_words wsdedup est)" "prefix completion of a command"
  out=$(complete_words wsdedup usage --)
  local opt
  for opt in $(options_of usage | grep -- '^--'); do
    grep -qx -- "$opt" <<<"$out" || fail "completion of usage does not offer $opt"
  done
  assert_eq "--html" "$(complete_words wsdedup dupes --ht)" "option prefix"
  # Option values and positionals complete as files/directories.
  mkdir -p "$TESTDIR/compdir/sub-a"
  : >"$TESTDIR/compdir/result.json"
  assert_eq "$TESTDIR/compdir/sub-a" "$(complete_words wsdedup usage "$TESTDIR/compdir/s")" "ROOT completes directories"
  assert_eq "$TESTDIR/compdir/result.json" "$(complete_words wsdedup report "$TESTDIR/compdir/r")" "FILE.json completes files"
  assert_eq "$TESTDIR/compdir/result.json" "$(complete_words wsdedup usage . --html "$TESTDIR/compdir/r")" "--html FILE completes files"
  # Nested: catalog's own subcommands.
  out=$(complete_words wsdedup catalog "")
  grep -qx stats <<<"$out" || fail "catalog subcommands not offered: $out"
}

run_test test_generated_files
run_test test_man_page_lists_everything_in_help
run_test test_bash_completion
finish
