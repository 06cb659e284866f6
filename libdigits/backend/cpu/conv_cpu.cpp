// Convolution, CPU reference: im2col + OpenBLAS SGEMM, one image at a time.
//
// For image b and group g, with Cg = C/groups input channels and Kg = K/groups output channels
// per group, R = Cg*kh*kw values under one window and P = oh*ow output positions:
//   col (C*kh*kw, P)    = im2col(x_b); group g owns rows [g*R, (g+1)*R)
//   forward:          y_bg (Kg, P)  = w_g (Kg, R) * col_g (R, P)      (+ bias)
//   backward data:    col_g (R, P)  = w_g^T (R, Kg) * dy_bg (Kg, P);  dx_b = col2im(col)
//   backward filter:  dw_g (Kg, R) += dy_bg (Kg, P) * col_g^T (P, R)
// with the P columns taken in chunks of whole output rows when col is large (see
// kColumnBudget). A 1x1 convolution with stride 1 and no padding has col == x_b, so im2col is
// skipped.
//
// Threads: with at least as many images as OpenMP threads, images are shared out among the
// threads, each with its own slice of the backend's workspace; OpenBLAS always runs
// single-threaded (one thread pool, DESIGN.md 7). With fewer images (inference on one image),
// images run one after another and each GEMM is split across the threads. The result depends
// on the thread count only through the order of dw's summation over images.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

namespace {

struct ConvGeometry {
  int64_t oh, ow, p;        // output height, width, positions P = oh*ow
  int64_t cg, kg, r;        // input and output channels per group, R = Cg*kh*kw
  int64_t x_image, y_image; // floats per image of x (C*H*W) and y (K*P)
  bool pointwise;           // 1x1, stride 1, no padding: col is x itself
  int64_t chunk_rows;       // output rows per im2col chunk
  int64_t col_floats;       // im2col buffer per thread: C*kh*kw x chunk_rows*ow (0 if pointwise)
};

// An image's im2col matrix is cut into chunks of whole output rows of about kColumnBudget
// floats (256 KB), so that it is still in cache when the GEMM packs it (AlexNet's conv1 has a
// 4.4 MB matrix per image: chunking saved about 10% of its time here); but never below
// kMinChunkColumns columns, where the GEMM loses efficiency and the weights are packed again
// for too little work.
constexpr int64_t kColumnBudget = 65536;
constexpr int64_t kMinChunkColumns = 256;

ConvGeometry geometry(const ConvShape& s, const char* op) {
  DIGITS_CHECK(s.groups >= 1 && s.c % s.groups == 0 && s.k % s.groups == 0,
               "{}: {}: groups must divide input and output channels", op, s.describe());
  DIGITS_CHECK(s.kh >= 1 && s.kw >= 1 && s.sh >= 1 && s.sw >= 1 && s.dh >= 1 && s.dw >= 1 &&
                   s.ph >= 0 && s.pw >= 0,
               "{}: {}: invalid kernel, stride, padding or dilation", op, s.describe());
  ConvGeometry g;
  g.oh = s.out_h();
  g.ow = s.out_w();
  DIGITS_CHECK(g.oh >= 1 && g.ow >= 1, "{}: {}: kernel larger than the padded input", op,
               s.describe());
  g.p = g.oh * g.ow;
  g.cg = s.c / s.groups;
  g.kg = s.k / s.groups;
  g.r = g.cg * s.kh * s.kw;
  g.x_image = s.c * s.h * s.w;
  g.y_image = s.k * g.p;
  g.pointwise = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.ph == 0 && s.pw == 0;
  const int64_t col_rows = s.c * s.kh * s.kw;
  const int64_t columns = std::max(kMinChunkColumns, kColumnBudget / col_rows);
  g.chunk_rows = g.pointwise ? g.oh : std::clamp<int64_t>(columns / g.ow, 1, g.oh);
  g.col_floats = g.pointwise ? 0 : col_rows * g.chunk_rows * g.ow;
  return g;
}

// Row-major C (m, n) = alpha * op(A) * op(B) + beta * C with explicit leading dimensions, on
// one thread inside a parallel region; outside one (the serial path of for_each_image) large
// products are split into one block of C per OpenMP thread, as CpuBackend::gemm does, since
// OpenBLAS itself runs single-threaded (see math_cpu.cpp).
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  auto block = [&](int64_t m0, int64_t mc, int64_t n0, int64_t nc) {
    const float* a_block = trans_a ? a + m0 : a + m0 * lda;  // rows m0.. of op(A)
    const float* b_block = trans_b ? b + n0 * ldb : b + n0;  // columns n0.. of op(B)
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(mc),
                static_cast<blasint>(nc), static_cast<blasint>(k), alpha, a_block,
                static_cast<blasint>(lda), b_block, static_cast<blasint>(ldb), beta,
                c + m0 * ldc + n0, static_cast<blasint>(ldc));
  };
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads == 1 || m * n * k < (int64_t(1) << 18)) {
    block(0, m, 0, n);
    return;
  }
  // Split C along its larger dimension (multiples of 16 keep the kernels' panels whole).
  const bool split_rows = m >= n;
  const int64_t extent = split_rows ? m : n;
  const int64_t chunk = ((extent + threads - 1) / threads + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int t = 0; t < threads; ++t) {
    const int64_t begin = t * chunk, size = std::min(chunk, extent - begin);
    if (size <= 0) continue;
    if (split_rows)
      block(begin, size, 0, n);
    else
      block(0, m, begin, size);
  }
}

