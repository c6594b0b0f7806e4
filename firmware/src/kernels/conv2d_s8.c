/* conv2d_s8.c - CONV_2D int8, per-channel requantisation: the TFLite
 * reference loop (kfda_conv2d_s8_ref; conv2d_s8_opt.c is held to it). */
#include "kfda/kernels.h"

void kfda_conv2d_s8_ref(const kfda_conv_params *p, const kfda_requant *q, const kfda_shape4 *is,
                        const int8_t *in, const kfda_shape4 *fs, const int8_t *filter,
                        const int32_t *bias, const kfda_shape4 *os, int8_t *out, int32_t row_begin,
                        int32_t row_end) {
  const int32_t cout = fs->n, fh = fs->h, fw = fs->w, gc = fs->c;
  const int32_t cout_per_group = cout / (is->c / gc);
  int32_t b, oy, ox, oc, fy, fx, ic;
  if (row_begin >= row_end) return;
  for (b = row_begin / os->h; b < os->n && b * os->h < row_end; ++b) /* rows [begin, end) */
    for (oy = b == row_begin / os->h ? row_begin % os->h : 0;
         oy < os->h && b * os->h + oy < row_end; ++oy)
      for (ox = 0; ox < os->w; ++ox)
        for (oc = 0; oc < cout; ++oc) {
          const int32_t g = oc / cout_per_group;
          int32_t acc = 0;
          for (fy = 0; fy < fh; ++fy) {
            const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dil_h;
            if (iy < 0 || iy >= is->h) continue;
            for (fx = 0; fx < fw; ++fx) {
              const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dil_w;
              const int8_t *x, *w;
              if (ix < 0 || ix >= is->w) continue;
              x = in + (((size_t)b * is->h + iy) * is->w + ix) * is->c + (size_t)g * gc;
              w = filter + (((size_t)oc * fh + fy) * fw + fx) * gc;
              for (ic = 0; ic < gc; ++ic) acc += ((int32_t)x[ic] + q->in_offset) * w[ic];
            }
          }
          if (bias) acc += bias[oc];
          acc = kfda_multiply_by_quantized_multiplier_ruy(acc, q->mult[oc], q->shift[oc]);
          acc += q->out_offset;
          if (acc < q->act_min) acc = q->act_min;
          if (acc > q->act_max) acc = q->act_max;
          out[(((size_t)b * os->h + oy) * os->w + ox) * cout + oc] = (int8_t)acc;
        }
}
