/* max_pool2d_s8.c - MAX_POOL_2D int8, reference (padding taps skipped;
 * max_pool2d_s8_opt.c is held to it). */
#include "kfda/kernels.h"

void kfda_max_pool2d_s8_ref(const kfda_conv_params *p, const kfda_shape4 *is, const int8_t *in,
                            const kfda_shape4 *os, int8_t *out) {
  int32_t b, oy, ox, c, fy, fx;
  for (b = 0; b < os->n; ++b)
    for (oy = 0; oy < os->h; ++oy)
      for (ox = 0; ox < os->w; ++ox)
        for (c = 0; c < os->c; ++c) {
          int32_t m = -128;
          for (fy = 0; fy < p->filter_h; ++fy) {
            const int32_t iy = oy * p->stride_h - p->pad_h + fy;
            if (iy < 0 || iy >= is->h) continue;
            for (fx = 0; fx < p->filter_w; ++fx) {
              const int32_t ix = ox * p->stride_w - p->pad_w + fx;
              int32_t v;
              if (ix < 0 || ix >= is->w) continue;
              v = in[(((size_t)b * is->h + iy) * is->w + ix) * is->c + c];
              if (v > m) m = v;
            }
          }
          if (m < p->qact_min) m = p->qact_min;
          if (m > p->qact_max) m = p->qact_max;
          out[(((size_t)b * os->h + oy) * os->w + ox) * os->c + c] = (int8_t)m;
        }
}
