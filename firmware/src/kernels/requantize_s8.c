/* requantize_s8.c - QUANTIZE int8 -> int8 (TFLite Requantize):
 * y = sat(requant(x - in_zero_point) + out_zero_point) with the multiplier of
 * in_scale / out_scale. TFLite's optimized Requantize<int8_t, int8_t> (the LCE
 * interpreter's, NEON or NEON_2_SSE on x86) takes the values in blocks of 16 with
 * vqrdmulh and a rounding shift, rounded half up (ruy's form), and the last n % 16
 * values in its scalar loop, MultiplyByQuantizedMultiplier rounded half away from zero
 * (gemmlowp's form): found against the interpreter, the two differ by one on negative
 * ties. */
#include "kfda/kernels.h"

#define KFDA_REQUANT_BLOCK 16 /* TFLite's NEON loop: 16 int8 values per step */

static int8_t saturate_s8(int32_t q) {
  if (q > 127) q = 127;
  if (q < -128) q = -128;
  return (int8_t)q;
}

void kfda_requantize_s8(const int8_t *in, size_t n, int32_t in_zero_point, int32_t mult,
                        int32_t shift, int32_t out_zero_point, int8_t *out) {
  const size_t blocked = n - n % KFDA_REQUANT_BLOCK;
  size_t i;
  for (i = 0; i < blocked; ++i)
    out[i] = saturate_s8(
        kfda_multiply_by_quantized_multiplier_ruy((int32_t)in[i] - in_zero_point, mult, shift) +
        out_zero_point);
  for (; i < n; ++i)
    out[i] = saturate_s8(
        kfda_multiply_by_quantized_multiplier((int32_t)in[i] - in_zero_point, mult, shift) +
        out_zero_point);
}
