/* mean_s8.c - MEAN int8 reference: integer sum, one requantisation, plus a bias. */
#include "kfda/kernels.h"

void kfda_mean_s8_ref(const kfda_mean_params *p, const int8_t *in, int32_t ndim,
                      const int32_t *dims, uint32_t reduce_mask, int8_t *out) {
  int32_t idx[KFDA_MAX_DIMS] = {0};
  int32_t a;
  size_t total = 1, out_n = 1, i;
  for (a = 0; a < ndim; ++a) {
    total *= (size_t)dims[a];
    if (!(reduce_mask & (1u << a))) out_n *= (size_t)dims[a];
  }
  for (i = 0; i < out_n; ++i) {
    /* one pass per output keeps the accumulator int32 without scratch */
    int32_t acc = 0;
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
    acc = kfda_multiply_by_quantized_multiplier_ref(acc, p->out_mult, p->out_shift) + p->out_offset;
    if (acc < -128) acc = -128;
    if (acc > 127) acc = 127;
    out[i] = (int8_t)acc;
  }
}
