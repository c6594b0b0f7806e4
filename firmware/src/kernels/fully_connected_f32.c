/* fully_connected_f32.c - FULLY_CONNECTED, float32 reference. */
#include "kfda/kernels.h"

void kfda_fully_connected_f32(float act_min, float act_max, const float *in, int32_t batches,
                              int32_t depth, const float *weights, const float *bias, int32_t units,
                              float *out) {
  int32_t b, u, d;
  for (b = 0; b < batches; ++b)
    for (u = 0; u < units; ++u) {
      const float *x = in + (size_t)b * depth, *w = weights + (size_t)u * depth;
      float total = 0.0f, v;
      for (d = 0; d < depth; ++d) total += x[d] * w[d];
      v = total + (bias ? bias[u] : 0.0f);
      if (v < act_min) v = act_min;
      if (!(v <= act_max)) v = act_max; /* and NaN, as TFLite's clamp */
      out[(size_t)b * units + u] = v;
    }
}
