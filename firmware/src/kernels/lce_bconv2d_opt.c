/*
 * lce_bconv2d_opt.c - LceBconv2d, optimized (held bit for bit to
 * lce_bconv2d_ref.c by tests/firmware/test_kernels_opt.py): the driver.
 *
 * Per output pixel the receptive field is gathered once into a contiguous
 * column of K_words packed words (im2col of packed words; taps outside the
 * image are 0 words, which is what the reference counts: popcount(0 ^ w)).
 * Each output channel's filter is already contiguous (OHWI), so the inner
 * loop is popcount(col XOR filter) over K_words words, for several output
 * channels at once so every column word is loaded once per block. The inner
 * loops live in one file per architecture (lce_bconv2d_internal.h says which):
 *
 *   arm64 / armv7 NEON (lce_bconv2d_opt_neon.c): 4 pixels x 16 (arm64) or 8
 *     (armv7) channels per pass over the filter prepare repacked
 *     (kfda_lce_bconv2d_repack: word k of 16 channels side by side), each
 *     pixel's word broadcast: no column for a pixel whose taps lie inside the
 *     image (its window is read where it lies, a run of words per filter row),
 *     a column only for border pixels; without the repacked filter (or a
 *     receptive field of 4096 words or more), one pixel at a time.
 *   Cortex-M4/M7/M33/M55, Thumb-2 with DSP (lce_bconv2d_opt_thumb2.S): a
 *     carry-save loop per 3 words; for kw a multiple of 9 (3x3 over any
 *     channel count, FPU builds) an adder tree per channel (per 18-word block
 *     beyond kw 18) with the float transform in the same assembly.
 *   everything else (lce_bconv2d_opt_portable.c; Cortex-M0+/M3 have no
 *     popcount instruction either): 2 channels per pass, a carry-save adder
 *     per 3 words in C.
 *
 * This file: columns, pixel and row loops, LCE's edge correction, the output
 * transforms (the reference's, verbatim) and which inner loop runs. Grouped
 * convolutions (words per group != input words) go to the reference.
 */
#include <math.h>
#include <string.h>

#include "kfda/kernels.h"
#include "lce_bconv2d_internal.h"
#include "popcount.h"

#if defined(__GNUC__)
#define KFDA_NOINLINE __attribute__((noinline)) /* own registers for the hot loop */
#else
#define KFDA_NOINLINE
#endif

#if KFDA_BCONV_BCAST
#include <arm_neon.h> /* copy_zero_run, transform4_f32 */
#endif

size_t kfda_lce_bconv2d_scratch_bytes(const kfda_shape4 *filter_shape) {
  const size_t kw = (size_t)filter_shape->h * (size_t)filter_shape->w * (size_t)filter_shape->c;
#if KFDA_BCONV_BCAST
  return 4u * kw * 4u; /* the columns of 4 border pixels */
#else
  return kw * 4u;
#endif
}

/* The broadcast kernel's 16-bit lanes hold up to 16 per word: below 4096 words. */
#define KFDA_BCAST_MAX_WORDS 4096

size_t kfda_lce_bconv2d_repacked_bytes(const kfda_shape4 *filter_shape) {
#if KFDA_BCONV_BCAST
  const size_t kw = (size_t)filter_shape->h * (size_t)filter_shape->w * (size_t)filter_shape->c;
  const size_t cout4 = ((size_t)filter_shape->n + 3u) & ~(size_t)3u;
  return kw < KFDA_BCAST_MAX_WORDS ? cout4 * kw * 4u : 0;
#else
  (void)filter_shape;
  return 0;
#endif
}

/* Per block of 16 output channels (the last: the rest, rounded up to 4 with zero
 * words), word k of each channel side by side: [k][16]. Block c (a multiple of 16)
 * starts at c * kw, so a slice of whole blocks is the same layout. */
void kfda_lce_bconv2d_repack(const kfda_shape4 *filter_shape, const int32_t *filter,
                             int32_t *repacked) {
  const int32_t kw = filter_shape->h * filter_shape->w * filter_shape->c, cout = filter_shape->n;
  const int32_t cout4 = (cout + 3) & ~3;
  int32_t c, k, j;
  for (c = 0; c < cout4; c += 16) {
    const int32_t width = cout4 - c < 16 ? cout4 - c : 16;
    int32_t *block = repacked + (size_t)c * (size_t)kw;
    for (k = 0; k < kw; ++k)
      for (j = 0; j < width; ++j)
        block[(size_t)k * (size_t)width + (size_t)j] =
            c + j < cout ? filter[(size_t)(c + j) * (size_t)kw + (size_t)k] : 0;
  }
}

