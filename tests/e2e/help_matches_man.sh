# Sourced by test_*_help_matches_man.sh: check_help_matches_man TOOL SUBCOMMAND...
# Every long flag that `TOOL [SUBCOMMAND] --help` lists is documented in man/man1/TOOL.1, every
# long flag the man page names exists in some --help, each subcommand has its `.B name` entry,
# and the exit statuses every tool shares (0-3) are documented. Sets $fail; prints what differs.
check_help_matches_man() {
  local tool=$1; shift
  bin="${DIGITS_BIN:?DIGITS_BIN not set}/$tool"
  man="${DIGITS_SOURCE:?DIGITS_SOURCE not set}/man/man1/$tool.1"
  [ -x "$bin" ] || { echo "missing $bin"; exit 1; }
  [ -f "$man" ] || { echo "missing $man"; exit 1; }
  fail=0
  help_flags() { "$bin" "$@" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
  man_flags=$(sed 's/\\-/-/g' "$man" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
  local all_help="" sub flags f status
  for sub in "" "$@"; do
    flags=$(help_flags $sub) || { echo "$tool $sub --help failed"; exit 1; }
    [ -n "$flags" ] || { echo "$tool $sub --help lists no flags"; exit 1; }
    for f in $flags; do
      if ! grep -qx -- "$f" <<<"$man_flags"; then
        echo "$tool ${sub:-(top level)}: $f is in --help but not in $man"
        fail=1
      fi
    done
    all_help+="$flags"$'\n'
  done
  for f in $man_flags; do
    if ! grep -qx -- "$f" <<<"$all_help"; then
      echo "$man names $f, which no $tool --help lists"
      fail=1
    fi
  done
  for sub in "$@"; do
    grep -q "^\.B $sub\$\|^\.SS $sub\$\|^\.B $tool $sub" "$man" || { echo "$man: no entry for $sub"; fail=1; }
  done
  for status in 0 1 2 3; do
    grep -q "^\.B $status\$" "$man" || { echo "$man: exit status $status not documented"; fail=1; }
  done
}
