#!/bin/bash
# Our bilinear resize (libdigits/data/image_resize.cpp) against PIL's, on a photo drawn at
# random now (not only the committed fixture): regenerates the resize fixtures with
# /usr/bin/python3 PIL into a scratch dir and runs the unit test case that compares them.
# Skips (77) when Debian's PIL is not installed.
set -euo pipefail
: "${DIGITS_BIN:?DIGITS_BIN must name the tools build dir}"
: "${DIGITS_SOURCE:?DIGITS_SOURCE must name the source dir}"
tests_bin="$DIGITS_BIN/../tests/digits-tests"
if ! /usr/bin/python3 -c 'import PIL, numpy' 2>/dev/null; then
  echo "SKIPPED: /usr/bin/python3 has no PIL/numpy"
  exit 77
fi
[ -x "$tests_bin" ] || { echo "FAIL: $tests_bin not built"; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

for seed in 11 12 13; do
  /usr/bin/python3 "$DIGITS_SOURCE/tests/data/images/make_fixtures.py" "$scratch/$seed" --seed "$seed"
  if ! DIGITS_IMAGE_FIXTURES="$scratch/$seed" "$tests_bin" \
       --test-case='image: resize matches PIL*' --no-version; then
    echo "FAIL: resize differs from PIL for a photo drawn with seed $seed"
    exit 1
  fi
done
echo "PASS: bilinear resize matches PIL on 3 random photos x 6 sizes x 2 channel counts"
