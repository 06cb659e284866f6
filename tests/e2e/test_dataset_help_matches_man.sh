#!/bin/bash
# digits-dataset's --help (top level and subcommands) and man/man1/digits-dataset.1 agree.
set -u
source "$(dirname "$0")/help_matches_man.sh"
check_help_matches_man digits-dataset create info verify explore
# The fixed synopsis of DESIGN.md section 5 is in --help.
for f in --train --train-labels --val --val-labels --test --test-labels --labels; do
  help_flags create | grep -qx -- "$f" || { echo "create --help lacks $f"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: $(wc -w <<<"$man_flags") long flags agree"
exit $fail
