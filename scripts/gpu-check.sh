#!/usr/bin/env bash
# The whole GPU check, for a session lent a GPU machine through the `device` tool (see
# ../shared/gpu/README.md: that machine has the NVIDIA driver, CUDA and python3 with torch, but
# none of our Debian libraries and no network, and only the checkout travels).
#
#   scripts/gpu-check.sh              here: build with CUDA for sm_90 into build-gpu/, pack the
#                                     executables and the libraries the GPU machine lacks into
#                                     gpu-pack/pack.tar.gz (both git-ignored), print the exact
#                                     `run` call
#   scripts/gpu-check.sh --run PACK   there (what that call runs): the CUDA unit tests, the GPU
#                                     end-to-end tests, digits-gpustat and scripts/bench-gpu.sh,
#                                     every log under $OUT; exits non-zero if any part failed
#
# Environment (here): BUILD_DIR (build-gpu), PACK_DIR (gpu-pack), CUDA (ON; OFF packs a CPU
# build, to check the packing on a machine without nvcc), JOBS (2).
set -euo pipefail
cd "$(dirname "$0")/.."

# Shared libraries the GPU machine has itself: the C/C++ runtime, the driver, CUDA's libraries
# (as python packages or under /usr/local/cuda). Everything else our executables link is packed.
provided='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|librt\.|libpthread\.|libstdc\+\+|libgcc_s|libcuda\.|libcudart|libcublas|libcublasLt|libcudnn|libnccl|libnvidia-ml|libnvrtc|libcurand|libcufft|libnvJitLink)'
executables=(tools/digits-dataset tools/digits-train tools/digits-infer tools/digits-gpustat
             tests/digits-tests tests/bench-train-step tests/bench-engine)

# pack BUILD PACK: executables into PACK/bin, their non-provided libraries into PACK/lib, the
# network specs as JSON (the GPU machine's python may lack PyYAML) and PACK/env.sh.
pack() {
  local build=$1 out=$2 exe lib name path
  rm -rf "$out"
  mkdir -p "$out/bin" "$out/lib" "$out/networks"
  for exe in "${executables[@]}"; do
    [ -x "$build/$exe" ] || { echo "gpu-check: $build/$exe was not built" >&2; exit 1; }
    cp -f "$build/$exe" "$out/bin/"
    strip --strip-unneeded "$out/bin/$(basename "$exe")" 2>/dev/null || true
    while read -r name path; do
      [[ $name =~ $provided ]] && continue
      [ -e "$out/lib/$name" ] || cp -fL "$path" "$out/lib/$name"
    done < <(ldd "$build/$exe" | awk '/=> \//{print $1" "$3}')
  done
  # Libraries that packed libraries need in turn (ldd lists them already, but be sure).
  for lib in "$out"/lib/*; do
    while read -r name path; do
      [[ $name =~ $provided ]] && continue
      [ -e "$out/lib/$name" ] || cp -fL "$path" "$out/lib/$name"
    done < <(ldd "$lib" | awk '/=> \//{print $1" "$3}')
  done
  /usr/bin/python3 - "$out/networks" configs/networks/*.yaml <<'EOF'
import json, os, sys, yaml
for path in sys.argv[2:]:
    name = os.path.splitext(os.path.basename(path))[0]
    with open(path) as f, open(os.path.join(sys.argv[1], name + ".json"), "w") as out:
        json.dump(yaml.safe_load(f), out)
EOF
  cat >"$out/env.sh" <<'ENV'
# Source this on the GPU machine: finds its CUDA, cuBLAS and cuDNN libraries (CUDA toolkit or
# python packages) and puts them, and the packed libraries, on LD_LIBRARY_PATH.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dirs="$here/lib"
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do [ -d "$d" ] && dirs="$dirs:$d"; done
py=$(command -v python3 || true)
if [ -n "$py" ]; then
  site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)
  for d in "$site"/nvidia/*/lib; do [ -d "$d" ] && dirs="$dirs:$d"; done
fi
export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$here/bin:$PATH"
ENV
  # OpenBLAS alone is 35 MiB: carried as one gzip archive (a third of the size), unpacked there
  # by --run.
  local size
  size=$(du -sm "$out" | cut -f1)
  tar czf "$build/pack.tar.gz" -C "$out" .
  rm -rf "$out"
  mkdir -p "$out"
  mv "$build/pack.tar.gz" "$out/pack.tar.gz"
  echo "gpu-check: packed ${size} MiB into $out/pack.tar.gz ($(du -m "$out/pack.tar.gz" | cut -f1) MiB;" \
    "a device call carries at most 64 MiB)"
  [ "$(du -m "$out/pack.tar.gz" | cut -f1)" -lt 60 ] || { echo "gpu-check: $out is too large to carry" >&2; exit 1; }
}

