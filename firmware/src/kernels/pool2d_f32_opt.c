/*
 * pool2d_f32_opt.c - MAX_POOL_2D and AVERAGE_POOL_2D float32, optimized; bit for
 * bit the references of max_pool2d_f32.c and average_pool2d_f32.c (held to them by
 * host/kernel_test.c). The window is clipped to the image once per output pixel
 * instead of a bounds test per tap and channel; each channel still sees its taps
 * in the reference's order (rows, then columns), so the running max and the sum
 * round the same. On arm64, 4 channels per vector, 8 per pass: the max as
 * compare-and-select (`v > m`, so a NaN tap is skipped as in the scalar code; FMAX
 * would take it),
 * the sum with FADD and one FDIV by the count, the clamp as compares and selects
 * (NaN goes to act_max, as the reference). Armv7 NEON flushes denormals, so it
 * keeps the scalar loop.
 */
#include <float.h>

#include "kfda/kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define KFDA_POOL_NEON 1
#else
#define KFDA_POOL_NEON 0
#endif

/* The window of output pixel (oy, ox) clipped to the image: taps [y0, y1) x [x0, x1)
 * of the image, empty when y1 <= y0 or x1 <= x0. */
typedef struct {
  int32_t y0, y1, x0, x1;
} pool_window;

static inline int32_t clip_lo(int32_t start) { return start < 0 ? 0 : start; }
static inline int32_t clip_hi(int32_t start, int32_t filter, int32_t size) {
  return start + filter < size ? start + filter : size;
}

static inline float clamp_f32(float v, float lo, float hi) {
  if (v < lo) v = lo;
  if (!(v <= hi)) v = hi; /* and NaN, as TFLite's clamp */
  return v;
}

#if KFDA_POOL_NEON
static inline float32x4_t clamp_f32x4(float32x4_t v, float32x4_t lo, float32x4_t hi) {
  v = vbslq_f32(vcltq_f32(v, lo), lo, v);
  return vbslq_f32(vcleq_f32(v, hi), v, hi);
}
#endif

/* max (avg = 0) or average (avg = 1) over the clipped window, every channel. */
static void pool_pixel(const kfda_conv_params *p, const float *img, int32_t iw, int32_t ch,
                       const pool_window *win, int avg, float *o) {
  const size_t drow = (size_t)iw * (size_t)ch;
  const float lo = p->act_min, hi = p->act_max;
  const int32_t count = (win->y1 - win->y0) * (win->x1 - win->x0);
  const float fcount = (float)count;
  int32_t c = 0, y, x;
  if (win->y1 <= win->y0 || win->x1 <= win->x0) { /* no tap: as the reference */
    for (c = 0; c < ch; ++c) o[c] = clamp_f32(avg ? 0.0f : -FLT_MAX, lo, hi);
    return;
  }
#if KFDA_POOL_NEON
  {
    const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi), vcount = vdupq_n_f32(fcount);
    for (; c + 8 <= ch; c += 8) { /* 8 channels: one loop's overhead for two vectors */
      float32x4_t a0 = vdupq_n_f32(avg ? 0.0f : -FLT_MAX), a1 = a0;
      for (y = win->y0; y < win->y1; ++y) {
        const float *px = img + (size_t)y * drow + (size_t)win->x0 * ch + c;
        for (x = win->x0; x < win->x1; ++x, px += ch) {
          const float32x4_t v0 = vld1q_f32(px), v1 = vld1q_f32(px + 4);
          a0 = avg ? vaddq_f32(a0, v0) : vbslq_f32(vcgtq_f32(v0, a0), v0, a0);
          a1 = avg ? vaddq_f32(a1, v1) : vbslq_f32(vcgtq_f32(v1, a1), v1, a1);
        }
      }
      if (avg) {
        a0 = vdivq_f32(a0, vcount);
        a1 = vdivq_f32(a1, vcount);
      }
      vst1q_f32(o + c, clamp_f32x4(a0, vlo, vhi));
      vst1q_f32(o + c + 4, clamp_f32x4(a1, vlo, vhi));
    }
    for (; c + 4 <= ch; c += 4) {
      float32x4_t a = vdupq_n_f32(avg ? 0.0f : -FLT_MAX);
      for (y = win->y0; y < win->y1; ++y) {
        const float *px = img + (size_t)y * drow + (size_t)win->x0 * ch + c;
        for (x = win->x0; x < win->x1; ++x, px += ch) {
          const float32x4_t v = vld1q_f32(px);
          a = avg ? vaddq_f32(a, v) : vbslq_f32(vcgtq_f32(v, a), v, a);
        }
      }
      if (avg) a = vdivq_f32(a, vcount);
      vst1q_f32(o + c, clamp_f32x4(a, vlo, vhi));
    }
  }
#endif
  for (; c < ch; ++c) {
    float a = avg ? 0.0f : -FLT_MAX;
    for (y = win->y0; y < win->y1; ++y) {
      const float *px = img + (size_t)y * drow + (size_t)win->x0 * ch + c;
      for (x = win->x0; x < win->x1; ++x, px += ch) {
        if (avg)
          a += *px;
        else if (*px > a)
          a = *px;
      }
    }
    if (avg) a = a / fcount;
    o[c] = clamp_f32(a, lo, hi);
  }
}

static void pool_f32(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                     const kfda_shape4 *os, float *out, int avg) {
  int32_t b, oy, ox;
  for (b = 0; b < os->n; ++b) {
    const float *img = in + (size_t)b * is->h * is->w * is->c;
    for (oy = 0; oy < os->h; ++oy) {
      pool_window win;
      const int32_t iy = oy * p->stride_h - p->pad_h;
      win.y0 = clip_lo(iy);
      win.y1 = clip_hi(iy, p->filter_h, is->h);
      for (ox = 0; ox < os->w; ++ox) {
        const int32_t ix = ox * p->stride_w - p->pad_w;
        win.x0 = clip_lo(ix);
        win.x1 = clip_hi(ix, p->filter_w, is->w);
        pool_pixel(p, img, is->w, is->c, &win, avg,
                   out + (((size_t)b * os->h + oy) * os->w + ox) * os->c);
      }
    }
  }
}

void kfda_max_pool2d_f32_opt(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                             const kfda_shape4 *os, float *out) {
  pool_f32(p, is, in, os, out, 0);
}

void kfda_average_pool2d_f32_opt(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                                 const kfda_shape4 *os, float *out) {
  pool_f32(p, is, in, os, out, 1);
}

void kfda_max_pool2d_f32(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                         const kfda_shape4 *os, float *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_max_pool2d_f32_ref(p, is, in, os, out);
#else
  kfda_max_pool2d_f32_opt(p, is, in, os, out);
#endif
}

void kfda_average_pool2d_f32(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                             const kfda_shape4 *os, float *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_average_pool2d_f32_ref(p, is, in, os, out);
#else
  kfda_average_pool2d_f32_opt(p, is, in, os, out);
#endif
}
