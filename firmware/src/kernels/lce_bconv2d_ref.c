/*
 * lce_bconv2d_ref.c - LceBconv2d, plain reference.
 *
 * The maths (LCE's output transform, worked through):
 *   accum in {0..K} = popcount(x XOR w) over K = fh * fw * channels_in bits
 *   conv  = K - 2 * accum                       (the +-1 dot product)
 *   y     = mul[c] * clamp_act(conv) + bias[c]
 * LCE fuses the back-transformation into the multiplier and bias, computed
 * once in double and stored as float:
 *   y = (float)clamp'(2 * accum) * (-mul) + (bias + K * mul)
 * with clamp' = [K - act_max, K - act_min]. We use the very same fused form so
 * float results are bit-identical, and int8 outputs are sat(round(y)) with
 * the output scale/zero point folded in as well.
 * Bitpacked output compares accum with the converter's thresholds.
 * Same-zero padding: padded taps read bit 0 (+1) as in same-one; the float
 * result then gets LCE's correction: + (-mul) * sum over the taps outside the
 * image of (channels_in - 2 * popcount(w_tap)), selected with LCE's four
 * edge cases (a kernel sticking out on two opposite sides gets none).
 */
#include <math.h>

#include "kfda/kernels.h"
#include "lce_bconv2d_internal.h"
#include "popcount.h"

void kfda_lce_bconv2d_output_transform(const float *mul, const float *bias, int32_t cout, int32_t K,
                                       double scale, double zero_point, float *out_mul,
                                       float *out_bias) {
  int32_t i;
  for (i = 0; i < cout; ++i) {
    const double m = mul[i], b = bias[i];
    out_mul[i] = (float)(-1 * m / scale);
    out_bias[i] = (float)((b + (double)K * m) / scale + zero_point);
  }
}

/* Sum of (cin - 2 * popcount) over the filter taps LCE counts for one edge
 * case (see zero-padding correction in LCE). */
int32_t kfda_lce_bconv2d_edge_correction(const kfda_bconv_params *p, const uint32_t *f, int32_t fh,
                                         int32_t fw, int32_t gw, int32_t cin, int kase, int32_t X,
                                         int32_t Y) {
  const int32_t eff_w = (fw - 1) * p->dil_w + 1, eff_h = (fh - 1) * p->dil_h + 1;
  int32_t fy, fx, k, sum = 0;
  for (fy = 0; fy < fh; ++fy)
    for (fx = 0; fx < fw; ++fx) {
      const int32_t ey = p->dil_h * fy, ex = p->dil_w * fx;
      int take;
      switch (kase) {
        case 0: take = ey < Y || ex < X; break;
        case 1: take = ey < Y || (eff_w - ex) <= X; break;
        case 2: take = (eff_h - ey) <= Y || ex < X; break;
        default: take = (eff_h - ey) <= Y || (eff_w - ex) <= X; break;
      }
      if (take) {
        int32_t pc = 0;
        const uint32_t *w = f + ((size_t)fy * fw + fx) * gw;
        for (k = 0; k < gw; ++k) pc += kfda_popcount32(w[k]);
        sum += cin - 2 * pc;
      }
    }
  return sum;
}

/* Which correction applies at (oy, ox): returns 0 and sets the case and its
 * cache coordinates, or -1 when LCE applies none. */
int kfda_lce_bconv2d_edge_case(const kfda_bconv_params *p, const kfda_shape4 *is,
                               const kfda_shape4 *os, int32_t fh, int32_t fw, int32_t oy,
                               int32_t ox, int *kase, int32_t *X, int32_t *Y) {
  const int32_t eff_w = (fw - 1) * p->dil_w + 1, eff_h = (fh - 1) * p->dil_h + 1;
  const int32_t left_off = ((os->w - 1) * p->stride_w + eff_w - is->w) / 2;
  const int32_t top_off = ((os->h - 1) * p->stride_h + eff_h - is->h) / 2;
  const int32_t top = top_off - oy * p->stride_h;
  const int32_t bot = -top - is->h + eff_h;
  const int32_t left = left_off - ox * p->stride_w;
  const int32_t right = -left - is->w + eff_w;
  if (left <= 0 && right <= 0 && top <= 0 && bot <= 0) return -1;
  if (right <= 0 && top > 0 && bot < 0) {
    *kase = 0;
    *X = left >= 0 ? left : 0;
    *Y = top;
  } else if (left < 0 && right > 0 && bot <= 0) {
    *kase = 1;
    *X = right;
    *Y = top >= 0 ? top : 0;
  } else if (left > 0 && right < 0 && top <= 0) {
    *kase = 2;
    *X = left;
    *Y = bot >= 0 ? bot : 0;
  } else if (left <= 0 && top < 0 && bot > 0) {
    *kase = 3;
    *X = right >= 0 ? right : 0;
    *Y = bot;
  } else {
    return -1;
  }
  return 0;
}

