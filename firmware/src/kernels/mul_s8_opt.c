/*
 * mul_s8_opt.c - MUL int8, optimized; bit for bit the reference of mul_s8.c (held to it by
 * host/kernel_test.c): per element the same product of the offset inputs, rescaled (inline,
 * requant.h: the reference's results without a 64-bit division), plus the output offset,
 * clamped; over runs instead of one broadcast step per element (broadcast.h), an input
 * that stays put along a run read once per run. A multiplier the inline form does not
 * cover (a significand of INT32_MIN, a shift below -31) runs the reference. In place:
 * element i of both inputs is read before element i is written.
 */
#include "broadcast.h"
#include "kfda/kernels.h"
#include "requant.h"

typedef struct {
  int32_t off1, off2, mult, left, right, offset, lo, hi;
} mul_q;

static inline int8_t finish(const mul_q *q, int32_t prod) {
  int32_t r = kfda_qmul(prod, q->mult, q->left, q->right) + q->offset;
  if (r < q->lo) r = q->lo;
  if (r > q->hi) r = q->hi;
  return (int8_t)r;
}

static void mul_run(const mul_q *q, const int8_t *a, int32_t sa, const int8_t *b, int32_t sb,
                    size_t n, int8_t *out) {
  size_t i;
  if (sa == 0) {
    const int32_t x = *a + q->off1;
    for (i = 0; i < n; ++i, b += sb) out[i] = finish(q, x * (*b + q->off2));
  } else if (sb == 0) {
    const int32_t y = *b + q->off2;
    for (i = 0; i < n; ++i, a += sa) out[i] = finish(q, (*a + q->off1) * y);
  } else {
    for (i = 0; i < n; ++i, a += sa, b += sb) out[i] = finish(q, (*a + q->off1) * (*b + q->off2));
  }
}

void kfda_mul_s8_opt(const kfda_arith_params *p, const int8_t *a, const int32_t *as,
                     const int8_t *b, const int32_t *bs, const int32_t *d, int8_t *out) {
  kfda_broadcast_walk w;
  int32_t rd[5], sa, sb;
  size_t n, runs, r;
  mul_q q;
  if (!kfda_qmul_ok(p->out_mult, p->out_shift)) {
    kfda_mul_s8_ref(p, a, as, b, bs, d, out);
    return;
  }
  q.off1 = p->in_offset;
  q.off2 = p->in2_offset;
  q.mult = p->out_mult;
  q.left = p->out_shift > 0 ? p->out_shift : 0;
  q.right = p->out_shift > 0 ? 0 : -p->out_shift;
  q.offset = p->out_offset;
  q.lo = p->qact_min;
  q.hi = p->qact_max;
  n = kfda_broadcast_run(as, bs, d, rd, &sa, &sb);
  runs = kfda_broadcast_begin(&w, as, bs, rd);
  for (r = 0; r < runs; ++r, kfda_broadcast_next(&w))
    mul_run(&q, a + w.a, sa, b + w.b, sb, n, out + r * n);
}

void kfda_mul_s8(const kfda_arith_params *p, const int8_t *a, const int32_t *as, const int8_t *b,
                 const int32_t *bs, const int32_t *d, int8_t *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_mul_s8_ref(p, a, as, b, bs, d, out);
#else
  kfda_mul_s8_opt(p, a, as, b, bs, d, out);
#endif
}
