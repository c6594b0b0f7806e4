/*
 * conv2d_f32_opt.c - CONV_2D float32, optimized; bit for bit the reference loop of
 * conv2d_f32.c (held to it by host/kernel_test.c).
 *
 * Float sums are not associative, so each output keeps the reference's exact order:
 * the bias (0.0f without one), then a fused multiply-add (kfda_fmaf) per tap over
 * (fy, fx, ic) in that order skipping the taps outside the image, then the clamp.
 * The speed comes from what surrounds the sums:
 *   - the taps inside the image are found once per output row (fy range) and per
 *     output pixel (fx range) instead of two bounds checks per tap; with dilation 1 and
 *     one group the taps of one filter row are then one contiguous run of
 *     (fx1 - fx0) * cin floats in both the input and the OHWI filter;
 *   - 4 output channels x 4 output pixels per pass (pixels whose fx ranges match): each
 *     input value is loaded once for 4 channels and each weight once for 4 pixels, 16
 *     independent sums in registers; leftovers with 4 x 1 and 1 x 1 blocks;
 *   - the clamp without an activation: one test for all 16 outputs of a block (their
 *     sum is finite only if none is an infinity or NaN: then nothing to clamp), else
 *     per output on the bits (act_f32.h).
 * arm64 NEON: a 3x3 filter over one input channel at stride 1 (a stem conv on
 * a grey image) runs 4 output channels per vector (conv_3x3_c1). Every other conv
 * runs 4 channels x up to 4 pixels per pass with the pixels in the lanes
 * (block_4c_neon: an RGB stem, 1x1 convs over several pixels); one output pixel whose
 * taps lie inside, cin a multiple of 4, runs the GEMV order 4 outputs per pass
 * (one_pixel_neon); elsewhere that case runs 4 outputs per pass in scalar registers
 * (one_pixel_4).
 * Grouped or dilated convolutions run the reference; other one-pixel convs the
 * reference's kfda_conv2d_f32_one_pixel (the interpreter's GEMV order).
 */
#include "act_f32.h"
#include "fma_f32.h"
#include "gemv_f32.h"
#include "kfda/kernels.h"

/* arm64 only: armv7 NEON float arithmetic flushes denormals to zero (not IEEE). */
#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define KFDA_CONV_F32_NEON 1
#else
#define KFDA_CONV_F32_NEON 0
#endif
/* armv7-A with VFPv4 (the Linux armv7 build): the c1 stem in scalar VFP assembly */
#if !KFDA_CONV_F32_NEON && defined(__ARM_ARCH_7A__) && defined(__ARM_FEATURE_FMA) && \
    defined(__GNUC__)
#define KFDA_CONV_F32_VFP 1
#else
#define KFDA_CONV_F32_VFP 0
#endif

/* The taps of one output pixel: `rows` filter rows of `run` floats each; input rows
 * `xrow` floats apart, filter rows `wrow` apart, output channels `wk` apart; the
 * next pixel's taps `xs` floats after. */
typedef struct {
  int32_t rows, run, wrow;
  size_t xrow, xs, wk;
} taps;

/* The reference's start (the bias, 0.0f without one) and its clamp. */
typedef struct {
  const float *bias;
  float lo, hi;
  int none;
} transform;

static float start_of(const transform *tr, int32_t oc) { return tr->bias ? tr->bias[oc] : 0.0f; }

static void store_1(const transform *tr, float v, float *o) {
  if (tr->none)
    kfda_act_store_none_f32(o, v);
  else
    kfda_act_store_f32(o, v, tr->lo, tr->hi);
}

/* 4 channels (oc..oc+3) x 4 pixels; o: the first pixel's outputs, `ostride` apart. */
static void block_4x4(const taps *t, const float *x, const float *w, const transform *tr,
                      int32_t oc, float *o, size_t ostride) {
  const float e0 = start_of(tr, oc), e1 = start_of(tr, oc + 1), e2 = start_of(tr, oc + 2),
              e3 = start_of(tr, oc + 3);
  float a0 = e0, a1 = e1, a2 = e2, a3 = e3, b0 = e0, b1 = e1, b2 = e2, b3 = e3, c0 = e0, c1 = e1,
        c2 = e2, c3 = e3, d0 = e0, d1 = e1, d2 = e2, d3 = e3;
  int32_t r, k;
  for (r = 0; r < t->rows; ++r, x += t->xrow, w += t->wrow) {
    const float *xa = x, *xb = xa + t->xs, *xc = xb + t->xs, *xd = xc + t->xs;
    const float *w0 = w, *w1 = w0 + t->wk, *w2 = w1 + t->wk, *w3 = w2 + t->wk;
    for (k = 0; k < t->run; ++k) {
      const float p = xa[k], q = xb[k], s = xc[k], u = xd[k];
      const float f0 = w0[k], f1 = w1[k], f2 = w2[k], f3 = w3[k];
      a0 = kfda_fmaf(p, f0, a0);
      a1 = kfda_fmaf(p, f1, a1);
      a2 = kfda_fmaf(p, f2, a2);
      a3 = kfda_fmaf(p, f3, a3);
      b0 = kfda_fmaf(q, f0, b0);
      b1 = kfda_fmaf(q, f1, b1);
      b2 = kfda_fmaf(q, f2, b2);
      b3 = kfda_fmaf(q, f3, b3);
      c0 = kfda_fmaf(s, f0, c0);
      c1 = kfda_fmaf(s, f1, c1);
      c2 = kfda_fmaf(s, f2, c2);
      c3 = kfda_fmaf(s, f3, c3);
      d0 = kfda_fmaf(u, f0, d0);
      d1 = kfda_fmaf(u, f1, d1);
      d2 = kfda_fmaf(u, f2, d2);
      d3 = kfda_fmaf(u, f3, d3);
    }
  }
  if (tr->none) {
    /* Any infinity or NaN among the 16 makes their sum one; finite sums (the common
     * case) are what the clamp to +-FLT_MAX leaves as they are. */
    const float all = ((a0 + a1) + (a2 + a3)) + ((b0 + b1) + (b2 + b3)) +
                      (((c0 + c1) + (c2 + c3)) + ((d0 + d1) + (d2 + d3)));
    if (all - all == 0.0f) {
      o[0] = a0;
      o[1] = a1;
      o[2] = a2;
      o[3] = a3;
      o += ostride;
      o[0] = b0;
      o[1] = b1;
      o[2] = b2;
      o[3] = b3;
      o += ostride;
      o[0] = c0;
      o[1] = c1;
      o[2] = c2;
      o[3] = c3;
      o += ostride;
      o[0] = d0;
      o[1] = d1;
      o[2] = d2;
      o[3] = d3;
      return;
    }
  }
  store_1(tr, a0, o);
  store_1(tr, a1, o + 1);
  store_1(tr, a2, o + 2);
  store_1(tr, a3, o + 3);
  o += ostride;
  store_1(tr, b0, o);
  store_1(tr, b1, o + 1);
  store_1(tr, b2, o + 2);
  store_1(tr, b3, o + 3);
  o += ostride;
  store_1(tr, c0, o);
  store_1(tr, c1, o + 1);
  store_1(tr, c2, o + 2);
  store_1(tr, c3, o + 3);
  o += ostride;
  store_1(tr, d0, o);
  store_1(tr, d1, o + 1);
  store_1(tr, d2, o + 2);
  store_1(tr, d3, o + 3);
}

/* 4 channels (oc..oc+3) x 1 pixel. */
static void block_4x1(const taps *t, const float *x, const float *w, const transform *tr,
                      int32_t oc, float *o) {
  float a0 = start_of(tr, oc), a1 = start_of(tr, oc + 1), a2 = start_of(tr, oc + 2),
        a3 = start_of(tr, oc + 3);
  int32_t r, k;
  for (r = 0; r < t->rows; ++r, x += t->xrow, w += t->wrow) {
    const float *w0 = w, *w1 = w0 + t->wk, *w2 = w1 + t->wk, *w3 = w2 + t->wk;
    for (k = 0; k < t->run; ++k) {
      const float p = x[k];
      a0 = kfda_fmaf(p, w0[k], a0);
      a1 = kfda_fmaf(p, w1[k], a1);
      a2 = kfda_fmaf(p, w2[k], a2);
      a3 = kfda_fmaf(p, w3[k], a3);
    }
  }
  store_1(tr, a0, o);
  store_1(tr, a1, o + 1);
  store_1(tr, a2, o + 2);
  store_1(tr, a3, o + 3);
}

/* 1 channel x 1 pixel. */
static void block_1x1(const taps *t, const float *x, const float *w, const transform *tr,
                      int32_t oc, float *o) {
  float a = start_of(tr, oc);
  int32_t r, k;
  for (r = 0; r < t->rows; ++r, x += t->xrow, w += t->wrow)
    for (k = 0; k < t->run; ++k) a = kfda_fmaf(x[k], w[k], a);
  store_1(tr, a, o);
}

/* Taps of a window starting at `start` (input coordinate, may be negative) of `f` taps
 * over an axis of `size`: [*lo, *hi) of the filter, empty as lo == hi. */
static void clip(int32_t start, int32_t f, int32_t size, int32_t *lo, int32_t *hi) {
  *lo = start < 0 ? -start : 0;
  *hi = size - start < f ? size - start : f;
  if (*hi < *lo) *hi = *lo;
}

#if KFDA_CONV_F32_NEON || KFDA_CONV_F32_VFP
/* 1 when no output of channels [oc, oc + n) of a 3x3 filter over one input channel can
 * be an infinity or NaN over inputs of magnitude at most xmax: |bias| + sum |w| * xmax
 * below 2^120 (the 10 roundings of a sum move it by far less than the margin to
 * FLT_MAX); 0 for NaN or infinite operands. Then the no-activation clamp (+-inf to
 * +-FLT_MAX, NaN to FLT_MAX) has nothing to do. */
static int c1_finite(const float *filter, const float *bias, int32_t oc, int32_t n, float xmax) {
  int32_t c, k;
  if (!(xmax < 0x1p100f)) return 0;
  for (c = oc; c < oc + n; ++c) {
    float s = bias ? __builtin_fabsf(bias[c]) : 0.0f;
    for (k = 0; k < 9; ++k) s += __builtin_fabsf(filter[(size_t)c * 9 + k]) * xmax;
    if (!(s < 0x1p120f)) return 0;
  }
  return 1;
}
#endif

#if KFDA_CONV_F32_NEON
#if defined(__GNUC__)
#define KFDA_CONV_INLINE static inline __attribute__((always_inline))
#else
#define KFDA_CONV_INLINE static inline
#endif

/* The clamp of 4 lanes, each the scalar result: without an activation (none: lo, hi =
 * -+FLT_MAX) FMINNM then FMAXNM (+-inf to +-FLT_MAX, NaN to FLT_MAX, as the reference;
 * no zero bound, so no signed-zero question), else compares and bit selects. */
KFDA_CONV_INLINE float32x4_t clamp_f32x4(float32x4_t a, float32x4_t lo, float32x4_t hi, int none) {
  if (none) return vmaxnmq_f32(vminnmq_f32(a, hi), lo);
  a = vbslq_f32(vcltq_f32(a, lo), lo, a);
  return vbslq_f32(vcleq_f32(a, hi), a, hi);
}

