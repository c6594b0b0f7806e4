/*
 * mean_f32_opt.c - MEAN float32, optimized; bit for bit the reference of mean_f32.c
 * (held to it by host/kernel_test.c). When the reduced axes are consecutive (global
 * average pooling of NHWC: axes 1 and 2) the tensor is [outer, reduced, inner] and each
 * output's sum is 0.0f + its values in the reference's (row-major) order, 4 outputs per
 * pass in registers instead of a 5-deep index walk per element; then the same division
 * by the count. Other axis sets run the reference.
 */
#include "kfda/kernels.h"

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
    for (c = 0; c + 4 <= inner; c += 4) {
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
