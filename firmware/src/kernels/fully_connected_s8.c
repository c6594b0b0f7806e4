/* fully_connected_s8.c - FULLY_CONNECTED int8, per-tensor requantisation. */
#include "kfda/kernels.h"

void kfda_fully_connected_s8(const kfda_requant *q, const int8_t *in, int32_t batches,
                             int32_t depth, const int8_t *weights, const int32_t *bias,
                             int32_t units, int8_t *out) {
  int32_t b, u, d;
  for (b = 0; b < batches; ++b)
    for (u = 0; u < units; ++u) {
      const int8_t *x = in + (size_t)b * depth, *w = weights + (size_t)u * depth;
      int32_t acc = 0;
      for (d = 0; d < depth; ++d) acc += ((int32_t)x[d] + q->in_offset) * w[d];
      if (bias) acc += bias[u];
      acc = kfda_multiply_by_quantized_multiplier_ruy(acc, q->mult[0], q->shift[0]);
      acc += q->out_offset;
      if (acc < q->act_min) acc = q->act_min;
      if (acc > q->act_max) acc = q->act_max;
      out[(size_t)b * units + u] = (int8_t)acc;
    }
}