// The range [begin, end) of output columns ox whose input column ox*sw + offset lies in
// [0, width).
void valid_columns(int64_t offset, int64_t sw, int64_t width, int64_t ow, int64_t* begin,
                   int64_t* end) {
  int64_t first = offset >= 0 ? 0 : (-offset + sw - 1) / sw;
  int64_t last = offset > width - 1 ? 0 : (width - 1 - offset) / sw + 1;
  *end = std::min(last, ow);
  *begin = std::min(first, *end);
}

// col (C*kh*kw, n) = the input values under the windows of output rows [oy0, oy1) of image
// x (C, H, W), n = (oy1 - oy0) * ow; `=`, zeros where a window reads padding. Row (c, i, j),
// column (oy - oy0) * ow + ox holds x[c, oy*sh - ph + i*dh, ox*sw - pw + j*dw].
void im2col(const ConvShape& s, const ConvGeometry& g, const float* x, int64_t oy0, int64_t oy1,
            float* col) {
  const int64_t n = (oy1 - oy0) * g.ow;
  for (int64_t c = 0; c < s.c; ++c) {
    const float* plane = x + c * s.h * s.w;
    for (int64_t i = 0; i < s.kh; ++i)
      for (int64_t j = 0; j < s.kw; ++j) {
        float* row = col + ((c * s.kh + i) * s.kw + j) * n;
        const int64_t col_offset = j * s.dw - s.pw;
        int64_t begin, end;
        valid_columns(col_offset, s.sw, s.w, g.ow, &begin, &end);
        for (int64_t oy = oy0; oy < oy1; ++oy) {
          float* out = row + (oy - oy0) * g.ow;
          const int64_t iy = oy * s.sh - s.ph + i * s.dh;
          if (iy < 0 || iy >= s.h) {
            std::memset(out, 0, static_cast<size_t>(g.ow) * sizeof(float));
            continue;
          }
          const float* in = plane + iy * s.w;  // input row; column of ox is ox*sw + col_offset
          for (int64_t ox = 0; ox < begin; ++ox) out[ox] = 0.0f;
          if (s.sw == 1 && end > begin) {
            std::memcpy(out + begin, in + begin + col_offset,
                        static_cast<size_t>(end - begin) * sizeof(float));
          } else {
            for (int64_t ox = begin; ox < end; ++ox) out[ox] = in[ox * s.sw + col_offset];
          }
          for (int64_t ox = end; ox < g.ow; ++ox) out[ox] = 0.0f;
        }
      }
  }
}

