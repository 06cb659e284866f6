#!/bin/bash
# digits-train's --help (top level and subcommands) and man/man1/digits-train.1 agree.
set -u
source "$(dirname "$0")/help_matches_man.sh"
check_help_matches_man digits-train status benchmark
# The fixed synopsis of DESIGN.md section 5 is in --help.
for f in --dataset --network --set --resume --output; do
  help_flags | grep -qx -- "$f" || { echo "--help lacks $f"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: $(wc -w <<<"$man_flags") long flags agree"
exit $fail
