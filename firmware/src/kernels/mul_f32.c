/* mul_f32.c - MUL, float32 with broadcasting (strides 0 on broadcast axes). */
#include "kfda/kernels.h"

void kfda_mul_f32(const kfda_op_params *p, const float *a, const int32_t *as,
                  const float *b, const int32_t *bs, const int32_t *d,
                  float *out) {
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
            float v = a[ia] * b[ib];
            if (v < p->act_min) v = p->act_min;
            if (v > p->act_max) v = p->act_max;
            out[o++] = v;
          }
}
