#!/bin/bash
# Every long flag that `digits-infer [SUBCOMMAND] --help` lists is documented in
# man/man1/digits-infer.1, and every long flag the man page names exists in some --help.
set -u
bin="${DIGITS_BIN:?DIGITS_BIN not set}/digits-infer"
man="${DIGITS_SOURCE:?DIGITS_SOURCE not set}/man/man1/digits-infer.1"
[ -x "$bin" ] || { echo "missing $bin"; exit 1; }
[ -f "$man" ] || { echo "missing $man"; exit 1; }

fail=0
help_flags() { "$bin" "$@" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
man_flags=$(sed 's/\\-/-/g' "$man" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)

all_help=""
for sub in "" classify evaluate topn; do
  flags=$(help_flags $sub) || { echo "digits-infer $sub --help failed"; exit 1; }
  [ -n "$flags" ] || { echo "digits-infer $sub --help lists no flags"; exit 1; }
  for f in $flags; do
    if ! grep -qx -- "$f" <<<"$man_flags"; then
      echo "digits-infer ${sub:-(top level)}: $f is in --help but not in $man"
      fail=1
    fi
  done
  all_help+="$flags"$'\n'
done
for f in $man_flags; do
  if ! grep -qx -- "$f" <<<"$all_help"; then
    echo "$man names $f, which no digits-infer --help lists"
    fail=1
  fi
done
# Each subcommand has its own section in the man page.
for sub in classify evaluate topn; do
  grep -q "^\.B $sub\$" "$man" || { echo "$man: no .B $sub entry under SUBCOMMANDS"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: $(wc -w <<<"$man_flags") long flags agree"
exit $fail
