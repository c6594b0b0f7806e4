/* fully_connected_f32.c - FULLY_CONNECTED, float32 reference in the LCE interpreter's order.
 *
 * The interpreter (TFLite built with ruy) takes one of two paths, and each rounds
 * differently:
 * - one input row (batches == 1), at least 4 units and 4 depth: TFLite's custom float GEMV
 *   (cpu_backend_gemm_custom_gemv.h, NEON intrinsics, on x86 through SSE): four lanes, lane
 *   l sums the products of depth index 4k + l, each product rounded, then added (no fused
 *   multiply-add off ARM). A depth that is not a multiple of 4 ends with one more 4-wide
 *   step over the last 4 values, the inputs of its lanes already summed set to 0. Then
 *   (lane0 + lane1) + (lane2 + lane3), plus the bias.
 * - otherwise: ruy's GEMM, as conv2d_f32.c: start at the bias, one fused multiply-add per
 *   depth index in order. */
#include "fma_f32.h"
#include "kfda/kernels.h"

enum { GEMV_LANES = 4 };

static float gemv_row(const float *x, const float *w, int32_t depth) {
  float lane[GEMV_LANES] = {0.0f, 0.0f, 0.0f, 0.0f};
  int32_t d = 0, l;
  for (; d <= depth - GEMV_LANES; d += GEMV_LANES)
    for (l = 0; l < GEMV_LANES; ++l) lane[l] += w[d + l] * x[d + l];
  if (d < depth) { /* the step walks back to depth - 4; its first `back` inputs read as 0 */
    const int32_t start = depth - GEMV_LANES, back = d - start;
    for (l = 0; l < GEMV_LANES; ++l) lane[l] += w[start + l] * (l < back ? 0.0f : x[start + l]);
  }
  return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

static float gemm_row(const float *x, const float *w, int32_t depth, float start) {
  float total = start;
  int32_t d;
  for (d = 0; d < depth; ++d) total = kfda_fmaf(w[d], x[d], total);
  return total;
}

void kfda_fully_connected_f32(float act_min, float act_max, const float *in, int32_t batches,
                              int32_t depth, const float *weights, const float *bias, int32_t units,
                              float *out) {
  const int gemv = batches == 1 && units >= GEMV_LANES && depth >= GEMV_LANES;
  int32_t b, u;
  for (b = 0; b < batches; ++b)
    for (u = 0; u < units; ++u) {
      const float *x = in + (size_t)b * depth, *w = weights + (size_t)u * depth;
      float v;
      if (gemv)
        v = bias ? gemv_row(x, w, depth) + bias[u] : gemv_row(x, w, depth);
      else
        v = gemm_row(x, w, depth, bias ? bias[u] : 0.0f);
      if (v < act_min) v = act_min;
      if (!(v <= act_max)) v = act_max; /* and NaN, as TFLite's clamp */
      out[(size_t)b * units + u] = v;
    }
}
