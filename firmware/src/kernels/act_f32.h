/* act_f32.h - the reference kernels' float activation clamp, for their optimized twins.
 *
 * The references do `if (v < lo) v = lo; if (!(v <= hi)) v = hi;`: NaN becomes hi, as in
 * TFLite's float kernels (the LCE interpreter: min(max(v, lo), hi) with SSE/NEON min,
 * which returns its second operand on NaN). Without an activation the range is
 * [-FLT_MAX, FLT_MAX]: +-inf move to +-FLT_MAX and NaN to FLT_MAX. On the bits that is
 * one test, rarely taken: +-inf are 0x7f800000 with either sign (shifted left by one:
 * 0xff000000, which no other value gives), NaNs are above it, and +-FLT_MAX are the
 * infinities' bits - 1. Two float compares, each with a flags transfer (VCMP + VMRS on
 * FPv4), become an integer compare. Same results bit for bit, for every input. */
#ifndef KFDA_KERNELS_ACT_F32_H
#define KFDA_KERNELS_ACT_F32_H

#include <float.h>
#include <stdint.h>
#include <string.h>

#include "kfda/kernels.h"

/* 1 when [act_min, act_max] is the no-activation range, [-FLT_MAX, FLT_MAX]. */
static inline int kfda_act_f32_none(float act_min, float act_max) {
  return act_min == -FLT_MAX && act_max == FLT_MAX;
}

/* *out = v clamped to [-FLT_MAX, FLT_MAX] (the no-activation case). */
static inline void kfda_act_store_none_f32(float *out, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  if ((u << 1) >= 0xff000000u) u = (u << 1) == 0xff000000u ? u - 1u : 0x7f7fffffu;
  memcpy(out, &u, 4);
}

/* *out = v clamped to [lo, hi] as the references do. */
static inline void kfda_act_store_f32(float *out, float v, float lo, float hi) {
  if (v < lo) v = lo;
  if (!(v <= hi)) v = hi;
  *out = v;
}

#endif
