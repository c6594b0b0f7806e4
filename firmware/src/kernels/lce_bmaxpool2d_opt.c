/*
 * lce_bmaxpool2d_opt.c - LceBMaxPool2d, optimized (held bit for bit to
 * lce_bmaxpool2d_ref.c by host/kernel_test.c): the window is clipped to the
 * image once per output pixel (no test per tap), the first tap is copied
 * rather than ANDed into all-ones, and the words of a tap are ANDed in a
 * straight loop (NEON 4 words at a time where available). A window entirely
 * outside the image leaves all-ones, as the reference.
 */
#include "kfda/kernels.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#endif

static inline void and_words(uint32_t *o, const uint32_t *s, int32_t n) {
  int32_t k = 0;
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
  for (; k + 4 <= n; k += 4) vst1q_u32(o + k, vandq_u32(vld1q_u32(o + k), vld1q_u32(s + k)));
#endif
  for (; k < n; ++k) o[k] &= s[k];
}

void kfda_lce_bmaxpool2d_opt(const kfda_conv_params *p, const kfda_shape4 *is, const int32_t *in,
                             const kfda_shape4 *os, int32_t *out) {
  const int32_t words = is->c, ih = is->h, iw = is->w;
  int32_t b, oy, ox, fy, fx, k;
  for (b = 0; b < os->n; ++b)
    for (oy = 0; oy < os->h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
      const int32_t fy1 = ih - iy0 < p->filter_h ? ih - iy0 : p->filter_h;
      for (ox = 0; ox < os->w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
        const int32_t fx1 = iw - ix0 < p->filter_w ? iw - ix0 : p->filter_w;
        uint32_t *o = (uint32_t *)out + (((size_t)b * os->h + oy) * os->w + ox) * words;
        int first = 1;
        for (fy = fy0; fy < fy1; ++fy) {
          const uint32_t *row =
              (const uint32_t *)in + (((size_t)b * ih + iy0 + fy) * iw + ix0) * words;
          for (fx = fx0; fx < fx1; ++fx) {
            const uint32_t *src = row + (size_t)fx * words;
            if (first) {
              for (k = 0; k < words; ++k) o[k] = src[k];
              first = 0;
            } else {
              and_words(o, src, words);
            }
          }
        }
        if (first)
          for (k = 0; k < words; ++k) o[k] = 0xffffffffu;
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
