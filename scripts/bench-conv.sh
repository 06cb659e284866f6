#!/usr/bin/env bash
# The CPU engine's compute-heavy ops against PyTorch on the same shapes, in the same run:
# convolution (forward; forward + both backward passes), max pooling and LRN, on the layers of
# LeNet and AlexNet. Prints milliseconds per call (best of REPS) for both sides, the ratio
# PyTorch/digits (above 1: digits is faster), and the machine's SGEMM peak as the ceiling.
#   REPS (default 5), THREADS (default: nproc), LENET_BATCH (64), ALEXNET_BATCH (16),
#   BUILD_DIR (default build), CLOCK (wall, the default: what a user waits; or cpu: CPU time of
#   all the process's threads, with OpenMP threads sleeping rather than spinning while they wait,
#   on both sides: the work done, which stays comparable on a machine busy with other jobs)
# Both sides run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (this machine sets them for
# old OpenBLAS builds and they halve SGEMM speed); tests and CI keep them. PyTorch runs with
# torch.set_num_threads(THREADS) and OPENBLAS_NUM_THREADS=1 (two thread pools on the same cores
# halve its speed). On a machine shared with other work, run it more than once: the best of
# REPS hides only short interruptions.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
reps=${REPS:-5}
threads=${THREADS:-$(nproc)}
lenet_batch=${LENET_BATCH:-64}
alexnet_batch=${ALEXNET_BATCH:-16}
clock=${CLOCK:-wall}
case "$clock" in
  wall) wait_policy=() ;;
  cpu) wait_policy=(OMP_WAIT_POLICY=passive) ;;
  *) echo "bench-conv.sh: CLOCK must be wall or cpu, got '$clock'" >&2; exit 2 ;;
esac
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$threads" --target digits >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clean_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

# The layers: name, batch, channels, size, outputs, kernel, stride, pad, groups, and what follows
# the convolution in the network (pool: max pooling 2x2/2 in LeNet, 3x3/2 in AlexNet; lrn: LRN
# size 5 then pooling), measured on the convolution's output.
cat >"$work/layers.txt" <<EOF
lenet.conv1 $lenet_batch 1 28 20 5 1 0 1 pool
lenet.conv2 $lenet_batch 20 12 50 5 1 0 1 pool
alexnet.conv1 $alexnet_batch 3 227 96 11 4 0 1 lrn
alexnet.conv2 $alexnet_batch 96 27 256 5 1 2 2 lrn
alexnet.conv3 $alexnet_batch 256 13 384 3 1 1 1 -
alexnet.conv4 $alexnet_batch 384 13 384 3 1 1 2 -
alexnet.conv5 $alexnet_batch 384 13 256 3 1 1 2 pool
EOF

cat >"$work/bench.cpp" <<'EOF'
// One JSON line per measurement: {"layer", "op", "ms"}; ms is the best of `reps` calls, in wall
// time or in the process's CPU time (argv[3]: wall | cpu).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/rng.h"

using namespace digits;

bool cpu_clock = false;

double now_ms() {
  if (cpu_clock) {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
  }
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <typename F>
double best_ms(int reps, F f) {
  f();  // warm-up: workspace growth and first touches are not what we measure
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_ms();
    f();
    best = std::min(best, now_ms() - t0);
  }
  return best;
}

std::vector<float> random(int64_t n, Rng& rng) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

void emit(const std::string& layer, const char* op, double ms) {
  std::printf("{\"layer\": \"%s\", \"op\": \"%s\", \"ms\": %.4f}\n", layer.c_str(), op, ms);
  std::fflush(stdout);
}

