/* average_pool2d_s8.c - AVERAGE_POOL_2D int8: integer sum over the valid taps,
 * divided by their count rounding half away from zero (TFLite reference). */
#include "kfda/kernels.h"

void kfda_average_pool2d_s8(const kfda_conv_params *p, const kfda_shape4 *is, const int8_t *in,
                            const kfda_shape4 *os, int8_t *out) {
  int32_t b, oy, ox, c, fy, fx;
  for (b = 0; b < os->n; ++b)
    for (oy = 0; oy < os->h; ++oy)
      for (ox = 0; ox < os->w; ++ox)
        for (c = 0; c < os->c; ++c) {
          int32_t acc = 0, count = 0;
          for (fy = 0; fy < p->filter_h; ++fy) {
            const int32_t iy = oy * p->stride_h - p->pad_h + fy;
            if (iy < 0 || iy >= is->h) continue;
            for (fx = 0; fx < p->filter_w; ++fx) {
              const int32_t ix = ox * p->stride_w - p->pad_w + fx;
              if (ix < 0 || ix >= is->w) continue;
              acc += in[(((size_t)b * is->h + iy) * is->w + ix) * is->c + c];
              ++count;
            }
          }
          if (count == 0) count = 1;
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          if (acc < p->qact_min) acc = p->qact_min;
          if (acc > p->qact_max) acc = p->qact_max;
          out[(((size_t)b * os->h + oy) * os->w + ox) * os->c + c] = (int8_t)acc;
        }
}
