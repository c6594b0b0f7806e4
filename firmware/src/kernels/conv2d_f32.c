/* conv2d_f32.c - CONV_2D, float32 reference in the LCE interpreter's order: start at the
 * bias (0.0f without one), one fused multiply-add per tap in (fy, fx, ic) order (ruy's
 * GEMM on the im2col rows), then the clamp. One output pixel is the interpreter's GEMV
 * instead (kfda_conv2d_f32_one_pixel). */
#include "fma_f32.h"
#include "gemv_f32.h"
#include "kfda/kernels.h"

int kfda_conv2d_f32_one_pixel(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                              const kfda_shape4 *fs, const float *filter, const float *bias,
                              const kfda_shape4 *os, float *out) {
  const int32_t cout = fs->n, fh = fs->h, fw = fs->w, cin = fs->c, depth = fh * fw * cin;
  int32_t oc, fy, fx;
  if (os->n != 1 || os->h != 1 || os->w != 1 || cin != is->c || !kfda_gemv_f32_applies(cout, depth))
    return 0; /* ruy's GEMM (grouped: the interpreter's reference loop) */
  for (oc = 0; oc < cout; ++oc) {
    const float *w_row = filter + (size_t)oc * depth;
    kfda_gemv_f32 g;
    float v;
    kfda_gemv_f32_begin(&g, depth);
    for (fy = 0; fy < fh; ++fy)
      for (fx = 0; fx < fw; ++fx) { /* the im2col row: padding taps are zeros */
        const int32_t iy = fy * p->dil_h - p->pad_h, ix = fx * p->dil_w - p->pad_w;
        const int inside = iy >= 0 && iy < is->h && ix >= 0 && ix < is->w;
        kfda_gemv_f32_add(&g, w_row + ((size_t)fy * fw + fx) * cin,
                          inside ? in + ((size_t)iy * is->w + ix) * cin : NULL, cin);
      }
    v = kfda_gemv_f32_end(&g, w_row);
    if (bias) v += bias[oc];
    if (v < p->act_min) v = p->act_min;
    if (!(v <= p->act_max)) v = p->act_max; /* and NaN, as TFLite's clamp */
    out[oc] = v;
  }
  return 1;
}

void kfda_conv2d_f32_ref(const kfda_conv_params *p, const kfda_shape4 *is, const float *in,
                         const kfda_shape4 *fs, const float *filter, const float *bias,
                         const kfda_shape4 *os, float *out, int32_t row_begin, int32_t row_end) {
  const int32_t cout = fs->n, fh = fs->h, fw = fs->w, gc = fs->c;
  const int32_t cout_per_group = cout / (is->c / gc);
  int32_t b, oy, ox, oc, fy, fx, ic;
  if (row_begin >= row_end || kfda_conv2d_f32_one_pixel(p, is, in, fs, filter, bias, os, out))
    return;
  for (b = row_begin / os->h; b < os->n && b * os->h < row_end; ++b) /* rows [begin, end) */
    for (oy = b == row_begin / os->h ? row_begin % os->h : 0;
         oy < os->h && b * os->h + oy < row_end; ++oy)
      for (ox = 0; ox < os->w; ++ox)
        for (oc = 0; oc < cout; ++oc) {
          const int32_t g = oc / cout_per_group;
          float total = bias ? bias[oc] : 0.0f, v;
          for (fy = 0; fy < fh; ++fy) {
            const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dil_h;
            if (iy < 0 || iy >= is->h) continue;
            for (fx = 0; fx < fw; ++fx) {
              const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dil_w;
              const float *x, *w;
              if (ix < 0 || ix >= is->w) continue;
              x = in + (((size_t)b * is->h + iy) * is->w + ix) * is->c + (size_t)g * gc;
              w = filter + (((size_t)oc * fh + fy) * fw + fx) * gc;
              for (ic = 0; ic < gc; ++ic) total = kfda_fmaf(x[ic], w[ic], total);
            }
          }
          v = total;
          if (v < p->act_min) v = p->act_min;
          if (!(v <= p->act_max)) v = p->act_max; /* and NaN, as TFLite's clamp */
          out[(((size_t)b * os->h + oy) * os->w + ox) * cout + oc] = v;
        }
}