/* acc[j] = popcount(x XOR w_j) over n words, w_j = w + j * stride,
 * j < KFDA_BCONV_OC_BLOCK: this architecture's inner loop. */
static inline void xor_popcount_block(const uint32_t *x, const uint32_t *w, size_t stride,
                                      int32_t n, int32_t *acc) {
#if KFDA_BCONV_NEON
  kfda_bconv_popcount_neon(x, w, stride, n, acc);
#elif KFDA_BCONV_THUMB2
  (void)stride;
  kfda_bconv_popcount_thumb2(x, w, n, KFDA_BCONV_OC_BLOCK, acc);
#else
  kfda_bconv_popcount_portable(x, w, stride, n, acc);
#endif
}

#if !KFDA_BCONV_THUMB2
/* One output channel on its own (the tail when cout % KFDA_BCONV_OC_BLOCK != 0). */
static int32_t xor_popcount(const uint32_t *x, const uint32_t *w, int32_t n) {
  int32_t i, t = 0;
  for (i = 0; i < n; ++i) t += kfda_popcount32(x[i] ^ w[i]);
  return t;
}
#endif

typedef struct {
  const kfda_bconv_params *p;
  const kfda_shape4 *is, *os;
  const uint32_t *in, *filter;
  const float *out_mul, *out_bias, *raw_mul;
  const int32_t *thresholds;
  void *out;
  int32_t cout, fh, fw, gw, kw, out_words, same_zero, qmin, qmax, noclamp;
} bconv_ctx;

typedef struct {
  size_t pix;
  int edge, kase;
  int32_t X, Y;
} bconv_pixel;

#if KFDA_BCONV_TREE
/* kw the adder-tree kernels take: a multiple of 9 */
static inline int tree_kw(int32_t kw) { return kw > 0 && kw % 9 == 0; }

/* 4 * nb4 channels from filter w through the adder-tree kernel for t->kw */
static inline void tree_call(const bconv_ctx *t, const uint32_t *col, const uint32_t *w,
                             int32_t nb4, void *out, const float *mul, const float *bias) {
  if (t->kw == 18)
    kfda_bconv_k18_thumb2(col, w, nb4, out, mul, bias);
  else if (t->kw == 9)
    kfda_bconv_k9_thumb2(col, w, nb4, out, mul, bias);
  else
    kfda_bconv_kn_thumb2(col, w, nb4, out, mul, bias, t->kw);
}
#endif

/* n words from x to c: 3x3 rows of 1 or 2 words per tap in one block move. */
static inline void copy_words(uint32_t *c, const uint32_t *x, int32_t n) {
  int32_t k;
  if (n == 6) {
    memcpy(c, x, 24);
    return;
  }
  if (n == 3) {
    memcpy(c, x, 12);
    return;
  }
  for (k = 0; k + 2 <= n; k += 2) memcpy(c + k, x + k, 8); /* 64-bit moves */
  if (k < n) c[k] = x[k];
}

#if KFDA_BCONV_BCAST
/* n words from r to c, then z zero words after them (NEON moves). */
static inline uint32_t *copy_zero_run(uint32_t *c, const uint32_t *r, int32_t n, int32_t z) {
  int32_t k;
  for (k = 0; k + 4 <= n; k += 4) vst1q_u32(c + k, vld1q_u32(r + k));
  if (k + 2 <= n) {
    vst1_u32(c + k, vld1_u32(r + k));
    k += 2;
  }
  if (k < n) {
    c[k] = r[k];
    ++k;
  }
  c += n;
  for (k = 0; k + 4 <= z; k += 4) vst1q_u32(c + k, vdupq_n_u32(0));
  for (; k < z; ++k) c[k] = 0;
  return c + z;
}

#endif

/* Output transform of channels [oc, oc + nb) of one pixel (the reference's,
 * verbatim; the float case without edge correction hoisted). */
