/* lce_bmaxpool2d_ref.c - LceBMaxPool2d, reference: max over +-1 values = AND
 * of the bits, bounds checked per tap (lce_bmaxpool2d_opt.c is held to it). */
#include "kfda/kernels.h"

void kfda_lce_bmaxpool2d_ref(const kfda_conv_params *p, const kfda_shape4 *is, const int32_t *in,
                             const kfda_shape4 *os, int32_t *out) {
  int32_t b, oy, ox, fy, fx, k, words = is->c;
  for (b = 0; b < os->n; ++b)
    for (oy = 0; oy < os->h; ++oy)
      for (ox = 0; ox < os->w; ++ox) {
        uint32_t *o = (uint32_t *)out + (((size_t)b * os->h + oy) * os->w + ox) * words;
        for (k = 0; k < words; ++k) o[k] = 0xffffffffu;
        for (fy = 0; fy < p->filter_h; ++fy) {
          int32_t iy = oy * p->stride_h - p->pad_h + fy;
          if (iy < 0 || iy >= is->h) continue;
          for (fx = 0; fx < p->filter_w; ++fx) {
            int32_t ix = ox * p->stride_w - p->pad_w + fx;
            const uint32_t *src;
            if (ix < 0 || ix >= is->w) continue;
            src = (const uint32_t *)in + (((size_t)b * is->h + iy) * is->w + ix) * words;
            for (k = 0; k < words; ++k) o[k] &= src[k];
          }
        }
      }
}
