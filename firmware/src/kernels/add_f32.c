/* add_f32.c - ADD, float32 with broadcasting (strides 0 on broadcast axes). */
#include "kfda/kernels.h"
#include "broadcast.h"

void kfda_add_f32_ref(const kfda_arith_params *p, const float *a, const int32_t *as, const float *b,
                      const int32_t *bs, const int32_t *d, float *out) {
  kfda_broadcast_walk w;
  const size_t count = kfda_broadcast_begin(&w, as, bs, d);
  size_t o;
  for (o = 0; o < count; ++o, kfda_broadcast_next(&w)) {
    float v = a[w.a] + b[w.b];
    if (v < p->act_min) v = p->act_min;
    if (!(v <= p->act_max)) v = p->act_max; /* and NaN, as TFLite's clamp */
    out[o] = v;
  }
}
