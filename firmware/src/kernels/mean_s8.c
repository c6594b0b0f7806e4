/* mean_s8.c - MEAN int8 reference: an integer sum per output, then one requantisation
 * (kfda_mean_params: the values of the TFLite kernel the LCE interpreter picks). */
#include "kfda/kernels.h"

int8_t kfda_mean_s8_finish(const kfda_mean_params *p, int32_t sum, int32_t count, size_t index) {
  int32_t v;
  if (count <= 0) return 0; /* TFLite fills an empty mean with int8's "NaN", 0 */
  /* |sum| and |count * in_offset| < 2^25 (count <= 2^17, checked in Prepare) */
  v = sum + count * p->in_offset;
  if ((int32_t)(index % (size_t)p->channels) < p->neon_channels)
    v = kfda_multiply_by_quantized_multiplier_ruy_ref(v, p->out_mult, p->out_shift);
  else
    v = kfda_multiply_by_quantized_multiplier_ref(v, p->out_mult, p->out_shift);
  v += p->out_offset;
  return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

void kfda_mean_s8_ref(const kfda_mean_params *p, const int8_t *in, int32_t ndim,
                      const int32_t *dims, uint32_t reduce_mask, int8_t *out) {
  int32_t idx[KFDA_MAX_DIMS] = {0};
  int32_t a, count = 1;
  size_t total = 1, out_n = 1, i;
  for (a = 0; a < ndim; ++a) {
    total *= (size_t)dims[a];
    if (!(reduce_mask & (1u << a)))
      out_n *= (size_t)dims[a];
    else
      count *= dims[a];
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
    out[i] = kfda_mean_s8_finish(p, acc, count, i);
  }
}