static void transform(const bconv_ctx *t, const bconv_pixel *px, int32_t oc, int32_t nb,
                      const int32_t *acc) {
  const kfda_bconv_params *p = t->p;
  const size_t pix = px->pix;
  const int32_t cout = t->cout;
  int32_t j;
  if (p->output_kind == KFDA_BCONV_OUT_F32 && !px->edge) {
    float *o = (float *)t->out + pix * cout + oc;
    const float *m = t->out_mul + oc, *bi = t->out_bias + oc;
    const int32_t qmin = t->qmin, qmax = t->qmax;
    if (t->noclamp) { /* 0 <= 2 * acc <= 64 * kw: the clamp cannot bite */
      for (j = 0; j < nb; ++j) o[j] = (float)(acc[j] * 2) * m[j] + bi[j];
      return;
    }
    for (j = 0; j < nb; ++j) {
      int32_t x = acc[j] * 2;
      x = x > qmax ? qmax : x;
      x = x < qmin ? qmin : x;
      o[j] = (float)x * m[j] + bi[j];
    }
    return;
  }
  for (j = 0; j < nb; ++j) {
    const int32_t c_ = oc + j;
    const int32_t accum = acc[j];
    if (p->output_kind == KFDA_BCONV_OUT_PACKED) {
      if (accum > t->thresholds[c_])
        ((uint32_t *)t->out)[pix * t->out_words + (c_ >> 5)] |= 1u << (c_ & 31);
    } else {
      int32_t x = accum * 2;
      float y;
      if (x > t->qmax) x = t->qmax;
      if (x < t->qmin) x = t->qmin;
      y = (float)x * t->out_mul[c_] + t->out_bias[c_];
      if (p->output_kind == KFDA_BCONV_OUT_F32) {
        if (px->edge) {
          const float m = -1.0f * t->raw_mul[c_];
          y += m * (float)kfda_lce_bconv2d_edge_correction(p, t->filter + (size_t)c_ * t->kw, t->fh,
                                                           t->fw, t->gw, p->channels_in, px->kase,
                                                           px->X, px->Y);
        }
        ((float *)t->out)[pix * cout + c_] = y;
      } else {
        float r = roundf(y);
        if (r > 127.0f) r = 127.0f;
        if (!(r >= -128.0f)) r = -128.0f; /* also NaN */
        ((int8_t *)t->out)[pix * cout + c_] = (int8_t)r;
      }
    }
  }
}

/* Channels [oc0, cout) of one pixel whose column is col (KFDA_BCONV_OC_BLOCK at a
 * time). */
static void channels_one_pixel(const bconv_ctx *t, const bconv_pixel *px, const uint32_t *col,
                               int32_t oc0) {
  const int32_t kw = t->kw, cout = t->cout;
  int32_t acc[KFDA_BCONV_OC_BLOCK], oc;
#if KFDA_BCONV_TREE
  if (tree_kw(kw) && oc0 == 0 && cout >= 4) { /* whole blocks of 4 channels */
    const int32_t n4 = cout & ~3;
    if (t->p->output_kind == KFDA_BCONV_OUT_F32 && !px->edge && t->noclamp) {
      tree_call(t, col, t->filter, n4 >> 2, (float *)t->out + px->pix * cout, t->out_mul,
                t->out_bias);
    } else {
      for (oc = 0; oc < n4; oc += KFDA_BCONV_OC_BLOCK) {
        const int32_t nb = n4 - oc < KFDA_BCONV_OC_BLOCK ? n4 - oc : KFDA_BCONV_OC_BLOCK;
        tree_call(t, col, t->filter + (size_t)oc * kw, nb >> 2, acc, NULL, NULL);
        transform(t, px, oc, nb, acc);
      }
    }
    oc0 = n4;
  }
#endif
  for (oc = oc0; oc < cout; oc += KFDA_BCONV_OC_BLOCK) {
    const uint32_t *f = t->filter + (size_t)oc * kw;
    const int32_t nb = cout - oc < KFDA_BCONV_OC_BLOCK ? cout - oc : KFDA_BCONV_OC_BLOCK;
    if (nb == KFDA_BCONV_OC_BLOCK) {
      xor_popcount_block(col, f, (size_t)kw, kw, acc);
    } else {
#if KFDA_BCONV_THUMB2
      kfda_bconv_popcount_thumb2(col, f, kw, nb, acc);
#else
      int32_t j;
      for (j = 0; j < nb; ++j) acc[j] = xor_popcount(col, f + (size_t)j * kw, kw);
#endif
    }
    transform(t, px, oc, nb, acc);
  }
}

#if KFDA_BCONV_BCAST_F32
/* Float output without edge correction, nblk x 4 channels of one pixel (acc
 * strided by 16): the scalar transform's operations lane by lane (clamp,
 * convert, multiply, add: no fused rounding). */