/* v[i] lane j <- v[j] lane i (TRN1/TRN2 of the 32-bit lanes, then of the 64-bit halves). */
KFDA_CONV_INLINE void transpose4_f32(float32x4_t v[4]) {
  const float64x2_t t0 = vreinterpretq_f64_f32(vtrn1q_f32(v[0], v[1]));
  const float64x2_t t1 = vreinterpretq_f64_f32(vtrn2q_f32(v[0], v[1]));
  const float64x2_t t2 = vreinterpretq_f64_f32(vtrn1q_f32(v[2], v[3]));
  const float64x2_t t3 = vreinterpretq_f64_f32(vtrn2q_f32(v[2], v[3]));
  v[0] = vreinterpretq_f32_f64(vtrn1q_f64(t0, t2));
  v[1] = vreinterpretq_f32_f64(vtrn1q_f64(t1, t3));
  v[2] = vreinterpretq_f32_f64(vtrn2q_f64(t0, t2));
  v[3] = vreinterpretq_f32_f64(vtrn2q_f64(t1, t3));
}

/* Pixel i's 4 channels, c[i], to o + i * ostride for the np (1-4) pixels of a block
 * (constant indices: c stays in registers). */
KFDA_CONV_INLINE void store_pixels4_f32(float *o, size_t ostride, int32_t np,
                                        const float32x4_t c[4]) {
  vst1q_f32(o, c[0]);
  if (np > 1) vst1q_f32(o + ostride, c[1]);
  if (np > 2) vst1q_f32(o + 2 * ostride, c[2]);
  if (np > 3) vst1q_f32(o + 3 * ostride, c[3]);
}

/* 4 pixels (input columns xp .. xp + 5 of rows fy0 .. fy1 - 1 of the window, `iw`
 * apart; rows outside the image skipped) x 4 channels: the bias, then per pixel the taps
 * in the reference's order (fy, fx), a vector of 4 and one of 2 floats loaded per filter
 * row, FMLA by lane (kfda_fmaf's one rounding). */
#define KFDA_C1_ROW(r, wa, wb, wc)              \
  if (ROW_INSIDE(r)) {                          \
    const float *xr = xp + (ptrdiff_t)(r) * iw; \
    const float32x4_t u = vld1q_f32(xr);        \
    const float32x2_t v = vld1_f32(xr + 4);     \
    a0 = vfmaq_laneq_f32(a0, wa, u, 0);         \
    a0 = vfmaq_laneq_f32(a0, wb, u, 1);         \
    a0 = vfmaq_laneq_f32(a0, wc, u, 2);         \
    a1 = vfmaq_laneq_f32(a1, wa, u, 1);         \
    a1 = vfmaq_laneq_f32(a1, wb, u, 2);         \
    a1 = vfmaq_laneq_f32(a1, wc, u, 3);         \
    a2 = vfmaq_laneq_f32(a2, wa, u, 2);         \
    a2 = vfmaq_laneq_f32(a2, wb, u, 3);         \
    a2 = vfmaq_lane_f32(a2, wc, v, 0);          \
    a3 = vfmaq_laneq_f32(a3, wa, u, 3);         \
    a3 = vfmaq_lane_f32(a3, wb, v, 0);          \
    a3 = vfmaq_lane_f32(a3, wc, v, 1);          \
  }
/* The pixels [ox_a, ox_z) of one output row, 4 at a time (xp, op: the block's first
 * pixel's input and output); the last block overlaps the one before when the count is
 * not a multiple of 4 (its pixels computed again, the same values stored). */
#define KFDA_C1_BLOCKS                                              \
  for (xp = x0, op = o0, n = ox_z - ox_a;;) {                       \
    float32x4_t a0 = bias, a1 = bias, a2 = bias, a3 = bias;         \
    KFDA_C1_ROW(0, w0, w1, w2)                                      \
    KFDA_C1_ROW(1, w3, w4, w5)                                      \
    KFDA_C1_ROW(2, w6, w7, w8)                                      \
    vst1q_f32(op, clamp_f32x4(a0, lo, hi, none));                   \
    vst1q_f32(op + cout, clamp_f32x4(a1, lo, hi, none));            \
    vst1q_f32(op + 2 * cout, clamp_f32x4(a2, lo, hi, none));        \
    vst1q_f32(op + 3 * cout, clamp_f32x4(a3, lo, hi, none));        \
    if (n <= 4) break;                                              \
    step = n - 4 < 4 ? n - 4 : 4; /* the last block: overlapping */ \
    xp += step;                                                     \
    op += (size_t)step * cout;                                      \
    n -= step;                                                      \
  }

/* A SAME row's first and last pixel (pad 1 each side, as many outputs as inputs): the
 * first's taps fx = 1, 2 over input columns 0, 1, the last's fx = 0, 1 over the last two;
 * per filter row one load of 2 floats, FMLA by lane in the reference's order. */
#define KFDA_C1_EDGE(r, a, xe, wa, wb)               \
  if (ROW_INSIDE(r)) {                               \
    const float32x2_t e = vld1_f32((xe) + (r) * iw); \
    a = vfmaq_lane_f32(a, wa, e, 0);                 \
    a = vfmaq_lane_f32(a, wb, e, 1);                 \
  }
#define KFDA_C1_EDGES                                                    \
  if (edges) {                                                           \
    float32x4_t a0 = bias, a1 = bias;                                    \
    const float *xl = x, *xr = x + (ptrdiff_t)(iw - 2);                  \
    KFDA_C1_EDGE(0, a0, xl, w1, w2)                                      \
    KFDA_C1_EDGE(1, a0, xl, w4, w5)                                      \
    KFDA_C1_EDGE(2, a0, xl, w7, w8)                                      \
    KFDA_C1_EDGE(0, a1, xr, w0, w1)                                      \
    KFDA_C1_EDGE(1, a1, xr, w3, w4)                                      \
    KFDA_C1_EDGE(2, a1, xr, w6, w7)                                      \
    vst1q_f32(o, clamp_f32x4(a0, lo, hi, none));                         \
    vst1q_f32(o + (size_t)(ox_z) * cout, clamp_f32x4(a1, lo, hi, none)); \
  }

/* The blocks of one output row (all 3 filter columns inside, at least 4 pixels). x: the
 * input at filter row 0 (perhaps outside the image: rows < fy0 are not read), column 0;
 * o: the row's first output. edges: also the SAME row's first and last pixel. Not inlined: with its
 * own registers the 9 weight vectors stay in them (inlined into conv_3x3_c1, GCC kept them on the
 * stack and reloaded them every block). */
static __attribute__((noinline)) void row_blocks_3x3_c1(const float *x, int32_t iw, int32_t fy0,
                                                        int32_t fy1, int32_t pad_w, int32_t ox_a,
                                                        int32_t ox_z, const float32x4_t *wt,
                                                        float32x4_t bias, float32x4_t lo,
                                                        float32x4_t hi, int none, int edges,
                                                        float *o, size_t cout) {
  const float32x4_t w0 = wt[0], w1 = wt[1], w2 = wt[2], w3 = wt[3], w4 = wt[4], w5 = wt[5];
  const float32x4_t w6 = wt[6], w7 = wt[7], w8 = wt[8];
  const float *x0 = x + (ox_a - pad_w), *xp;
  float *o0 = o + (size_t)ox_a * cout, *op;
  int32_t n, step;            /* n: the pixels from xp to the row's end */
  if (fy0 == 0 && fy1 == 3) { /* the whole window: no row tests */
#define ROW_INSIDE(r) 1
    if (none) {
      KFDA_C1_BLOCKS
    } else {
      KFDA_C1_BLOCKS
    }
    KFDA_C1_EDGES
#undef ROW_INSIDE
  } else {
#define ROW_INSIDE(r) (fy0 <= (r) && (r) < fy1)
    KFDA_C1_BLOCKS
    KFDA_C1_EDGES
#undef ROW_INSIDE
  }
}
#undef KFDA_C1_BLOCKS
#undef KFDA_C1_ROW
#undef KFDA_C1_EDGES
#undef KFDA_C1_EDGE

/* 8 output channels (two vectors: a_p channels oc..oc+3, b_p oc+4..oc+7 of pixel p) x 4
 * pixels per block, the 18 weight vectors held in registers: 72 FMLA by lane per 4 input
 * loads of 6 floats (a vector and a pair per filter row), one STP per pixel. Each lane
 * is the reference's sum: the bias, then the taps inside in (fy, fx) order. */
#define KFDA_C8_Q(p, k, s, l)               \
  a##p = vfmaq_laneq_f32(a##p, w##k, s, l); \
  b##p = vfmaq_laneq_f32(b##p, h##k, s, l)
#define KFDA_C8_D(p, k, s, l)              \
  a##p = vfmaq_lane_f32(a##p, w##k, s, l); \
  b##p = vfmaq_lane_f32(b##p, h##k, s, l)
/* filter row r (weights 3r .. 3r + 2) of pixels ox .. ox + 3, all columns inside: u the
 * input columns ox - pad_w .. + 3, v the next 2 */
#define KFDA_C8_ROW(r, k0, k1, k2)              \
  if (ROW_INSIDE(r)) {                          \
    const float *xr = xp + (ptrdiff_t)(r) * iw; \
    const float32x4_t u = vld1q_f32(xr);        \
    const float32x2_t v = vld1_f32(xr + 4);     \
    KFDA_C8_Q(0, k0, u, 0);                     \
    KFDA_C8_Q(0, k1, u, 1);                     \
    KFDA_C8_Q(0, k2, u, 2);                     \
    KFDA_C8_Q(1, k0, u, 1);                     \
    KFDA_C8_Q(1, k1, u, 2);                     \
    KFDA_C8_Q(1, k2, u, 3);                     \
    KFDA_C8_Q(2, k0, u, 2);                     \
    KFDA_C8_Q(2, k1, u, 3);                     \
    KFDA_C8_D(2, k2, v, 0);                     \
    KFDA_C8_Q(3, k0, u, 3);                     \
    KFDA_C8_D(3, k1, v, 0);                     \
    KFDA_C8_D(3, k2, v, 1);                     \
  }
/* the SAME row's first 4 pixels (pixel 0 without its fx = 0 tap): u columns 0 .. 3,
 * v 4 .. 5 */
#define KFDA_C8_LEFT(r, k0, k1, k2)            \
  if (ROW_INSIDE(r)) {                         \
    const float *xr = x + (ptrdiff_t)(r) * iw; \
    const float32x4_t u = vld1q_f32(xr);       \
    const float32x2_t v = vld1_f32(xr + 4);    \
    KFDA_C8_Q(0, k1, u, 0);                    \
    KFDA_C8_Q(0, k2, u, 1);                    \
    KFDA_C8_Q(1, k0, u, 0);                    \
    KFDA_C8_Q(1, k1, u, 1);                    \
    KFDA_C8_Q(1, k2, u, 2);                    \
    KFDA_C8_Q(2, k0, u, 1);                    \
    KFDA_C8_Q(2, k1, u, 2);                    \
    KFDA_C8_Q(2, k2, u, 3);                    \
    KFDA_C8_Q(3, k0, u, 2);                    \
    KFDA_C8_Q(3, k1, u, 3);                    \
    KFDA_C8_D(3, k2, v, 0);                    \
  }
