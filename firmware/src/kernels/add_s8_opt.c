/*
 * add_s8_opt.c - ADD int8, optimized; bit for bit the reference of add_s8.c (held to it by
 * host/kernel_test.c): per element the same TFLite steps (each input plus its offset,
 * shifted left by left_shift, rescaled; the sum rescaled to the output, plus its offset,
 * clamped), with the rescalings inline (requant.h: the reference's results without a
 * 64-bit division) and over runs instead of one broadcast step per element (the trailing
 * axes along which both inputs advance evenly, broadcast.h). An input that stays put along
 * a run (stride 0: a scalar, or a per-channel operand of a run of one pixel) is rescaled
 * once per run. Multipliers the inline form does not cover (a significand of INT32_MIN, a
 * shift outside [-31, 0]: never from TFLite's ADD, whose multipliers are below 1) run the
 * reference. In place: element i of both inputs is read before element i is written.
 */
#include "broadcast.h"
#include "kfda/kernels.h"
#include "requant.h"

typedef struct {
  int32_t off1, mult1, right1, off2, mult2, right2, shl; /* the inputs' rescaling */
  int32_t mult, right, offset, lo, hi;                   /* the output's */
} add_q;

static inline int32_t rescale(int32_t v, int32_t off, int32_t shl, int32_t mult, int32_t right) {
  return kfda_qmul_r((v + off) * (1 << shl), mult, right);
}

static inline int8_t finish(const add_q *q, int32_t sum) {
  int32_t r = kfda_qmul_r(sum, q->mult, q->right) + q->offset;
  if (r < q->lo) r = q->lo;
  if (r > q->hi) r = q->hi;
  return (int8_t)r;
}

static void add_run(const add_q *q, const int8_t *a, int32_t sa, const int8_t *b, int32_t sb,
                    size_t n, int8_t *out) {
  size_t i;
  if (sa == 0) {
    const int32_t x = rescale(*a, q->off1, q->shl, q->mult1, q->right1);
    for (i = 0; i < n; ++i, b += sb)
      out[i] = finish(q, x + rescale(*b, q->off2, q->shl, q->mult2, q->right2));
  } else if (sb == 0) {
    const int32_t y = rescale(*b, q->off2, q->shl, q->mult2, q->right2);
    for (i = 0; i < n; ++i, a += sa)
      out[i] = finish(q, rescale(*a, q->off1, q->shl, q->mult1, q->right1) + y);
  } else {
    for (i = 0; i < n; ++i, a += sa, b += sb)
      out[i] = finish(q, rescale(*a, q->off1, q->shl, q->mult1, q->right1) +
                             rescale(*b, q->off2, q->shl, q->mult2, q->right2));
  }
}

void kfda_add_s8_opt(const kfda_arith_params *p, const int8_t *a, const int32_t *as,
                     const int8_t *b, const int32_t *bs, const int32_t *d, int8_t *out) {
  kfda_broadcast_walk w;
  int32_t rd[5], sa, sb;
  size_t n, runs, r;
  add_q q;
  if (!kfda_qmul_ok(p->in_mult, p->in_shift) || p->in_shift > 0 ||
      !kfda_qmul_ok(p->in2_mult, p->in2_shift) || p->in2_shift > 0 ||
      !kfda_qmul_ok(p->out_mult, p->out_shift) || p->out_shift > 0) {
    kfda_add_s8_ref(p, a, as, b, bs, d, out);
    return;
  }
  q.off1 = p->in_offset;
  q.mult1 = p->in_mult;
  q.right1 = -p->in_shift;
  q.off2 = p->in2_offset;
  q.mult2 = p->in2_mult;
  q.right2 = -p->in2_shift;
  q.shl = p->left_shift;
  q.mult = p->out_mult;
  q.right = -p->out_shift;
  q.offset = p->out_offset;
  q.lo = p->qact_min;
  q.hi = p->qact_max;
  n = kfda_broadcast_run(as, bs, d, rd, &sa, &sb);
  runs = kfda_broadcast_begin(&w, as, bs, rd);
  for (r = 0; r < runs; ++r, kfda_broadcast_next(&w))
    add_run(&q, a + w.a, sa, b + w.b, sb, n, out + r * n);
}

void kfda_add_s8(const kfda_arith_params *p, const int8_t *a, const int32_t *as, const int8_t *b,
                 const int32_t *bs, const int32_t *d, int8_t *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_add_s8_ref(p, a, as, b, bs, d, out);
#else
  kfda_add_s8_opt(p, a, as, b, bs, d, out);
#endif
}
