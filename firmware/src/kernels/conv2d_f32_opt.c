/*
 * conv2d_f32_opt.c - CONV_2D float32, optimized; bit for bit the reference loop of
 * conv2d_f32.c (held to it by host/kernel_test.c).
 *
 * Float sums are not associative, so each output keeps the reference's exact order:
 * 0.0f, + x * w over (fy, fx, ic) in that order skipping the taps outside the image,
 * + bias (0.0f without one), then the clamp; no fused multiply-add (-ffp-contract=off).
 * The speed comes from what surrounds the sums:
 *   - the taps inside the image are found once per output row (fy range) and per
 *     output pixel (fx range) instead of two bounds checks per tap; with dilation 1 and
 *     one group the taps of one filter row are then one contiguous run of
 *     (fx1 - fx0) * cin floats in both the input and the OHWI filter;
 *   - 4 output channels x 2 output pixels per pass (pixels whose fx ranges match): each
 *     input value loaded once for 4 channels and each weight once for 2 pixels, 8
 *     independent sums in registers; leftovers with 4 x 1 and 1 x 1 blocks;
 *   - the no-activation clamp on the bits (act_f32.h).
 * Grouped or dilated convolutions run the reference.
 */
#include "act_f32.h"
#include "kfda/kernels.h"

/* The geometry of one block: `rows` filter rows of `run` floats each; input rows
 * `xrow` floats apart, filter rows `wrow` apart, output channels `wk` apart. */
typedef struct {
  int32_t rows, run, wrow;
  size_t xrow, wk;
} taps;

/* 4 channels x 2 pixels (the second pixel's taps `xs` floats after the first's). */
static void dot_4x2(const taps *t, const float *x, size_t xs, const float *w, float *acc) {
  float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, b0 = 0.0f, b1 = 0.0f, b2 = 0.0f,
        b3 = 0.0f;
  int32_t r, k;
  for (r = 0; r < t->rows; ++r, x += t->xrow, w += t->wrow) {
    const float *xa = x, *xb = x + xs, *w0 = w, *w1 = w0 + t->wk, *w2 = w1 + t->wk,
                *w3 = w2 + t->wk;
    for (k = 0; k < t->run; ++k) {
      const float u = xa[k], v = xb[k], c0 = w0[k], c1 = w1[k], c2 = w2[k], c3 = w3[k];
      a0 += u * c0;
      a1 += u * c1;
      a2 += u * c2;
      a3 += u * c3;
      b0 += v * c0;
      b1 += v * c1;
      b2 += v * c2;
      b3 += v * c3;
    }
  }
  acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
  acc[4] = b0; acc[5] = b1; acc[6] = b2; acc[7] = b3;
}

/* 4 channels x 1 pixel. */
static void dot_4x1(const taps *t, const float *x, const float *w, float *acc) {
  float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
  int32_t r, k;
  for (r = 0; r < t->rows; ++r, x += t->xrow, w += t->wrow) {
    const float *w0 = w, *w1 = w0 + t->wk, *w2 = w1 + t->wk, *w3 = w2 + t->wk;
    for (k = 0; k < t->run; ++k) {
      const float u = x[k];
      a0 += u * w0[k];
      a1 += u * w1[k];
      a2 += u * w2[k];
      a3 += u * w3[k];
    }
  }
  acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

/* 1 channel x 1 pixel. */
static float dot_1x1(const taps *t, const float *x, const float *w) {
  float a = 0.0f;
  int32_t r, k;
  for (r = 0; r < t->rows; ++r, x += t->xrow, w += t->wrow)
    for (k = 0; k < t->run; ++k) a += x[k] * w[k];
  return a;
}

/* out[c] for the n sums of channels oc.. (bias, clamp as the reference). */
static void store(const kfda_op_params *p, int none, const float *bias, int32_t oc,
                  const float *acc, int32_t n, float *out) {
  int32_t i;
  for (i = 0; i < n; ++i) {
    const float v = acc[i] + (bias ? bias[oc + i] : 0.0f);
    if (none)
      kfda_act_store_none_f32(out + i, v);
    else
      kfda_act_store_f32(out + i, v, p->act_min, p->act_max);
  }
}

/* Taps of a window starting at `start` (in input coordinates, may be negative) of `f`
 * taps over an axis of `size`: [*lo, *hi) of the filter, empty as lo == hi. */
static void clip(int32_t start, int32_t f, int32_t size, int32_t *lo, int32_t *hi) {
  *lo = start < 0 ? -start : 0;
  *hi = size - start < f ? size - start : f;
  if (*hi < *lo) *hi = *lo;
}

void kfda_conv2d_f32_opt(const kfda_op_params *p, const kfda_shape4 *is, const float *in,
                         const kfda_shape4 *fs, const float *filter, const float *bias,
                         const kfda_shape4 *os, float *out) {
  const int32_t cout = fs->n, fh = fs->h, fw = fs->w, cin = fs->c;
  const int none = kfda_act_f32_none(p);
  const size_t k_all = (size_t)fh * fw * cin;
  int32_t b, oy, ox;
  if (cin != is->c || p->dil_h != 1 || p->dil_w != 1) {
    kfda_conv2d_f32_ref(p, is, in, fs, filter, bias, os, out);
    return;
  }
  for (b = 0; b < os->n; ++b)
    for (oy = 0; oy < os->h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      int32_t fy0, fy1;
      clip(iy0, fh, is->h, &fy0, &fy1);
      for (ox = 0; ox < os->w;) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int32_t fx0, fx1, gx0, gx1, oc, np = 1;
        float *o = out + (((size_t)b * os->h + oy) * os->w + ox) * cout;
        const float *x = in, *w;
        taps t;
        float acc[8];
        clip(ix0, fw, is->w, &fx0, &fx1);
        if (ox + 1 < os->w) { /* a pair when the next pixel's taps are the same */
          clip(ix0 + p->stride_w, fw, is->w, &gx0, &gx1);
          np = gx0 == fx0 && gx1 == fx1 ? 2 : 1;
        }
        t.rows = fx1 > fx0 ? fy1 - fy0 : 0;
        t.run = (fx1 - fx0) * cin;
        t.wrow = fw * cin;
        t.xrow = (size_t)is->w * cin;
        t.wk = k_all;
        if (t.rows > 0)
          x = in + (((size_t)b * is->h + (iy0 + fy0)) * is->w + (ix0 + fx0)) * cin;
        w = filter + ((size_t)fy0 * fw + fx0) * cin;
        for (oc = 0; oc + 4 <= cout; oc += 4, w += 4 * k_all) {
          if (np == 2) {
            dot_4x2(&t, x, (size_t)p->stride_w * cin, w, acc);
            store(p, none, bias, oc, acc + 4, 4, o + cout + oc);
          } else {
            dot_4x1(&t, x, w, acc);
          }
          store(p, none, bias, oc, acc, 4, o + oc);
        }
        for (; oc < cout; ++oc, w += k_all) {
          int32_t i;
          for (i = 0; i < np; ++i) {
            acc[0] = dot_1x1(&t, x + (size_t)i * p->stride_w * cin, w);
            store(p, none, bias, oc, acc, 1, o + (size_t)i * cout + oc);
          }
        }
        ox += np;
      }
    }
}

void kfda_conv2d_f32(const kfda_op_params *p, const kfda_shape4 *is, const float *in,
                     const kfda_shape4 *fs, const float *filter, const float *bias,
                     const kfda_shape4 *os, float *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_conv2d_f32_ref(p, is, in, fs, filter, bias, os, out);
#else
  kfda_conv2d_f32_opt(p, is, in, fs, filter, bias, os, out);
#endif
}