/* the SAME row's last 4 pixels (the last without its fx = 2 tap): u columns iw - 4 ..
 * iw - 1, d iw - 6 .. iw - 5 */
#define KFDA_C8_RIGHT(r, k0, k1, k2)                    \
  if (ROW_INSIDE(r)) {                                  \
    const float *xr = x + (ptrdiff_t)(r) * iw + iw - 4; \
    const float32x4_t u = vld1q_f32(xr);                \
    const float32x2_t d = vld1_f32(xr - 2);             \
    KFDA_C8_D(0, k0, d, 1);                             \
    KFDA_C8_Q(0, k1, u, 0);                             \
    KFDA_C8_Q(0, k2, u, 1);                             \
    KFDA_C8_Q(1, k0, u, 0);                             \
    KFDA_C8_Q(1, k1, u, 1);                             \
    KFDA_C8_Q(1, k2, u, 2);                             \
    KFDA_C8_Q(2, k0, u, 1);                             \
    KFDA_C8_Q(2, k1, u, 2);                             \
    KFDA_C8_Q(2, k2, u, 3);                             \
    KFDA_C8_Q(3, k0, u, 2);                             \
    KFDA_C8_Q(3, k1, u, 3);                             \
  }
#define KFDA_C8_START                                               \
  float32x4_t a0 = bl, a1 = bl, a2 = bl, a3 = bl, b0 = bh, b1 = bh; \
  float32x4_t b2 = bh, b3 = bh
/* the clamp (CLAMP8) and the 4 pixels' stores from `op` */
#define KFDA_C8_STORE(CLAMP8)       \
  CLAMP8(a0);                       \
  CLAMP8(a1);                       \
  CLAMP8(a2);                       \
  CLAMP8(a3);                       \
  CLAMP8(b0);                       \
  CLAMP8(b1);                       \
  CLAMP8(b2);                       \
  CLAMP8(b3);                       \
  vst1q_f32(op, a0);                \
  vst1q_f32(op + 4, b0);            \
  vst1q_f32(op + cout, a1);         \
  vst1q_f32(op + cout + 4, b1);     \
  vst1q_f32(op + 2 * cout, a2);     \
  vst1q_f32(op + 2 * cout + 4, b2); \
  vst1q_f32(op + 3 * cout, a3);     \
  vst1q_f32(op + 3 * cout + 4, b3)
#define KFDA_C8_NOCLAMP(v)    (void)0
#define KFDA_C8_CLAMP_NONE(v) v = vmaxnmq_f32(vminnmq_f32(v, hi), lo)
#define KFDA_C8_CLAMP(v) \
  if (mode) v = clamp_f32x4(v, lo, hi, mode == 1)
/* pixels [b0x, z) 4 at a time (the last block overlapping the one before) */
#define KFDA_C8_BLOCKS(CLAMP8)                                               \
  for (xp = x + (b0x - pad_w), op = o + (size_t)b0x * cout, n = z - b0x;;) { \
    KFDA_C8_START;                                                           \
    KFDA_C8_ROW(0, 0, 1, 2)                                                  \
    KFDA_C8_ROW(1, 3, 4, 5)                                                  \
    KFDA_C8_ROW(2, 6, 7, 8)                                                  \
    KFDA_C8_STORE(CLAMP8);                                                   \
    if (n <= 4) break;                                                       \
    step = n - 4 < 4 ? n - 4 : 4; /* the last block: overlapping */          \
    xp += step;                                                              \
    op += (size_t)step * cout;                                               \
    n -= step;                                                               \
  }

/* with `edges`: the row's first and last 4 pixels */
#define KFDA_C8_EDGES(CLAMP8)           \
  if (edges) {                          \
    {                                   \
      KFDA_C8_START;                    \
      op = o;                           \
      KFDA_C8_LEFT(0, 0, 1, 2)          \
      KFDA_C8_LEFT(1, 3, 4, 5)          \
      KFDA_C8_LEFT(2, 6, 7, 8)          \
      KFDA_C8_STORE(CLAMP8);            \
    }                                   \
    {                                   \
      KFDA_C8_START;                    \
      op = o + (size_t)(iw - 4) * cout; \
      KFDA_C8_RIGHT(0, 0, 1, 2)         \
      KFDA_C8_RIGHT(1, 3, 4, 5)         \
      KFDA_C8_RIGHT(2, 6, 7, 8)         \
      KFDA_C8_STORE(CLAMP8);            \
    }                                   \
  }

/* The strings of row8_asm (built from the macros below; registers v0 - v8 the weights of channels
 * oc..oc+3, v9 - v17 of oc+4..oc+7, v18 - v19 the bias, v20 + 2p / v21 + 2p pixel p's two
 * accumulators, v28 - v29 the input columns, v30 - v31 lo, hi). MID: a block of 4
 * pixels, its input columns from the row pointers (each advanced 4 columns); LEFT,
 * RIGHT: the SAME row's first / last 4 pixels (pointers at column 0 / iw - 5). */
/* pixels p = 0..3 (accumulators v(20 + 2p), v(21 + 2p)) += the input column named xp x
 * the tap's weights w0 (channels 0 - 3), w1 (4 - 7); A3L pixels 0 - 2, A3R pixels 1 - 3 */
#define KFDA_A2(a0, a1, w0, w1, x)    \
  "fmla v" #a0 ".4s, v" #w0 ".4s, " x \
  "\n\t"                              \
  "fmla v" #a1 ".4s, v" #w1 ".4s, " x "\n\t"
#define KFDA_A3L(w0, w1, x0, x1, x2) \
  KFDA_A2(20, 21, w0, w1, x0) KFDA_A2(22, 23, w0, w1, x1) KFDA_A2(24, 25, w0, w1, x2)
#define KFDA_A3R(w0, w1, x1, x2, x3) \
  KFDA_A2(22, 23, w0, w1, x1) KFDA_A2(24, 25, w0, w1, x2) KFDA_A2(26, 27, w0, w1, x3)
#define KFDA_A4(w0, w1, x0, x1, x2, x3) KFDA_A2(20, 21, w0, w1, x0) KFDA_A3R(w0, w1, x1, x2, x3)
/* a filter row's input columns: v28's 4 lanes, v29's 2 */
#define KFDA_Q0 "v28.s[0]"
#define KFDA_Q1 "v28.s[1]"
#define KFDA_Q2 "v28.s[2]"
#define KFDA_Q3 "v28.s[3]"
#define KFDA_D0 "v29.s[0]"
#define KFDA_D1 "v29.s[1]"
/* a filter row's 3 taps (weights wa, wb, wc and ua, ub, uc): MID pixel p reads column
 * p + fx; LEFT p + fx - 1 (none for p + fx = 0: padding); RIGHT p + fx with v29.s[1]
 * first (none for column 5) */
#define KFDA_A8TAPS_MID(wa, wb, wc, ua, ub, uc)       \
  KFDA_A4(wa, ua, KFDA_Q0, KFDA_Q1, KFDA_Q2, KFDA_Q3) \
  KFDA_A4(wb, ub, KFDA_Q1, KFDA_Q2, KFDA_Q3, KFDA_D0) \
  KFDA_A4(wc, uc, KFDA_Q2, KFDA_Q3, KFDA_D0, KFDA_D1)
#define KFDA_A8TAPS_LEFT(wa, wb, wc, ua, ub, uc)      \
  KFDA_A3R(wa, ua, KFDA_Q0, KFDA_Q1, KFDA_Q2)         \
  KFDA_A4(wb, ub, KFDA_Q0, KFDA_Q1, KFDA_Q2, KFDA_Q3) \
  KFDA_A4(wc, uc, KFDA_Q1, KFDA_Q2, KFDA_Q3, KFDA_D0)
#define KFDA_A8TAPS_RIGHT(wa, wb, wc, ua, ub, uc)     \
  KFDA_A4(wa, ua, KFDA_D1, KFDA_Q0, KFDA_Q1, KFDA_Q2) \
  KFDA_A4(wb, ub, KFDA_Q0, KFDA_Q1, KFDA_Q2, KFDA_Q3) \
  KFDA_A3L(wc, uc, KFDA_Q1, KFDA_Q2, KFDA_Q3)
/* input row r's columns into v28, v29: MID from the pointer (then 4 columns on), LEFT
 * from column 0, RIGHT from column iw - 5 */
#define KFDA_A8LOAD_MID(r) \
  "ldr q28, [%[r" #r       \
  "]], #16\n\t"            \
  "ldr d29, [%[r" #r "]]\n\t"
#define KFDA_A8LOAD_LEFT(r) \
  "ldr q28, [%[r" #r        \
  "]]\n\t"                  \
  "ldr d29, [%[r" #r "], #16]\n\t"
#define KFDA_A8LOAD_RIGHT(r) \
  "ldur d29, [%[r" #r        \
  "], #-4]\n\t"              \
  "ldr q28, [%[r" #r "], #4]\n\t"
/* a block: the 8 accumulators from the bias (v18, v19), then the 3 filter rows */
#define KFDA_A8BLOCK(LOAD, TAPS)                                                                \
  "mov v20.16b, v18.16b\n\t"                                                                    \
  "mov v21.16b, v19.16b\n\t"                                                                    \
  "mov v22.16b, v18.16b\n\t"                                                                    \
  "mov v23.16b, v19.16b\n\t"                                                                    \
  "mov v24.16b, v18.16b\n\t"                                                                    \
  "mov v25.16b, v19.16b\n\t"                                                                    \
  "mov v26.16b, v18.16b\n\t"                                                                    \
  "mov v27.16b, v19.16b\n\t" LOAD(0) TAPS(0, 1, 2, 9, 10, 11) LOAD(1) TAPS(3, 4, 5, 12, 13, 14) \
      LOAD(2) TAPS(6, 7, 8, 15, 16, 17)
#define KFDA_C8A_MID   KFDA_A8BLOCK(KFDA_A8LOAD_MID, KFDA_A8TAPS_MID)
#define KFDA_C8A_LEFT  KFDA_A8BLOCK(KFDA_A8LOAD_LEFT, KFDA_A8TAPS_LEFT)
#define KFDA_C8A_RIGHT KFDA_A8BLOCK(KFDA_A8LOAD_RIGHT, KFDA_A8TAPS_RIGHT)
/* the 8 accumulators: OP with the limit vector LIM (v31 hi, v30 lo) */
#define KFDA_A8EACH(OP, LIM)                                                                     \
  OP " v20.4s, v20.4s, " LIM "\n\t" OP " v21.4s, v21.4s, " LIM "\n\t" OP " v22.4s, v22.4s, " LIM \
     "\n\t" OP " v23.4s, v23.4s, " LIM "\n\t" OP " v24.4s, v24.4s, " LIM "\n\t" OP               \
     " v25.4s, v25.4s, " LIM "\n\t" OP " v26.4s, v26.4s, " LIM "\n\t" OP " v27.4s, v27.4s, " LIM \
     "\n\t"
#define KFDA_C8A_CLAMP KFDA_A8EACH("fminnm", "v31.4s") KFDA_A8EACH("fmaxnm", "v30.4s")

