#!/bin/bash
# Every long flag that `digits-dataset [SUBCOMMAND] --help` lists is documented in
# man/man1/digits-dataset.1, and every long flag the man page names exists in some --help;
# each subcommand has its entry in the man page; the documented exit statuses are there.
set -u
bin="${DIGITS_BIN:?DIGITS_BIN not set}/digits-dataset"
man="${DIGITS_SOURCE:?DIGITS_SOURCE not set}/man/man1/digits-dataset.1"
[ -x "$bin" ] || { echo "missing $bin"; exit 1; }
[ -f "$man" ] || { echo "missing $man"; exit 1; }

fail=0
help_flags() { "$bin" "$@" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
man_flags=$(sed 's/\\-/-/g' "$man" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)

all_help=""
for sub in "" create info verify explore; do
  flags=$(help_flags $sub) || { echo "digits-dataset $sub --help failed"; exit 1; }
  [ -n "$flags" ] || { echo "digits-dataset $sub --help lists no flags"; exit 1; }
  for f in $flags; do
    if ! grep -qx -- "$f" <<<"$man_flags"; then
      echo "digits-dataset ${sub:-(top level)}: $f is in --help but not in $man"
      fail=1
    fi
  done
  all_help+="$flags"$'\n'
done
for f in $man_flags; do
  if ! grep -qx -- "$f" <<<"$all_help"; then
    echo "$man names $f, which no digits-dataset --help lists"
    fail=1
  fi
done
for sub in create info verify explore; do
  grep -q "^\.B $sub\$" "$man" || { echo "$man: no .B $sub entry under SUBCOMMANDS"; fail=1; }
done
for status in 0 1 2 3; do
  grep -q "^\.B $status\$" "$man" || { echo "$man: exit status $status not documented"; fail=1; }
done
# The fixed synopsis of DESIGN.md section 5 is in --help.
for f in --train --train-labels --val --val-labels --test --test-labels --labels; do
  help_flags create | grep -qx -- "$f" || { echo "create --help lacks $f"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: $(wc -w <<<"$man_flags") long flags agree"
exit $fail
