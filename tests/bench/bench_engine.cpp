// bench-engine: forward + backward of a network on the CPU engine, for scripts/bench-engine.sh.
//
//   bench-engine NETWORK.yaml BATCH ITERATIONS REPEATS
//
// Prints JSON lines on stdout:
//   {"kind": "sgemm", "n": 2048, "gflops": ...}                   the machine's SGEMM rate
//   {"kind": "net", "name", "batch", "params", "images_per_s", "ms_per_iter", "flops_per_image"}
//   {"kind": "op", "op": "conv_forward", "ms_per_iter", "gflops"}  time per backend op family
// One iteration is what training does apart from the solver: forward, backward, clear the
// parameter gradients. Throughput is the best of REPEATS blocks of ITERATIONS iterations, after
// warm-up iterations (first touches of memory and workspace growth are not what we measure).
// The per-op breakdown comes from a separate block run through a backend wrapper that times
// every call, so its clock reads never touch the throughput figure.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "nn/net.h"
#include "nn/net_spec.h"
#include "tool_common.h"

using namespace digits;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// FLOPs of one convolution pass (forward, backward-data and backward-filter are the same size).
double conv_flops(const ConvShape& s) {
  return 2.0 * s.n * s.k * s.out_h() * s.out_w() * (s.c / s.groups) * s.kh * s.kw;
}

// Forwards every call to `inner`, adding its wall time (and FLOPs for conv and gemm) per op.
class TimingBackend final : public Backend {
 public:
  explicit TimingBackend(Backend& inner) : inner_(inner) {}

  struct Stat {
    double seconds = 0, flops = 0;
  };
  std::map<std::string, Stat> stats;