#define KFDA_C8A_STORE                      \
  "st1 {v20.4s, v21.4s}, [%[o]], %[cb]\n\t" \
  "st1 {v22.4s, v23.4s}, [%[o]], %[cb]\n\t" \
  "st1 {v24.4s, v25.4s}, [%[o]], %[cb]\n\t" \
  "st1 {v26.4s, v27.4s}, [%[o]], %[cb]\n\t"

/* the assembly strings run past the 4095 characters C99 promises (GCC and clang: fine) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
/* One whole-window output row of 8 channels in assembly (mode 0 or 1; the intrinsics
 * took 112 instructions a block, GCC spilling; this 92 without the clamp): with `left`
 * the SAME row's first 4 pixels (r0 - r2, the 3 input rows, at column 0, then moved to
 * column 3), `n` blocks of 4 pixels, then when `back` (bytes) the pointers and the
 * output moved back for one overlapping block, with `right` the last 4 pixels. */
static void row8_asm(const float *r0, const float *r1, const float *r2, float *o, size_t cb,
                     size_t n, int left, int right, size_t back, size_t backo,
                     const float32x4_t *wt, const float *bias8, const float *lohi, int clamp) {
#define KFDA_C8A(CLAMP)                                                                            \
  __asm__ volatile(                                                                                \
      "ld1 {v0.4s-v3.4s}, [%[wt]], #64\n\t"                                                        \
      "ld1 {v4.4s-v7.4s}, [%[wt]], #64\n\t"                                                        \
      "ld1 {v8.4s-v11.4s}, [%[wt]], #64\n\t"                                                       \
      "ld1 {v12.4s-v15.4s}, [%[wt]], #64\n\t"                                                      \
      "ld1 {v16.4s, v17.4s}, [%[wt]]\n\t"                                                          \
      "ld1 {v18.4s, v19.4s}, [%[bias]]\n\t"                                                        \
      "ld1 {v30.4s, v31.4s}, [%[lohi]]\n\t"                                                        \
      "cbz %w[left], 3f\n\t" KFDA_C8A_LEFT CLAMP KFDA_C8A_STORE                                    \
      "add %[r0], %[r0], #12\n\t"                                                                  \
      "add %[r1], %[r1], #12\n\t"                                                                  \
      "add %[r2], %[r2], #12\n\t"                                                                  \
      "3:\n\t"                                                                                     \
      "cbz %[n], 4f\n\t"                                                                           \
      "1:\n\t" KFDA_C8A_MID CLAMP KFDA_C8A_STORE                                                   \
      "subs %[n], %[n], #1\n\t"                                                                    \
      "b.ne 1b\n\t"                                                                                \
      "4:\n\t"                                                                                     \
      "cbz %[back], 5f\n\t"                                                                        \
      "sub %[r0], %[r0], %[back]\n\t"                                                              \
      "sub %[r1], %[r1], %[back]\n\t"                                                              \
      "sub %[r2], %[r2], %[back]\n\t"                                                              \
      "sub %[o], %[o], %[backo]\n\t"                                                               \
      "mov %[back], xzr\n\t"                                                                       \
      "mov %[n], #1\n\t"                                                                           \
      "b 1b\n\t"                                                                                   \
      "5:\n\t"                                                                                     \
      "cbz %w[right], 6f\n\t" KFDA_C8A_RIGHT CLAMP KFDA_C8A_STORE "6:"                             \
      : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [o] "+r"(o), [n] "+r"(n), [back] "+r"(back),  \
        [wt] "+r"(wt)                                                                              \
      : [cb] "r"(cb), [backo] "r"(backo), [left] "r"(left), [right] "r"(right), [bias] "r"(bias8), \
        [lohi] "r"(lohi)                                                                           \
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11",  \
        "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", \
        "v25", "v26", "v27", "v28", "v29", "v30", "v31")
  if (clamp)
    KFDA_C8A(KFDA_C8A_CLAMP);
  else
    KFDA_C8A("");
#undef KFDA_C8A
}
#pragma GCC diagnostic pop
#undef KFDA_C8A_MID
#undef KFDA_C8A_LEFT
#undef KFDA_C8A_RIGHT
#undef KFDA_C8A_CLAMP
#undef KFDA_C8A_STORE
#undef KFDA_A8EACH
#undef KFDA_A8BLOCK
#undef KFDA_A8LOAD_RIGHT
#undef KFDA_A8LOAD_LEFT
#undef KFDA_A8LOAD_MID
#undef KFDA_A8TAPS_RIGHT
#undef KFDA_A8TAPS_LEFT
#undef KFDA_A8TAPS_MID
#undef KFDA_D1
#undef KFDA_D0
#undef KFDA_Q3
#undef KFDA_Q2
#undef KFDA_Q1
#undef KFDA_Q0
#undef KFDA_A4
#undef KFDA_A3R
#undef KFDA_A3L
#undef KFDA_A2

/* One output row, 8 channels, in intrinsics: the first and last rows (filter rows
 * outside) and [lo, hi] clamps (the whole-window rows without one: row8_asm). With
 * `edges` (SAME, iw >= 8) all of it, the first and last 4 pixels as edge blocks and
 * [4, iw - 4) as blocks; else the pixels [ox_a, ox_z) (their 3 filter columns inside,
 * at least 4). x: the input at filter row 0 (rows < fy0 not read), column 0; o: the
 * row's first output (channel oc); mode: 0 no clamp (no output can be an infinity or
 * NaN), 1 the no-activation clamp, 2 [lo, hi]. Not inlined: its own registers hold the
 * 18 weight vectors. */
static __attribute__((noinline)) void row8_3x3_c1(const float *x, int32_t iw, int32_t fy0,
                                                  int32_t fy1, int32_t pad_w, int32_t ox_a,
                                                  int32_t ox_z, int edges, const float32x4_t *wt,
                                                  const float *bias8, float32x4_t lo,
                                                  float32x4_t hi, int mode, float *o, size_t cout) {
  const float32x4_t w0 = wt[0], w1 = wt[1], w2 = wt[2], w3 = wt[3], w4 = wt[4], w5 = wt[5];
  const float32x4_t w6 = wt[6], w7 = wt[7], w8 = wt[8], h0 = wt[9], h1 = wt[10], h2 = wt[11];
  const float32x4_t h3 = wt[12], h4 = wt[13], h5 = wt[14], h6 = wt[15], h7 = wt[16];
  const float32x4_t h8 = wt[17], bl = vld1q_f32(bias8), bh = vld1q_f32(bias8 + 4);
  const int32_t b0x = edges ? 4 : ox_a, z = edges ? iw - 4 : ox_z;
  const float *xp;
  float *op;
  int32_t n, step; /* n: the pixels from xp to the blocks' end */
  if (fy0 == 0 && fy1 == 3) {
#define ROW_INSIDE(r) 1
    if (z > b0x) KFDA_C8_BLOCKS(KFDA_C8_CLAMP)
    KFDA_C8_EDGES(KFDA_C8_CLAMP)
#undef ROW_INSIDE
  } else { /* the first or last rows */
#define ROW_INSIDE(r) (fy0 <= (r) && (r) < fy1)
    if (z > b0x) KFDA_C8_BLOCKS(KFDA_C8_CLAMP)
    KFDA_C8_EDGES(KFDA_C8_CLAMP)
#undef ROW_INSIDE
  }
}
#undef KFDA_C8_Q
#undef KFDA_C8_D
#undef KFDA_C8_ROW
#undef KFDA_C8_LEFT
#undef KFDA_C8_RIGHT
#undef KFDA_C8_START
#undef KFDA_C8_STORE
#undef KFDA_C8_CLAMP
#undef KFDA_C8_BLOCKS
#undef KFDA_C8_EDGES

/* The pixels of one output row outside [ox_a, ox_b), 4 channels, one at a time: the taps
 * inside in order (outside taps skipped, as the reference does: 0 * inf is NaN), the
 * clamp. img: the image; o: the row's first output (channel oc). */
static void pixels_c1(const float *img, int32_t iw, int32_t iy0, int32_t fy0, int32_t fy1,
                      int32_t pad_w, int32_t ow, int32_t ox_a, int32_t ox_b, const float32x4_t *wt,
                      float32x4_t bias, float32x4_t lo, float32x4_t hi, float *o, size_t cout) {
  int32_t ox;
  for (ox = 0; ox < ow; ++ox) {
    const int32_t ix0 = ox - pad_w;
    const float *x = img + (ptrdiff_t)iy0 * iw + ix0;
    float32x4_t a = bias;
    int32_t fx0, fx1;
    if (ox == ox_a && ox_b > ox_a) {
      ox = ox_b - 1;
      continue;
    }
    clip(ix0, 3, iw, &fx0, &fx1);
#define KFDA_TAP(fy, fx)                              \
  if (fy >= fy0 && fy < fy1 && fx >= fx0 && fx < fx1) \
  a = vfmaq_n_f32(a, wt[3 * fy + fx], x[(ptrdiff_t)fy * iw + fx])
    KFDA_TAP(0, 0);
    KFDA_TAP(0, 1);
    KFDA_TAP(0, 2);
    KFDA_TAP(1, 0);
    KFDA_TAP(1, 1);
    KFDA_TAP(1, 2);
    KFDA_TAP(2, 0);
    KFDA_TAP(2, 1);
    KFDA_TAP(2, 2);
#undef KFDA_TAP
    a = vbslq_f32(vcltq_f32(a, lo), lo, a);
    vst1q_f32(o + (size_t)ox * cout, vbslq_f32(vcleq_f32(a, hi), a, hi));
  }
}

/* The largest magnitude of n floats; NaN if one is NaN (FMAX, FMAXV propagate it). */
static float max_abs_f32(const float *x, size_t n) {
  float32x4_t m0 = vdupq_n_f32(0.0f), m1 = m0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    m0 = vmaxq_f32(m0, vabsq_f32(vld1q_f32(x + i)));
    m1 = vmaxq_f32(m1, vabsq_f32(vld1q_f32(x + i + 4)));
  }
  for (; i < n; ++i) m0 = vmaxq_f32(m0, vabsq_f32(vdupq_n_f32(x[i])));
  return vmaxvq_f32(vmaxq_f32(m0, m1));
}

/* 3x3 filters over one input channel, stride 1 (a stem conv on a grey image), per pixel
 * the bias, then a fused multiply-add per tap inside the image in the reference's order
 * (fy, fx) (FMLA: kfda_fmaf's one rounding), then the clamp (each lane the scalar
 * result). 8 output channels per pass (row8_3x3_c1: SAME rows of 8 or more pixels whole,
 * edge blocks included), then 4 (row_blocks_3x3_c1), the weights held in registers.
 * Pixels whose 3 filter columns lie inside run 4 at a time, unrolled (filter rows
 * outside the image skipped); the others loop over their taps (pixels_c1). Without an
 * activation, 8-channel passes whose outputs cannot overflow (c1_finite, from the
 * input's largest magnitude) skip the clamp. */
