/* requantize_s8.c - QUANTIZE int8 -> int8 (TFLite Requantize):
 * y = sat(requant(x - in_zero_point) + out_zero_point) with the multiplier of
 * in_scale / out_scale. Rounded half up as ruy (found against the LCE
 * interpreter: the gemmlowp form is off by one on 0.5% of values). */
#include "kfda/kernels.h"

void kfda_requantize_s8(const int8_t *in, size_t n, int32_t in_zero_point, int32_t mult,
                        int32_t shift, int32_t out_zero_point, int8_t *out) {
  size_t i;
  for (i = 0; i < n; ++i) {
    int32_t q =
        kfda_multiply_by_quantized_multiplier_ruy((int32_t)in[i] - in_zero_point, mult, shift) +
        out_zero_point;
    if (q > 127) q = 127;
    if (q < -128) q = -128;
    out[i] = (int8_t)q;
  }
}
