/*
 * fully_connected_f32_opt.c - FULLY_CONNECTED float32, optimized; bit for bit the
 * reference of fully_connected_f32.c (held to it by host/kernel_test.c).
 *
 * arm64 NEON, the interpreter's GEMV order (gemv_f32.h): the 4 lanes of one output are
 * one vector, FMUL then FADD per 4 depth (two roundings, as there), 8 outputs per pass
 * (each input vector loaded once for the 8), then 4; a depth not a multiple of 4 ends
 * with the walked-back step, its first `back` inputs 0 (w * 0: +-0, or NaN for an
 * infinite or NaN weight, as there); (l0 + l1) + (l2 + l3) by two FADDP levels, the
 * bias (none: nothing added), the clamp as compares and bit selects. The GEMM order
 * (several input rows) and other cores run the reference.
 */
#include "kfda/kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define KFDA_FC_NEON 1
#else
#define KFDA_FC_NEON 0
#endif

#if KFDA_FC_NEON
/* The clamp of the reference: v < lo -> lo, then !(v <= hi) -> hi (NaN -> hi). */
static inline float32x4_t clamp4(float32x4_t v, float32x4_t lo, float32x4_t hi) {
  v = vbslq_f32(vcltq_f32(v, lo), lo, v);
  return vbslq_f32(vcleq_f32(v, hi), v, hi);
}

/* n (1-4) outputs from 4 lane sums, the bias added (when there is one) and clamped. */
static inline void store4(float32x4_t v, const float *bias, int32_t n, float32x4_t lo,
                          float32x4_t hi, float *out) {
  float lanes[4];
  int32_t i;
  if (bias) {
    if (n == 4) {
      v = vaddq_f32(v, vld1q_f32(bias));
    } else {
      float b4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      for (i = 0; i < n; ++i) b4[i] = bias[i];
      v = vaddq_f32(v, vld1q_f32(b4)); /* lanes >= n: not stored */
    }
  }
  v = clamp4(v, lo, hi);
  if (n == 4) {
    vst1q_f32(out, v);
    return;
  }
  vst1q_f32(lanes, v);
  for (i = 0; i < n; ++i) out[i] = lanes[i];
}

/* One input row x (depth >= 4) -> units outputs in the GEMV order. */
static void gemv_neon(const float *x, int32_t depth, const float *weights, const float *bias,
                      int32_t units, float32x4_t lo, float32x4_t hi, float *out) {
  const int32_t full = depth - depth % 4, back = depth % 4 ? 4 - depth % 4 : 0;
  float32x4_t xb = vdupq_n_f32(0.0f); /* the walked-back step's inputs: first `back` 0 */
  int32_t u = 0, k;
  if (back) {
    float t[4];
    for (k = 0; k < 4; ++k) t[k] = k < back ? 0.0f : x[depth - 4 + k];
    xb = vld1q_f32(t);
  }
  for (; u + 8 <= units; u += 8) {
    const float *w0 = weights + (size_t)u * depth, *w1 = w0 + depth, *w2 = w1 + depth;
    const float *w3 = w2 + depth, *w4 = w3 + depth, *w5 = w4 + depth, *w6 = w5 + depth;
    const float *w7 = w6 + depth;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
    float32x4_t a7 = a0;
#define KFDA_FC8(xv, d)                                   \
  a0 = vaddq_f32(a0, vmulq_f32(vld1q_f32(w0 + (d)), xv)); \
  a1 = vaddq_f32(a1, vmulq_f32(vld1q_f32(w1 + (d)), xv)); \
  a2 = vaddq_f32(a2, vmulq_f32(vld1q_f32(w2 + (d)), xv)); \
  a3 = vaddq_f32(a3, vmulq_f32(vld1q_f32(w3 + (d)), xv)); \
  a4 = vaddq_f32(a4, vmulq_f32(vld1q_f32(w4 + (d)), xv)); \
  a5 = vaddq_f32(a5, vmulq_f32(vld1q_f32(w5 + (d)), xv)); \
  a6 = vaddq_f32(a6, vmulq_f32(vld1q_f32(w6 + (d)), xv)); \
  a7 = vaddq_f32(a7, vmulq_f32(vld1q_f32(w7 + (d)), xv))
    for (k = 0; k < full; k += 4) {
      const float32x4_t xv = vld1q_f32(x + k);
      KFDA_FC8(xv, k);
    }
    if (back) {
      KFDA_FC8(xb, depth - 4);
    }
#undef KFDA_FC8
    store4(vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3)), bias ? bias + u : NULL, 4, lo, hi,
           out + u);
    store4(vpaddq_f32(vpaddq_f32(a4, a5), vpaddq_f32(a6, a7)), bias ? bias + u + 4 : NULL, 4, lo,
           hi, out + u + 4);
  }
  for (; u < units; u += 4) {
    const int32_t n = units - u < 4 ? units - u : 4; /* the last pass: rows repeated */
    const float *w0 = weights + (size_t)u * depth;
    const float *w1 = w0 + (n > 1 ? depth : 0), *w2 = w0 + (n > 2 ? 2 : n - 1) * depth;
    const float *w3 = w0 + (n > 3 ? 3 : n - 1) * depth;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
#define KFDA_FC4(xv, d)                                   \
  a0 = vaddq_f32(a0, vmulq_f32(vld1q_f32(w0 + (d)), xv)); \
  a1 = vaddq_f32(a1, vmulq_f32(vld1q_f32(w1 + (d)), xv)); \
  a2 = vaddq_f32(a2, vmulq_f32(vld1q_f32(w2 + (d)), xv)); \
  a3 = vaddq_f32(a3, vmulq_f32(vld1q_f32(w3 + (d)), xv))
    for (k = 0; k < full; k += 4) {
      const float32x4_t xv = vld1q_f32(x + k);
      KFDA_FC4(xv, k);
    }
    if (back) {
      KFDA_FC4(xb, depth - 4);
    }
#undef KFDA_FC4
    store4(vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3)), bias ? bias + u : NULL, n, lo, hi,
           out + u);
  }
}
#endif

void kfda_fully_connected_f32_opt(float act_min, float act_max, const float *in, int32_t batches,
                                  int32_t depth, const float *weights, const float *bias,
                                  int32_t units, int gemv, float *out) {
#if KFDA_FC_NEON
  if (gemv && depth >= 4) {
    const float32x4_t lo = vdupq_n_f32(act_min), hi = vdupq_n_f32(act_max);
    int32_t b;
    for (b = 0; b < batches; ++b)
      gemv_neon(in + (size_t)b * depth, depth, weights, bias, units, lo, hi,
                out + (size_t)b * units);
    return;
  }
#endif
  kfda_fully_connected_f32_ref(act_min, act_max, in, batches, depth, weights, bias, units, gemv,
                               out);
}

void kfda_fully_connected_f32(float act_min, float act_max, const float *in, int32_t batches,
                              int32_t depth, const float *weights, const float *bias, int32_t units,
                              int gemv, float *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_fully_connected_f32_ref(act_min, act_max, in, batches, depth, weights, bias, units, gemv,
                               out);
#else
  kfda_fully_connected_f32_opt(act_min, act_max, in, batches, depth, weights, bias, units, gemv,
                               out);
#endif
}