  Device device() const override { return inner_.device(); }
  std::string name() const override { return "timing(" + inner_.name() + ")"; }
  void synchronize() override { inner_.synchronize(); }
  void upload(int64_t n, const float* host, float* dst) override {
    timed("upload", 0, [&] { inner_.upload(n, host, dst); });
  }

  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            const float* b, float beta, float* c) override {
    timed("gemm", 2.0 * m * n * k, [&] { inner_.gemm(ta, tb, m, n, k, alpha, a, b, beta, c); });
  }
  void set(int64_t n, float value, float* y) override {
    timed("set", 0, [&] { inner_.set(n, value, y); });
  }
  void copy(int64_t n, const float* x, float* y) override {
    timed("copy", 0, [&] { inner_.copy(n, x, y); });
  }
  void axpy(int64_t n, float alpha, const float* x, float* y) override {
    timed("axpy", 0, [&] { inner_.axpy(n, alpha, x, y); });
  }
  void scale(int64_t n, float alpha, float* y) override {
    timed("scale", 0, [&] { inner_.scale(n, alpha, y); });
  }
  double sum_squares(int64_t n, const float* x) override {
    double r = 0;
    timed("sum_squares", 0, [&] { r = inner_.sum_squares(n, x); });
    return r;
  }
  void copy_2d(int64_t rows, int64_t cols, const float* src, int64_t ss, float* dst,
               int64_t ds) override {
    timed("copy_2d", 0, [&] { inner_.copy_2d(rows, cols, src, ss, dst, ds); });
  }
  void add_bias(int64_t o, int64_t c, int64_t i, const float* bias, float* y) override {
    timed("bias", 0, [&] { inner_.add_bias(o, c, i, bias, y); });
  }
  void bias_backward(int64_t o, int64_t c, int64_t i, const float* dy, float* db) override {
    timed("bias", 0, [&] { inner_.bias_backward(o, c, i, dy, db); });
  }
  void conv_forward(const ConvShape& s, const float* x, const float* w, const float* bias,
                    float* y) override {
    timed("conv_forward", conv_flops(s), [&] { inner_.conv_forward(s, x, w, bias, y); });
  }
  void conv_backward_data(const ConvShape& s, const float* w, const float* dy,
                          float* dx) override {
    timed("conv_backward_data", conv_flops(s), [&] { inner_.conv_backward_data(s, w, dy, dx); });
  }
  void conv_backward_filter(const ConvShape& s, const float* x, const float* dy, float* dw,
                            float* db) override {
    timed("conv_backward_filter", conv_flops(s),
          [&] { inner_.conv_backward_filter(s, x, dy, dw, db); });
  }
  void pool_forward(const PoolShape& s, const float* x, float* y, float* mask) override {
    timed("pool", 0, [&] { inner_.pool_forward(s, x, y, mask); });
  }
  void pool_backward(const PoolShape& s, const float* x, const float* y, const float* dy,
                     const float* mask, float* dx) override {
    timed("pool", 0, [&] { inner_.pool_backward(s, x, y, dy, mask, dx); });
  }
  void activation_forward(Activation a, float alpha, int64_t n, const float* x,
                          float* y) override {
    timed("activation", 0, [&] { inner_.activation_forward(a, alpha, n, x, y); });
  }
  void activation_backward(Activation a, float alpha, int64_t n, const float* x, const float* y,
                           const float* dy, float* dx) override {
    timed("activation", 0, [&] { inner_.activation_backward(a, alpha, n, x, y, dy, dx); });
  }
  void power_forward(int64_t n, float p, float sc, float sh, const float* x, float* y) override {
    timed("power", 0, [&] { inner_.power_forward(n, p, sc, sh, x, y); });
  }
  void power_backward(int64_t n, float p, float sc, float sh, const float* x, const float* y,
                      const float* dy, float* dx) override {
    timed("power", 0, [&] { inner_.power_backward(n, p, sc, sh, x, y, dy, dx); });
  }
  void softmax_forward(int64_t o, int64_t c, int64_t i, const float* x, float* y) override {
    timed("softmax", 0, [&] { inner_.softmax_forward(o, c, i, x, y); });
  }
  void softmax_backward(int64_t o, int64_t c, int64_t i, const float* y, const float* dy,
                        float* dx) override {
    timed("softmax", 0, [&] { inner_.softmax_backward(o, c, i, y, dy, dx); });
  }
  double softmax_loss_forward(int64_t o, int64_t c, int64_t i, const float* prob,
                              const float* label, bool hi, int il, int64_t* valid) override {
    double r = 0;
    timed("softmax", 0, [&] { r = inner_.softmax_loss_forward(o, c, i, prob, label, hi, il, valid); });
    return r;
  }
  void softmax_loss_backward(int64_t o, int64_t c, int64_t i, const float* prob,
                             const float* label, bool hi, int il, float sc, float* dx) override {
    timed("softmax", 0, [&] { inner_.softmax_loss_backward(o, c, i, prob, label, hi, il, sc, dx); });
  }
  void accuracy(int64_t o, int64_t c, int64_t i, const float* x, const float* label, int k,
                bool hi, int il, int64_t* correct, int64_t* valid) override {
    timed("accuracy", 0, [&] { inner_.accuracy(o, c, i, x, label, k, hi, il, correct, valid); });
  }
  void lrn_forward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                   const float* x, float* scale, float* y) override {
    timed("lrn", 0, [&] { inner_.lrn_forward(p, n, c, h, w, x, scale, y); });
  }
  void lrn_backward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                    const float* x, const float* y, const float* scale, const float* dy,
                    float* dx) override {
    timed("lrn", 0, [&] { inner_.lrn_backward(p, n, c, h, w, x, y, scale, dy, dx); });
  }
  void batchnorm_forward_train(int64_t n, int64_t c, int64_t sp, float eps, float mom,
                               const float* x, float* y, float* rm, float* rv, float* sm,
                               float* si) override {
    timed("batchnorm", 0, [&] { inner_.batchnorm_forward_train(n, c, sp, eps, mom, x, y, rm, rv, sm, si); });
  }
  void batchnorm_forward_inference(int64_t n, int64_t c, int64_t sp, float eps, const float* x,
                                   const float* rm, const float* rv, float* y) override {
    timed("batchnorm", 0, [&] { inner_.batchnorm_forward_inference(n, c, sp, eps, x, rm, rv, y); });
  }
  void batchnorm_backward(int64_t n, int64_t c, int64_t sp, const float* x, const float* dy,
                          const float* sm, const float* si, float* dx) override {
    timed("batchnorm", 0, [&] { inner_.batchnorm_backward(n, c, sp, x, dy, sm, si, dx); });
  }
  void channel_scale_forward(int64_t n, int64_t c, int64_t sp, const float* x, const float* g,
                             const float* b, float* y) override {
    timed("scale_layer", 0, [&] { inner_.channel_scale_forward(n, c, sp, x, g, b, y); });
  }
  void channel_scale_backward(int64_t n, int64_t c, int64_t sp, const float* x, const float* g,
                              const float* dy, float* dx, float* dg, float* db) override {
    timed("scale_layer", 0, [&] { inner_.channel_scale_backward(n, c, sp, x, g, dy, dx, dg, db); });
  }
  void dropout_forward(int64_t n, float ratio, uint64_t seed, uint64_t offset, const float* x,
                       float* mask, float* y) override {
    timed("dropout", 0, [&] { inner_.dropout_forward(n, ratio, seed, offset, x, mask, y); });
  }
  void dropout_backward(int64_t n, const float* mask, const float* dy, float* dx) override {
    timed("dropout", 0, [&] { inner_.dropout_backward(n, mask, dy, dx); });
  }
  void eltwise_forward(EltwiseOp op, int64_t n, int k, const float* const* xs,
                       const float* coeffs, float* y, float* argmax) override {
    timed("eltwise", 0, [&] { inner_.eltwise_forward(op, n, k, xs, coeffs, y, argmax); });
  }
  void eltwise_backward(EltwiseOp op, int64_t n, int i, const float* x, const float* y,
                        const float* dy, float coeff, const float* argmax, float* dx) override {
    timed("eltwise", 0, [&] { inner_.eltwise_backward(op, n, i, x, y, dy, coeff, argmax, dx); });
  }
  void solver_update(const SolverStep& step, int64_t n, float* w, float* g, float* h1,
                     float* h2) override {
    timed("solver", 0, [&] { inner_.solver_update(step, n, w, g, h1, h2); });
  }

 private:
  template <typename F>
  void timed(const char* op, double flops, F&& call) {
    // A GPU op only enqueues work: wait for it, or the time would be the launch's.
    const bool gpu = inner_.device() == Device::cuda;
    if (gpu) inner_.synchronize();
    auto start = Clock::now();
    call();
    if (gpu) inner_.synchronize();
    Stat& stat = stats[op];
    stat.seconds += seconds_since(start);
    stat.flops += flops;
  }
  Backend& inner_;
};

