/* mean_any_s8.c - MEAN int8 over any axes other than a 4-D tensor's axes 1 and 2 (those
 * take mean_s8.c's path, as in TFLite): TFLite's QuantizedMeanOrSum, an int32 sum of the
 * raw values less zero point x count, one multiplier that also divides by the count. */
#include "kfda/kernels.h"

void kfda_mean_any_s8(const kfda_mean_any_s8_params *p, const int8_t *in, int32_t ndim,
                      const int32_t *dims, uint32_t reduce_mask, int8_t *out) {
  int32_t idx[KFDA_MAX_DIMS] = {0};
  int32_t a;
  size_t total = 1, out_n = 1, i;
  for (a = 0; a < ndim; ++a) {
    total *= (size_t)dims[a];
    if (!(reduce_mask & (1u << a))) out_n *= (size_t)dims[a];
  }
  for (i = 0; i < out_n; ++i) {
    /* one pass per output keeps the accumulator without scratch */
    int32_t acc = 0, v;
    size_t j;
    for (a = 0; a < ndim; ++a) idx[a] = 0;
    for (j = 0; j < total; ++j) {
      size_t o = 0;
      for (a = 0; a < ndim; ++a)
        if (!(reduce_mask & (1u << a))) o = o * (size_t)dims[a] + (size_t)idx[a];
      if (o == i) acc += in[j];
      for (a = ndim - 1; a >= 0; --a) {
        if (++idx[a] < dims[a]) break;
        idx[a] = 0;
      }
    }
    v = kfda_multiply_by_quantized_multiplier(acc - p->in_zero_point * p->count, p->mult,
                                              p->shift) +
        p->out_zero_point;
    out[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
  }
}
