/* fma_f32.h - x * y + z rounded once (a fused multiply-add), the same bits on every core.
 *
 * Why: the LCE interpreter's float CONV_2D (TFLite's im2col + GEMM, ruy's kernels on x86
 * and arm64) starts each output at its bias and adds the taps in (fy, fx, ic) order with
 * fused multiply-adds; conv2d_f32.c does the same to give its bits. The runtime builds
 * with -ffp-contract=off, so only these explicit calls fuse.
 *
 * Cores with a single-precision FMA instruction (arm64, armv7 with VFPv4, Cortex-M4F/M7
 * FPUs, x86 with -mfma) use it. The others compute it in double: the product of two
 * floats is exact in double, the sum's rounding error is recovered exactly (TwoSum) and
 * kept as a sticky last bit (round to odd), so the one rounding to float is the correct
 * one. (C's fmaf in newlib adds in double and rounds twice: off by one ulp at times.) */
#ifndef KFDA_KERNELS_FMA_F32_H
#define KFDA_KERNELS_FMA_F32_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_FMA) || defined(__aarch64__) || defined(__FMA__)
static inline float kfda_fmaf(float x, float y, float z) { return __builtin_fmaf(x, y, z); }
#else
static inline float kfda_fmaf(float x, float y, float z) {
  const double product = (double)x * (double)y; /* exact: 24 + 24 bits */
  double sum = product + (double)z;
  const double z_part = sum - product;
  const double error = (product - (sum - z_part)) + ((double)z - z_part); /* exact */
  if (error != 0.0 && sum - sum == 0.0) { /* inexact and finite (infinities: as they are) */
    uint64_t bits;
    memcpy(&bits, &sum, sizeof bits);
    if ((bits & 1u) == 0) { /* to the odd neighbour on the exact sum's side */
      bits = ((error > 0.0) == (sum > 0.0)) ? bits + 1u : bits - 1u;
      memcpy(&sum, &bits, sizeof sum);
    }
  }
  return (float)sum;
}
#endif

#endif /* KFDA_KERNELS_FMA_F32_H */
