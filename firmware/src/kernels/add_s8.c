/* add_s8.c - ADD int8 with broadcasting, TFLite's scheme: both inputs shifted
 * left by 20 bits, rescaled to twice the larger input scale, summed, then
 * rescaled to the output. */
#include "kfda/kernels.h"

void kfda_add_s8(const kfda_op_params *p, const int8_t *a, const int32_t *as, const int8_t *b,
                 const int32_t *bs, const int32_t *d, int8_t *out) {
  int32_t i0, i1, i2, i3, i4;
  size_t o = 0;
  for (i0 = 0; i0 < d[0]; ++i0)
    for (i1 = 0; i1 < d[1]; ++i1)
      for (i2 = 0; i2 < d[2]; ++i2)
        for (i3 = 0; i3 < d[3]; ++i3)
          for (i4 = 0; i4 < d[4]; ++i4) {
            const size_t ia = (size_t)i0 * as[0] + (size_t)i1 * as[1] + (size_t)i2 * as[2] +
                              (size_t)i3 * as[3] + (size_t)i4 * as[4];
            const size_t ib = (size_t)i0 * bs[0] + (size_t)i1 * bs[1] + (size_t)i2 * bs[2] +
                              (size_t)i3 * bs[3] + (size_t)i4 * bs[4];
            const int32_t x = ((int32_t)a[ia] + p->in_offset) * (1 << p->left_shift);
            const int32_t y = ((int32_t)b[ib] + p->in2_offset) * (1 << p->left_shift);
            const int32_t sx = kfda_multiply_by_quantized_multiplier(x, p->in_mult, p->in_shift);
            const int32_t sy = kfda_multiply_by_quantized_multiplier(y, p->in2_mult, p->in2_shift);
            int32_t r = kfda_multiply_by_quantized_multiplier(sx + sy, p->out_mult, p->out_shift) +
                        p->out_offset;
            if (r < p->qact_min) r = p->qact_min;
            if (r > p->qact_max) r = p->qact_max;
            out[o++] = (int8_t)r;
          }
}
