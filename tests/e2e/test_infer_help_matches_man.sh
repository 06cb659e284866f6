#!/bin/bash
# digits-infer's --help (top level and subcommands) and man/man1/digits-infer.1 agree.
set -u
source "$(dirname "$0")/help_matches_man.sh"
check_help_matches_man digits-infer classify evaluate topn
[ $fail -eq 0 ] && echo "ok: $(wc -w <<<"$man_flags") long flags agree"
exit $fail
