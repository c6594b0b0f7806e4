/*
 * mean_f32_opt.c - MEAN float32, optimized; bit for bit the reference of mean_f32.c
 * (held to it by host/kernel_test.c). When the reduced axes are consecutive (global
 * average pooling of NHWC: axes 1 and 2) the tensor is [outer, reduced, inner] and each
 * output's sum is 0.0f + its values in the reference's (row-major) order, 4 outputs per
 * pass in registers instead of a 5-deep index walk per element; then the same division
 * by the count. On arm64 the 4 outputs are one vector (FADD per reduced row, one FDIV),
 * 16 per pass (one LD1 of 4 vectors per reduced row), then 8, 4; armv7 NEON flushes denormals, so
 * it keeps the scalar loop. Other axis sets run the reference.
 */
#include "kfda/kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define KFDA_MEAN_NEON 1
#else
#define KFDA_MEAN_NEON 0
#endif

void kfda_mean_f32_opt(const float *in, int32_t ndim, const int32_t *dims, uint32_t reduce_mask,
                       float *out) {
  size_t outer = 1, red = 1, inner = 1, o, r, c;
  int32_t a, lo = -1, hi = -1;
  float count;
  for (a = 0; a < ndim; ++a)
    if (reduce_mask & (1u << a)) {
      if (lo < 0)
        lo = a;
      else if (hi != a)
        break; /* a gap: not consecutive */
      hi = a + 1;
    }
  if (lo < 0 || a < ndim) {
    kfda_mean_f32_ref(in, ndim, dims, reduce_mask, out);
    return;
  }
  for (a = 0; a < ndim; ++a) *(a < lo ? &outer : a < hi ? &red : &inner) *= (size_t)dims[a];
  count = (float)red;
  for (o = 0; o < outer; ++o, in += red * inner, out += inner) {
    c = 0;
#if KFDA_MEAN_NEON
    {
      const float32x4_t vcount = vdupq_n_f32(count);
      for (; c + 16 <= inner; c += 16) { /* one LD1 of 4 vectors per reduced row */
        const float *x = in + c;
        float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
        for (r = 0; r < red; ++r, x += inner) {
          const float32x4x4_t v = vld1q_f32_x4(x);
          s0 = vaddq_f32(s0, v.val[0]);
          s1 = vaddq_f32(s1, v.val[1]);
          s2 = vaddq_f32(s2, v.val[2]);
          s3 = vaddq_f32(s3, v.val[3]);
        }
        vst1q_f32(out + c, vdivq_f32(s0, vcount));
        vst1q_f32(out + c + 4, vdivq_f32(s1, vcount));
        vst1q_f32(out + c + 8, vdivq_f32(s2, vcount));
        vst1q_f32(out + c + 12, vdivq_f32(s3, vcount));
      }
      for (; c + 8 <= inner; c += 8) {
        const float *x = in + c;
        float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
        for (r = 0; r < red; ++r, x += inner) {
          s0 = vaddq_f32(s0, vld1q_f32(x));
          s1 = vaddq_f32(s1, vld1q_f32(x + 4));
        }
        vst1q_f32(out + c, vdivq_f32(s0, vcount));
        vst1q_f32(out + c + 4, vdivq_f32(s1, vcount));
      }
      for (; c + 4 <= inner; c += 4) {
        const float *x = in + c;
        float32x4_t s0 = vdupq_n_f32(0.0f);
        for (r = 0; r < red; ++r, x += inner) s0 = vaddq_f32(s0, vld1q_f32(x));
        vst1q_f32(out + c, vdivq_f32(s0, vcount));
      }
    }
#endif
    for (; c + 4 <= inner; c += 4) {
      const float *x = in + c;
      float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
      for (r = 0; r < red; ++r, x += inner) {
        s0 += x[0];
        s1 += x[1];
        s2 += x[2];
        s3 += x[3];
      }
      out[c] = s0 / count;
      out[c + 1] = s1 / count;
      out[c + 2] = s2 / count;
      out[c + 3] = s3 / count;
    }
    for (; c < inner; ++c) {
      const float *x = in + c;
      float s = 0.0f;
      for (r = 0; r < red; ++r, x += inner) s += *x;
      out[c] = s / count;
    }
  }
}

void kfda_mean_f32(const float *in, int32_t ndim, const int32_t *dims, uint32_t reduce_mask,
                   float *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_mean_f32_ref(in, ndim, dims, reduce_mask, out);
#else
  kfda_mean_f32_opt(in, ndim, dims, reduce_mask, out);
#endif
}
