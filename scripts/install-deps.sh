#!/usr/bin/env bash
# Installs the Debian packages digits builds and tests with. Idempotent: quiet and fast when
# everything is already there. Works as root or through sudo.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also what the benchmarks compare against (PyTorch, PIL, lmdb)
#   scripts/install-deps.sh --data   also the Fashion-MNIST package the demo uses
#   scripts/install-deps.sh --fuzz   also clang and its libFuzzer runtime (scripts/fuzz.sh)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libyaml-cpp-dev libfmt-dev libcli11-dev doctest-dev nlohmann-json3-dev
  liblmdb-dev lmdb-utils libopenblas-dev libomp-dev
  libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev libstb-dev zlib1g-dev
)
for arg in "$@"; do
  case $arg in
    --bench) packages+=(python3-torch python3-pil python3-lmdb python3-numpy time) ;;
    --data) packages+=(dataset-fashion-mnist) ;;
    --fuzz) packages+=(clang libclang-rt-dev) ;;
    *) echo "install-deps.sh: unknown option '$arg' (known: --bench, --data, --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
