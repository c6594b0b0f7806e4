/* fully_connected_f32.c - FULLY_CONNECTED, float32 reference in the LCE interpreter's order.
 *
 * The interpreter (TFLite built with ruy) takes one of two paths, and each rounds
 * differently:
 * - one input row (batches == 1) with at least 4 units and 4 depth: TFLite's float GEMV
 *   (gemv_f32.h: four lanes of products rounded then added, then the bias);
 * - otherwise ruy's GEMM, as conv2d_f32.c: start at the bias, one fused multiply-add per
 *   depth index in order.
 * fully_connected_f32_opt.c holds the optimized twin (and kfda_fully_connected_f32). */
#include "fma_f32.h"
#include "gemv_f32.h"
#include "kfda/kernels.h"

int kfda_fully_connected_f32_gemv_order(int32_t batches, int32_t units, int32_t depth) {
  return batches == 1 && kfda_gemv_f32_applies(units, depth);
}

void kfda_fully_connected_f32_ref(float act_min, float act_max, const float *in, int32_t batches,
                                  int32_t depth, const float *weights, const float *bias,
                                  int32_t units, int gemv, float *out) {
  int32_t b, u, d;
  for (b = 0; b < batches; ++b)
    for (u = 0; u < units; ++u) {
      const float *x = in + (size_t)b * depth, *w = weights + (size_t)u * depth;
      float v;
      if (gemv) {
        kfda_gemv_f32 g;
        kfda_gemv_f32_begin(&g, depth);
        kfda_gemv_f32_add(&g, w, x, depth);
        v = kfda_gemv_f32_end(&g, w);
        if (bias) v += bias[u];
      } else {
        v = bias ? bias[u] : 0.0f;
        for (d = 0; d < depth; ++d) v = kfda_fmaf(w[d], x[d], v);
      }
      if (v < act_min) v = act_min;
      if (!(v <= act_max)) v = act_max; /* and NaN, as TFLite's clamp */
      out[(size_t)b * units + u] = v;
    }
}