int main(int argc, char** argv) {
  const int reps = std::stoi(argv[2]);
  cpu_clock = std::string(argv[3]) == "cpu";
  Backend& cpu = cpu_backend();
  Rng rng(1);
  {
    const int64_t n = 2048;
    std::vector<float> a = random(n * n, rng), b = random(n * n, rng), c(n * n);
    emit("sgemm2048", "gemm", best_ms(reps, [&] {
           cpu.gemm(false, false, n, n, n, 1.0f, a.data(), b.data(), 0.0f, c.data());
         }));
  }
  std::ifstream layers(argv[1]);
  std::string name, after;
  int64_t batch, c, size, k, kernel, stride, pad, groups;
  while (layers >> name >> batch >> c >> size >> k >> kernel >> stride >> pad >> groups >> after) {
    ConvShape s;
    s.n = batch, s.c = c, s.h = s.w = size, s.k = k, s.kh = s.kw = kernel;
    s.sh = s.sw = stride, s.ph = s.pw = pad, s.groups = groups;
    const int64_t out = s.out_h();
    std::vector<float> x = random(batch * c * size * size, rng);
    std::vector<float> w = random(k * (c / groups) * kernel * kernel, rng), bias = random(k, rng);
    std::vector<float> y(batch * k * out * out), dy = random(batch * k * out * out, rng);
    std::vector<float> dx(x.size()), dw(w.size()), dbias(k);
    const double fwd = best_ms(reps, [&] {
      cpu.conv_forward(s, x.data(), w.data(), bias.data(), y.data());
    });
    const double bwd_data = best_ms(reps, [&] {
      cpu.conv_backward_data(s, w.data(), dy.data(), dx.data());
    });
    const double bwd_filter = best_ms(reps, [&] {
      cpu.conv_backward_filter(s, x.data(), dy.data(), dw.data(), dbias.data());
    });
    emit(name, "conv fwd", fwd);
    emit(name, "conv fwd+bwd", fwd + bwd_data + bwd_filter);

    if (after == "-") continue;
    // Max pooling 3x3 stride 2 (AlexNet) or 2x2 stride 2 (LeNet) on the conv's output.
    PoolShape p;
    p.n = batch, p.c = k, p.h = p.w = out;
    p.kh = p.kw = name.rfind("lenet", 0) == 0 ? 2 : 3;
    p.sh = p.sw = 2;
    std::vector<float> pooled(batch * k * p.out_h() * p.out_w()), mask(pooled.size());
    std::vector<float> dpooled = random(static_cast<int64_t>(pooled.size()), rng);
    std::vector<float> dconv(y.size());  // (batch, k, out, out)
    const double pool_fwd = best_ms(reps, [&] {
      cpu.pool_forward(p, y.data(), pooled.data(), mask.data());
    });
    const double pool_bwd = best_ms(reps, [&] {
      cpu.pool_backward(p, y.data(), pooled.data(), dpooled.data(), mask.data(), dconv.data());
    });
    emit(name, "maxpool fwd", pool_fwd);
    emit(name, "maxpool fwd+bwd", pool_fwd + pool_bwd);

    if (after == "lrn") {
      LrnParams lrn;  // AlexNet: local_size 5, alpha 1e-4, beta 0.75, k 1
      std::vector<float> scale(y.size()), normed(y.size());
      std::vector<float> dnormed = random(static_cast<int64_t>(y.size()), rng);
      const double lrn_fwd = best_ms(reps, [&] {
        cpu.lrn_forward(lrn, batch, k, out, out, y.data(), scale.data(), normed.data());
      });
      const double lrn_bwd = best_ms(reps, [&] {
        cpu.lrn_backward(lrn, batch, k, out, out, y.data(), normed.data(), scale.data(),
                         dnormed.data(), dconv.data());
      });
      emit(name, "lrn fwd", lrn_fwd);
      emit(name, "lrn fwd+bwd", lrn_fwd + lrn_bwd);
    }
  }
}
EOF

cat >"$work/bench.py" <<'EOF'
import json, sys, time
import torch, torch.nn.functional as F
layers_file, reps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
clock = time.process_time if sys.argv[4] == "cpu" else time.perf_counter
torch.set_num_threads(threads)
torch.manual_seed(1)

def best_ms(f):
    f()
    best = 1e30
    for _ in range(reps):
        t0 = clock()
        f()
        best = min(best, (clock() - t0) * 1e3)
    return best

def emit(layer, op, ms):
    print(json.dumps({"layer": layer, "op": op, "ms": round(ms, 4)}), flush=True)

