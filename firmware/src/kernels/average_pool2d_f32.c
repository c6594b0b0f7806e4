/* average_pool2d_f32.c - AVERAGE_POOL_2D, float32 reference: the mean over
 * the taps inside the image (TFLite: sum / filter_count). */
#include "kfda/kernels.h"

void kfda_average_pool2d_f32_ref(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                                 const kfda_shape4 *os, float *out) {
  int32_t b, oy, ox, c, fy, fx;
  for (b = 0; b < os->n; ++b)
    for (oy = 0; oy < os->h; ++oy)
      for (ox = 0; ox < os->w; ++ox)
        for (c = 0; c < os->c; ++c) {
          float sum = 0.0f, v;
          int32_t count = 0;
          for (fy = 0; fy < p->filter_h; ++fy) {
            const int32_t iy = oy * p->stride_h - p->pad_h + fy;
            if (iy < 0 || iy >= is->h) continue;
            for (fx = 0; fx < p->filter_w; ++fx) {
              const int32_t ix = ox * p->stride_w - p->pad_w + fx;
              if (ix < 0 || ix >= is->w) continue;
              sum += in[(((size_t)b * is->h + iy) * is->w + ix) * is->c + c];
              ++count;
            }
          }
          v = count ? sum / (float)count : 0.0f;
          if (v < p->act_min) v = p->act_min;
          if (!(v <= p->act_max)) v = p->act_max; /* and NaN, as TFLite's clamp */
          out[(((size_t)b * os->h + oy) * os->w + ox) * os->c + c] = v;
        }
}