static void conv_3x3_c1(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                        const float *filter, const transform *tr, const kfda_shape4 *os, float *out,
                        int32_t row_begin, int32_t row_end) {
  const int32_t cout = os->c, iw = is->w, ih = is->h;
  const float32x4_t lo = vdupq_n_f32(tr->lo), hi = vdupq_n_f32(tr->hi);
  /* [ox_a, ox_z): the output columns whose 3 input columns lie inside */
  const int32_t ox_a = p->pad_w;
  const int32_t ox_z = iw - 2 + p->pad_w < os->w ? iw - 2 + p->pad_w : os->w;
  /* SAME: one pixel each side, the row function takes both */
  const int edges = ox_a == 1 && ox_z == os->w - 1 && iw == os->w;
  const int edges8 = edges && iw >= 8;
  float xmax = 0.0f;
  int32_t oc = 0, row, k;
  if (row_begin >= row_end) return;
  if (tr->none && cout >= 8) { /* the images rows [begin, end) read */
    const int32_t b0 = row_begin / os->h, b1 = (row_end - 1) / os->h + 1;
    xmax = max_abs_f32(in + (size_t)b0 * ih * iw, (size_t)(b1 - b0) * ih * iw);
  }
  /* the 8-channel rows' blocks: from b0x, count pixels (the last block `back` pixels
   * back when count is not a multiple of 4) */
  const int32_t b0x = edges8 ? 4 : ox_a, z8 = edges8 ? iw - 4 : ox_z;
  const size_t count = z8 > b0x ? (size_t)(z8 - b0x) : 0, back = count % 4 ? 4 - count % 4 : 0;
  const float lohi[8] = {-FLT_MAX, -FLT_MAX, -FLT_MAX, -FLT_MAX,
                         FLT_MAX,  FLT_MAX,  FLT_MAX,  FLT_MAX};
  for (; oc + 8 <= cout; oc += 8) {
    const int mode = !tr->none ? 2 : c1_finite(filter, tr->bias, oc, 8, xmax) ? 0 : 1;
    float32x4_t wt[18];
    float bias8[8];
    for (k = 0; k < 9; ++k) {
      const float *f = filter + (size_t)oc * 9 + k;
      const float l0[4] = {f[0], f[9], f[18], f[27]}, l1[4] = {f[36], f[45], f[54], f[63]};
      wt[k] = vld1q_f32(l0);
      wt[9 + k] = vld1q_f32(l1);
    }
    for (k = 0; k < 8; ++k) bias8[k] = start_of(tr, oc + k);
    for (row = row_begin; row < row_end; ++row) { /* rows [begin, end) of n x h */
      const int32_t b = row / os->h, oy = row % os->h;
      const int32_t iy0 = oy - p->pad_h;
      const float *img = in + (size_t)b * (size_t)ih * (size_t)iw;
      float *o = out + (((size_t)b * os->h + (size_t)oy) * os->w) * (size_t)cout + oc;
      int32_t fy0, fy1, ox_b = ox_a;
      clip(iy0, 3, ih, &fy0, &fy1);
      if ((edges8 || ox_z - ox_a >= 4) && fy0 == 0 && fy1 == 3 && mode < 2) {
        /* a whole-window row, no [lo, hi]: the assembly, set up here (once per row) */
        const float *r0 = img + (ptrdiff_t)iy0 * iw + (edges8 ? 0 : b0x - p->pad_w);
        row8_asm(r0, r0 + iw, r0 + 2 * iw, edges8 ? o : o + (size_t)b0x * cout, (size_t)cout * 4,
                 count / 4, edges8, edges8, back * 4, back * (size_t)cout * 4, wt, bias8, lohi,
                 mode == 1);
        if (edges8) continue;
        ox_b = ox_z;
      } else if ((edges8 || ox_z - ox_a >= 4) && fy1 > fy0) {
        row8_3x3_c1(img + (ptrdiff_t)iy0 * iw, iw, fy0, fy1, p->pad_w, ox_a, ox_z, edges8, wt,
                    bias8, lo, hi, mode, o, (size_t)cout);
        if (edges8) continue;
        ox_b = ox_z;
      }
      pixels_c1(img, iw, iy0, fy0, fy1, p->pad_w, os->w, ox_a, ox_b, wt, vld1q_f32(bias8), lo, hi,
                o, (size_t)cout);
      pixels_c1(img, iw, iy0, fy0, fy1, p->pad_w, os->w, ox_a, ox_b, wt + 9, vld1q_f32(bias8 + 4),
                lo, hi, o + 4, (size_t)cout);
    }
  }
  for (; oc + 4 <= cout; oc += 4) {
    float32x4_t wt[9], bias = vdupq_n_f32(0.0f);
    for (k = 0; k < 9; ++k) {
      const float lanes[4] = {filter[oc * 9 + k], filter[(oc + 1) * 9 + k],
                              filter[(oc + 2) * 9 + k], filter[(oc + 3) * 9 + k]};
      wt[k] = vld1q_f32(lanes);
    }
    if (tr->bias) bias = vld1q_f32(tr->bias + oc);
    for (row = row_begin; row < row_end; ++row) { /* rows [begin, end) of n x h */
      const int32_t b = row / os->h, oy = row % os->h;
      const int32_t iy0 = oy - p->pad_h;
      const float *img = in + (size_t)b * (size_t)ih * (size_t)iw;
      float *o = out + (((size_t)b * os->h + (size_t)oy) * os->w) * (size_t)cout + oc;
      int32_t fy0, fy1, ox_b = ox_a;
      clip(iy0, 3, ih, &fy0, &fy1);
      if (ox_z - ox_a >= 4 && fy1 > fy0) {
        const float *x = img + (ptrdiff_t)iy0 * iw;
        row_blocks_3x3_c1(x, iw, fy0, fy1, p->pad_w, ox_a, ox_z, wt, bias, lo, hi, tr->none, edges,
                          o, (size_t)cout);
        if (edges) continue;
        ox_b = ox_z;
      }
      pixels_c1(img, iw, iy0, fy0, fy1, p->pad_w, os->w, ox_a, ox_b, wt, bias, lo, hi, o,
                (size_t)cout);
    }
  }
}

/* 4 output channels (oc..oc+3) x np (1-4) pixels with the same taps, the lanes of a
 * vector the pixels (pixels past np repeat the last one, not stored): per filter row 4
 * taps at a time, the 4 pixels' runs loaded and transposed (TRN), then per channel
 * one FMLA by lane per tap, in the reference's order (each lane: the bias, then a
 * fused multiply-add per tap, kfda_fmaf's one rounding); the run's last taps one at a
 * time; the clamp; transposed back to the NHWC pixels. */
static void block_4c_neon(const taps *t, const float *x, int32_t np, const float *w,
                          const transform *tr, int32_t oc, float *o, size_t ostride) {
  const float *xb = x + (np > 1 ? t->xs : 0), *xc = x + (np > 2 ? 2 : np - 1) * t->xs;
  const float *xd = x + (np > 3 ? 3 : np - 1) * t->xs;
  float32x4_t a0 = vdupq_n_f32(start_of(tr, oc)), a1 = vdupq_n_f32(start_of(tr, oc + 1));
  float32x4_t a2 = vdupq_n_f32(start_of(tr, oc + 2)), a3 = vdupq_n_f32(start_of(tr, oc + 3));
  float32x4_t c[4];
  size_t off = 0, woff = 0;
  int32_t r, k;
  for (r = 0; r < t->rows; ++r, off += t->xrow, woff += (size_t)t->wrow) {
    const float *pa = x + off, *pb = xb + off, *pc = xc + off, *pd = xd + off;
    const float *w0 = w + woff, *w1 = w0 + t->wk, *w2 = w1 + t->wk, *w3 = w2 + t->wk;
    for (k = 0; k + 4 <= t->run; k += 4) {
      float32x4_t xv[4] = {vld1q_f32(pa + k), vld1q_f32(pb + k), vld1q_f32(pc + k),
                           vld1q_f32(pd + k)};
      float32x4_t x0, x1, x2, x3;
      transpose4_f32(xv); /* x_i: tap k + i of the 4 pixels */
      x0 = xv[0], x1 = xv[1], x2 = xv[2], x3 = xv[3];
      const float32x4_t f0 = vld1q_f32(w0 + k), f1 = vld1q_f32(w1 + k);
      const float32x4_t f2 = vld1q_f32(w2 + k), f3 = vld1q_f32(w3 + k);
#define KFDA_TAPS4(a, f)            \
  a = vfmaq_laneq_f32(a, x0, f, 0); \
  a = vfmaq_laneq_f32(a, x1, f, 1); \
  a = vfmaq_laneq_f32(a, x2, f, 2); \
  a = vfmaq_laneq_f32(a, x3, f, 3)
      KFDA_TAPS4(a0, f0);
      KFDA_TAPS4(a1, f1);
      KFDA_TAPS4(a2, f2);
      KFDA_TAPS4(a3, f3);
#undef KFDA_TAPS4
    }
    for (; k < t->run; ++k) {
      float32x4_t xk = vdupq_n_f32(pa[k]);
      xk = vsetq_lane_f32(pb[k], xk, 1);
      xk = vsetq_lane_f32(pc[k], xk, 2);
      xk = vsetq_lane_f32(pd[k], xk, 3);
      a0 = vfmaq_n_f32(a0, xk, w0[k]);
      a1 = vfmaq_n_f32(a1, xk, w1[k]);
      a2 = vfmaq_n_f32(a2, xk, w2[k]);
      a3 = vfmaq_n_f32(a3, xk, w3[k]);
    }
  }
  {
    const float32x4_t lo = vdupq_n_f32(tr->lo), hi = vdupq_n_f32(tr->hi);
    const int none = tr->none;
    c[0] = clamp_f32x4(a0, lo, hi, none);
    c[1] = clamp_f32x4(a1, lo, hi, none);
    c[2] = clamp_f32x4(a2, lo, hi, none);
    c[3] = clamp_f32x4(a3, lo, hi, none);
    transpose4_f32(c); /* c[i]: pixel i, channels oc..oc+3 */
  }
  store_pixels4_f32(o, ostride, np, c);
}

/* block_4c_neon for 8 channels (oc..oc+7): the transposed taps serve twice as many
 * channels (8 accumulators, 8 filter loads per 4 taps). */
