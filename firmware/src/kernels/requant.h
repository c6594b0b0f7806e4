/*
 * requant.h - TFLite's fixed-point requantisation inline, without a 64-bit division: the
 * results of quant_util.c's written-out references (kfda_multiply_by_quantized_multiplier_ref
 * and _ruy_ref) for every int32 input they are defined on, held to them by host/kernel_test.c.
 *
 * gemmlowp SaturatingRoundingDoublingHighMul(a, b) = trunc((ab + nudge) / 2^31), nudge = 2^30
 * for ab >= 0 and 1 - 2^30 for ab < 0. For ab < 0 the numerator is negative and truncation
 * is ceil: ceil((ab + 1 - 2^30) / 2^31) = floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31)
 * = floor((ab + 2^30) / 2^31), the same as for ab >= 0. So both signs are one add and one
 * arithmetic shift of the 64-bit product (SMULL, ADDS/ADC, a funnel shift on 32-bit Arm).
 * |ab| <= 2^62, with 2^62 only for a = b = INT32_MIN, the one input whose result does not
 * fit (the reference saturates it): kfda_high_mul leaves that case to its callers.
 *
 * gemmlowp RoundingDivideByPOT(x, e) (half away from zero) keeps the reference's
 * mask-and-threshold form: no sum that can overflow next to INT32_MAX.
 *
 * ruy's second rounding floor((h + 2^(r-1)) / 2^r) for r >= 1: with h = q 2^r + m
 * (0 <= m < 2^r) it is q + (m >= 2^(r-1)), i.e. (h >> r) plus bit r-1 of h, in 32 bits.
 *
 * Shifts: right in [0, 31], left in [0, 62] (the references' own domains); >> of a negative
 * int32 is arithmetic, as the references already assume.
 */
#ifndef KFDA_KERNELS_REQUANT_H
#define KFDA_KERNELS_REQUANT_H

#include <stdint.h>

/* floor((a b + 2^30) / 2^31): SaturatingRoundingDoublingHighMul unless a = b = INT32_MIN. */
static inline int32_t kfda_high_mul(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT, e in [0, 31]. */
static inline int32_t kfda_rdbpot(int32_t x, int32_t e) {
  const int32_t mask = (int32_t)((1u << e) - 1u);
  const int32_t rem = x & mask, threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > threshold ? 1 : 0);
}

/* x 2^left saturated to int32 (the references' left shift), left in [0, 62]. */
static inline int32_t kfda_sat_shl(int32_t x, int32_t left) {
  const int64_t v = (int64_t)x * ((int64_t)1 << left);
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? (int32_t)INT32_MIN : (int32_t)v;
}

/* kfda_multiply_by_quantized_multiplier with its shift split into left = max(shift, 0) and
 * right = max(-shift, 0), for significand != INT32_MIN and right <= 31. */
static inline int32_t kfda_qmul(int32_t x, int32_t significand, int32_t left, int32_t right) {
  if (left > 0) x = kfda_sat_shl(x, left);
  return kfda_rdbpot(kfda_high_mul(x, significand), right);
}

/* The same without a left shift (left = 0): ADD's multipliers are below 1. */
static inline int32_t kfda_qmul_r(int32_t x, int32_t significand, int32_t right) {
  return kfda_rdbpot(kfda_high_mul(x, significand), right);
}

/* kfda_multiply_by_quantized_multiplier_ruy, same domain as kfda_qmul. */
static inline int32_t kfda_qmul_ruy(int32_t x, int32_t significand, int32_t left, int32_t right) {
  int32_t h;
  if (left > 0) x = kfda_sat_shl(x, left);
  h = kfda_high_mul(x, significand);
  return right > 0 ? (h >> right) + ((h >> (right - 1)) & 1) : h;
}

/* Whether kfda_qmul / _ruy hold for this significand and shift (else: the reference). */
static inline int kfda_qmul_ok(int32_t significand, int32_t shift) {
  return significand != INT32_MIN && shift >= -31 && shift <= 62;
}

#endif