a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
emit("sgemm2048", "gemm", best_ms(lambda: torch.mm(a, b)))
for line in open(layers_file):
    name, *nums, after = line.split()
    batch, c, size, k, kernel, stride, pad, groups = map(int, nums)
    x = torch.rand(batch, c, size, size) * 2 - 1
    w = torch.rand(k, c // groups, kernel, kernel) * 2 - 1
    bias = torch.rand(k) * 2 - 1
    conv = lambda t: F.conv2d(t, w, bias, stride=stride, padding=pad, groups=groups)
    with torch.no_grad():
        emit(name, "conv fwd", best_ms(lambda: conv(x)))
    xg, wg, bg = x.clone().requires_grad_(), w.clone().requires_grad_(), bias.clone().requires_grad_()
    y = F.conv2d(x, w, bias, stride=stride, padding=pad, groups=groups)
    dy = torch.rand_like(y)
    def conv_fwd_bwd():
        out = F.conv2d(xg, wg, bg, stride=stride, padding=pad, groups=groups)
        out.backward(dy)
    emit(name, "conv fwd+bwd", best_ms(conv_fwd_bwd))
    if after == "-":
        continue

    kp = 2 if name.startswith("lenet") else 3
    yg = y.detach().clone().requires_grad_()
    with torch.no_grad():
        emit(name, "maxpool fwd", best_ms(lambda: F.max_pool2d(y, kp, 2, ceil_mode=True)))
    dp = torch.rand_like(F.max_pool2d(y, kp, 2, ceil_mode=True))
    emit(name, "maxpool fwd+bwd",
         best_ms(lambda: F.max_pool2d(yg, kp, 2, ceil_mode=True).backward(dp)))

    if after == "lrn":
        with torch.no_grad():
            emit(name, "lrn fwd", best_ms(lambda: F.local_response_norm(y, 5, 1e-4, 0.75, 1.0)))
        dn = torch.rand_like(y)
        emit(name, "lrn fwd+bwd",
             best_ms(lambda: F.local_response_norm(yg, 5, 1e-4, 0.75, 1.0).backward(dn)))
EOF

# shellcheck disable=SC2046
g++ -O2 -std=c++20 -fopenmp -I libdigits -I "$build/libdigits/generated" \
  $(pkg-config --cflags openblas) "$work/bench.cpp" "$build/libdigits/libdigits.a" \
  $(pkg-config --libs openblas lmdb libturbojpeg libpng zlib) -lyaml-cpp -lfmt -ldl -lpthread \
  -o "$work/bench"

echo "== digits CPU backend ($threads threads) and PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') ($threads threads), best of $reps, $clock time"
"${clean_env[@]}" "${wait_policy[@]}" OMP_NUM_THREADS="$threads" \
  "$work/bench" "$work/layers.txt" "$reps" "$clock" >"$work/ours.jsonl"
"${clean_env[@]}" "${wait_policy[@]}" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS="$threads" \
  /usr/bin/python3 "$work/bench.py" "$work/layers.txt" "$reps" "$threads" "$clock" >"$work/torch.jsonl"

/usr/bin/python3 - "$work/ours.jsonl" "$work/torch.jsonl" "$work/layers.txt" <<'EOF'
import json, sys
ours = {(r["layer"], r["op"]): r["ms"] for r in map(json.loads, open(sys.argv[1]))}
torch = {(r["layer"], r["op"]): r["ms"] for r in map(json.loads, open(sys.argv[2]))}
flops = {}
for line in open(sys.argv[3]):
    name, *nums, after = line.split()
    n, c, size, k, kernel, stride, pad, groups = map(int, nums)
    out = (size + 2 * pad - kernel) // stride + 1
    flops[name] = 2.0 * n * k * out * out * (c // groups) * kernel * kernel
peak_ours = 2.0 * 2048**3 / ours[("sgemm2048", "gemm")] / 1e6
peak_torch = 2.0 * 2048**3 / torch[("sgemm2048", "gemm")] / 1e6
print(f"SGEMM 2048^3: digits (OpenBLAS) {peak_ours:.0f} GFLOP/s, PyTorch {peak_torch:.0f} GFLOP/s"
      " (per CPU-second with CLOCK=cpu)")
print(f"{'layer':15s} {'op':16s} {'digits ms':>10s} {'torch ms':>10s} {'torch/digits':>13s} {'digits GFLOP/s':>15s}")
total_ours = total_torch = 0.0
for (layer, op), ms in ours.items():
    if layer == "sgemm2048":
        continue
    t = torch[(layer, op)]
    rate = ""
    if op == "conv fwd":
        rate = f"{flops[layer] / ms / 1e6:.0f}"
    elif op == "conv fwd+bwd":
        rate = f"{3 * flops[layer] / ms / 1e6:.0f}"
    if op.endswith("fwd+bwd"):
        total_ours += ms
        total_torch += t
    print(f"{layer:15s} {op:16s} {ms:10.3f} {t:10.3f} {t / ms:13.2f} {rate:>15s}")
print(f"{'all layers':15s} {'fwd+bwd':16s} {total_ours:10.3f} {total_torch:10.3f} {total_torch / total_ours:13.2f}")
EOF
