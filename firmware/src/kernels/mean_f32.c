/* mean_f32.c - MEAN, float32 reference: sum the reduced axes, divide once. */
#include "kfda/kernels.h"

void kfda_mean_f32_ref(const float *in, int32_t ndim, const int32_t *dims, uint32_t reduce_mask,
                       float *out) {
  int32_t idx[KFDA_MAX_DIMS] = {0};
  size_t total = 1, out_n = 1, i, count;
  int32_t a;
  for (a = 0; a < ndim; ++a) {
    total *= (size_t)dims[a];
    if (!(reduce_mask & (1u << a))) out_n *= (size_t)dims[a];
  }
  count = out_n ? total / out_n : 0;
  for (i = 0; i < out_n; ++i) out[i] = 0.0f;
  for (i = 0; i < total; ++i) {
    size_t o = 0;
    for (a = 0; a < ndim; ++a)
      if (!(reduce_mask & (1u << a))) o = o * (size_t)dims[a] + (size_t)idx[a];
    out[o] += in[i];
    for (a = ndim - 1; a >= 0; --a) { /* next row-major index */
      if (++idx[a] < dims[a]) break;
      idx[a] = 0;
    }
  }
  for (i = 0; i < out_n; ++i) out[i] = out[i] / (float)count;
}