static void transform4_f32(const bconv_ctx *t, float *o, int32_t oc, int32_t nblk,
                           const int32_t *acc) {
  const int32x4_t qmax = vdupq_n_s32(t->qmax), qmin = vdupq_n_s32(t->qmin);
  const float *m = t->out_mul + oc, *bi = t->out_bias + oc;
  int32_t blk;
  if (t->noclamp) { /* 0 <= 2 * acc <= 64 * kw: the clamp cannot bite */
    for (blk = 0; blk < nblk; ++blk, acc += 16, o += 4, m += 4, bi += 4) {
      const float32x4_t y = vmulq_f32(vcvtq_f32_s32(vshlq_n_s32(vld1q_s32(acc), 1)), vld1q_f32(m));
      vst1q_f32(o, vaddq_f32(y, vld1q_f32(bi)));
    }
    return;
  }
  for (blk = 0; blk < nblk; ++blk, acc += 16, o += 4, m += 4, bi += 4) {
    int32x4_t x = vshlq_n_s32(vld1q_s32(acc), 1);
    float32x4_t y;
    x = vmaxq_s32(vminq_s32(x, qmax), qmin);
    y = vmulq_f32(vcvtq_f32_s32(x), vld1q_f32(m));
    vst1q_f32(o, vaddq_f32(y, vld1q_f32(bi)));
  }
}
#elif KFDA_BCONV_BCAST
/* armv7: the same in scalar VFP arithmetic (IEEE; its NEON float is not), one loop
 * without transform()'s per-channel dispatch. */
static void transform4_f32(const bconv_ctx *t, float *o, int32_t oc, int32_t nblk,
                           const int32_t *acc) {
  const float *m = t->out_mul + oc, *bi = t->out_bias + oc;
  int32_t blk, j;
  for (blk = 0; blk < nblk; ++blk, acc += 16, o += 4, m += 4, bi += 4)
    for (j = 0; j < 4; ++j) {
      int32_t x = acc[j] * 2;
      if (!t->noclamp) {
        x = x < t->qmax ? x : t->qmax;
        x = x > t->qmin ? x : t->qmin;
      }
      o[j] = (float)x * m[j] + bi[j];
    }
}
#endif

/* The column of a pixel with taps outside the image (or dilated along x), tap
 * by tap: those taps are 0 words. img: the pixel's image. (GCC would turn the
 * few-word loops into memset/memcpy calls that cost more than the loops.) */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static KFDA_NOINLINE void border_column(const bconv_ctx *t, const uint32_t *img, int32_t iy0,
                                        int32_t ix0, uint32_t *c) {
  const kfda_bconv_params *p = t->p;
  const int32_t ih = t->is->h, iw = t->is->w, gw = t->gw, fw = t->fw;
  /* dil_w 1: taps [lo, hi) of a row lie inside, a run of words */
  const int32_t lo = ix0 < 0 ? (-ix0 < fw ? -ix0 : fw) : 0;
  const int32_t hi = iw - ix0 < fw ? (iw - ix0 > lo ? iw - ix0 : lo) : fw;
  int32_t fy, fx, k;
  for (fy = 0; fy < t->fh; ++fy, c += fw * gw) {
    const int32_t iy = iy0 + fy * p->dil_h;
    const uint32_t *row;
    if (iy < 0 || iy >= ih) {
#if KFDA_BCONV_BCAST
      copy_zero_run(c, img, 0, fw * gw);
#else
      for (k = 0; k < fw * gw; ++k) c[k] = 0;
#endif
      continue;
    }
    row = img + (size_t)iy * (size_t)iw * (size_t)gw;
#if KFDA_BCONV_BCAST
    if (p->dil_w == 1) { /* zeros, the run inside, zeros: NEON moves */
      const uint32_t *run = hi > lo ? row + (size_t)(ix0 + lo) * (size_t)gw : row;
      copy_zero_run(copy_zero_run(c, row, 0, lo * gw), run, (hi - lo) * gw, (fw - hi) * gw);
      continue;
    }
#endif
    if (p->dil_w == 1) {
      for (k = 0; k < lo * gw; ++k) c[k] = 0;
      if (hi > lo) {
        const uint32_t *x = row + (size_t)(ix0 + lo) * (size_t)gw;
        for (; k < hi * gw; ++k) c[k] = x[k - lo * gw];
      }
      for (; k < fw * gw; ++k) c[k] = 0;
      continue;
    }
    for (fx = 0; fx < fw; ++fx) {
      const int32_t ix = ix0 + fx * p->dil_w;
      if (ix >= 0 && ix < iw)
        for (k = 0; k < gw; ++k) c[fx * gw + k] = row[(size_t)ix * (size_t)gw + k];
      else
        for (k = 0; k < gw; ++k) c[fx * gw + k] = 0;
    }
  }
}

