/*
 * max_pool2d_s8_opt.c - MAX_POOL_2D int8, optimized; bit for bit the reference of
 * max_pool2d_s8.c (held to it by host/kernel_test.c). The window is clipped to the image
 * once per output pixel instead of a bounds test per tap and channel; NEON (arm64 and
 * armv7: integer, exact) takes 16 channels per vector: SMAX over the taps from -128, then
 * the clamp (SMAX with the low bound, SMIN with the high one, the reference's order). An
 * activation range outside int8 runs the reference (its clamp would leave int8).
 */
#include "kfda/kernels.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#define KFDA_MAXPOOL_S8_NEON 1
#else
#define KFDA_MAXPOOL_S8_NEON 0
#endif

/* One output pixel: the max over the image rows [y0, y1) x columns [x0, x1), every
 * channel, clamped to [lo, hi]. */
static void max_pixel(const int8_t *img, int32_t iw, int32_t ch, int32_t y0, int32_t y1, int32_t x0,
                      int32_t x1, int8_t lo, int8_t hi, int8_t *o) {
  const size_t drow = (size_t)iw * (size_t)ch;
  int32_t c = 0, y, x;
#if KFDA_MAXPOOL_S8_NEON
  {
    const int8x16_t vlo = vdupq_n_s8(lo), vhi = vdupq_n_s8(hi);
    for (; c + 16 <= ch; c += 16) {
      int8x16_t m = vdupq_n_s8(-128);
      for (y = y0; y < y1; ++y) {
        const int8_t *px = img + (size_t)y * drow + (size_t)x0 * ch + c;
        for (x = x0; x < x1; ++x, px += ch) m = vmaxq_s8(m, vld1q_s8(px));
      }
      vst1q_s8(o + c, vminq_s8(vmaxq_s8(m, vlo), vhi));
    }
  }
#endif
  for (; c < ch; ++c) {
    int32_t m = -128;
    for (y = y0; y < y1; ++y) {
      const int8_t *px = img + (size_t)y * drow + (size_t)x0 * ch + c;
      for (x = x0; x < x1; ++x, px += ch)
        if (*px > m) m = *px;
    }
    if (m < lo) m = lo;
    if (m > hi) m = hi;
    o[c] = (int8_t)m;
  }
}

void kfda_max_pool2d_s8_opt(const kfda_conv_params *p, const kfda_shape4 *is, const int8_t *in,
                            const kfda_shape4 *os, int8_t *out) {
  int32_t b, oy, ox;
  if (p->qact_min < -128 || p->qact_min > 127 || p->qact_max < -128 || p->qact_max > 127) {
    kfda_max_pool2d_s8_ref(p, is, in, os, out);
    return;
  }
  for (b = 0; b < os->n; ++b) {
    const int8_t *img = in + (size_t)b * is->h * is->w * is->c;
    for (oy = 0; oy < os->h; ++oy) {
      const int32_t iy = oy * p->stride_h - p->pad_h;
      const int32_t y0 = iy < 0 ? 0 : iy;
      const int32_t y1 = iy + p->filter_h < is->h ? iy + p->filter_h : is->h;
      for (ox = 0; ox < os->w; ++ox) {
        const int32_t ix = ox * p->stride_w - p->pad_w;
        const int32_t x0 = ix < 0 ? 0 : ix;
        const int32_t x1 = ix + p->filter_w < is->w ? ix + p->filter_w : is->w;
        max_pixel(img, is->w, is->c, y0, y1, x0, x1, (int8_t)p->qact_min, (int8_t)p->qact_max,
                  out + (((size_t)b * os->h + oy) * os->w + ox) * os->c);
      }
    }
  }
}

void kfda_max_pool2d_s8(const kfda_conv_params *p, const kfda_shape4 *is, const int8_t *in,
                        const kfda_shape4 *os, int8_t *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_max_pool2d_s8_ref(p, is, in, os, out);
#else
  kfda_max_pool2d_s8_opt(p, is, in, os, out);
#endif
}