# What runs on the GPU machine. Each part's log goes to $OUT; a failing part does not stop the
# others, and the summary at the end says which failed.
run_there() {
  local pack
  pack=$(cd "$1" && pwd)  # absolute: the end-to-end tests run in a scratch folder
  : "${OUT:?gpu-check --run: OUT must name the folder for the logs}"
  [ ! -f "$pack/pack.tar.gz" ] || tar xzf "$pack/pack.tar.gz" -C "$pack"
  # shellcheck disable=SC1091
  source "$pack/env.sh"
  local failed=()
  part() {  # part NAME CMD...: runs CMD with its output in $OUT/NAME.log
    local name=$1 status=0
    shift
    echo "== $name: $*"
    "$@" >"$OUT/$name.log" 2>&1 || status=$?
    tail -n 5 "$OUT/$name.log"
    echo "== $name: exit $status"
    [ "$status" = 0 ] || failed+=("$name ($status)")
  }
  part nvidia-smi nvidia-smi
  part gpustat digits-gpustat
  part gpustat-json digits-gpustat --json
  # The CUDA tests by source file, as CTest runs them; --require-gpu makes "no GPU" a loud 77.
  part cuda-tests digits-tests --require-gpu '--source-file=*/test_cuda_*' --duration=true
  part train-gpu-log env DIGITS_BIN="$pack/bin" DIGITS_SOURCE="$PWD" bash tests/e2e/test_train_gpu_log.sh
  part bench-gpu env BIN_DIR="$pack/bin" NET_DIR="$pack/networks" OUT="$OUT/bench" bash scripts/bench-gpu.sh
  echo
  if [ ${#failed[@]} -gt 0 ]; then
    echo "gpu-check: FAILED: ${failed[*]} (logs in \$OUT)"
    return 1
  fi
  echo "gpu-check: every part passed (logs in \$OUT)"
}

if [ "${1:-}" = "--run" ]; then
  run_there "${2:?usage: gpu-check.sh --run PACK}"
  exit
fi
[ $# -eq 0 ] || { echo "usage: scripts/gpu-check.sh [--run PACK]" >&2; exit 2; }

build=${BUILD_DIR:-build-gpu}
pack_dir=${PACK_DIR:-gpu-pack}
cuda=${CUDA:-ON}
git check-ignore -q "$build" || { echo "gpu-check: $build is not git-ignored" >&2; exit 2; }
git check-ignore -q "$pack_dir" || { echo "gpu-check: $pack_dir is not git-ignored" >&2; exit 2; }
if [ "$cuda" = ON ]; then
  command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] ||
    { echo "gpu-check: no nvcc here: a CUDA build needs the CUDA toolkit (CUDA=OFF packs a CPU build)" >&2; exit 4; }
  export PATH="$PATH:/usr/local/cuda/bin"
  flags=(-DDIGITS_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
else
  flags=(-DDIGITS_CUDA=OFF)
fi
nice -n 10 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${flags[@]}" >/dev/null
nice -n 10 cmake --build "$build" -j "${JOBS:-2}" --target digits-dataset digits-train digits-infer \
  digits-gpustat digits-tests bench-train-step bench-engine
pack "$build" "$pack_dir"
[ "$cuda" = ON ] || echo "gpu-check: CUDA=OFF: this pack has no CUDA backend; the GPU tests there will skip"
cat <<EOF

Run the whole GPU check on a lent GPU machine with the device tool's \`run\`:
  command: bash scripts/gpu-check.sh --run $pack_dir
  carry:   ["$pack_dir"]
  timeout_s: 600
Its logs come back under \$OUT: nvidia-smi, gpustat, cuda-tests, train-gpu-log, bench-gpu.
EOF