static void block_8c_neon(const taps *t, const float *x, int32_t np, const float *w,
                          const transform *tr, int32_t oc, float *o, size_t ostride) {
  const float *xb = x + (np > 1 ? t->xs : 0), *xc = x + (np > 2 ? 2 : np - 1) * t->xs;
  const float *xd = x + (np > 3 ? 3 : np - 1) * t->xs;
  float32x4_t a0 = vdupq_n_f32(start_of(tr, oc)), a1 = vdupq_n_f32(start_of(tr, oc + 1));
  float32x4_t a2 = vdupq_n_f32(start_of(tr, oc + 2)), a3 = vdupq_n_f32(start_of(tr, oc + 3));
  float32x4_t a4 = vdupq_n_f32(start_of(tr, oc + 4)), a5 = vdupq_n_f32(start_of(tr, oc + 5));
  float32x4_t a6 = vdupq_n_f32(start_of(tr, oc + 6)), a7 = vdupq_n_f32(start_of(tr, oc + 7));
  size_t off = 0, woff = 0;
  int32_t r, k, half;
  for (r = 0; r < t->rows; ++r, off += t->xrow, woff += (size_t)t->wrow) {
    const float *pa = x + off, *pb = xb + off, *pc = xc + off, *pd = xd + off;
    const float *w0 = w + woff, *w1 = w0 + t->wk, *w2 = w1 + t->wk, *w3 = w2 + t->wk;
    const float *w4 = w3 + t->wk, *w5 = w4 + t->wk, *w6 = w5 + t->wk, *w7 = w6 + t->wk;
    for (k = 0; k + 4 <= t->run; k += 4) {
      float32x4_t xv[4] = {vld1q_f32(pa + k), vld1q_f32(pb + k), vld1q_f32(pc + k),
                           vld1q_f32(pd + k)};
      float32x4_t x0, x1, x2, x3;
      transpose4_f32(xv); /* x_i: tap k + i of the 4 pixels */
      x0 = xv[0], x1 = xv[1], x2 = xv[2], x3 = xv[3];
#define KFDA_TAPS4(a, wp)                      \
  {                                            \
    const float32x4_t f = vld1q_f32((wp) + k); \
    a = vfmaq_laneq_f32(a, x0, f, 0);          \
    a = vfmaq_laneq_f32(a, x1, f, 1);          \
    a = vfmaq_laneq_f32(a, x2, f, 2);          \
    a = vfmaq_laneq_f32(a, x3, f, 3);          \
  }
      KFDA_TAPS4(a0, w0);
      KFDA_TAPS4(a1, w1);
      KFDA_TAPS4(a2, w2);
      KFDA_TAPS4(a3, w3);
      KFDA_TAPS4(a4, w4);
      KFDA_TAPS4(a5, w5);
      KFDA_TAPS4(a6, w6);
      KFDA_TAPS4(a7, w7);
#undef KFDA_TAPS4
    }
    for (; k < t->run; ++k) {
      float32x4_t xk = vdupq_n_f32(pa[k]);
      xk = vsetq_lane_f32(pb[k], xk, 1);
      xk = vsetq_lane_f32(pc[k], xk, 2);
      xk = vsetq_lane_f32(pd[k], xk, 3);
      a0 = vfmaq_n_f32(a0, xk, w0[k]);
      a1 = vfmaq_n_f32(a1, xk, w1[k]);
      a2 = vfmaq_n_f32(a2, xk, w2[k]);
      a3 = vfmaq_n_f32(a3, xk, w3[k]);
      a4 = vfmaq_n_f32(a4, xk, w4[k]);
      a5 = vfmaq_n_f32(a5, xk, w5[k]);
      a6 = vfmaq_n_f32(a6, xk, w6[k]);
      a7 = vfmaq_n_f32(a7, xk, w7[k]);
    }
  }
  for (half = 0; half < 2; ++half) { /* channels oc + 4 * half .. + 3 */
    const float32x4_t lo = vdupq_n_f32(tr->lo), hi = vdupq_n_f32(tr->hi);
    const int none = tr->none;
    float32x4_t c[4];
    c[0] = clamp_f32x4(half ? a4 : a0, lo, hi, none);
    c[1] = clamp_f32x4(half ? a5 : a1, lo, hi, none);
    c[2] = clamp_f32x4(half ? a6 : a2, lo, hi, none);
    c[3] = clamp_f32x4(half ? a7 : a3, lo, hi, none);
    transpose4_f32(c); /* c[i]: pixel i, these 4 channels */
    store_pixels4_f32(o + 4 * half, ostride, np, c);
  }
}

/* One output pixel whose taps all lie inside the image, cin a multiple of 4 (every
 * tap's run starts a GEMV step; no walked-back step): the interpreter's GEMV order
 * (gemv_f32.h) with its 4 lanes one vector, FMUL then FADD (two roundings), 8 outputs
 * per pass (then 4); the lanes summed (l0 + l1) + (l2 + l3) by two FADDP levels, which for 4
 * outputs are 3 FADDP; then the bias (none: nothing added) and the clamp. 0: not
 * such a case. */
static int one_pixel_neon(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                          const kfda_shape4 *fs, const float *filter, const float *bias,
                          const kfda_shape4 *os, float *out) {
  const int32_t cout = fs->n, fh = fs->h, fw = fs->w, cin = fs->c;
  const size_t depth = (size_t)fh * fw * cin;
  const float32x4_t lo = vdupq_n_f32(p->act_min), hi = vdupq_n_f32(p->act_max);
  int32_t oc, fy, fx, i;
  if (os->n != 1 || os->h != 1 || os->w != 1 || cin != is->c || cin % 4 != 0 ||
      !kfda_gemv_f32_applies(cout, (int32_t)depth) || -p->pad_h < 0 || -p->pad_w < 0 ||
      (fh - 1) * p->dil_h - p->pad_h >= is->h || (fw - 1) * p->dil_w - p->pad_w >= is->w)
    return 0;
  for (oc = 0; oc + 8 <= cout; oc += 8) { /* 8 outputs, 8 depth per pass */
    const float *w0 = filter + (size_t)oc * depth, *w1 = w0 + depth, *w2 = w1 + depth;
    const float *w3 = w2 + depth, *w4 = w3 + depth, *w5 = w4 + depth, *w6 = w5 + depth;
    const float *w7 = w6 + depth;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
    float32x4_t a7 = a0, v0, v1;
    size_t k = 0;
    /* written out, no arrays (GCC kept an array of accumulators in memory) */
#define KFDA_GEMV4(a, wp, xv, d) a = vaddq_f32(a, vmulq_f32(vld1q_f32((wp) + k + (d)), xv))
#define KFDA_GEMV8(xv, d)    \
  KFDA_GEMV4(a0, w0, xv, d); \
  KFDA_GEMV4(a1, w1, xv, d); \
  KFDA_GEMV4(a2, w2, xv, d); \
  KFDA_GEMV4(a3, w3, xv, d); \
  KFDA_GEMV4(a4, w4, xv, d); \
  KFDA_GEMV4(a5, w5, xv, d); \
  KFDA_GEMV4(a6, w6, xv, d); \
  KFDA_GEMV4(a7, w7, xv, d)
    for (fy = 0; fy < fh; ++fy)
      for (fx = 0; fx < fw; ++fx) {
        const float *x =
            in +
            ((size_t)(fy * p->dil_h - p->pad_h) * is->w + (size_t)(fx * p->dil_w - p->pad_w)) * cin;
        for (i = 0; i + 8 <= cin; i += 8, k += 8) { /* lane l: depth 4m + l, in order */
          const float32x4_t x0 = vld1q_f32(x + i), x1 = vld1q_f32(x + i + 4);
          KFDA_GEMV8(x0, 0);
          KFDA_GEMV8(x1, 4);
        }
        for (; i < cin; i += 4, k += 4) {
          const float32x4_t x0 = vld1q_f32(x + i);
          KFDA_GEMV8(x0, 0);
        }
      }
#undef KFDA_GEMV8
#undef KFDA_GEMV4
    v0 = vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3)); /* (l0 + l1) + (l2 + l3) */
    v1 = vpaddq_f32(vpaddq_f32(a4, a5), vpaddq_f32(a6, a7));
    if (bias) {
      v0 = vaddq_f32(v0, vld1q_f32(bias + oc));
      v1 = vaddq_f32(v1, vld1q_f32(bias + oc + 4));
    }
    v0 = vbslq_f32(vcltq_f32(v0, lo), lo, v0);
    v1 = vbslq_f32(vcltq_f32(v1, lo), lo, v1);
    vst1q_f32(out + oc, vbslq_f32(vcleq_f32(v0, hi), v0, hi));
    vst1q_f32(out + oc + 4, vbslq_f32(vcleq_f32(v1, hi), v1, hi));
  }
  for (; oc < cout; oc += 4) {
    const int32_t n = cout - oc < 4 ? cout - oc : 4; /* the last pass: outputs repeated */
    const float *w0 = filter + (size_t)oc * depth;
    const float *w1 = w0 + (n > 1 ? depth : 0), *w2 = w0 + (n > 2 ? 2 : n - 1) * depth;
    const float *w3 = w0 + (n > 3 ? 3 : n - 1) * depth;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0, v;
    float lanes[4];
    size_t k = 0;
    for (fy = 0; fy < fh; ++fy)
      for (fx = 0; fx < fw; ++fx) {
        const float *x =
            in +
            ((size_t)(fy * p->dil_h - p->pad_h) * is->w + (size_t)(fx * p->dil_w - p->pad_w)) * cin;
        for (i = 0; i < cin; i += 4, k += 4) {
          const float32x4_t xv = vld1q_f32(x + i);
          a0 = vaddq_f32(a0, vmulq_f32(vld1q_f32(w0 + k), xv));
          a1 = vaddq_f32(a1, vmulq_f32(vld1q_f32(w1 + k), xv));
          a2 = vaddq_f32(a2, vmulq_f32(vld1q_f32(w2 + k), xv));
          a3 = vaddq_f32(a3, vmulq_f32(vld1q_f32(w3 + k), xv));
        }
      }
    v = vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3)); /* (l0 + l1) + (l2 + l3) */
    if (bias) {
      if (n == 4) {
        v = vaddq_f32(v, vld1q_f32(bias + oc));
      } else {
        float b4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (i = 0; i < n; ++i) b4[i] = bias[oc + i];
        v = vaddq_f32(v, vld1q_f32(b4));
      }
    }
    v = vbslq_f32(vcltq_f32(v, lo), lo, v);
    v = vbslq_f32(vcleq_f32(v, hi), v, hi);
    if (n == 4) {
      vst1q_f32(out + oc, v);
    } else {
      vst1q_f32(lanes, v);
      for (i = 0; i < n; ++i) out[oc + i] = lanes[i];
    }
  }
  return 1;
}
#endif

#if !KFDA_CONV_F32_NEON
/* One output pixel whose taps all lie inside the image, cin a multiple of 4 (every tap's
 * run starts a GEMV step; no walked-back step): the interpreter's GEMV order
 * (gemv_f32.h) for 4 outputs per pass, their 4 lanes each in registers (16 sums), each
 * input loaded once for the 4; per output a product then an add per depth index (two
 * roundings), (l0 + l1) + (l2 + l3), the bias (none: nothing added), the clamp. The
 * shared loop (kfda_conv2d_f32_one_pixel) runs one output at a time. 0: not such a case. */