#if KFDA_BCONV_TREE
/* n interior pixels of one output row, float output without clamp or edge
 * correction, all channels through the adder-tree kernel: x is the first
 * pixel's first tap, xstep words to the next pixel. */
static KFDA_NOINLINE void tree_run(const bconv_ctx *t, const uint32_t *x, size_t xstep, int32_t n,
                                   float *o, uint32_t *col) {
  const size_t drow = (size_t)t->p->dil_h * (size_t)t->is->w * (size_t)t->gw;
  const int32_t fh = t->fh, row_words = t->fw * t->gw, cout = t->cout;
  if (fh == 3 && (t->kw == 18 || t->kw == 9)) { /* 3 rows: the assembly gathers */
    kfda_bconv_tree_gather_fn *const g =
        t->kw == 18 ? kfda_bconv_k18_thumb2_gather : kfda_bconv_k9_thumb2_gather;
    for (; n > 0; --n, x += xstep, o += cout)
      g(col, t->filter, cout >> 2, o, t->out_mul, t->out_bias, x, drow * 4u);
    return;
  }
  for (; n > 0; --n, x += xstep, o += cout) {
    const uint32_t *r = x;
    uint32_t *c = col;
    int32_t fy;
    for (fy = 0; fy < fh; ++fy, r += drow, c += row_words) copy_words(c, r, row_words);
    tree_call(t, col, t->filter, cout >> 2, o, t->out_mul, t->out_bias);
  }
}
#endif

/* Pixels [pix, npix), one at a time, output row by output row: a pixel whose
 * taps all lie inside the image (dil_w 1) copies fh runs of fw * gw words. */
static KFDA_NOINLINE void pixels_one_by_one(const bconv_ctx *t, size_t pix, size_t npix,
                                            uint32_t *col) {
  const kfda_bconv_params *p = t->p;
  const int32_t ow = t->os->w, oh = t->os->h, ih = t->is->h, iw = t->is->w, gw = t->gw;
  const int32_t fh = t->fh, fw = t->fw, sw = p->stride_w;
  const int32_t row_words = fw * gw, eff_h = (fh - 1) * p->dil_h + 1;
  const int32_t eff_w = p->dil_w == 1 ? fw : iw + 1; /* dilated along x: never inside */
  const size_t drow = (size_t)p->dil_h * (size_t)iw * (size_t)gw;
  const int edges = t->same_zero && p->output_kind == KFDA_BCONV_OUT_F32;
#if KFDA_BCONV_TREE /* runs of interior pixels straight to the adder-tree kernel */
  const int runs = tree_kw(t->kw) && p->output_kind == KFDA_BCONV_OUT_F32 && !edges && t->noclamp &&
                   t->cout >= 4 && t->cout % 4 == 0;
#endif
  int32_t ox = (int32_t)(pix % (size_t)ow), oy = (int32_t)((pix / (size_t)ow) % (size_t)oh);
  size_t b = pix / ((size_t)ow * (size_t)oh);
  bconv_pixel px;
  px.kase = 0;
  px.X = px.Y = 0;
  while (pix < npix) {
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const uint32_t *img = t->in + b * (size_t)ih * (size_t)iw * (size_t)gw;
    const int rows_in = iy0 >= 0 && iy0 + eff_h <= ih;
    const int32_t ox_end = (size_t)(ow - ox) <= npix - pix ? ow : ox + (int32_t)(npix - pix);
    for (; ox < ox_end; ++ox, ++pix) {
      const int32_t ix0 = ox * sw - p->pad_w;
      if (rows_in && ix0 >= 0 && ix0 + eff_w <= iw) {
        const uint32_t *x = img + ((size_t)iy0 * (size_t)iw + (size_t)ix0) * (size_t)gw;
        uint32_t *c = col;
        int32_t fy;
#if KFDA_BCONV_TREE
        if (runs) { /* this pixel and the next ones still inside */
          const int32_t n =
              (iw - eff_w - ix0) / sw + 1 < ox_end - ox ? (iw - eff_w - ix0) / sw + 1 : ox_end - ox;
          tree_run(t, x, (size_t)sw * (size_t)gw, n, (float *)t->out + pix * t->cout, col);
          ox += n - 1;
          pix += (size_t)n - 1;
          continue;
        }
#endif
        for (fy = 0; fy < fh; ++fy, x += drow, c += row_words) copy_words(c, x, row_words);
      } else {
        border_column(t, img, iy0, ix0, col);
#if KFDA_BCONV_TREE
        if (runs) {
          tree_call(t, col, t->filter, t->cout >> 2, (float *)t->out + pix * t->cout, t->out_mul,
                    t->out_bias);
          continue;
        }
#endif
      }
      px.pix = pix;
      px.edge = edges && kfda_lce_bconv2d_edge_case(p, t->is, t->os, fh, fw, oy, ox, &px.kase,
                                                    &px.X, &px.Y) == 0;
      if (p->output_kind == KFDA_BCONV_OUT_PACKED) {
        uint32_t *o = (uint32_t *)t->out + pix * t->out_words;
        int32_t k;
        for (k = 0; k < t->out_words; ++k) o[k] = 0;
      }
      channels_one_pixel(t, &px, col, 0);
    }
    ox = 0;
    if (++oy == oh) {
      oy = 0;
      ++b;
    }
  }
}

