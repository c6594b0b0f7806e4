/* dequantize.c - DEQUANTIZE int8 -> float32: (q - zero_point) * scale. */
#include "kfda/kernels.h"

void kfda_dequantize_s8_f32(const int8_t *in, size_t n, float scale, int32_t zero_point,
                            float *out) {
  size_t i;
  for (i = 0; i < n; ++i) out[i] = (float)((int32_t)in[i] - zero_point) * scale;
}
