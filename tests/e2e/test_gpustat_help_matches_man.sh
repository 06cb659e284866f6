#!/bin/bash
# digits-gpustat's --help and man/man1/digits-gpustat.1 agree, and the man page documents the
# no-GPU status 4.
set -u
source "$(dirname "$0")/help_matches_man.sh"
check_help_matches_man digits-gpustat
# The fixed synopsis of DESIGN.md section 5 is in --help.
for f in --json --watch --pid; do
  help_flags | grep -qx -- "$f" || { echo "--help lacks $f"; fail=1; }
done
grep -q '^\.B 4$' "$man" || { echo "$man: exit status 4 not documented"; fail=1; }
[ $fail -eq 0 ] && echo "ok: $(wc -w <<<"$man_flags") long flags agree"
exit $fail
