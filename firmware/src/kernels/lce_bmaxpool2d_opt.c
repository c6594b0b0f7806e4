/*
 * lce_bmaxpool2d_opt.c - LceBMaxPool2d, optimized (held bit for bit to
 * lce_bmaxpool2d_ref.c by host/kernel_test.c): the window is clipped to the
 * image once per output pixel (no test per tap), and the words of a pixel go
 * in chunks (NEON: 4 words in a Q register, then 2 in a D register; else one
 * word) whose AND over the taps stays in a register: the first tap is loaded,
 * the others ANDed in, one store per chunk. 32 or 64 channels (1 or 2 words,
 * a BNN's first stages) thus cost a load and an AND per tap; a whole 2x2
 * window is written out; a row of 2x2 windows at stride 2 over 1 or 2 words goes
 * several outputs per pass (row_2x2: LD2 splits the even and odd columns). Integer
 * only, so
 * the same bits on armv7 NEON. A window entirely outside the image leaves
 * all-ones, as the reference.
 */
#include "kfda/kernels.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#define KFDA_BMAXPOOL_NEON 1
#else
#define KFDA_BMAXPOOL_NEON 0
#endif

/* One output pixel: o = AND over the taps (fy0..fy1) x (fx0..fx1) of the
 * pixel words at first + fy * drow + fx * words; taps >= 1. */
static inline void and_window(uint32_t *o, const uint32_t *first, int32_t words, size_t drow,
                              int32_t ny, int32_t nx) {
  int32_t k = 0, fy, fx;
  const size_t dcol = (size_t)words;
  if (ny == 2 && nx == 2) { /* the usual 2x2 window, written out */
    const uint32_t *r0 = first, *r1 = first + drow;
#if KFDA_BMAXPOOL_NEON
    for (; k + 4 <= words; k += 4)
      vst1q_u32(o + k, vandq_u32(vandq_u32(vld1q_u32(r0 + k), vld1q_u32(r0 + k + dcol)),
                                 vandq_u32(vld1q_u32(r1 + k), vld1q_u32(r1 + k + dcol))));
    if (k + 2 <= words) {
      vst1_u32(o + k, vand_u32(vand_u32(vld1_u32(r0 + k), vld1_u32(r0 + k + dcol)),
                               vand_u32(vld1_u32(r1 + k), vld1_u32(r1 + k + dcol))));
      k += 2;
    }
#endif
    for (; k < words; ++k) o[k] = (r0[k] & r0[k + dcol]) & (r1[k] & r1[k + dcol]);
    return;
  }
#if KFDA_BMAXPOOL_NEON
  for (; k + 4 <= words; k += 4) {
    uint32x4_t a = vld1q_u32(first + k);
    for (fy = 0; fy < ny; ++fy)
      for (fx = fy == 0; fx < nx; ++fx)
        a = vandq_u32(a, vld1q_u32(first + k + fy * drow + fx * dcol));
    vst1q_u32(o + k, a);
  }
  if (k + 2 <= words) {
    uint32x2_t a = vld1_u32(first + k);
    for (fy = 0; fy < ny; ++fy)
      for (fx = fy == 0; fx < nx; ++fx)
        a = vand_u32(a, vld1_u32(first + k + fy * drow + fx * dcol));
    vst1_u32(o + k, a);
    k += 2;
  }
#endif
  for (; k < words; ++k) {
    uint32_t a = first[k];
    for (fy = 0; fy < ny; ++fy)
      for (fx = fy == 0; fx < nx; ++fx) a &= first[k + fy * drow + fx * dcol];
    o[k] = a;
  }
}

#if KFDA_BMAXPOOL_NEON
/* The first outputs of a row of 2x2 windows at stride 2 that lie inside (r0, r1: the
 * two input rows at column 0; n: the outputs that may go), several per pass: with one
 * word per pixel 4 outputs from 8 columns per row, LD2 splitting the even and odd
 * columns; with two words (arm64) 2 outputs, LD2 of 64-bit pixels. Returns the outputs
 * done (the rest: and_window, one at a time). */
static int32_t row_2x2(uint32_t *o, const uint32_t *r0, const uint32_t *r1, int32_t words,
                       int32_t n) {
  int32_t ox = 0;
  if (words == 1) {
    for (; ox + 4 <= n; ox += 4) {
      const uint32x4x2_t a = vld2q_u32(r0 + 2 * ox), b = vld2q_u32(r1 + 2 * ox);
      vst1q_u32(o + ox, vandq_u32(vandq_u32(a.val[0], a.val[1]), vandq_u32(b.val[0], b.val[1])));
    }
  }
#if defined(__aarch64__)
  if (words == 2) {
    for (; ox + 2 <= n; ox += 2) {
      const uint64x2x2_t a = vld2q_u64((const uint64_t *)(const void *)(r0 + 4 * ox));
      const uint64x2x2_t b = vld2q_u64((const uint64_t *)(const void *)(r1 + 4 * ox));
      vst1q_u32(o + 2 * ox, vreinterpretq_u32_u64(vandq_u64(vandq_u64(a.val[0], a.val[1]),
                                                            vandq_u64(b.val[0], b.val[1]))));
    }
  }
#endif
  return ox;
}
#endif

void kfda_lce_bmaxpool2d_opt(const kfda_conv_params *p, const kfda_shape4 *is, const int32_t *in,
                             const kfda_shape4 *os, int32_t *out) {
  const int32_t words = is->c, ih = is->h, iw = is->w;
  const size_t drow = (size_t)iw * (size_t)words;
  int32_t b, oy, ox, k;
  for (b = 0; b < os->n; ++b)
    for (oy = 0; oy < os->h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
      const int32_t fy1 = ih - iy0 < p->filter_h ? ih - iy0 : p->filter_h;
      uint32_t *o = (uint32_t *)out + ((size_t)b * os->h + oy) * os->w * words;
      ox = 0;
#if KFDA_BMAXPOOL_NEON
      if (p->filter_h == 2 && p->filter_w == 2 && p->stride_h == 2 && p->stride_w == 2 &&
          p->pad_w == 0 && iy0 >= 0 && iy0 + 2 <= ih) { /* windows inside up to iw / 2 */
        const uint32_t *r0 = (const uint32_t *)in + ((size_t)b * ih + (size_t)iy0) * drow;
        ox = row_2x2(o, r0, r0 + drow, words, os->w < iw / 2 ? os->w : iw / 2);
        o += (size_t)ox * words;
      }
#endif
      for (; ox < os->w; ++ox, o += words) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
        const int32_t fx1 = iw - ix0 < p->filter_w ? iw - ix0 : p->filter_w;
        if (fy1 <= fy0 || fx1 <= fx0) {
          for (k = 0; k < words; ++k) o[k] = 0xffffffffu;
          continue;
        }
        and_window(o,
                   (const uint32_t *)in + ((size_t)b * ih + (size_t)(iy0 + fy0)) * drow +
                       (size_t)(ix0 + fx0) * words,
                   words, drow, fy1 - fy0, fx1 - fx0);
      }
    }
}

void kfda_lce_bmaxpool2d(const kfda_conv_params *p, const kfda_shape4 *is, const int32_t *in,
                         const kfda_shape4 *os, int32_t *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_lce_bmaxpool2d_ref(p, is, in, os, out);
#else
  kfda_lce_bmaxpool2d_opt(p, is, in, os, out);
#endif
}