static int one_pixel_4(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                       const kfda_shape4 *fs, const float *filter, const float *bias,
                       const kfda_shape4 *os, float *out) {
  const int32_t cout = fs->n, fh = fs->h, fw = fs->w, cin = fs->c;
  const size_t depth = (size_t)fh * fw * cin;
  int32_t oc, fy, fx, i, j;
  if (os->n != 1 || os->h != 1 || os->w != 1 || cin != is->c || cin % 4 != 0 ||
      !kfda_gemv_f32_applies(cout, (int32_t)depth) || p->pad_h > 0 || p->pad_w > 0 ||
      (fh - 1) * p->dil_h - p->pad_h >= is->h || (fw - 1) * p->dil_w - p->pad_w >= is->w)
    return 0;
  for (oc = 0; oc < cout; oc += 4) {
    const int32_t n = cout - oc < 4 ? cout - oc : 4; /* the last pass: outputs repeated */
    const float *w0 = filter + (size_t)oc * depth;
    const float *w1 = w0 + (n > 1 ? depth : 0), *w2 = w0 + (n > 2 ? 2 : n - 1) * depth;
    const float *w3 = w0 + (n > 3 ? 3 : n - 1) * depth;
    float a00 = 0.0f, a01 = 0.0f, a02 = 0.0f, a03 = 0.0f, a10 = 0.0f, a11 = 0.0f, a12 = 0.0f;
    float a13 = 0.0f, a20 = 0.0f, a21 = 0.0f, a22 = 0.0f, a23 = 0.0f, a30 = 0.0f, a31 = 0.0f;
    float a32 = 0.0f, a33 = 0.0f, v[4];
    size_t k = 0;
    for (fy = 0; fy < fh; ++fy)
      for (fx = 0; fx < fw; ++fx) {
        const float *x =
            in +
            ((size_t)(fy * p->dil_h - p->pad_h) * is->w + (size_t)(fx * p->dil_w - p->pad_w)) * cin;
        for (i = 0; i < cin; i += 4, k += 4) {
          const float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
          a00 += w0[k] * x0, a01 += w0[k + 1] * x1, a02 += w0[k + 2] * x2, a03 += w0[k + 3] * x3;
          a10 += w1[k] * x0, a11 += w1[k + 1] * x1, a12 += w1[k + 2] * x2, a13 += w1[k + 3] * x3;
          a20 += w2[k] * x0, a21 += w2[k + 1] * x1, a22 += w2[k + 2] * x2, a23 += w2[k + 3] * x3;
          a30 += w3[k] * x0, a31 += w3[k + 1] * x1, a32 += w3[k + 2] * x2, a33 += w3[k + 3] * x3;
        }
      }
    v[0] = (a00 + a01) + (a02 + a03);
    v[1] = (a10 + a11) + (a12 + a13);
    v[2] = (a20 + a21) + (a22 + a23);
    v[3] = (a30 + a31) + (a32 + a33);
    for (j = 0; j < n; ++j) {
      float r = bias ? v[j] + bias[oc + j] : v[j];
      if (r < p->act_min) r = p->act_min;
      if (!(r <= p->act_max)) r = p->act_max; /* and NaN, as TFLite's clamp */
      out[oc + j] = r;
    }
  }
  return 1;
}
#endif

#if KFDA_CONV_F32_VFP
/* armv7-A, 3x3 filters over one input channel at stride 1 (the stem on a grey image),
 * whole-window rows without an activation whose outputs cannot overflow (c1_finite):
 * 4 output channels x 4 pixels per block in scalar VFPv4 assembly (armv7's NEON would
 * flush denormals): the 16 sums start at the bias (one VLDM), then per filter row 6
 * input columns (one VLDM) and per tap the 4 channels' weights (one VLDM of the repacked
 * taps) and 16 VFMA (kfda_fmaf's one rounding) in the reference's (fy, fx) order; one
 * VSTM per pixel. 171 instructions per 144 MACs (the C blocks: about 3.2 per MAC). */
/* The blocks' assembly, built from the macros below: MID 4 pixels whose 3 filter columns lie inside
 * (x at the first one's fx = 0 column), LEFT / RIGHT a SAME row's first / last 4 pixels (x at
 * column 0 / iw - 6; the first lacks its fx = 0 tap, the last its fx = 2); ALL 3 filter
 * rows, TOP rows 1 - 2 (the first output row), BOTTOM rows 0 - 1 (the last). Registers:
 * s0 - s15 pixel p channel c's sum in s(4p + c), s16 - s21 the input columns, s24 -
 * s27 a tap's 4 weights. */
/* pixel p's 4 sums s(4p) .. s(4p + 3) += input column s<x> x the tap's 4 weights */
#define KFDA_V4FMA(a0, a1, a2, a3, x) \
  "vfma.f32 s" #a0 ", s" #x           \
  ", s24\n\t"                         \
  "vfma.f32 s" #a1 ", s" #x           \
  ", s25\n\t"                         \
  "vfma.f32 s" #a2 ", s" #x           \
  ", s26\n\t"                         \
  "vfma.f32 s" #a3 ", s" #x ", s27\n\t"
#define KFDA_VP0(x) KFDA_V4FMA(0, 1, 2, 3, x)
#define KFDA_VP1(x) KFDA_V4FMA(4, 5, 6, 7, x)
#define KFDA_VP2(x) KFDA_V4FMA(8, 9, 10, 11, x)
#define KFDA_VP3(x) KFDA_V4FMA(12, 13, 14, 15, x)
#define KFDA_VTAP   "vldmia %[w]!, {s24-s27}\n\t" /* the next tap's 4 weights */
/* a filter row's 3 taps (fx = 0, 1, 2). MID: pixel p reads column s(16 + p + fx); LEFT:
 * s(15 + p + fx), none for p + fx = 0 (padding); RIGHT: s(17 + p + fx), none past s21 */
#define KFDA_VMID                                                                             \
  KFDA_VTAP KFDA_VP0(16) KFDA_VP1(17) KFDA_VP2(18) KFDA_VP3(19) KFDA_VTAP KFDA_VP0(17)        \
      KFDA_VP1(18) KFDA_VP2(19) KFDA_VP3(20) KFDA_VTAP KFDA_VP0(18) KFDA_VP1(19) KFDA_VP2(20) \
          KFDA_VP3(21)
#define KFDA_VLEFT                                                                     \
  KFDA_VTAP KFDA_VP1(16) KFDA_VP2(17) KFDA_VP3(18) KFDA_VTAP KFDA_VP0(16) KFDA_VP1(17) \
      KFDA_VP2(18) KFDA_VP3(19) KFDA_VTAP KFDA_VP0(17) KFDA_VP1(18) KFDA_VP2(19) KFDA_VP3(20)
#define KFDA_VRIGHT                                                                    \
  KFDA_VTAP KFDA_VP0(17) KFDA_VP1(18) KFDA_VP2(19) KFDA_VP3(20) KFDA_VTAP KFDA_VP0(18) \
      KFDA_VP1(19) KFDA_VP2(20) KFDA_VP3(21) KFDA_VTAP KFDA_VP0(19) KFDA_VP1(20) KFDA_VP2(21)
/* filter row r's 6 input columns; a row outside the image: its 3 taps' weights skipped */
#define KFDA_VROW(r) "vldmia %[x" #r "], {s16-s21}\n\t"
#define KFDA_VSKIP   "add %[w], %[w], #48\n\t"
#define KFDA_VBIAS   "vldmia %[bias], {s0-s15}\n\t"
/* the blocks: ALL 3 filter rows, TOP rows 1 - 2 (the first output row), BOTTOM rows 0 - 1
 * (the last), each row's taps as COLS (KFDA_VMID, KFDA_VLEFT, KFDA_VRIGHT) */
#define KFDA_C4V_ALL(COLS)    KFDA_VBIAS KFDA_VROW(0) COLS KFDA_VROW(1) COLS KFDA_VROW(2) COLS
#define KFDA_C4V_TOP(COLS)    KFDA_VBIAS KFDA_VSKIP KFDA_VROW(1) COLS KFDA_VROW(2) COLS
#define KFDA_C4V_BOTTOM(COLS) KFDA_VBIAS KFDA_VROW(0) COLS KFDA_VROW(1) COLS KFDA_VSKIP

/* the assembly strings run past the 4095 characters C99 promises (GCC and clang: fine) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
/* n blocks of 4 pixels of one `kind` (MID, LEFT, RIGHT x ALL, TOP, BOTTOM: 0 - 8) from
 * x0 (the input at filter row 0; rows iw floats apart) to o (pixels cb bytes apart); w:
 * the 9 taps x 4 channels, bias16: the 4 channels' bias 4 times. */
