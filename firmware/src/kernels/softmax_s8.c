/* softmax_s8.c - SOFTMAX int8 -> int8 as TFLite's optimized kernel on
 * non-aarch64 hosts (the LCE interpreter's): per row,
 *   e(x)  = expf(-in_scale * beta * (max - x))      (TFLite builds a 256-entry
 *           table of exactly these floats; we compute the entry on the fly)
 *   inv   = 1 / (sum e * out_scale)                 (float)
 *   y     = sat(round(e(x) * inv) + out_zero_point)
 */
#include <math.h>

#include "kfda/kernels.h"

void kfda_softmax_s8(float neg_scale_beta, float out_scale, int32_t out_zero_point,
                     const int8_t *in, int32_t rows, int32_t depth, int8_t *out) {
  int32_t r, i;
  for (r = 0; r < rows; ++r) {
    const int8_t *x = in + (size_t)r * depth;
    int8_t *y = out + (size_t)r * depth;
    int32_t mx = -128;
    float sum = 0.0f, inv;
    for (i = 0; i < depth; ++i)
      if (x[i] > mx) mx = x[i];
    for (i = 0; i < depth; ++i) sum += expf(neg_scale_beta * (float)(mx - x[i]));
    inv = 1.0f / (sum * out_scale);
    for (i = 0; i < depth; ++i) {
      const float e = expf(neg_scale_beta * (float)(mx - x[i]));
      int32_t q = (int32_t)roundf(e * inv) + out_zero_point;
      if (q > 127) q = 127;
      if (q < -128) q = -128;
      y[i] = (int8_t)q;
    }
  }
}
