/* quantize.c - QUANTIZE float32 -> int8 (TFLite: round half away from zero
 * of x / scale, plus the zero point, saturated). */
#include <math.h>

#include "kfda/kernels.h"

void kfda_quantize_f32_s8(const float *in, size_t n, float scale, int32_t zero_point, int8_t *out) {
  size_t i;
  for (i = 0; i < n; ++i) {
    float r = roundf(in[i] / scale);
    int32_t q;
    if (r > 1e9f) r = 1e9f;
    if (!(r >= -1e9f)) r = -1e9f; /* also NaN */
    q = (int32_t)r + zero_point;
    if (q > 127) q = 127;
    if (q < -128) q = -128;
    out[i] = (int8_t)q;
  }
}
