// The CPU backend: the readable reference every other backend is tested against. GEMM goes to
// OpenBLAS (single-threaded inside our OpenMP regions, so two thread pools never fight over the
// cores); other loops are plain C++ parallelized with OpenMP. One file per family of ops.
#pragma once

#include <vector>

#include "backend/backend.h"

namespace digits {

class CpuBackend final : public Backend {
 public:
  CpuBackend();
  Device device() const override { return Device::cpu; }
  std::string name() const override;

  void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
            const float* a, const float* b, float beta, float* c) override;
  void set(int64_t n, float value, float* y) override;
  void copy(int64_t n, const float* x, float* y) override;
  void axpy(int64_t n, float alpha, const float* x, float* y) override;
  void scale(int64_t n, float alpha, float* y) override;
  double sum_squares(int64_t n, const float* x) override;
  void copy_2d(int64_t rows, int64_t cols, const float* src, int64_t src_stride, float* dst,
               int64_t dst_stride) override;
  void add_bias(int64_t outer, int64_t channels, int64_t inner, const float* bias,
                float* y) override;
  void bias_backward(int64_t outer, int64_t channels, int64_t inner, const float* dy,
                     float* dbias) override;

  void conv_forward(const ConvShape& s, const float* x, const float* w, const float* bias,
                    float* y) override;
  void conv_backward_data(const ConvShape& s, const float* w, const float* dy, float* dx) override;
  void conv_backward_filter(const ConvShape& s, const float* x, const float* dy, float* dw,
                            float* dbias) override;

  void pool_forward(const PoolShape& s, const float* x, float* y, float* mask) override;
  void pool_backward(const PoolShape& s, const float* x, const float* y, const float* dy,
                     const float* mask, float* dx) override;

  void activation_forward(Activation act, float alpha, int64_t n, const float* x,
                          float* y) override;
  void activation_backward(Activation act, float alpha, int64_t n, const float* x, const float* y,
                           const float* dy, float* dx) override;
  void power_forward(int64_t n, float power, float scale, float shift, const float* x,
                     float* y) override;
  void power_backward(int64_t n, float power, float scale, float shift, const float* x,
                      const float* y, const float* dy, float* dx) override;

  void softmax_forward(int64_t outer, int64_t channels, int64_t inner, const float* x,
                       float* y) override;
  void softmax_backward(int64_t outer, int64_t channels, int64_t inner, const float* y,
                        const float* dy, float* dx) override;
  double softmax_loss_forward(int64_t outer, int64_t channels, int64_t inner, const float* prob,
                              const float* label, bool has_ignore, int ignore_label,
                              int64_t* valid) override;
  void softmax_loss_backward(int64_t outer, int64_t channels, int64_t inner, const float* prob,
                             const float* label, bool has_ignore, int ignore_label, float scale,
                             float* dx) override;
  void accuracy(int64_t outer, int64_t channels, int64_t inner, const float* x,
                const float* label, int top_k, bool has_ignore, int ignore_label,
                int64_t* correct, int64_t* valid) override;

  void lrn_forward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w, const float* x,
                   float* scale, float* y) override;
  void lrn_backward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                    const float* x, const float* y, const float* scale, const float* dy,
                    float* dx) override;
  void batchnorm_forward_train(int64_t n, int64_t c, int64_t spatial, float eps, float momentum,
                               const float* x, float* y, float* running_mean, float* running_var,
                               float* save_mean, float* save_invstd) override;
  void batchnorm_forward_inference(int64_t n, int64_t c, int64_t spatial, float eps,
                                   const float* x, const float* running_mean,
                                   const float* running_var, float* y) override;
  void batchnorm_backward(int64_t n, int64_t c, int64_t spatial, const float* x, const float* dy,
                          const float* save_mean, const float* save_invstd, float* dx) override;
  void channel_scale_forward(int64_t n, int64_t c, int64_t spatial, const float* x,
                             const float* gamma, const float* beta, float* y) override;
  void channel_scale_backward(int64_t n, int64_t c, int64_t spatial, const float* x,
                              const float* gamma, const float* dy, float* dx, float* dgamma,
                              float* dbeta) override;

  void dropout_forward(int64_t n, float ratio, uint64_t seed, uint64_t offset, const float* x,
                       float* mask, float* y) override;
  void dropout_backward(int64_t n, const float* mask, const float* dy, float* dx) override;

  void eltwise_forward(EltwiseOp op, int64_t n, int num_inputs, const float* const* xs,
                       const float* coeffs, float* y, float* argmax) override;
  void eltwise_backward(EltwiseOp op, int64_t n, int input_index, const float* x, const float* y,
                        const float* dy, float coeff, const float* argmax, float* dx) override;

  void solver_update(const SolverStep& step, int64_t n, float* w, float* g, float* h1,
                     float* h2) override;

 private:
  // Scratch memory reused across calls (im2col columns and the like); grows, never shrinks.
  float* workspace(size_t floats);
  std::vector<float> workspace_;
};

}  // namespace digits
