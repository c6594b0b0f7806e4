/*
 * depthwise_conv2d_f32_opt.c - DEPTHWISE_CONV_2D float32, optimized; bit for bit the
 * reference of depthwise_conv2d_f32.c (held to it by host/kernel_test.c).
 *
 * Each output keeps the reference's arithmetic: 0.0f, then per tap inside the image in
 * (fy, fx) order one product and one add (two roundings, not fused), then + the bias
 * (0.0f without one: -0 becomes +0 as there), then the clamp (v < lo -> lo, then
 * !(v <= hi) -> hi, NaN included). The speed comes from what surrounds it: the taps
 * inside the image are found once per output pixel (the reference tests both bounds per
 * tap and channel), and the channels of a tap are contiguous in both the NHWC input and
 * the [1, fh, fw, cout] filter, so on arm64 4 channels are one vector, 8 per pass (FMUL +
 * FADD per tap, compares and bit selects for the clamp: every lane the scalar result). armv7 NEON
 * flushes denormals, so it keeps the scalar loop. Dilations, depth multipliers other than
 * 1 run the reference.
 */
#include "kfda/kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define KFDA_DW_NEON 1
#else
#define KFDA_DW_NEON 0
#endif

/* Taps of a window starting at `start` (input coordinate, may be negative) of `f` taps
 * over an axis of `size`: [*lo, *hi) of the filter, empty as lo == hi. */
static void clip(int32_t start, int32_t f, int32_t size, int32_t *lo, int32_t *hi) {
  *lo = start < 0 ? -start : 0;
  *hi = size - start < f ? size - start : f;
  if (*hi < *lo) *hi = *lo;
}

/* One output pixel, all channels. x: the input at the first tap inside (row fy0, column
 * fx0), w: the filter there; `rows` x `cols` taps, input rows `xrow` floats apart, filter
 * rows `wrow` apart; c channels. */
static void pixel(const float *x, const float *w, int32_t rows, int32_t cols, size_t xrow,
                  size_t wrow, int32_t c, const float *bias, float lo, float hi, float *o) {
  int32_t ch = 0, fy, fx;
#if KFDA_DW_NEON
  const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
  for (; ch + 8 <= c; ch += 8) { /* 8 channels: one loop's overhead for two vectors */
    float32x4_t t0 = vdupq_n_f32(0.0f), t1 = t0, v0, v1;
    const float *xr = x + ch, *wr = w + ch;
    for (fy = 0; fy < rows; ++fy, xr += xrow, wr += wrow) {
      const float *xp = xr, *wp = wr;
      for (fx = 0; fx < cols; ++fx, xp += c, wp += c) {
        t0 = vaddq_f32(t0, vmulq_f32(vld1q_f32(xp), vld1q_f32(wp)));
        t1 = vaddq_f32(t1, vmulq_f32(vld1q_f32(xp + 4), vld1q_f32(wp + 4)));
      }
    }
    v0 = vaddq_f32(t0, bias ? vld1q_f32(bias + ch) : vdupq_n_f32(0.0f));
    v1 = vaddq_f32(t1, bias ? vld1q_f32(bias + ch + 4) : vdupq_n_f32(0.0f));
    v0 = vbslq_f32(vcltq_f32(v0, vlo), vlo, v0);
    v1 = vbslq_f32(vcltq_f32(v1, vlo), vlo, v1);
    vst1q_f32(o + ch, vbslq_f32(vcleq_f32(v0, vhi), v0, vhi));
    vst1q_f32(o + ch + 4, vbslq_f32(vcleq_f32(v1, vhi), v1, vhi));
  }
  for (; ch + 4 <= c; ch += 4) {
    float32x4_t t = vdupq_n_f32(0.0f), v;
    const float *xr = x + ch, *wr = w + ch;
    for (fy = 0; fy < rows; ++fy, xr += xrow, wr += wrow)
      for (fx = 0; fx < cols; ++fx) /* vmulq then vaddq: two roundings, as the reference */
        t = vaddq_f32(t, vmulq_f32(vld1q_f32(xr + (size_t)fx * c), vld1q_f32(wr + (size_t)fx * c)));
    v = vaddq_f32(t, bias ? vld1q_f32(bias + ch) : vdupq_n_f32(0.0f));
    v = vbslq_f32(vcltq_f32(v, vlo), vlo, v);
    vst1q_f32(o + ch, vbslq_f32(vcleq_f32(v, vhi), v, vhi));
  }
#endif
  for (; ch < c; ++ch) {
    float t = 0.0f, v;
    const float *xr = x + ch, *wr = w + ch;
    for (fy = 0; fy < rows; ++fy, xr += xrow, wr += wrow)
      for (fx = 0; fx < cols; ++fx) t += xr[(size_t)fx * c] * wr[(size_t)fx * c];
    v = t + (bias ? bias[ch] : 0.0f);
    if (v < lo) v = lo;
    if (!(v <= hi)) v = hi;
    o[ch] = v;
  }
}

void kfda_depthwise_conv2d_f32_opt(const kfda_conv_params *p, const kfda_shape4 *is,
                                   const float *in, const kfda_shape4 *fs, const float *filter,
                                   const float *bias, const kfda_shape4 *os, float *out,
                                   int32_t row_begin, int32_t row_end) {
  const int32_t fh = fs->h, fw = fs->w, c = fs->c;
  int32_t row;
  if (p->dil_h != 1 || p->dil_w != 1 || p->depth_multiplier != 1 || is->c != c) {
    kfda_depthwise_conv2d_f32_ref(p, is, in, fs, filter, bias, os, out, row_begin, row_end);
    return;
  }
  for (row = row_begin; row < row_end; ++row) { /* rows [begin, end) of n x h */
    const int32_t b = row / os->h, oy = row % os->h;
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    int32_t fy0, fy1, ox;
    clip(iy0, fh, is->h, &fy0, &fy1);
    for (ox = 0; ox < os->w; ++ox) {
      const int32_t ix0 = ox * p->stride_w - p->pad_w;
      float *o = out + (((size_t)b * os->h + oy) * os->w + ox) * (size_t)c;
      const float *x = in, *w = filter;
      int32_t fx0, fx1, rows;
      clip(ix0, fw, is->w, &fx0, &fx1);
      rows = fx1 > fx0 ? fy1 - fy0 : 0;
      if (rows > 0) {
        x = in + (((size_t)b * is->h + (iy0 + fy0)) * is->w + (ix0 + fx0)) * (size_t)c;
        w = filter + ((size_t)fy0 * fw + fx0) * (size_t)c;
      }
      pixel(x, w, rows, fx1 - fx0, (size_t)is->w * c, (size_t)fw * c, c, bias, p->act_min,
            p->act_max, o);
    }
  }
}

void kfda_depthwise_conv2d_f32(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                               const kfda_shape4 *fs, const float *filter, const float *bias,
                               const kfda_shape4 *os, float *out, int32_t row_begin,
                               int32_t row_end) {
#if defined(KFDA_KERNELS_REF)
  kfda_depthwise_conv2d_f32_ref(p, is, in, fs, filter, bias, os, out, row_begin, row_end);
#else
  kfda_depthwise_conv2d_f32_opt(p, is, in, fs, filter, bias, os, out, row_begin, row_end);
#endif
}
