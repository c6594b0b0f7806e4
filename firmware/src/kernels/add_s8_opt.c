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
 *
 * NEON (arm64 and armv7: integer only): runs where both inputs advance go 16 elements per
 * pass, 4 lanes of 32 bits: SQRDMULH is the high multiply (its one saturating case, a
 * significand of INT32_MIN, runs the reference), gemmlowp's fix-up plus SRSHL the
 * rounding divide (half away from zero), the clamp, saturating narrows.
 */
#include "broadcast.h"
#include "kfda/kernels.h"
#include "requant.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#define KFDA_ADD_S8_NEON 1
#else
#define KFDA_ADD_S8_NEON 0
#endif

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

#if KFDA_ADD_S8_NEON
/* kfda_rdbpot on 4 lanes, neg_e = -e: x - 1 for x < 0 turns SRSHL's half up into half
 * away from zero (the saturating add only bites at INT32_MIN, whose result is the same). */
static inline int32x4_t rdbpot4(int32x4_t x, int32x4_t neg_e) {
  return vrshlq_s32(vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, neg_e), 31)), neg_e);
}

/* The lanes of the NEON pass: each input's offset, left shift, significand, -right. */
typedef struct {
  int32x4_t off1, mult1, nright1, off2, mult2, nright2, shl, mult, nright, offset, lo, hi;
} add_q4;

static inline int16x4_t add4(const add_q4 *v, int16x8_t a, int16x8_t b, int high) {
  const int32x4_t a32 = high ? vmovl_s16(vget_high_s16(a)) : vmovl_s16(vget_low_s16(a));
  const int32x4_t b32 = high ? vmovl_s16(vget_high_s16(b)) : vmovl_s16(vget_low_s16(b));
  const int32x4_t x =
      rdbpot4(vqrdmulhq_s32(vshlq_s32(vaddq_s32(a32, v->off1), v->shl), v->mult1), v->nright1);
  const int32x4_t y =
      rdbpot4(vqrdmulhq_s32(vshlq_s32(vaddq_s32(b32, v->off2), v->shl), v->mult2), v->nright2);
  int32x4_t r = vaddq_s32(rdbpot4(vqrdmulhq_s32(vaddq_s32(x, y), v->mult), v->nright), v->offset);
  r = vminq_s32(vmaxq_s32(r, v->lo), v->hi);
  return vqmovn_s32(r);
}

/* out[i] for i < n / 16 * 16; returns how many were done. */
static size_t add_run16(const add_q *q, const int8_t *a, const int8_t *b, size_t n, int8_t *out) {
  add_q4 v;
  size_t i;
  v.off1 = vdupq_n_s32(q->off1);
  v.mult1 = vdupq_n_s32(q->mult1);
  v.nright1 = vdupq_n_s32(-q->right1);
  v.off2 = vdupq_n_s32(q->off2);
  v.mult2 = vdupq_n_s32(q->mult2);
  v.nright2 = vdupq_n_s32(-q->right2);
  v.shl = vdupq_n_s32(q->shl);
  v.mult = vdupq_n_s32(q->mult);
  v.nright = vdupq_n_s32(-q->right);
  v.offset = vdupq_n_s32(q->offset);
  v.lo = vdupq_n_s32(q->lo);
  v.hi = vdupq_n_s32(q->hi);
  for (i = 0; i + 16 <= n; i += 16) {
    const int8x16_t a8 = vld1q_s8(a + i), b8 = vld1q_s8(b + i);
    const int16x8_t a0 = vmovl_s8(vget_low_s8(a8)), a1 = vmovl_s8(vget_high_s8(a8));
    const int16x8_t b0 = vmovl_s8(vget_low_s8(b8)), b1 = vmovl_s8(vget_high_s8(b8));
    const int16x8_t r0 = vcombine_s16(add4(&v, a0, b0, 0), add4(&v, a0, b0, 1));
    const int16x8_t r1 = vcombine_s16(add4(&v, a1, b1, 0), add4(&v, a1, b1, 1));
    vst1q_s8(out + i, vcombine_s8(vqmovn_s16(r0), vqmovn_s16(r1)));
  }
  return i;
}
#endif

static void add_run(const add_q *q, const int8_t *a, int32_t sa, const int8_t *b, int32_t sb,
                    size_t n, int8_t *out) {
  size_t i;
#if KFDA_ADD_S8_NEON
  if (sa == 1 && sb == 1 && n >= 16) {
    const size_t done = add_run16(q, a, b, n, out);
    a += done;
    b += done;
    out += done;
    n -= done;
  }
#endif
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
