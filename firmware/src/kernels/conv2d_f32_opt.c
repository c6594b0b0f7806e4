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
 * Grouped or dilated convolutions run the reference.
 */
#include "act_f32.h"
#include "fma_f32.h"
#include "kfda/kernels.h"

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

void kfda_conv2d_f32_opt(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                         const kfda_shape4 *fs, const float *filter, const float *bias,
                         const kfda_shape4 *os, float *out) {
  const int32_t cout = fs->n, fh = fs->h, fw = fs->w, cin = fs->c;
  transform tr;
  taps t;
  int32_t b, oy, ox;
  if (cin != is->c || p->dil_h != 1 || p->dil_w != 1) {
    kfda_conv2d_f32_ref(p, is, in, fs, filter, bias, os, out);
    return;
  }
  tr.bias = bias;
  tr.lo = p->act_min;
  tr.hi = p->act_max;
  tr.none = kfda_act_f32_none(p->act_min, p->act_max);
  t.wrow = fw * cin;
  t.xrow = (size_t)is->w * cin;
  t.xs = (size_t)p->stride_w * cin;
  t.wk = (size_t)fh * fw * cin;
  for (b = 0; b < os->n; ++b)
    for (oy = 0; oy < os->h; ++oy) {
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
        if (np < 4) np = 1;
        t.rows = fx1 > fx0 ? fy1 - fy0 : 0;
        t.run = (fx1 - fx0) * cin;
        if (t.rows > 0) x = in + (((size_t)b * is->h + (iy0 + fy0)) * is->w + (ix0 + fx0)) * cin;
        w = filter + ((size_t)fy0 * fw + fx0) * cin;
        for (oc = 0; oc + 4 <= cout; oc += 4, w += 4 * t.wk) {
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
                     const kfda_shape4 *os, float *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_conv2d_f32_ref(p, is, in, fs, filter, bias, os, out);
#else
  kfda_conv2d_f32_opt(p, is, in, fs, filter, bias, os, out);
#endif
}