// dx (C, H, W) += col's entries added back onto the input positions im2col read them from (the
// adjoint of im2col for output rows [oy0, oy1)). Values im2col read from padding are dropped.
void col2im_add(const ConvShape& s, const ConvGeometry& g, const float* col, int64_t oy0,
                int64_t oy1, float* dx) {
  const int64_t n = (oy1 - oy0) * g.ow;
  for (int64_t c = 0; c < s.c; ++c) {
    float* plane = dx + c * s.h * s.w;
    for (int64_t i = 0; i < s.kh; ++i)
      for (int64_t j = 0; j < s.kw; ++j) {
        const float* row = col + ((c * s.kh + i) * s.kw + j) * n;
        const int64_t col_offset = j * s.dw - s.pw;
        int64_t begin, end;
        valid_columns(col_offset, s.sw, s.w, g.ow, &begin, &end);
        for (int64_t oy = oy0; oy < oy1; ++oy) {
          const int64_t iy = oy * s.sh - s.ph + i * s.dh;
          if (iy < 0 || iy >= s.h) continue;
          const float* in = row + (oy - oy0) * g.ow;
          float* out = plane + iy * s.w;  // column of ox is ox*sw + col_offset
          for (int64_t ox = begin; ox < end; ++ox) out[ox * s.sw + col_offset] += in[ox];
        }
      }
  }
}

// Runs body(b, thread) for every image b in [0, n): split across OpenMP threads when there are
// enough images, else serially (sgemm above then splits each GEMM across the threads).
// OpenBLAS itself always runs single-threaded: one thread pool only (see math_cpu.cpp).
// `threads` is the number of workspace slices body may index by `thread`.
template <typename Body>
void for_each_image(int64_t n, int threads, Body body) {
  if (threads > 1) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t b = 0; b < n; ++b) body(b, omp_get_thread_num());
  } else {
    for (int64_t b = 0; b < n; ++b) body(b, 0);
  }
}

// How many threads share the images: all of them when each gets at least one image.
int image_threads(int64_t n) {
  const int max_threads = omp_get_max_threads();
  return n >= max_threads ? max_threads : 1;
}

}  // namespace

// y (n, k, oh, ow) = conv(x, w) + bias; `=`. bias (k) is nullable.
void CpuBackend::conv_forward(const ConvShape& s, const float* x, const float* w,
                              const float* bias, float* y) {
  const ConvGeometry g = geometry(s, "conv_forward");
  const int threads = image_threads(s.n);
  float* col_all = workspace(static_cast<size_t>(g.col_floats) * threads);
  for_each_image(s.n, threads, [&](int64_t b, int thread) {
    const float* xb = x + b * g.x_image;
    float* yb = y + b * g.y_image;
    float* own = col_all + thread * g.col_floats;
    // With a bias, y starts as the bias and the GEMMs add to it (beta = 1): one pass over y.
    if (bias)
      for (int64_t k = 0; k < s.k; ++k) std::fill_n(yb + k * g.p, g.p, bias[k]);
    const float beta = bias ? 1.0f : 0.0f;
    for (int64_t oy0 = 0; oy0 < g.oh; oy0 += g.chunk_rows) {
      const int64_t oy1 = std::min(g.oh, oy0 + g.chunk_rows), n = (oy1 - oy0) * g.ow;
      const float* col = xb;  // pointwise: x itself, one chunk (R = Cg rows per group)
      if (!g.pointwise) {
        im2col(s, g, xb, oy0, oy1, own);
        col = own;
      }
      for (int64_t grp = 0; grp < s.groups; ++grp)
        sgemm(false, false, g.kg, n, g.r, 1.0f, w + grp * g.kg * g.r, g.r, col + grp * g.r * n,
              n, beta, yb + grp * g.kg * g.p + oy0 * g.ow, g.p);
    }
  });
}