#if KFDA_BCONV_BCAST
/* Whether every m + m is finite (then (float)acc * (m + m) is (float)(2 acc) * m). */
static int doubles_finite(const float *m, int32_t n) {
  int32_t i;
  for (i = 0; i < n; ++i)
    if (!(fabsf(m[i]) < 0x1p127f)) return 0;
  return 1;
}

/* The walk of bcast_pixels4 over consecutive pixels: the geometry, computed once per
 * call, and where the next pixel is. */
typedef struct {
  const uint32_t *img;    /* the next pixel's image */
  int32_t oy, ox;         /* the next pixel */
  int32_t iy0, ix0;       /* its window's first tap */
  int32_t iy_max, ix_max; /* the largest iy0, ix0 whose window lies inside (dil_w 1) */
  size_t in_row, image;   /* words between filter rows, between images */
  int32_t row_words, edges;
} pixel_walk;

static void pixel_walk_init(const bconv_ctx *t, pixel_walk *k, size_t pix) {
  const kfda_bconv_params *p = t->p;
  const size_t row = pix / (size_t)t->os->w, b = row / (size_t)t->os->h;
  const int32_t ih = t->is->h, iw = t->is->w;
  k->ox = (int32_t)(pix - row * (size_t)t->os->w);
  k->oy = (int32_t)(row - b * (size_t)t->os->h);
  k->iy0 = k->oy * p->stride_h - p->pad_h;
  k->ix0 = k->ox * p->stride_w - p->pad_w;
  k->iy_max = ih - 1 - (t->fh - 1) * p->dil_h;
  k->ix_max = p->dil_w == 1 ? iw - t->fw : -1; /* dilated along x: always a column */
  k->in_row = (size_t)p->dil_h * (size_t)iw * (size_t)t->gw;
  k->image = (size_t)ih * (size_t)iw * (size_t)t->gw;
  k->img = t->in + b * k->image;
  k->row_words = t->fw * t->gw;
  k->edges = t->same_zero && p->output_kind == KFDA_BCONV_OUT_F32;
}

/* border_column for dil_w 1 with the walk's geometry: per filter row the taps inside
 * the image as one run of words, 0 words around it (or a row of 0 words). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static void border_rows(const bconv_ctx *t, const pixel_walk *k, int32_t iy0, int32_t ix0,
                        uint32_t *c) {
  const int32_t fw = t->fw, gw = t->gw, iw = t->is->w, ih = t->is->h, dh = t->p->dil_h;
  const int32_t lo = ix0 < 0 ? (-ix0 < fw ? -ix0 : fw) : 0;
  const int32_t hi = iw - ix0 < fw ? (iw - ix0 > lo ? iw - ix0 : lo) : fw;
  const int32_t n_lo = lo * gw, n_in = (hi - lo) * gw, n_row = k->row_words;
  const size_t first = (size_t)(hi > lo ? ix0 + lo : 0) * (size_t)gw; /* the run's start */
  int32_t fy, iy, j;
  for (fy = 0, iy = iy0; fy < t->fh; ++fy, iy += dh, c += n_row) {
    const uint32_t *r;
    if (iy < 0 || iy >= ih) {
      for (j = 0; j < n_row; ++j) c[j] = 0;
      continue;
    }
    r = k->img + (size_t)iy * (size_t)iw * (size_t)gw + first;
    for (j = 0; j < n_lo; ++j) c[j] = 0;
    for (j = 0; j < n_in; ++j) c[n_lo + j] = r[j];
    for (j = n_lo + n_in; j < n_row; ++j) c[j] = 0;
  }
}

