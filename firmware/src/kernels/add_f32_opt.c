/*
 * add_f32_opt.c - ADD float32, optimized; bit for bit the reference of add_f32.c (held
 * to it by host/kernel_test.c): the same a + b and clamp per element, over runs instead
 * of one broadcast step per element. The trailing axes along which both inputs advance
 * evenly are one run (broadcast.h: all of a same-shape ADD; a channel row of a
 * per-channel one); runs of strides (1, 1) go 4 elements per pass, and the
 * no-activation clamp is done on the bits (act_f32.h).
 */
#include "act_f32.h"
#include "broadcast.h"
#include "kfda/kernels.h"

static void add_run(const float *a, int32_t sa, const float *b, int32_t sb, size_t n,
                    float lo, float hi, int none, float *out) {
  size_t i = 0;
  if (none && sa == 1 && sb == 1) {
    for (; i + 4 <= n; i += 4) {
      kfda_act_store_none_f32(out + i, a[i] + b[i]);
      kfda_act_store_none_f32(out + i + 1, a[i + 1] + b[i + 1]);
      kfda_act_store_none_f32(out + i + 2, a[i + 2] + b[i + 2]);
      kfda_act_store_none_f32(out + i + 3, a[i + 3] + b[i + 3]);
    }
    for (; i < n; ++i) kfda_act_store_none_f32(out + i, a[i] + b[i]);
  } else if (none) {
    for (; i < n; ++i, a += sa, b += sb) kfda_act_store_none_f32(out + i, *a + *b);
  } else {
    for (; i < n; ++i, a += sa, b += sb) kfda_act_store_f32(out + i, *a + *b, lo, hi);
  }
}

void kfda_add_f32_opt(const kfda_op_params *p, const float *a, const int32_t *as,
                      const float *b, const int32_t *bs, const int32_t *d, float *out) {
  kfda_broadcast_walk w;
  int32_t rd[5], sa, sb;
  const size_t n = kfda_broadcast_run(as, bs, d, rd, &sa, &sb);
  const size_t runs = kfda_broadcast_begin(&w, as, bs, rd);
  const int none = kfda_act_f32_none(p);
  size_t r;
  for (r = 0; r < runs; ++r, kfda_broadcast_next(&w))
    add_run(a + w.a, sa, b + w.b, sb, n, p->act_min, p->act_max, none, out + r * n);
}

void kfda_add_f32(const kfda_op_params *p, const float *a, const int32_t *as,
                  const float *b, const int32_t *bs, const int32_t *d, float *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_add_f32_ref(p, a, as, b, bs, d, out);
#else
  kfda_add_f32_opt(p, a, as, b, bs, d, out);
#endif
}