void kfda_lce_bconv2d_ref(const kfda_bconv_params *p, const kfda_shape4 *is, const int32_t *in,
                          const kfda_shape4 *fs, const int32_t *filter, const float *out_mul,
                          const float *out_bias, const int32_t *thresholds, const float *raw_mul,
                          const kfda_shape4 *os, void *out, int32_t row_begin, int32_t row_end) {
  const int32_t cout = fs->n, fh = fs->h, fw = fs->w, gw = fs->c;
  const int32_t in_words = is->c;
  const int32_t groups = in_words / gw;
  const int32_t cout_per_group = cout / groups;
  const int32_t cin_per_group = p->channels_in / groups;
  const int32_t out_words = KFDA_PACKED_WORDS(cout);
  const int same_zero = p->padding == 0 && p->pad_value == 0;
  int32_t b, oy, ox, oc, fy, fx, k;
  if (row_begin >= row_end) return;
  for (b = row_begin / os->h; b < os->n && b * os->h < row_end; ++b) /* rows [begin, end) */
    for (oy = b == row_begin / os->h ? row_begin % os->h : 0;
         oy < os->h && b * os->h + oy < row_end; ++oy)
      for (ox = 0; ox < os->w; ++ox) {
        const size_t pix = ((size_t)b * os->h + oy) * os->w + ox;
        int kase = 0;
        int32_t X = 0, Y = 0;
        const int edge =
            same_zero && kfda_lce_bconv2d_edge_case(p, is, os, fh, fw, oy, ox, &kase, &X, &Y) == 0;
        if (p->output_kind == KFDA_BCONV_OUT_PACKED) {
          uint32_t *o = (uint32_t *)out + pix * out_words;
          for (k = 0; k < out_words; ++k) o[k] = 0;
        }
        for (oc = 0; oc < cout; ++oc) {
          const int32_t g = oc / cout_per_group;
          const uint32_t *f = (const uint32_t *)filter + (size_t)oc * fh * fw * gw;
          int32_t accum = 0;
          for (fy = 0; fy < fh; ++fy) {
            const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dil_h;
            for (fx = 0; fx < fw; ++fx) {
              const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dil_w;
              const uint32_t *w = f + ((size_t)fy * fw + fx) * gw;
              if (iy >= 0 && iy < is->h && ix >= 0 && ix < is->w) {
                const uint32_t *x = (const uint32_t *)in +
                                    (((size_t)b * is->h + iy) * is->w + ix) * in_words +
                                    (size_t)g * gw;
                for (k = 0; k < gw; ++k) accum += kfda_popcount32(x[k] ^ w[k]);
              } else {
                for (k = 0; k < gw; ++k) accum += kfda_popcount32(w[k]);
              }
            }
          }
          if (p->output_kind == KFDA_BCONV_OUT_PACKED) {
            if (accum > thresholds[oc])
              ((uint32_t *)out)[pix * out_words + (oc >> 5)] |= 1u << (oc & 31);
          } else {
            int32_t x = accum * 2;
            float y;
            if (x > p->clamp_max) x = p->clamp_max;
            if (x < p->clamp_min) x = p->clamp_min;
            y = (float)x * out_mul[oc] + out_bias[oc];
            if (p->output_kind == KFDA_BCONV_OUT_F32) {
              if (edge) {
                const float m = -1.0f * raw_mul[oc];
                y += m * (float)kfda_lce_bconv2d_edge_correction(p, f, fh, fw, gw, cin_per_group,
                                                                 kase, X, Y);
              }
              ((float *)out)[pix * cout + oc] = y;
            } else {
              float r = roundf(y);
              if (r > 127.0f) r = 127.0f;
              if (!(r >= -128.0f)) r = -128.0f; /* also NaN */
              ((int8_t *)out)[pix * cout + oc] = (int8_t)r;
            }
          }
        }
      }
}