/* The walk's next 4 pixels (pix on) as kfda_bconv_bcast_neon reads them, fh runs of
 * fw * gw words each: where they lie in the input when every tap is inside the image
 * (dil_w 1; no edge correction then: the field does not reach the padding), else the
 * pixel's column (border_column) in col + q * kw, with LCE's edge correction. */
static KFDA_NOINLINE void bcast_pixels4(const bconv_ctx *t, pixel_walk *k, size_t pix,
                                        uint32_t *col, const uint32_t **x, size_t *drow,
                                        bconv_pixel *pxs) {
  const kfda_bconv_params *p = t->p;
  const size_t iw = (size_t)t->is->w, gw = (size_t)t->gw;
  int32_t q, j;
  if (k->ox + 4 < t->os->w && k->iy0 >= 0 && k->iy0 <= k->iy_max && k->ix0 >= 0 &&
      k->ix0 + 3 * p->stride_w <= k->ix_max && p->output_kind != KFDA_BCONV_OUT_PACKED) {
    /* 4 interior pixels of one output row, the row going on after them */
    const size_t step = (size_t)p->stride_w * gw;
    x[0] = k->img + ((size_t)k->iy0 * iw + (size_t)k->ix0) * gw;
    x[1] = x[0] + step;
    x[2] = x[1] + step;
    x[3] = x[2] + step;
    for (q = 0; q < 4; ++q) {
      drow[q] = k->in_row;
      pxs[q].pix = pix + (size_t)q;
      pxs[q].edge = 0;
    }
    k->ox += 4;
    k->ix0 += 4 * p->stride_w;
    return;
  }
  for (q = 0; q < 4; ++q) {
    const int32_t iy0 = k->iy0, ix0 = k->ix0;
    bconv_pixel *px = &pxs[q];
    px->pix = pix + (size_t)q;
    px->edge = 0;
    if (iy0 >= 0 && iy0 <= k->iy_max && ix0 >= 0 && ix0 <= k->ix_max) {
      x[q] = k->img + ((size_t)iy0 * iw + (size_t)ix0) * gw;
      drow[q] = k->in_row;
    } else {
      uint32_t *c = col + (size_t)q * (size_t)t->kw;
      if (p->dil_w == 1)
        border_rows(t, k, iy0, ix0, c);
      else
        border_column(t, k->img, iy0, ix0, c);
      x[q] = c;
      drow[q] = (size_t)k->row_words;
      px->kase = 0;
      px->X = px->Y = 0;
      px->edge = k->edges && kfda_lce_bconv2d_edge_case(p, t->is, t->os, t->fh, t->fw, k->oy, k->ox,
                                                        &px->kase, &px->X, &px->Y) == 0;
    }
    if (p->output_kind == KFDA_BCONV_OUT_PACKED) {
      uint32_t *o = (uint32_t *)t->out + px->pix * t->out_words;
      for (j = 0; j < t->out_words; ++j) o[j] = 0;
    }
    k->ix0 += p->stride_w;
    if (++k->ox == t->os->w) {
      k->ox = 0;
      k->ix0 = -p->pad_w;
      k->iy0 += p->stride_h;
      if (++k->oy == t->os->h) {
        k->oy = 0;
        k->iy0 = -p->pad_h;
        k->img += k->image;
      }
    }
  }
}
#endif

