/* add_s8.c - ADD int8 with broadcasting, TFLite's scheme: both inputs shifted
 * left by 20 bits, rescaled to twice the larger input scale, summed, then
 * rescaled to the output. */
#include "kfda/kernels.h"
#include "broadcast.h"

void kfda_add_s8_ref(const kfda_arith_params *p, const int8_t *a, const int32_t *as,
                     const int8_t *b, const int32_t *bs, const int32_t *d, int8_t *out) {
  kfda_broadcast_walk w;
  const size_t count = kfda_broadcast_begin(&w, as, bs, d);
  size_t o;
  for (o = 0; o < count; ++o, kfda_broadcast_next(&w)) {
    const int32_t x = ((int32_t)a[w.a] + p->in_offset) * (1 << p->left_shift);
    const int32_t y = ((int32_t)b[w.b] + p->in2_offset) * (1 << p->left_shift);
    const int32_t sx = kfda_multiply_by_quantized_multiplier_ref(x, p->in_mult, p->in_shift);
    const int32_t sy = kfda_multiply_by_quantized_multiplier_ref(y, p->in2_mult, p->in2_shift);
    int32_t r = kfda_multiply_by_quantized_multiplier_ref(sx + sy, p->out_mult, p->out_shift) +
                p->out_offset;
    if (r < p->qact_min) r = p->qact_min;
    if (r > p->qact_max) r = p->qact_max;
    out[o] = (int8_t)r;
  }
}
