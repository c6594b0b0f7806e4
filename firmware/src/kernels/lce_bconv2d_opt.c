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
 *     (kfda_lce_bconv2d_repack: word k of 16 channels side by side, the taps in
 *     [fx][fy][c] order), each pixel's word broadcast. Each output row's fh input
 *     rows are copied once into a slot in that order ([x][fy][c], padding as 0
 *     words), so every window, border or not, is one run of kw words (bcast_rows);
 *     a 1x1 output map counts only its taps inside the image, the padded taps'
 *     popcounts computed at prepare; without the repacked filter (a receptive
 *     field of 4096 words or more), one pixel at a time.
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

/* The broadcast kernel's 16-bit lanes hold up to 16 per word: below 4096 words. */
#define KFDA_BCAST_MAX_WORDS 4096

size_t kfda_lce_bconv2d_scratch_bytes(const kfda_bconv_params *p, const kfda_shape4 *filter_shape,
                                      const kfda_shape4 *out_shape) {
  const size_t kw = (size_t)filter_shape->h * (size_t)filter_shape->w * (size_t)filter_shape->c;
#if KFDA_BCONV_BCAST
  if (kw < KFDA_BCAST_MAX_WORDS) { /* 4 slots (bcast_rows), each holding a window */
    const size_t nx = (size_t)(out_shape->w - 1) * (size_t)p->stride_w +
                      (size_t)(filter_shape->w - 1) * (size_t)p->dil_w + 1u;
    return 4u * nx * (size_t)filter_shape->h * (size_t)filter_shape->c * 4u;
  }
#else
  (void)p;
  (void)out_shape;
#endif
  return kw * 4u; /* one pixel's column */
}

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
 * words), tap word k of each channel side by side: [k][16], the taps in the slots'
 * order [fx][fy][c] (bcast_rows; the filter's own is [fy][fx][c]). Block c (a multiple
 * of 16) starts at c * kw, so a slice of whole blocks is the same layout. */
void kfda_lce_bconv2d_repack(const kfda_shape4 *filter_shape, const int32_t *filter,
                             int32_t *repacked) {
  const int32_t fh = filter_shape->h, fw = filter_shape->w, gw = filter_shape->c;
  const int32_t kw = fh * fw * gw, cout = filter_shape->n;
  const int32_t cout4 = (cout + 3) & ~3;
  int32_t c, k, j;
  for (c = 0; c < cout4; c += 16) {
    const int32_t width = cout4 - c < 16 ? cout4 - c : 16;
    int32_t *block = repacked + (size_t)c * (size_t)kw;
    for (k = 0; k < kw; ++k) {
      const int32_t fx = k / (fh * gw), fy = k / gw % fh, w = k % gw;
      const size_t tap = ((size_t)fy * (size_t)fw + (size_t)fx) * (size_t)gw + (size_t)w;
      for (j = 0; j < width; ++j)
        block[(size_t)k * (size_t)width + (size_t)j] =
            c + j < cout ? filter[(size_t)(c + j) * (size_t)kw + tap] : 0;
    }
  }
}

int kfda_lce_bconv2d_inside_run(const kfda_bconv_params *p, const kfda_shape4 *is,
                                const kfda_shape4 *fs, const kfda_shape4 *os, int32_t *tap0,
                                int32_t *words) {
#if KFDA_BCONV_BCAST
  int32_t fy, fx, fy0 = -1, ny = 0, fx0 = -1, fx1 = -1, nx = 0;
  if (os->h != 1 || os->w != 1 || kfda_lce_bconv2d_repacked_bytes(fs) == 0) return 0;
  for (fy = 0; fy < fs->h; ++fy) {
    const int32_t iy = fy * p->dil_h - p->pad_h;
    if (iy >= 0 && iy < is->h) fy0 = ny++ ? fy0 : fy;
  }
  for (fx = 0; fx < fs->w; ++fx) {
    const int32_t ix = fx * p->dil_w - p->pad_w;
    if (ix >= 0 && ix < is->w) {
      if (nx++ == 0) fx0 = fx;
      fx1 = fx + 1;
    }
  }
  if (ny != 1 || nx == 0 || (nx > 1 && p->dil_w != 1)) return 0; /* not one run */
  *tap0 = (fy0 * fs->w + fx0) * fs->c;
  *words = (fx1 - fx0) * fs->c;
  return 1;
#else
  (void)p;
  (void)is;
  (void)fs;
  (void)os;
  (void)tap0;
  (void)words;
  return 0;
#endif
}

