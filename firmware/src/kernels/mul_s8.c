/* mul_s8.c - MUL int8 with broadcasting, TFLite's scheme: the product of the
 * offset inputs, rescaled once by in1_scale * in2_scale / out_scale (gemmlowp
 * rounding), plus the output zero point, clamped. */
#include "kfda/kernels.h"
#include "broadcast.h"

void kfda_mul_s8_ref(const kfda_arith_params *p, const int8_t *a, const int32_t *as,
                     const int8_t *b, const int32_t *bs, const int32_t *d, int8_t *out) {
  kfda_broadcast_walk w;
  const size_t count = kfda_broadcast_begin(&w, as, bs, d);
  size_t o;
  for (o = 0; o < count; ++o, kfda_broadcast_next(&w)) {
    const int32_t x = (int32_t)a[w.a] + p->in_offset;
    const int32_t y = (int32_t)b[w.b] + p->in2_offset;
    int32_t r =
        kfda_multiply_by_quantized_multiplier_ref(x * y, p->out_mult, p->out_shift) + p->out_offset;
    if (r < p->qact_min) r = p->qact_min;
    if (r > p->qact_max) r = p->qact_max;
    out[o] = (int8_t)r;
  }
}