void fill_inputs(Net& net, int64_t classes, Rng& rng) {
  for (const std::string& name : net.input_names()) {
    Tensor& t = net.blob(name);
    std::vector<float> values(static_cast<size_t>(t.count()));
    if (name == "label") {
      for (float& v : values) v = static_cast<float>(rng.below(static_cast<uint64_t>(classes)));
    } else {
      for (float& v : values) v = rng.uniform(-1.0f, 1.0f);
    }
    t.set_data(values);
  }
}

void iteration(Net& net, uint64_t i) {
  net.forward(i);
  net.backward();
  net.zero_param_grads();
}

double sgemm_gflops(Backend& cpu, int reps) {
  const int64_t n = 2048;
  Rng rng(1);
  std::vector<float> a(n * n), b(n * n), c(n * n);
  for (float& v : a) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : b) v = rng.uniform(-1.0f, 1.0f);
  cpu.gemm(false, false, n, n, n, 1.0f, a.data(), b.data(), 0.0f, c.data());  // warm-up
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto start = Clock::now();
    cpu.gemm(false, false, n, n, n, 1.0f, a.data(), b.data(), 0.0f, c.data());
    best = std::min(best, seconds_since(start));
  }
  return 2.0 * n * n * n / best / 1e9;
}

int run(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s NETWORK.yaml BATCH ITERATIONS REPEATS\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const int64_t batch = std::stoll(argv[2]);
  const int iterations = std::stoi(argv[3]);
  const int repeats = std::stoi(argv[4]);
  Backend& cpu = cpu_backend();

  std::printf("{\"kind\": \"sgemm\", \"n\": 2048, \"gflops\": %.1f}\n", sgemm_gflops(cpu, 5));
  std::fflush(stdout);

  NetSpec spec = load_net_spec(path);
  const int64_t classes = spec.classes > 0 ? spec.classes : 10;
  Rng rng(7);

  // Throughput, through the plain backend.
  double best = 1e30;
  {
    Net net(spec, Phase::train, batch, cpu, 1);
    fill_inputs(net, classes, rng);
    for (int i = 0; i < 2; ++i) iteration(net, i);  // warm-up
    for (int r = 0; r < repeats; ++r) {
      auto start = Clock::now();
      for (int i = 0; i < iterations; ++i) iteration(net, static_cast<uint64_t>(i));
      best = std::min(best, seconds_since(start) / iterations);
    }
  }

  // The per-op breakdown, through the timing wrapper (one block after warm-up).
  TimingBackend timing(cpu);
  Net net(spec, Phase::train, batch, timing, 1);
  fill_inputs(net, classes, rng);
  for (int i = 0; i < 2; ++i) iteration(net, i);
  timing.stats.clear();
  for (int i = 0; i < iterations; ++i) iteration(net, static_cast<uint64_t>(i));
  double flops_per_iteration = 0;
  for (const auto& [op, stat] : timing.stats) flops_per_iteration += stat.flops / iterations;

  std::printf("{\"kind\": \"net\", \"name\": \"%s\", \"batch\": %lld, \"params\": %lld, "
              "\"images_per_s\": %.1f, \"ms_per_iter\": %.3f, \"flops_per_image\": %.0f}\n",
              spec.name.c_str(), static_cast<long long>(batch),
              static_cast<long long>(net.num_learnable_parameters()), batch / best, best * 1e3,
              flops_per_iteration / batch);
  for (const auto& [op, stat] : timing.stats)
    std::printf("{\"kind\": \"op\", \"op\": \"%s\", \"ms_per_iter\": %.3f, \"gflops\": %.1f}\n",
                op.c_str(), stat.seconds * 1e3 / iterations,
                stat.seconds > 0 ? stat.flops / stat.seconds / 1e9 : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return digits::run_tool("bench-engine", [&] { return run(argc, argv); });
}