void kfda_lce_bconv2d_pad_counts(const kfda_shape4 *fs, const int32_t *filter, int32_t tap0,
                                 int32_t words, int32_t *counts) {
  const int32_t kw = fs->h * fs->w * fs->c;
  int32_t c, k;
  for (c = 0; c < fs->n; ++c) {
    const uint32_t *f = (const uint32_t *)filter + (size_t)c * (size_t)kw;
    int32_t n = 0;
    for (k = 0; k < kw; ++k)
      if (k < tap0 || k >= tap0 + words) n += kfda_popcount32(f[k]); /* 0 XOR w */
    counts[c] = n;
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

#if !KFDA_BCONV_BCAST_F32
/* armv7: NEON float flushes denormal inputs and results to zero and returns the default
 * NaN. With every m and bias 0 or finite of magnitude 2^-100 and up, the kernel's
 * (float)acc * (m + m) + bias or (float)x * m + bias (x = 2 acc clamped, an integer)
 * meets neither: m + m is normal, a nonzero product is at least 2^-100, and the sum of
 * two multiples of 2^-123 is 0 or at least 2^-123. So its bits are the scalar (VFP)
 * transform's. */
static int neon_float_exact(const float *m, const float *bias, int32_t n) {
  int32_t i;
  for (i = 0; i < n; ++i) {
    const float am = fabsf(m[i]), ab = fabsf(bias[i]);
    if (!(am == 0.0f || (am >= 0x1p-100f && am < 0x1p126f))) return 0;
    if (!(ab == 0.0f || (ab >= 0x1p-100f && ab <= 0x1.fffffep127f))) return 0;
  }
  return 1;
}
#endif

/* The slots of the broadcast path. The slot of an output row holds, for each of its nx
 * padded input columns, the fh filter rows' gw words: [x][fy][c], 0 words for taps
 * outside the image. The window of output pixel ox is then fw runs of fh * gw words
 * (one run of kw words for dil_w 1) starting stride_w * fh * gw words per pixel on: the
 * repacked filter's tap order (kfda_lce_bconv2d_repack), so every pixel, border or not,
 * is one call of the kernel without a column of its own. A pass of 4 pixels spans at
 * most 4 output rows: a ring of 4 slots. */
#define KFDA_BCONV_SLOTS 4

static size_t slot_columns(const kfda_bconv_params *p, int32_t fw, int32_t ow) {
  return (size_t)(ow - 1) * (size_t)p->stride_w + (size_t)(fw - 1) * (size_t)p->dil_w + 1u;
}

/* The slot of output row r (image r / oh, row r % oh). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static KFDA_NOINLINE void build_slot(const bconv_ctx *t, int32_t r, size_t nx, uint32_t *slot) {
  const kfda_bconv_params *p = t->p;
  const int32_t oh = t->os->h, ih = t->is->h, iw = t->is->w, fh = t->fh, gw = t->gw;
  const int32_t b = r / oh, iy0 = (r - b * oh) * p->stride_h - p->pad_h;
  const size_t col = (size_t)fh * (size_t)gw; /* words per slot column */
  /* the columns inside the image: [x0, x1) */
  const size_t x0 = (size_t)p->pad_w < nx ? (size_t)p->pad_w : nx;
  const size_t x1 = (size_t)p->pad_w + (size_t)iw < nx ? (size_t)p->pad_w + (size_t)iw : nx;
  const uint32_t *img = t->in + (size_t)b * (size_t)ih * (size_t)iw * (size_t)gw;
  const uint32_t *rows[16];
  size_t x, k;
  int32_t fy, all_in = fh <= 16;
  for (k = 0; k < x0 * col; ++k) slot[k] = 0;
  for (k = x1 * col; k < nx * col; ++k) slot[k] = 0;
  for (fy = 0; fy < fh && fy < 16; ++fy) {
    const int32_t iy = iy0 + fy * p->dil_h;
    rows[fy] = iy >= 0 && iy < ih ? img + (size_t)iy * (size_t)iw * (size_t)gw : NULL;
    all_in &= rows[fy] != NULL;
  }
  if (x1 <= x0) return;
  if (all_in && fh == 3 && gw == 1) { /* 4 columns per step: one ST3 of the 3 rows */
    const uint32_t *a = rows[0], *b_ = rows[1], *c = rows[2];
    uint32_t *s = slot + x0 * 3u;
    for (x = 0; x + 4 <= x1 - x0; x += 4, s += 12) {
      uint32x4x3_t v;
      v.val[0] = vld1q_u32(a + x);
      v.val[1] = vld1q_u32(b_ + x);
      v.val[2] = vld1q_u32(c + x);
      vst3q_u32(s, v);
    }
    for (; x < x1 - x0; ++x, s += 3) s[0] = a[x], s[1] = b_[x], s[2] = c[x];
    return;
  }
#if defined(__aarch64__)
  if (all_in && fh == 3 && gw == 2) { /* 2 columns per step: one ST3 of 64-bit lanes */
    const uint64_t *a = (const uint64_t *)(const void *)rows[0];
    const uint64_t *b_ = (const uint64_t *)(const void *)rows[1];
    const uint64_t *c = (const uint64_t *)(const void *)rows[2];
    uint64_t *s = (uint64_t *)(void *)(slot + x0 * 6u);
    for (x = 0; x + 2 <= x1 - x0; x += 2, s += 6) {
      uint64x2x3_t v;
      v.val[0] = vld1q_u64(a + x);
      v.val[1] = vld1q_u64(b_ + x);
      v.val[2] = vld1q_u64(c + x);
      vst3q_u64(s, v);
    }
    if (x < x1 - x0) s[0] = a[x], s[1] = b_[x], s[2] = c[x];
    return;
  }
#endif
  for (fy = 0; fy < fh; ++fy) {
    const int32_t iy = iy0 + fy * p->dil_h;
    const uint32_t *row = iy >= 0 && iy < ih ? img + (size_t)iy * (size_t)iw * (size_t)gw : NULL;
    uint32_t *s = slot + x0 * col + (size_t)fy * (size_t)gw;
    if (row == NULL) {
      for (x = x0; x < x1; ++x, s += col)
        for (k = 0; k < (size_t)gw; ++k) s[k] = 0;
      continue;
    }
    for (x = x0; x < x1; ++x, s += col) {
      const uint32_t *src = row + (x - (size_t)p->pad_w) * (size_t)gw;
      for (k = 0; k + 4 <= (size_t)gw; k += 4) vst1q_u32(s + k, vld1q_u32(src + k));
      for (; k < (size_t)gw; ++k) s[k] = src[k];
    }
  }
}

/* The pixels [pix, npix) of a 1x1 output map with p->pad_counts: popcounts over the
 * window's run of taps inside the image only (read where it lies), plus the constant
 * counts of its padded taps. */
static KFDA_NOINLINE void pixels_inside_run(const bconv_ctx *t, size_t pix, size_t npix) {
  const kfda_bconv_params *p = t->p;
  const int32_t kw = t->kw, cout = t->cout, words = p->inside_words, gw = t->gw;
  const int32_t iy = (p->inside_tap0 / gw / t->fw) * p->dil_h - p->pad_h;
  const int32_t ix = (p->inside_tap0 / gw % t->fw) * p->dil_w - p->pad_w;
  const int f32 = p->output_kind == KFDA_BCONV_OUT_F32;
  int32_t acc[16 * 16];
  for (; pix < npix; ++pix) {
    const uint32_t *x =
        t->in +
        ((pix * (size_t)t->is->h + (size_t)iy) * (size_t)t->is->w + (size_t)ix) * (size_t)gw;
    bconv_pixel px;
    int32_t oc, oc1, j;
    px.pix = pix;
    px.kase = 0;
    px.X = px.Y = 0;
    px.edge = t->same_zero && f32 &&
              kfda_lce_bconv2d_edge_case(p, t->is, t->os, t->fh, t->fw, 0, 0, &px.kase, &px.X,
                                         &px.Y) == 0;
    if (p->output_kind == KFDA_BCONV_OUT_PACKED) {
      uint32_t *o = (uint32_t *)t->out + pix * t->out_words;
      for (j = 0; j < t->out_words; ++j) o[j] = 0;
    }
    for (oc = 0; oc < cout; oc = oc1) { /* 64 channels at a time: acc[16 g + j] */
      int32_t g, ng;
      oc1 = cout - oc < 64 ? cout : oc + 64;
      for (g = 0; 4 * g < oc1 - oc; ++g) {
        const uint32_t *f = t->filter + (size_t)(oc + 4 * g) * (size_t)kw + p->inside_tap0;
        int32_t *a = acc + 16 * g;
        if (oc1 - oc - 4 * g >= 4) {
          kfda_bconv_popcount_neon(x, f, (size_t)kw, words, a);
        } else {
          for (j = 0; j < oc1 - oc - 4 * g; ++j) a[j] = xor_popcount(x, f + (size_t)j * kw, words);
        }
        for (j = 0; j < 4 && 4 * g + j < oc1 - oc; ++j) a[j] += p->pad_counts[oc + 4 * g + j];
      }
      ng = g;
      if (f32 && !px.edge) {
        const int32_t whole = (oc1 - oc) / 4;
        transform4_f32(t, (float *)t->out + pix * (size_t)cout + oc, oc, whole, acc);
        if (4 * whole < oc1 - oc)
          transform(t, &px, oc + 4 * whole, oc1 - oc - 4 * whole, acc + 16 * whole);
        continue;
      }
      for (g = 0; g < ng; ++g)
        transform(t, &px, oc + 4 * g, oc1 - oc - 4 * g < 4 ? oc1 - oc - 4 * g : 4, acc + 16 * g);
    }
  }
}

/* a set for all channels with the float transform in the kernel */
static inline void fused_args(const bconv_ctx *t, kfda_bcast_args *a) {
  a->w = (const uint32_t *)t->p->filter_repacked;
  a->ngroups = t->cout / 4;
  a->acc = NULL;
  a->m = t->out_mul;
  a->bias = t->out_bias;
}

/* a's passes from output pixel pix on, all channels, the float transform in the kernel */
static void bcast_fused(const bconv_ctx *t, kfda_bcast_args *a, size_t pix) {
  fused_args(t, a);
  a->o = (float *)t->out + pix * (size_t)t->cout;
  kfda_bconv_bcast_neon(a);
}

/* Pixels [pix, npix) (whole rows from row_begin) through the broadcast kernel, each
 * window read from its row's slot: 4 pixels per pass; a row's whole passes in one call
 * when the float transform is fused and no pixel needs LCE's edge correction. */
static KFDA_NOINLINE void bcast_rows(const bconv_ctx *t, size_t pix, size_t npix, uint32_t *slots) {
  const kfda_bconv_params *p = t->p;
  const int32_t ow = t->os->w, oh = t->os->h, ih = t->is->h, iw = t->is->w, cout = t->cout;
  const size_t nx = slot_columns(p, t->fw, ow);
  const size_t col = (size_t)t->fh * (size_t)t->gw, slot_words = nx * col;
  const size_t xstep = (size_t)p->stride_w * col; /* one pixel on */
  const int32_t eff_h = (t->fh - 1) * p->dil_h + 1, eff_w = (t->fw - 1) * p->dil_w + 1;
  const int f32 = p->output_kind == KFDA_BCONV_OUT_F32;
  const int edges = t->same_zero && f32;
#if KFDA_BCONV_BCAST_F32
  /* the kernel's float transform: m + m where every one is finite and the clamp cannot
   * bite, else the clamp (it gives the same where it cannot bite) */
  const int fusable = f32 && cout % 4 == 0;
#else
  /* armv7: the kernel's float transform where it gives VFP's bits */
  const int fusable = f32 && cout % 4 == 0 && neon_float_exact(t->out_mul, t->out_bias, cout);
#endif
  const int32_t qclamp[2] = {t->qmin, t->qmax};
  const uint32_t *repacked = (const uint32_t *)p->filter_repacked;
  int32_t acc[16 * 16];
  int32_t r = (int32_t)(pix / (size_t)ow), ox = (int32_t)(pix % (size_t)ow), oy = r % oh;
  kfda_bcast_args a;
  /* a window: one run of kw words (dil_w 1), else fw runs of fh * gw words */
  a.runs = p->dil_w == 1 ? 1 : t->fw;
  a.run_words = p->dil_w == 1 ? t->kw : (int32_t)col;
  a.drun = (size_t)p->dil_w * col;
  a.cout = cout;
  a.clamp = fusable && t->noclamp && doubles_finite(t->out_mul, cout) ? NULL : qclamp;
  if (p->pad_counts) {
    pixels_inside_run(t, pix, npix);
    return;
  }
  while (pix < npix) {
    bconv_pixel px4[4];
    const int32_t n = npix - pix < 4 ? (int32_t)(npix - pix) : 4;
    int32_t q, oc, oc1, any_edge = 0;
    if (n < 4 && fusable && !edges && a.runs == 1) { /* the range's last pixels, each alone */
      fused_args(t, &a);
      for (; pix < npix; ++pix) {
        uint32_t *slot = slots + (size_t)(r % KFDA_BCONV_SLOTS) * slot_words;
        if (ox == 0) build_slot(t, r, nx, slot);
        kfda_bconv_bcast1_neon(&a, slot + (size_t)ox * xstep, (float *)t->out + pix * (size_t)cout);
        if (++ox == ow) ox = 0, ++r;
      }
      return;
    }
    if (n < 4) { /* the range's last pixels: one at a time, from the input */
      pixels_one_by_one(t, pix, npix, slots);
      return;
    }
    if (fusable && !edges && ow - ox >= 4) {
      /* the row's whole passes from ox on in one call, straight to the output */
      uint32_t *slot = slots + (size_t)(r % KFDA_BCONV_SLOTS) * slot_words;
      const int32_t npass =
          (ow - ox) / 4 < (int32_t)((npix - pix) / 4) ? (ow - ox) / 4 : (int32_t)((npix - pix) / 4);
      if (ox == 0) build_slot(t, r, nx, slot);
      for (q = 0; q < 4; ++q) a.x[q] = slot + (size_t)(ox + q) * xstep;
      a.xstep = 4u * xstep;
      a.npass = npass;
      bcast_fused(t, &a, pix);
      pix += 4u * (size_t)npass;
      ox += 4 * npass;
      if (ox == ow) { /* the rest of the row (ow % 4) goes on below */
        ox = 0;
        ++r;
        if (++oy == oh) oy = 0;
      }
      continue;
    }
    for (q = 0; q < n; ++q) {
      uint32_t *slot = slots + (size_t)(r % KFDA_BCONV_SLOTS) * slot_words;
      bconv_pixel *px = &px4[q];
      if (ox == 0) build_slot(t, r, nx, slot); /* the row's first pixel */
      a.x[q] = slot + (size_t)ox * xstep;
      px->pix = pix + (size_t)q;
      px->edge = 0;
      if (edges) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
        if (!(iy0 >= 0 && iy0 + eff_h <= ih && ix0 >= 0 && ix0 + eff_w <= iw)) {
          px->kase = 0;
          px->X = px->Y = 0;
          px->edge = kfda_lce_bconv2d_edge_case(p, t->is, t->os, t->fh, t->fw, oy, ox, &px->kase,
                                                &px->X, &px->Y) == 0;
          any_edge |= px->edge;
        }
      }
      if (p->output_kind == KFDA_BCONV_OUT_PACKED) {
        uint32_t *o = (uint32_t *)t->out + px->pix * t->out_words;
        int32_t j;
        for (j = 0; j < t->out_words; ++j) o[j] = 0;
      }
      if (++ox == ow) {
        ox = 0;
        ++r;
        if (++oy == oh) oy = 0;
      }
    }
    a.xstep = 0;
    a.npass = 1;
    if (fusable && !any_edge) { /* all channels in one call, straight to the output */
      bcast_fused(t, &a, pix);
      pix += 4;
      continue;
    }
    a.acc = acc;
    a.o = NULL;
    for (oc = 0; oc < cout; oc = oc1) { /* up to 64 channels per call */
      int32_t g, whole;
      a.ngroups = (cout - oc + 3) / 4 < 16 ? (cout - oc + 3) / 4 : 16;
      a.w = repacked + (size_t)oc * (size_t)t->kw;
      oc1 = oc + 4 * a.ngroups < cout ? oc + 4 * a.ngroups : cout;
      kfda_bconv_bcast_neon(&a);
      whole = (oc1 - oc) / 4;
      for (q = 0; q < n; ++q) {
        if (f32 && !px4[q].edge) {
          transform4_f32(t, (float *)t->out + (pix + (size_t)q) * (size_t)cout + oc, oc, whole,
                         acc + 4 * q);
          if (4 * whole < oc1 - oc)
            transform(t, &px4[q], oc + 4 * whole, oc1 - oc - 4 * whole, acc + 16 * whole + 4 * q);
          continue;
        }
        for (g = 0; g < a.ngroups; ++g)
          transform(t, &px4[q], oc + 4 * g, oc1 - oc - 4 * g < 4 ? oc1 - oc - 4 * g : 4,
                    acc + 16 * g + 4 * q);
      }
    }
    pix += (size_t)n;
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
    bcast_rows(&t, pix, npix, col);
    return;
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