void kfda_lce_bconv2d_opt(const kfda_bconv_params *p, const kfda_shape4 *is, const int32_t *in,
                          const kfda_shape4 *fs, const int32_t *filter, const float *out_mul,
                          const float *out_bias, const int32_t *thresholds, const float *raw_mul,
                          const kfda_shape4 *os, void *out, void *scratch, int32_t row_begin,
                          int32_t row_end) {
  bconv_ctx t;
  uint32_t *col = (uint32_t *)scratch;
  const size_t npix = (size_t)row_end * (size_t)os->w; /* pixels up to the range's end */
  size_t pix = (size_t)row_begin * (size_t)os->w;
  if (fs->c != is->c || scratch == NULL) {
    kfda_lce_bconv2d_ref(p, is, in, fs, filter, out_mul, out_bias, thresholds, raw_mul, os, out,
                         row_begin, row_end);
    return;
  }
  t.p = p;
  t.is = is;
  t.os = os;
  t.in = (const uint32_t *)in;
  t.filter = (const uint32_t *)filter;
  t.out_mul = out_mul;
  t.out_bias = out_bias;
  t.raw_mul = raw_mul;
  t.thresholds = thresholds;
  t.out = out;
  t.cout = fs->n;
  t.fh = fs->h;
  t.fw = fs->w;
  t.gw = fs->c;
  t.kw = fs->h * fs->w * fs->c; /* words per output channel */
  t.out_words = KFDA_PACKED_WORDS(t.cout);
  t.same_zero = p->padding == 0 && p->pad_value == 0;
  t.qmin = p->clamp_min;
  t.qmax = p->clamp_max;
  t.noclamp = t.qmin <= 0 && (int64_t)t.qmax >= 64 * (int64_t)t.kw;
#if KFDA_BCONV_BCAST
  if (p->filter_repacked && t.kw < KFDA_BCAST_MAX_WORDS) {
    const uint32_t *x[4];
    size_t drow[4];
    bconv_pixel px4[4];
    int32_t acc[16 * 16];
    float *o4[4];
    pixel_walk walk;
    const int f32 = p->output_kind == KFDA_BCONV_OUT_F32;
    const int fusable = KFDA_BCONV_BCAST_F32 && f32 && t.noclamp && t.cout % 4 == 0 &&
                        doubles_finite(out_mul, t.cout);
    pixel_walk_init(&t, &walk, pix);
    for (; pix + 4 <= npix; pix += 4) {
      int32_t q, oc, oc1;
      int fused;
      bcast_pixels4(&t, &walk, pix, col, x, drow, px4);
      fused = fusable && !px4[0].edge && !px4[1].edge && !px4[2].edge && !px4[3].edge;
      if (fused) { /* all channels in one call, straight to the output */
        o4[0] = (float *)out + pix * t.cout;
        o4[1] = o4[0] + t.cout;
        o4[2] = o4[1] + t.cout;
        o4[3] = o4[2] + t.cout;
        kfda_bconv_bcast_neon(x, drow, t.fh, t.fw * t.gw, (const uint32_t *)p->filter_repacked,
                              t.cout / 4, NULL, o4, out_mul, out_bias);
        continue;
      }
      for (oc = 0; oc < t.cout; oc = oc1) { /* up to 64 channels per call */
        const int32_t ngroups = (t.cout - oc + 3) / 4 < 16 ? (t.cout - oc + 3) / 4 : 16;
        const uint32_t *w = (const uint32_t *)p->filter_repacked + (size_t)oc * (size_t)t.kw;
        int32_t g, whole;
        oc1 = oc + 4 * ngroups < t.cout ? oc + 4 * ngroups : t.cout;
        kfda_bconv_bcast_neon(x, drow, t.fh, t.fw * t.gw, w, ngroups, acc, NULL, NULL, NULL);
        whole = (oc1 - oc) / 4;
        for (q = 0; q < 4; ++q) {
          if (f32 && !px4[q].edge) {
            transform4_f32(&t, (float *)out + (pix + q) * t.cout + oc, oc, whole, acc + 4 * q);
            if (4 * whole < oc1 - oc)
              transform(&t, &px4[q], oc + 4 * whole, oc1 - oc - 4 * whole,
                        acc + 16 * whole + 4 * q);
            continue;
          }
          for (g = 0; g < ngroups; ++g)
            transform(&t, &px4[q], oc + 4 * g, oc1 - oc - 4 * g < 4 ? oc1 - oc - 4 * g : 4,
                      acc + 16 * g + 4 * q);
        }
      }
    }
  }
#endif
  if (pix < npix) pixels_one_by_one(&t, pix, npix, col);
}

void kfda_lce_bconv2d(const kfda_bconv_params *p, const kfda_shape4 *is, const int32_t *in,
                      const kfda_shape4 *fs, const int32_t *filter, const float *out_mul,
                      const float *out_bias, const int32_t *thresholds, const float *raw_mul,
                      const kfda_shape4 *os, void *out, void *scratch, int32_t row_begin,
                      int32_t row_end) {
#if defined(KFDA_BENCH_SKIP_BCONV) /* benchmarks only: the rest of the model's cost */
  (void)p;
  (void)is;
  (void)in;
  (void)fs;
  (void)filter;
  (void)out_mul;
  (void)out_bias;
  (void)thresholds;
  (void)raw_mul;
  (void)os;
  (void)out;
  (void)scratch;
  (void)row_begin;
  (void)row_end;
#elif defined(KFDA_KERNELS_REF)
  (void)scratch;
  kfda_lce_bconv2d_ref(p, is, in, fs, filter, out_mul, out_bias, thresholds, raw_mul, os, out,
                       row_begin, row_end);
#else
  kfda_lce_bconv2d_opt(p, is, in, fs, filter, out_mul, out_bias, thresholds, raw_mul, os, out,
                       scratch, row_begin, row_end);
#endif
}
