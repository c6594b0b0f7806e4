/* quant_util.c - TFLite's fixed-point requantisation helpers: the references written out
 * (*_ref: gemmlowp's and ruy's steps one by one, a 64-bit division among them) and the
 * build's variant (requant.h's inline forms, the same results; KFDA_KERNELS_REF: the
 * references). */
#include <math.h>

#include "kfda/kernels.h"
#include "requant.h"

void kfda_quantize_multiplier(double m, int32_t *significand, int32_t *shift) {
  int e = 0;
  double q;
  int64_t fixed;
  if (m == 0.0) {
    *significand = 0;
    *shift = 0;
    return;
  }
  q = frexp(m, &e);
  fixed = (int64_t)round(q * 2147483648.0);
  if (fixed == 2147483648LL) {
    fixed /= 2;
    ++e;
  }
  if (e < -31) {
    e = 0;
    fixed = 0;
  }
  *significand = (int32_t)fixed;
  *shift = e;
}

/* gemmlowp SaturatingRoundingDoublingHighMul */
static int32_t srdhm(int32_t a, int32_t b) {
  int64_t ab, nudge;
  if (a == b && a == INT32_MIN) return INT32_MAX;
  ab = (int64_t)a * (int64_t)b;
  nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return (int32_t)((ab + nudge) / (1LL << 31));
}

/* gemmlowp RoundingDivideByPOT (round half away from zero) */
static int32_t rdbpot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)((1LL << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t kfda_multiply_by_quantized_multiplier_ref(int32_t x, int32_t significand, int32_t shift) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  int64_t shifted = (int64_t)x * ((int64_t)1 << left);
  if (shifted > INT32_MAX) shifted = INT32_MAX; /* gemmlowp wraps; never hit in range */
  if (shifted < INT32_MIN) shifted = INT32_MIN;
  return rdbpot(srdhm((int32_t)shifted, significand), right);
}

int32_t kfda_multiply_by_quantized_multiplier_ruy_ref(int32_t x, int32_t significand,
                                                      int32_t shift) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  int64_t v = (int64_t)x * ((int64_t)1 << left), h;
  if (v > INT32_MAX) v = INT32_MAX;
  if (v < INT32_MIN) v = INT32_MIN;
  /* high half of the doubled product, rounded half up (floor of +2^30) */
  h = ((int64_t)v * significand + ((int64_t)1 << 30));
  h = h >= 0 ? h >> 31 : -((-h + ((int64_t)1 << 31) - 1) >> 31);
  if (right > 0) {
    h += (int64_t)1 << (right - 1);
    h = h >= 0 ? h >> right : -((-h + ((int64_t)1 << right) - 1) >> right);
  }
  if (h > INT32_MAX) h = INT32_MAX;
  if (h < INT32_MIN) h = INT32_MIN;
  return (int32_t)h;
}

int32_t kfda_multiply_by_quantized_multiplier(int32_t x, int32_t significand, int32_t shift) {
#if !defined(KFDA_KERNELS_REF)
  if (kfda_qmul_ok(significand, shift))
    return kfda_qmul(x, significand, shift > 0 ? shift : 0, shift > 0 ? 0 : -shift);
#endif
  return kfda_multiply_by_quantized_multiplier_ref(x, significand, shift);
}

int32_t kfda_multiply_by_quantized_multiplier_ruy(int32_t x, int32_t significand, int32_t shift) {
#if !defined(KFDA_KERNELS_REF)
  if (kfda_qmul_ok(significand, shift))
    return kfda_qmul_ruy(x, significand, shift > 0 ? shift : 0, shift > 0 ? 0 : -shift);
#endif
  return kfda_multiply_by_quantized_multiplier_ruy_ref(x, significand, shift);
}
