/* mul_s8.c - MUL int8 with broadcasting, TFLite's scheme: the product of the
 * offset inputs, rescaled once by in1_scale * in2_scale / out_scale (gemmlowp
 * rounding), plus the output zero point, clamped. */
#include "kfda/kernels.h"

void kfda_mul_s8(const kfda_op_params *p, const int8_t *a, const int32_t *as, const int8_t *b,
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
            const int32_t x = (int32_t)a[ia] + p->in_offset;
            const int32_t y = (int32_t)b[ib] + p->in2_offset;
            int32_t r = kfda_multiply_by_quantized_multiplier(x * y, p->out_mult, p->out_shift) +
                        p->out_offset;
            if (r < p->qact_min) r = p->qact_min;
            if (r > p->qact_max) r = p->qact_max;
            out[o++] = (int8_t)r;
          }
}