static void c1_blocks_vfp(const float *x0, int32_t iw, float *o, size_t cb, size_t n,
                          const float *w, const float *bias16, int kind) {
  const float *x1 = x0 + iw, *x2 = x1 + iw, *wp;
  float *t;
#define KFDA_C4V_LOOP(BLOCK)                                                                      \
  for (; n > 0; --n, x0 += 4, x1 += 4, x2 += 4) {                                                 \
    wp = w;                                                                                       \
    __asm__ volatile(BLOCK                                                                        \
                     "vstmia %[o], {s0-s3}\n\t"                                                   \
                     "add %[t], %[o], %[cb]\n\t"                                                  \
                     "vstmia %[t], {s4-s7}\n\t"                                                   \
                     "add %[t], %[t], %[cb]\n\t"                                                  \
                     "vstmia %[t], {s8-s11}\n\t"                                                  \
                     "add %[t], %[t], %[cb]\n\t"                                                  \
                     "vstmia %[t], {s12-s15}\n\t"                                                 \
                     "add %[o], %[t], %[cb]"                                                      \
                     : [o] "+r"(o), [t] "=&r"(t), [w] "+r"(wp)                                    \
                     : [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [cb] "r"(cb), [bias] "r"(bias16) \
                     : "memory", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9",      \
                       "s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19",      \
                       "s20", "s21", "s24", "s25", "s26", "s27");                                 \
  }
  switch (kind) {
    case 0: KFDA_C4V_LOOP(KFDA_C4V_ALL(KFDA_VMID)) break;
    case 1: KFDA_C4V_LOOP(KFDA_C4V_TOP(KFDA_VMID)) break;
    case 2: KFDA_C4V_LOOP(KFDA_C4V_BOTTOM(KFDA_VMID)) break;
    case 3: KFDA_C4V_LOOP(KFDA_C4V_ALL(KFDA_VLEFT)) break;
    case 4: KFDA_C4V_LOOP(KFDA_C4V_TOP(KFDA_VLEFT)) break;
    case 5: KFDA_C4V_LOOP(KFDA_C4V_BOTTOM(KFDA_VLEFT)) break;
    case 6: KFDA_C4V_LOOP(KFDA_C4V_ALL(KFDA_VRIGHT)) break;
    case 7: KFDA_C4V_LOOP(KFDA_C4V_TOP(KFDA_VRIGHT)) break;
    default: KFDA_C4V_LOOP(KFDA_C4V_BOTTOM(KFDA_VRIGHT)) break;
  }
#undef KFDA_C4V_LOOP
}
#pragma GCC diagnostic pop
#undef KFDA_C4V_ALL
#undef KFDA_C4V_TOP
#undef KFDA_C4V_BOTTOM
#undef KFDA_VBIAS
#undef KFDA_VSKIP
#undef KFDA_VROW
#undef KFDA_VRIGHT
#undef KFDA_VLEFT
#undef KFDA_VMID
#undef KFDA_VTAP
#undef KFDA_VP3
#undef KFDA_VP2
#undef KFDA_VP1
#undef KFDA_VP0
#undef KFDA_V4FMA

/* One output pixel, 4 channels, in C: the bias, the taps inside in (fy, fx) order (w,
 * bias16: as c1_blocks_vfp's); stored as they are (c1_finite: all finite). */
static void c1_pixel4(const float *img, int32_t iw, int32_t ih, int32_t iy0, int32_t ix0,
                      const float *w, const float *bias16, float *o) {
  float a0 = bias16[0], a1 = bias16[1], a2 = bias16[2], a3 = bias16[3];
  int32_t fy0, fy1, fx0, fx1, fy, fx;
  clip(iy0, 3, ih, &fy0, &fy1);
  clip(ix0, 3, iw, &fx0, &fx1);
  for (fy = fy0; fy < fy1; ++fy)
    for (fx = fx0; fx < fx1; ++fx) {
      const float x = img[(size_t)(iy0 + fy) * iw + (ix0 + fx)], *wk = w + 4 * (3 * fy + fx);
      a0 = kfda_fmaf(x, wk[0], a0);
      a1 = kfda_fmaf(x, wk[1], a1);
      a2 = kfda_fmaf(x, wk[2], a2);
      a3 = kfda_fmaf(x, wk[3], a3);
    }
  o[0] = a0;
  o[1] = a1;
  o[2] = a2;
  o[3] = a3;
}

/* The stem (cin 1, 3x3, stride 1, cout a multiple of 4, no activation) when no output
 * can overflow: blocks in assembly where the window is whole, the other pixels in C.
 * 0: not such a case (the outputs may overflow: the generic path and its clamp). */
static int conv_3x3_c1_vfp(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                           const float *filter, const transform *tr, const kfda_shape4 *os,
                           float *out, int32_t row_begin, int32_t row_end) {
  const int32_t cout = os->c, iw = is->w, ih = is->h;
  const int32_t ox_a = p->pad_w;
  const int32_t ox_z = iw - 2 + p->pad_w < os->w ? iw - 2 + p->pad_w : os->w;
  const size_t count = ox_z > ox_a ? (size_t)(ox_z - ox_a) : 0;
  /* SAME rows of 8 or more: edge blocks (LEFT, RIGHT) and the blocks [4, iw - 4) */
  const int same = p->pad_w == 1 && os->w == iw && iw >= 8;
  const int32_t ma = same ? 4 : ox_a, mz = same ? iw - 4 : ox_z;
  const size_t mcount = mz > ma ? (size_t)(mz - ma) : 0;
  const int32_t b0 = row_begin / os->h, b1 = (row_end - 1) / os->h + 1;
  float xmax = 0.0f;
  int32_t oc, row, k, c;
  size_t i, n = (size_t)(b1 - b0) * ih * iw;
  const float *x = in + (size_t)b0 * ih * iw;
  for (i = 0; i < n; ++i) { /* the largest magnitude; a NaN: not such a case */
    const float v = x[i] < 0.0f ? -x[i] : x[i];
    if (!(v <= xmax)) {
      if (v != v) return 0;
      xmax = v;
    }
  }
  for (oc = 0; oc < cout; oc += 4)
    if (!c1_finite(filter, tr->bias, oc, 4, xmax)) return 0;
  for (oc = 0; oc < cout; oc += 4) {
    float w[36], bias16[16];
    for (k = 0; k < 9; ++k)
      for (c = 0; c < 4; ++c) w[4 * k + c] = filter[(size_t)(oc + c) * 9 + k];
    for (c = 0; c < 16; ++c) bias16[c] = start_of(tr, oc + c % 4);
    for (row = row_begin; row < row_end; ++row) {
      const int32_t b = row / os->h, oy = row % os->h, iy0 = oy - p->pad_h;
      const float *img = in + (size_t)b * ih * iw;
      float *o = out + (((size_t)b * os->h + oy) * os->w) * (size_t)cout + oc;
      /* the filter rows inside: all (0), 1 - 2 (1), 0 - 1 (2), else -1 (C) */
      const int rk = iy0 >= 0 && iy0 + 3 <= ih   ? 0
                     : iy0 == -1 && ih >= 2      ? 1
                     : iy0 >= 0 && iy0 + 2 == ih ? 2
                                                 : -1;
      const float *xr = img + (ptrdiff_t)iy0 * iw;
      const size_t cb = (size_t)cout * 4;
      int32_t ox, done_a = 0, done_z = 0;
      if (rk >= 0 && (same || count >= 4)) {
        if (mcount >= 4) {
          c1_blocks_vfp(xr + (ma - p->pad_w), iw, o + (size_t)ma * cout, cb, mcount / 4, w, bias16,
                        rk);
          if (mcount % 4) /* the last block overlapping the one before */
            c1_blocks_vfp(xr + (mz - 4 - p->pad_w), iw, o + (size_t)(mz - 4) * cout, cb, 1, w,
                          bias16, rk);
        } else if (mcount > 0) { /* SAME, 9 - 11 wide: one block overlapping the left one */
          c1_blocks_vfp(xr + (mz - 4 - p->pad_w), iw, o + (size_t)(mz - 4) * cout, cb, 1, w, bias16,
                        rk);
        }
        if (same) {
          c1_blocks_vfp(xr, iw, o, cb, 1, w, bias16, 3 + rk);
          c1_blocks_vfp(xr + (iw - 6), iw, o + (size_t)(iw - 4) * cout, cb, 1, w, bias16, 6 + rk);
          continue;
        }
        done_a = ox_a, done_z = ox_z;
      }
      for (ox = 0; ox < os->w; ++ox) {
        if (ox == done_a && done_z > done_a) {
          ox = done_z - 1;
          continue;
        }
        c1_pixel4(img, iw, ih, iy0, ox - p->pad_w, w, bias16, o + (size_t)ox * cout);
      }
    }
  }
  return 1;
}
#endif

void kfda_conv2d_f32_opt(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                         const kfda_shape4 *fs, const float *filter, const float *bias,
                         const kfda_shape4 *os, float *out, int32_t row_begin, int32_t row_end) {
  const int32_t cout = fs->n, fh = fs->h, fw = fs->w, cin = fs->c;
  transform tr;
  taps t;
  int32_t b, oy, ox;
  if (cin != is->c || p->dil_h != 1 || p->dil_w != 1) {
    kfda_conv2d_f32_ref(p, is, in, fs, filter, bias, os, out, row_begin, row_end);
    return;
  }
#if KFDA_CONV_F32_NEON
  if (row_begin < row_end && one_pixel_neon(p, is, in, fs, filter, bias, os, out)) return;
#else
  if (row_begin < row_end && one_pixel_4(p, is, in, fs, filter, bias, os, out)) return;
#endif
  if (row_begin < row_end && kfda_conv2d_f32_one_pixel(p, is, in, fs, filter, bias, os, out))
    return; /* the reference's, shared: the interpreter's GEMV order */
  tr.bias = bias;
  tr.lo = p->act_min;
  tr.hi = p->act_max;
  tr.none = kfda_act_f32_none(p->act_min, p->act_max);
  t.wrow = fw * cin;
  t.xrow = (size_t)is->w * cin;
  t.xs = (size_t)p->stride_w * cin;
  t.wk = (size_t)fh * fw * cin;
#if KFDA_CONV_F32_NEON
  if (cin == 1 && fh == 3 && fw == 3 && p->stride_h == 1 && p->stride_w == 1 && cout % 4 == 0) {
    conv_3x3_c1(p, is, in, filter, &tr, os, out, row_begin, row_end);
    return;
  }
#endif
  if (row_begin >= row_end) return;
#if KFDA_CONV_F32_VFP
  if (cin == 1 && fh == 3 && fw == 3 && p->stride_h == 1 && p->stride_w == 1 && cout % 4 == 0 &&
      tr.none && conv_3x3_c1_vfp(p, is, in, filter, &tr, os, out, row_begin, row_end))
    return;
#endif
#if KFDA_CONV_F32_NEON
  if (fh == 1 && fw == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 &&
      p->pad_w == 0 && os->h == is->h && os->w == is->w) {
    /* 1x1, stride 1: the input and output pixels of rows [begin, end) are each one
     * array, so blocks of 4 pixels run across row ends */
    const size_t first = (size_t)row_begin * os->w, end = (size_t)row_end * os->w;
    size_t px;
    t.rows = 1;
    t.run = cin;
    for (px = first; px < end; px += 4) {
      const int32_t np = end - px < 4 ? (int32_t)(end - px) : 4;
      const float *x = in + px * cin, *w = filter;
      float *o = out + px * cout;
      int32_t oc, i;
      for (oc = 0; oc + 8 <= cout; oc += 8, w += 8 * t.wk)
        block_8c_neon(&t, x, np, w, &tr, oc, o + oc, (size_t)cout);
      for (; oc + 4 <= cout; oc += 4, w += 4 * t.wk)
        block_4c_neon(&t, x, np, w, &tr, oc, o + oc, (size_t)cout);
      for (; oc < cout; ++oc, w += t.wk)
        for (i = 0; i < np; ++i) block_1x1(&t, x + i * t.xs, w, &tr, oc, o + i * cout + oc);
    }
    return;
  }
#endif
  for (b = row_begin / os->h; b < os->n && b * os->h < row_end; ++b) /* rows [begin, end) */
    for (oy = b == row_begin / os->h ? row_begin % os->h : 0;
         oy < os->h && b * os->h + oy < row_end; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      int32_t fy0, fy1;
      clip(iy0, fh, is->h, &fy0, &fy1);
      for (ox = 0; ox < os->w;) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int32_t fx0, fx1, oc, np = 1;
        float *o = out + (((size_t)b * os->h + oy) * os->w + ox) * cout;
        const float *x = in, *w;
        clip(ix0, fw, is->w, &fx0, &fx1);
        while (np < 4 && ox + np < os->w) { /* 4 pixels when their taps are the same */
          int32_t gx0, gx1;
          clip(ix0 + np * p->stride_w, fw, is->w, &gx0, &gx1);
          if (gx0 != fx0 || gx1 != fx1) break;
          ++np;
        }
#if !KFDA_CONV_F32_NEON
        if (np < 4) np = 1;
#endif
        t.rows = fx1 > fx0 ? fy1 - fy0 : 0;
        t.run = (fx1 - fx0) * cin;
        if (t.rows > 0) x = in + (((size_t)b * is->h + (iy0 + fy0)) * is->w + (ix0 + fx0)) * cin;
        w = filter + ((size_t)fy0 * fw + fx0) * cin;
        oc = 0;
#if KFDA_CONV_F32_NEON
        for (; oc + 8 <= cout; oc += 8, w += 8 * t.wk)
          block_8c_neon(&t, x, np, w, &tr, oc, o + oc, (size_t)cout);
#endif
        for (; oc + 4 <= cout; oc += 4, w += 4 * t.wk) {
#if KFDA_CONV_F32_NEON
          block_4c_neon(&t, x, np, w, &tr, oc, o + oc, (size_t)cout);
          continue;
#endif
          if (np == 4)
            block_4x4(&t, x, w, &tr, oc, o + oc, (size_t)cout);
          else
            block_4x1(&t, x, w, &tr, oc, o + oc);
        }
        for (; oc < cout; ++oc, w += t.wk) {
          int32_t i;
          for (i = 0; i < np; ++i) block_1x1(&t, x + i * t.xs, w, &tr, oc, o + i * cout + oc);
        }
        ox += np;
      }
    }
}

void kfda_conv2d_f32(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                     const kfda_shape4 *fs, const float *filter, const float *bias,
                     const kfda_shape4 *os, float *out, int32_t row_begin, int32_t row_end) {
#if defined(KFDA_KERNELS_REF)
  kfda_conv2d_f32_ref(p, is, in, fs, filter, bias, os, out, row_begin, row_end);
#else
  kfda_conv2d_f32_opt(p, is, in, fs, filter, bias, os, out, row_begin, row_end);
#endif
}