// dx (n, c, h, w) = the gradient of conv(x, w) with respect to x, given dy; `=`.
void CpuBackend::conv_backward_data(const ConvShape& s, const float* w, const float* dy,
                                    float* dx) {
  const ConvGeometry g = geometry(s, "conv_backward_data");
  const int threads = image_threads(s.n);
  float* col_all = workspace(static_cast<size_t>(g.col_floats) * threads);
  for_each_image(s.n, threads, [&](int64_t b, int thread) {
    const float* dyb = dy + b * g.y_image;
    float* dxb = dx + b * g.x_image;
    if (g.pointwise) {
      // The GEMM writes dx directly (R = Cg rows per group).
      for (int64_t grp = 0; grp < s.groups; ++grp)
        sgemm(true, false, g.r, g.p, g.kg, 1.0f, w + grp * g.kg * g.r, g.r,
              dyb + grp * g.kg * g.p, g.p, 0.0f, dxb + grp * g.r * g.p, g.p);
      return;
    }
    float* col = col_all + thread * g.col_floats;
    std::memset(dxb, 0, static_cast<size_t>(g.x_image) * sizeof(float));
    for (int64_t oy0 = 0; oy0 < g.oh; oy0 += g.chunk_rows) {
      const int64_t oy1 = std::min(g.oh, oy0 + g.chunk_rows), n = (oy1 - oy0) * g.ow;
      for (int64_t grp = 0; grp < s.groups; ++grp)
        sgemm(true, false, g.r, n, g.kg, 1.0f, w + grp * g.kg * g.r, g.r,
              dyb + grp * g.kg * g.p + oy0 * g.ow, g.p, 0.0f, col + grp * g.r * n, n);
      col2im_add(s, g, col, oy0, oy1, dxb);
    }
  });
}

// dw (k, c/groups, kh, kw) += correlation of x with dy; dbias (k) += sum of dy over n, oh, ow
// (nullable).
void CpuBackend::conv_backward_filter(const ConvShape& s, const float* x, const float* dy,
                                      float* dw, float* dbias) {
  const ConvGeometry g = geometry(s, "conv_backward_filter");
  const int threads = image_threads(s.n);
  const int64_t w_count = s.k * g.r;
  // Per thread: an im2col buffer; threads other than 0 also accumulate into a private copy of
  // dw (thread 0 adds straight into dw), summed into dw after the loop.
  const int64_t slice = g.col_floats + w_count;
  float* ws = workspace(static_cast<size_t>(slice) * threads);
  for (int t = 1; t < threads; ++t) std::fill_n(ws + t * slice + g.col_floats, w_count, 0.0f);
  for_each_image(s.n, threads, [&](int64_t b, int thread) {
    const float* xb = x + b * g.x_image;
    const float* dyb = dy + b * g.y_image;
    float* own = ws + thread * slice;
    float* dw_acc = thread == 0 ? dw : own + g.col_floats;
    for (int64_t oy0 = 0; oy0 < g.oh; oy0 += g.chunk_rows) {
      const int64_t oy1 = std::min(g.oh, oy0 + g.chunk_rows), n = (oy1 - oy0) * g.ow;
      const float* col = xb;
      if (!g.pointwise) {
        im2col(s, g, xb, oy0, oy1, own);
        col = own;
      }
      for (int64_t grp = 0; grp < s.groups; ++grp)
        sgemm(false, true, g.kg, g.r, n, 1.0f, dyb + grp * g.kg * g.p + oy0 * g.ow, g.p,
              col + grp * g.r * n, n, 1.0f, dw_acc + grp * g.kg * g.r, g.r);
    }
  });
  for (int t = 1; t < threads; ++t) {
    const float* partial = ws + t * slice + g.col_floats;
    for (int64_t i = 0; i < w_count; ++i) dw[i] += partial[i];
  }
  if (dbias) bias_backward(s.n, s.k, g.p, dy, dbias);
}

}  // namespace digits
