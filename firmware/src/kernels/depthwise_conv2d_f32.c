/* depthwise_conv2d_f32.c - DEPTHWISE_CONV_2D, float32 reference (the optimized twin:
 * depthwise_conv2d_f32_opt.c). */
#include "kfda/kernels.h"

void kfda_depthwise_conv2d_f32_ref(const kfda_conv_params *p, const kfda_shape4 *is,
                                   const float *in, const kfda_shape4 *fs, const float *filter,
                                   const float *bias, const kfda_shape4 *os, float *out,
                                   int32_t row_begin, int32_t row_end) {
  const int32_t fh = fs->h, fw = fs->w, cout = fs->c, dm = p->depth_multiplier;
  int32_t b, oy, ox, oc, fy, fx;
  if (row_begin >= row_end) return;
  for (b = row_begin / os->h; b < os->n && b * os->h < row_end; ++b) /* rows [begin, end) */
    for (oy = b == row_begin / os->h ? row_begin % os->h : 0;
         oy < os->h && b * os->h + oy < row_end; ++oy)
      for (ox = 0; ox < os->w; ++ox)
        for (oc = 0; oc < cout; ++oc) {
          const int32_t ic = oc / dm;
          float total = 0.0f, v;
          for (fy = 0; fy < fh; ++fy) {
            const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dil_h;
            if (iy < 0 || iy >= is->h) continue;
            for (fx = 0; fx < fw; ++fx) {
              const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dil_w;
              if (ix < 0 || ix >= is->w) continue;
              total += in[(((size_t)b * is->h + iy) * is->w + ix) * is->c + ic] *
                       filter[((size_t)fy * fw + fx) * cout + oc];
            }
          }
          v = total + (bias ? bias[oc] : 0.0f);
          if (v < p->act_min) v = p->act_min;
          if (!(v <= p->act_max)) v = p->act_max; /* and NaN, as TFLite's clamp */
          out[(((size_t)b * os->h + oy) * os->w + ox) * cout + oc] = v;
        }
}
