/* gemv_f32.h - one output of the LCE interpreter's float matrix x vector path.
 *
 * Why: with one output column (FULLY_CONNECTED on one input row; CONV_2D with one output
 * pixel) and at least 4 rows and 4 depth, the interpreter (TFLite built with ruy) runs
 * TFLite's custom float GEMV (cpu_backend_gemm_custom_gemv.h; NEON intrinsics, on x86
 * through SSE), not ruy. Its order: four lanes, lane l sums the products of depth index
 * 4k + l, each product rounded, then added (no fused multiply-add off ARM: the runtime's
 * -ffp-contract=off keeps the two roundings everywhere). A depth that is not a multiple of
 * 4 ends with one more 4-wide step over the last 4 indices, the inputs of the lanes
 * already summed (the first `back`) set to 0. Then (lane0 + lane1) + (lane2 + lane3); the
 * caller adds the bias. The products arrive in depth order, in runs (a conv's im2col row:
 * one run per filter tap, zeros for the padding). */
#ifndef KFDA_KERNELS_GEMV_F32_H
#define KFDA_KERNELS_GEMV_F32_H

#include <stdint.h>

enum { KFDA_GEMV_LANES = 4 };

typedef struct {
  float lane[KFDA_GEMV_LANES];
  int32_t next, depth;
} kfda_gemv_f32;

/* Usable (the interpreter takes this path) for `rows` outputs of `depth` products. */
static inline int kfda_gemv_f32_applies(int32_t rows, int32_t depth) {
  return rows >= KFDA_GEMV_LANES && depth >= KFDA_GEMV_LANES;
}

static inline void kfda_gemv_f32_begin(kfda_gemv_f32 *g, int32_t depth) {
  int32_t l;
  for (l = 0; l < KFDA_GEMV_LANES; ++l) g->lane[l] = 0.0f;
  g->next = 0;
  g->depth = depth;
}

/* The next `n` products w[i] * x[i]; x NULL: inputs 0 (padding taps). */
static inline void kfda_gemv_f32_add(kfda_gemv_f32 *g, const float *w, const float *x, int32_t n) {
  const int32_t full = g->depth - g->depth % KFDA_GEMV_LANES; /* then the walked-back step */
  int32_t i = 0;
  if (x) { /* whole 4-wide steps once lane-aligned: the lanes in registers, no index math */
    while (i < n && g->next % KFDA_GEMV_LANES != 0 && g->next < full) {
      g->lane[g->next % KFDA_GEMV_LANES] += w[i] * x[i];
      ++i, ++g->next;
    }
    if (i + KFDA_GEMV_LANES <= n && g->next + KFDA_GEMV_LANES <= full) {
      float l0 = g->lane[0], l1 = g->lane[1], l2 = g->lane[2], l3 = g->lane[3];
      for (; i + KFDA_GEMV_LANES <= n && g->next + KFDA_GEMV_LANES <= full;
           i += KFDA_GEMV_LANES, g->next += KFDA_GEMV_LANES) {
        l0 += w[i] * x[i];
        l1 += w[i + 1] * x[i + 1];
        l2 += w[i + 2] * x[i + 2];
        l3 += w[i + 3] * x[i + 3];
      }
      g->lane[0] = l0, g->lane[1] = l1, g->lane[2] = l2, g->lane[3] = l3;
    }
  }
  for (; i < n; ++i, ++g->next) { /* the rest, padding and the walked-back step */
    const int32_t k = g->next;
    const int32_t l = k < full ? k % KFDA_GEMV_LANES : k - (g->depth - KFDA_GEMV_LANES);
    g->lane[l] += w[i] * (x ? x[i] : 0.0f);
  }
}

/* The sum; w_row: the row's depth weights (the walked-back step multiplies its first
 * `back` weights by 0: +-0, or NaN for an infinite or NaN weight, as there). */
static inline float kfda_gemv_f32_end(kfda_gemv_f32 *g, const float *w_row) {
  const int32_t rest = g->depth % KFDA_GEMV_LANES;
  if (rest) {
    const int32_t start = g->depth - KFDA_GEMV_LANES, back = KFDA_GEMV_LANES - rest;
    int32_t l;
    for (l = 0; l < back; ++l) g->lane[l] += w_row[start + l] * 0.0f;
  }
  return (g->lane[0] + g->lane[1]) + (g->lane[2] + g->lane[3]);
}

#endif /* KFDA_KERNELS_GEMV_F32_H */
