/* depthwise_conv2d_s8.c - DEPTHWISE_CONV_2D int8, per-channel requantisation.
 * Rounding as the LCE interpreter's TFLite (DepthwiseConvGeneral, then optimized_ops::
 * Quantize): its NEON loop over blocks of 8 output channels (also on x86, through
 * NEON_2_SSE) rounds half up (VQRDMULH + rounding shift), the last cout % 8 channels
 * half away from zero (gemmlowp). */
#include "kfda/kernels.h"

void kfda_depthwise_conv2d_s8(const kfda_conv_params *p, const kfda_requant *q,
                              const kfda_shape4 *is, const int8_t *in, const kfda_shape4 *fs,
                              const int8_t *filter, const int32_t *bias, const kfda_shape4 *os,
                              int8_t *out, int32_t row_begin, int32_t row_end) {
  const int32_t fh = fs->h, fw = fs->w, cout = fs->c, dm = p->depth_multiplier;
  const int32_t neon_channels = cout - cout % 8;
  int32_t b, oy, ox, oc, fy, fx;
  if (row_begin >= row_end) return;
  for (b = row_begin / os->h; b < os->n && b * os->h < row_end; ++b) /* rows [begin, end) */
    for (oy = b == row_begin / os->h ? row_begin % os->h : 0;
         oy < os->h && b * os->h + oy < row_end; ++oy)
      for (ox = 0; ox < os->w; ++ox)
        for (oc = 0; oc < cout; ++oc) {
          int32_t acc = 0;
          for (fy = 0; fy < fh; ++fy) {
            const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dil_h;
            if (iy < 0 || iy >= is->h) continue;
            for (fx = 0; fx < fw; ++fx) {
              const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dil_w;
              if (ix < 0 || ix >= is->w) continue;
              acc += ((int32_t)in[(((size_t)b * is->h + iy) * is->w + ix) * is->c + oc / dm] +
                      q->in_offset) *
                     filter[((size_t)fy * fw + fx) * cout + oc];
            }
          }
          if (bias) acc += bias[oc];
          acc = oc < neon_channels
                    ? kfda_multiply_by_quantized_multiplier_ruy(acc, q->mult[oc], q->shift[oc])
                    : kfda_multiply_by_quantized_multiplier(acc, q->mult[oc], q->shift[oc]);
          acc += q->out_offset;
          if (acc < q->act_min) acc = q->act_min;
          if (acc > q->act_max) acc = q->act_max;
          out[(((size_t)b * os->h + oy) * os->w + ox) * cout + oc] = (int8_t)acc;
        }
}
