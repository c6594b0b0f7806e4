/*
 * lce_bconv2d_opt.c - LceBconv2d, optimized (held bit for bit to
 * lce_bconv2d_ref.c by tests/firmware/test_kernels_opt.py).
 *
 * Per output pixel the receptive field is gathered once into a contiguous
 * column of K_words packed words (im2col of packed words; taps outside the
 * image are 0 words, which is what the reference counts: popcount(0 ^ w)).
 * Each output channel's filter is already contiguous (OHWI), so the inner
 * loop is popcount(col XOR filter) over K_words words, for several output
 * channels at once so every column word is loaded once per block:
 *
 *   arm64 / armv7 NEON: 4 channels per pass, 4 words per step:
 *     EOR, CNT (per byte), ADD into byte counters (flushed with UADALP into
 *     16-bit lanes every 31 steps), ADDV at the end.
 *   Cortex-M4/M7/M33/M55 (Thumb-2 with DSP): lce_bconv2d_opt_thumb2.c; for
 *     kw a multiple of 9 (3x3 over any channel count) an adder tree per
 *     channel (per 18-word block beyond kw 18) with the float transform in
 *     the same assembly.
 *   everything else (Cortex-M0+/M3: no popcount instruction either): 2 channels
 *     per pass, 3 words per step through a carry-save adder:
 *       ones = a ^ b ^ c, twos = majority(a, b, c)    (a + b + c = ones + 2 twos)
 *     then one SWAR reduction of ones + 2 * twos to nibbles (each <= 12) and
 *     two byte accumulators (flushed every 21 steps): about 10 instructions
 *     per word instead of ~14 for XOR + SWAR popcount per word.
 *
 * The output transform is the reference's, verbatim. Grouped convolutions
 * (words per group != input words) go to the reference.
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

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#define KFDA_BCONV_NEON 1
#define KFDA_BCONV_THUMB2 0
#if defined(__aarch64__)
#define KFDA_BCONV_NEON4 1 /* 4 pixels x 4 channels per pass */
#endif
#define OC_BLOCK 4
#elif defined(__GNUC__) && defined(__thumb2__) && defined(__ARM_FEATURE_DSP)
/* Cortex-M4/M7/M33/M55: the Thumb-2 loop of lce_bconv2d_opt_thumb2.c, up to
 * 32 output channels per call (any count: it has no channel tail). */
#define KFDA_BCONV_THUMB2 1
#define OC_BLOCK 32
void kfda_bconv_popcount_thumb2(const uint32_t *col, const uint32_t *w, int32_t kw,
                                int32_t nch, int32_t *acc);
#if defined(__ARM_FP) && (__ARM_FP & 4)
/* kw == 18 or 9 (3x3 over 33..64 or 1..32 input channels): 4 * nb4 output
 * channels per call, a whole-channel adder tree each; with mul/bias the float
 * transform as well (out float), else out gets the popcounts (int32). */
#define KFDA_BCONV_TREE 1
typedef void kfda_bconv_tree_fn(const uint32_t *col, const uint32_t *w, int32_t nb4, void *out,
                                const float *mul, const float *bias);
kfda_bconv_tree_fn kfda_bconv_k18_thumb2, kfda_bconv_k9_thumb2;
/* The same, col first gathered from 3 rows of kw / 3 words: x, x + drow, x +
 * 2 drow (drow in bytes). */
typedef void kfda_bconv_tree_gather_fn(uint32_t *col, const uint32_t *w, int32_t nb4, void *out,
                                       const float *mul, const float *bias, const uint32_t *x,
                                       size_t drow);
kfda_bconv_tree_gather_fn kfda_bconv_k18_thumb2_gather, kfda_bconv_k9_thumb2_gather;
/* Any other kw = 18 n (+ 9) >= 27 (3x3 over 65.. input channels): the same
 * tree per 18-word block, the block counts summed. */
void kfda_bconv_kn_thumb2(const uint32_t *col, const uint32_t *w, int32_t nb4, void *out,
                          const float *mul, const float *bias, int32_t kw);
#endif
#elif !defined(OC_BLOCK)
#define OC_BLOCK 2
#endif
#ifndef KFDA_BCONV_THUMB2
#define KFDA_BCONV_THUMB2 0
#endif
#ifndef KFDA_BCONV_NEON4
#define KFDA_BCONV_NEON4 0
#endif
#ifndef KFDA_BCONV_TREE
#define KFDA_BCONV_TREE 0
#endif

size_t kfda_lce_bconv2d_scratch_bytes(const kfda_shape4 *filter_shape) {
  const size_t kw = (size_t)filter_shape->h * (size_t)filter_shape->w * (size_t)filter_shape->c;
#if KFDA_BCONV_NEON4
  return 4u * ((kw + 3u) & ~(size_t)3u) * 4u; /* 4 columns, each padded to 4 words */
#else
  return kw * 4u;
#endif
}

#if KFDA_BCONV_NEON
static inline uint32_t hsum_u8x8(uint8x8_t v) {
#if defined(__aarch64__)
  return vaddlv_u8(v);
#else
  uint64x1_t s = vpaddl_u32(vpaddl_u16(vpaddl_u8(v)));
  return (uint32_t)vget_lane_u64(s, 0);
#endif
}
static inline uint32_t hsum_u16x8(uint16x8_t v) {
#if defined(__aarch64__)
  return vaddlvq_u16(v);
#else
  uint64x2_t s = vpaddlq_u32(vpaddlq_u16(v));
  return (uint32_t)(vgetq_lane_u64(s, 0) + vgetq_lane_u64(s, 1));
#endif
}

/* acc[j] = popcount(x XOR w_j) over n words, w_j = w + j * stride, j < 4. */
static KFDA_NOINLINE void xor_popcount_block(const uint32_t *x, const uint32_t *w, size_t stride, int32_t n,
                               int32_t *acc) {
  const uint8_t *w0 = (const uint8_t *)w, *w1 = (const uint8_t *)(w + stride),
                *w2 = (const uint8_t *)(w + 2 * stride), *w3 = (const uint8_t *)(w + 3 * stride);
  const uint8_t *xb = (const uint8_t *)x;
  uint16x8_t s0 = vdupq_n_u16(0), s1 = s0, s2 = s0, s3 = s0;
  int32_t i = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  while (n - i >= 4) {
    int32_t steps = (n - i) / 4;
    uint8x16_t c0 = vdupq_n_u8(0), c1 = c0, c2 = c0, c3 = c0;
    if (steps > 31) steps = 31;
    for (; steps > 0; --steps, i += 4) {
      const uint8x16_t xv = vld1q_u8(xb + 4 * i);
      c0 = vaddq_u8(c0, vcntq_u8(veorq_u8(xv, vld1q_u8(w0 + 4 * i))));
      c1 = vaddq_u8(c1, vcntq_u8(veorq_u8(xv, vld1q_u8(w1 + 4 * i))));
      c2 = vaddq_u8(c2, vcntq_u8(veorq_u8(xv, vld1q_u8(w2 + 4 * i))));
      c3 = vaddq_u8(c3, vcntq_u8(veorq_u8(xv, vld1q_u8(w3 + 4 * i))));
    }
    s0 = vpadalq_u8(s0, c0);
    s1 = vpadalq_u8(s1, c1);
    s2 = vpadalq_u8(s2, c2);
    s3 = vpadalq_u8(s3, c3);
  }
  if (n - i >= 2) {
    const uint8x8_t xv = vld1_u8(xb + 4 * i);
    t0 += (int32_t)hsum_u8x8(vcnt_u8(veor_u8(xv, vld1_u8(w0 + 4 * i))));
    t1 += (int32_t)hsum_u8x8(vcnt_u8(veor_u8(xv, vld1_u8(w1 + 4 * i))));
    t2 += (int32_t)hsum_u8x8(vcnt_u8(veor_u8(xv, vld1_u8(w2 + 4 * i))));
    t3 += (int32_t)hsum_u8x8(vcnt_u8(veor_u8(xv, vld1_u8(w3 + 4 * i))));
    i += 2;
  }
  if (i < n) {
    t0 += kfda_popcount32(x[i] ^ w[i]);
    t1 += kfda_popcount32(x[i] ^ w[stride + i]);
    t2 += kfda_popcount32(x[i] ^ w[2 * stride + i]);
    t3 += kfda_popcount32(x[i] ^ w[3 * stride + i]);
  }
  acc[0] = t0 + (int32_t)hsum_u16x8(s0);
  acc[1] = t1 + (int32_t)hsum_u16x8(s1);
  acc[2] = t2 + (int32_t)hsum_u16x8(s2);
  acc[3] = t3 + (int32_t)hsum_u16x8(s3);
}
#elif KFDA_BCONV_THUMB2
static void xor_popcount_block(const uint32_t *x, const uint32_t *w, size_t stride, int32_t n,
                               int32_t *acc) {
  (void)stride;
  kfda_bconv_popcount_thumb2(x, w, n, OC_BLOCK, acc);
}
#else
#define M1 0x55555555u
#define M2 0x33333333u
#define M4 0x0f0f0f0fu

/* Sum of the four bytes of a byte accumulator pair (each byte <= 252). */
static inline int32_t hsum_bytes(uint32_t lo, uint32_t hi) {
  uint32_t h = (lo & 0x00ff00ffu) + ((lo >> 8) & 0x00ff00ffu) + (hi & 0x00ff00ffu) +
               ((hi >> 8) & 0x00ff00ffu);
  return (int32_t)((h + (h >> 16)) & 0xffffu);
}

/* ones + 2 * twos as nibble counts (each <= 12) */
static inline uint32_t csa_nibbles(uint32_t a, uint32_t b, uint32_t c) {
  const uint32_t ab = a ^ b;
  uint32_t ones = ab ^ c, twos = (a & b) | (ab & c);
  ones = ones - ((ones >> 1) & M1);
  twos = twos - ((twos >> 1) & M1);
  ones = (ones & M2) + ((ones >> 2) & M2);
  twos = (twos & M2) + ((twos >> 2) & M2);
  return ones + (twos << 1);
}

#if OC_BLOCK == 1
/* acc[0] = popcount(x XOR w) over n words (one channel: fewer live registers). */
static KFDA_NOINLINE void xor_popcount_block(const uint32_t *x, const uint32_t *w, size_t stride, int32_t n,
                               int32_t *acc) {
  int32_t i = 0, t0 = 0;
  (void)stride;
  while (n - i >= 3) {
    int32_t steps = (n - i) / 3;
    uint32_t lo0 = 0, hi0 = 0;
    if (steps > 21) steps = 21;
    for (; steps > 0; --steps, i += 3) {
      const uint32_t s0 = csa_nibbles(x[i] ^ w[i], x[i + 1] ^ w[i + 1], x[i + 2] ^ w[i + 2]);
      lo0 += s0 & M4;
      hi0 += (s0 >> 4) & M4;
    }
    t0 += hsum_bytes(lo0, hi0);
  }
  for (; i < n; ++i) t0 += kfda_popcount32(x[i] ^ w[i]);
  acc[0] = t0;
}
#else
/* acc[j] = popcount(x XOR w_j) over n words, w_j = w + j * stride, j < 2. */
static KFDA_NOINLINE void xor_popcount_block(const uint32_t *x, const uint32_t *w, size_t stride, int32_t n,
                               int32_t *acc) {
  const uint32_t *v = w + stride;
  int32_t i = 0, t0 = 0, t1 = 0;
  while (n - i >= 3) {
    int32_t steps = (n - i) / 3;
    uint32_t lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0;
    if (steps > 21) steps = 21;
    for (; steps > 0; --steps, i += 3) {
      const uint32_t a = x[i], b = x[i + 1], c = x[i + 2];
      const uint32_t s0 = csa_nibbles(a ^ w[i], b ^ w[i + 1], c ^ w[i + 2]);
      const uint32_t s1 = csa_nibbles(a ^ v[i], b ^ v[i + 1], c ^ v[i + 2]);
      lo0 += s0 & M4;
      hi0 += (s0 >> 4) & M4;
      lo1 += s1 & M4;
      hi1 += (s1 >> 4) & M4;
    }
    t0 += hsum_bytes(lo0, hi0);
    t1 += hsum_bytes(lo1, hi1);
  }
  for (; i < n; ++i) {
    t0 += kfda_popcount32(x[i] ^ w[i]);
    t1 += kfda_popcount32(x[i] ^ v[i]);
  }
  acc[0] = t0;
  acc[1] = t1;
}
#endif
#endif

#if !KFDA_BCONV_THUMB2
/* One output channel on its own (the tail when cout % OC_BLOCK != 0). */
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

#if KFDA_BCONV_NEON4
/* im2col of packed words for output pixel pix (n, oy, ox): taps outside the
 * image are 0 words; the column is zero-padded to `padded` words. */
#if defined(__GNUC__) && !defined(__clang__)
#define KFDA_NOVEC __attribute__((optimize("no-tree-vectorize"))) /* tiny copies */
#else
#define KFDA_NOVEC
#endif
static KFDA_NOVEC void im2col(const bconv_ctx *t, size_t pix0, int32_t npx, uint32_t *col,
                              int32_t padded, bconv_pixel *pxs) {
  const kfda_bconv_params *p = t->p;
  const int32_t ow = t->os->w, oh = t->os->h, ih = t->is->h, iw = t->is->w;
  const int32_t fh = t->fh, fw = t->fw, gw = t->gw, kw = t->kw;
  const int32_t sh = p->stride_h, sw = p->stride_w, dh = p->dil_h, dw = p->dil_w;
  const int32_t row_words = fw * gw;
  int32_t ox = (int32_t)(pix0 % (size_t)ow);
  int32_t oy = (int32_t)((pix0 / (size_t)ow) % (size_t)oh);
  size_t b = pix0 / ((size_t)ow * (size_t)oh);
  int32_t q, fy, fx, k;
  for (q = 0; q < npx; ++q, col += padded) {
    bconv_pixel *px = &pxs[q];
    const int32_t iy0 = oy * sh - p->pad_h, ix0 = ox * sw - p->pad_w;
    const uint32_t *img = t->in + b * (size_t)ih * (size_t)iw * (size_t)gw;
    const int cols_in = dw == 1 && ix0 >= 0 && ix0 + fw <= iw;
    uint32_t *c = col;
    px->pix = pix0 + (size_t)q;
    px->kase = 0;
    px->X = px->Y = 0;
    px->edge = t->same_zero && p->output_kind == KFDA_BCONV_OUT_F32 &&
               kfda_lce_bconv2d_edge_case(p, t->is, t->os, fh, fw, oy, ox, &px->kase, &px->X,
                                          &px->Y) == 0;
    for (fy = 0; fy < fh; ++fy) {
      const int32_t iy = iy0 + fy * dh;
      const int row_in = iy >= 0 && iy < ih;
      const uint32_t *row = img + (size_t)(row_in ? iy : 0) * (size_t)iw * (size_t)gw;
      if (row_in && cols_in) { /* whole row inside: one copy */
        const uint32_t *x = row + (size_t)ix0 * (size_t)gw;
        for (k = 0; k + 2 <= row_words; k += 2) memcpy(c + k, x + k, 8); /* 64-bit moves */
        if (k < row_words) c[k] = x[k];
        c += row_words;
        continue;
      }
      for (fx = 0; fx < fw; ++fx, c += gw) {
        const int32_t ix = ix0 + fx * dw;
        if (row_in && ix >= 0 && ix < iw) {
          const uint32_t *x = row + (size_t)ix * (size_t)gw;
          for (k = 0; k < gw; ++k) c[k] = x[k];
        } else {
          for (k = 0; k < gw; ++k) c[k] = 0;
        }
      }
    }
    for (k = kw; k < padded; ++k) c[k - kw] = 0;
    if (p->output_kind == KFDA_BCONV_OUT_PACKED) {
      uint32_t *o = (uint32_t *)t->out + px->pix * t->out_words;
      for (k = 0; k < t->out_words; ++k) o[k] = 0;
    }
    if (++ox == ow) {
      ox = 0;
      if (++oy == oh) {
        oy = 0;
        ++b;
      }
    }
  }
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
          y += m * (float)kfda_lce_bconv2d_edge_correction(
                        p, t->filter + (size_t)c_ * t->kw, t->fh, t->fw, t->gw,
                        p->channels_in, px->kase, px->X, px->Y);
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

/* Channels [oc0, cout) of one pixel whose column is col (OC_BLOCK at a time). */
static void channels_one_pixel(const bconv_ctx *t, const bconv_pixel *px, const uint32_t *col,
                               int32_t oc0) {
  const int32_t kw = t->kw, cout = t->cout;
  int32_t acc[OC_BLOCK], oc;
#if KFDA_BCONV_TREE
  if (tree_kw(kw) && oc0 == 0 && cout >= 4) { /* whole blocks of 4 channels */
    const int32_t n4 = cout & ~3;
    if (t->p->output_kind == KFDA_BCONV_OUT_F32 && !px->edge && t->noclamp) {
      tree_call(t, col, t->filter, n4 >> 2, (float *)t->out + px->pix * cout, t->out_mul,
                t->out_bias);
    } else {
      for (oc = 0; oc < n4; oc += OC_BLOCK) {
        const int32_t nb = n4 - oc < OC_BLOCK ? n4 - oc : OC_BLOCK;
        tree_call(t, col, t->filter + (size_t)oc * kw, nb >> 2, acc, NULL, NULL);
        transform(t, px, oc, nb, acc);
      }
    }
    oc0 = n4;
  }
#endif
  for (oc = oc0; oc < cout; oc += OC_BLOCK) {
    const uint32_t *f = t->filter + (size_t)oc * kw;
    const int32_t nb = cout - oc < OC_BLOCK ? cout - oc : OC_BLOCK;
    if (nb == OC_BLOCK) {
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

#if KFDA_BCONV_NEON4
/* 4 pixels x 4 output channels per pass, for nblk blocks of 4 channels
 * (arm64: 16 accumulators + 5 operands fit the 32 vector registers): per 4
 * words, 4 filter loads, then per pixel one column load and EOR, CNT, UADALP
 * (pairwise add into 16-bit lanes, no flush) for each of the 4 channels. The
 * kw % 4 tail words go 2 at a time with two channels in one vector (the
 * column is zero-padded and its 2 words duplicated; a lone last filter word
 * is loaded alone, its upper half 0) and join the reduction, which ends in
 * acc[16 * blk + 4 * q + j] for pixel q, channel 4 * blk + j (16-bit lanes
 * hold at most kw * 32 < 65536). With o4 (float output, no edge correction,
 * a clamp that cannot bite) the transform 2 * acc * m + b is done here
 * instead, into o4[q][4 * blk + j] (multiply then add: no fused rounding; the
 * conversion is exact, acc < 2^24). */
#if defined(__GNUC__) && !defined(__clang__)
/* GCC's first scheduling pass hoists all EORs and spills an accumulator */
__attribute__((optimize("no-schedule-insns")))
#endif
static KFDA_NOINLINE void xor_popcount_4x4(const uint32_t *col, size_t cstride,
                                           const uint32_t *w, int32_t kw, int32_t nblk,
                                           int32_t *acc, float *const *o4, const float *m,
                                           const float *bi) {
  const uint32_t *x0 = col, *x1 = col + cstride, *x2 = col + 2 * cstride,
                 *x3 = col + 3 * cstride;
  int32_t blk;
  for (blk = 0; blk < nblk; ++blk, w += 4 * (size_t)kw, acc += 16) {
    const uint32_t *w0 = w, *w1 = w + kw, *w2 = w + 2 * (size_t)kw, *w3 = w + 3 * (size_t)kw;
    uint16x8_t a00, a01, a02, a03, a10, a11, a12, a13;
    uint16x8_t a20, a21, a22, a23, a30, a31, a32, a33;
    uint16x8_t r0, r1, r2, r3;
    int32_t i = 0;
#define KFDA_XPC(a, X, W) a = vpadalq_u8(a, vcntq_u8(veorq_u8(X, W)))
#define KFDA_XPC0(a, X, W) a = vpaddlq_u8(vcntq_u8(veorq_u8(X, W)))
#define KFDA_PIX(OP, x, a0, a1, a2, a3)                             \
  do {                                                              \
    const uint8x16_t X = vreinterpretq_u8_u32(vld1q_u32(x + i));    \
    OP(a0, X, W0); OP(a1, X, W1);                                   \
    OP(a2, X, W2); OP(a3, X, W3);                                   \
  } while (0)
#define KFDA_STEP(OP)                                               \
  do {                                                              \
    const uint8x16_t W0 = vreinterpretq_u8_u32(vld1q_u32(w0 + i));  \
    const uint8x16_t W1 = vreinterpretq_u8_u32(vld1q_u32(w1 + i));  \
    const uint8x16_t W2 = vreinterpretq_u8_u32(vld1q_u32(w2 + i));  \
    const uint8x16_t W3 = vreinterpretq_u8_u32(vld1q_u32(w3 + i));  \
    KFDA_PIX(OP, x0, a00, a01, a02, a03);                           \
    KFDA_PIX(OP, x1, a10, a11, a12, a13);                           \
    KFDA_PIX(OP, x2, a20, a21, a22, a23);                           \
    KFDA_PIX(OP, x3, a30, a31, a32, a33);                           \
  } while (0)
    if (kw >= 4) { /* the first step sets the accumulators */
      KFDA_STEP(KFDA_XPC0);
      i = 4;
    } else {
      const uint16x8_t z = vdupq_n_u16(0);
      a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = z;
      a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = z;
    }
    for (; i + 4 <= kw; i += 4) KFDA_STEP(KFDA_XPC);
#undef KFDA_STEP
#undef KFDA_XPC0
#undef KFDA_PIX
#undef KFDA_XPC
    /* lanes [c0, c0, c1, c1, c2, c2, c3, c3] per pixel */
    r0 = vpaddq_u16(vpaddq_u16(a00, a01), vpaddq_u16(a02, a03));
    r1 = vpaddq_u16(vpaddq_u16(a10, a11), vpaddq_u16(a12, a13));
    r2 = vpaddq_u16(vpaddq_u16(a20, a21), vpaddq_u16(a22, a23));
    r3 = vpaddq_u16(vpaddq_u16(a30, a31), vpaddq_u16(a32, a33));
    for (; i < kw; i += 2) {
      uint32x2_t v0, v1, v2, v3;
      uint8x16_t W01, W23;
      if (i + 1 < kw) {
        v0 = vld1_u32(w0 + i); v1 = vld1_u32(w1 + i);
        v2 = vld1_u32(w2 + i); v3 = vld1_u32(w3 + i);
      } else {
        const uint32x2_t zz = vdup_n_u32(0);
        v0 = vld1_lane_u32(w0 + i, zz, 0); v1 = vld1_lane_u32(w1 + i, zz, 0);
        v2 = vld1_lane_u32(w2 + i, zz, 0); v3 = vld1_lane_u32(w3 + i, zz, 0);
      }
      W01 = vreinterpretq_u8_u32(vcombine_u32(v0, v1));
      W23 = vreinterpretq_u8_u32(vcombine_u32(v2, v3));
      /* bytes [c0 x4, c1 x4, c2 x4, c3 x4] -> 16-bit [c0, c0, c1, c1, ...] */
#define KFDA_TAIL(r, x)                                                                  \
  do {                                                                                   \
    const uint8x16_t X = vreinterpretq_u8_u64(vld1q_dup_u64((const uint64_t *)(x + i))); \
    r = vpadalq_u8(r, vpaddq_u8(vcntq_u8(veorq_u8(X, W01)), vcntq_u8(veorq_u8(X, W23)))); \
  } while (0)
      KFDA_TAIL(r0, x0); KFDA_TAIL(r1, x1); KFDA_TAIL(r2, x2); KFDA_TAIL(r3, x3);
#undef KFDA_TAIL
    }
    if (o4) { /* float output, no clamp, no edge: the transform right here */
      const float32x4_t mv = vld1q_f32(m + 4 * blk), bv = vld1q_f32(bi + 4 * blk);
#define KFDA_OUT(q, r)                                                              \
  vst1q_f32(o4[q] + 4 * blk,                                                       \
            vaddq_f32(vmulq_f32(vcvtq_f32_u32(vshlq_n_u32(vpaddlq_u16(r), 1)), mv), bv))
      KFDA_OUT(0, r0); KFDA_OUT(1, r1); KFDA_OUT(2, r2); KFDA_OUT(3, r3);
#undef KFDA_OUT
      continue;
    }
    vst1q_s32(acc, vreinterpretq_s32_u32(vpaddlq_u16(r0)));
    vst1q_s32(acc + 4, vreinterpretq_s32_u32(vpaddlq_u16(r1)));
    vst1q_s32(acc + 8, vreinterpretq_s32_u32(vpaddlq_u16(r2)));
    vst1q_s32(acc + 12, vreinterpretq_s32_u32(vpaddlq_u16(r3)));
  }
}

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
      const float32x4_t y = vmulq_f32(vcvtq_f32_s32(vshlq_n_s32(vld1q_s32(acc), 1)),
                                      vld1q_f32(m));
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
      for (k = 0; k < fw * gw; ++k) c[k] = 0;
      continue;
    }
    row = img + (size_t)iy * (size_t)iw * (size_t)gw;
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
static KFDA_NOINLINE void tree_run(const bconv_ctx *t, const uint32_t *x, size_t xstep,
                                   int32_t n, float *o, uint32_t *col) {
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
          const int32_t n = (iw - eff_w - ix0) / sw + 1 < ox_end - ox
                                ? (iw - eff_w - ix0) / sw + 1 : ox_end - ox;
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
          tree_call(t, col, t->filter, t->cout >> 2, (float *)t->out + pix * t->cout,
                    t->out_mul, t->out_bias);
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

void kfda_lce_bconv2d_opt(const kfda_bconv_params *p, const kfda_shape4 *is, const int32_t *in,
                          const kfda_shape4 *fs, const int32_t *filter, const float *out_mul,
                          const float *out_bias, const int32_t *thresholds,
                          const float *raw_mul, const kfda_shape4 *os, void *out,
                          void *scratch) {
  bconv_ctx t;
  uint32_t *col = (uint32_t *)scratch;
  const size_t npix = (size_t)os->n * (size_t)os->h * (size_t)os->w;
  size_t pix = 0;
  if (fs->c != is->c || scratch == NULL) {
    kfda_lce_bconv2d_ref(p, is, in, fs, filter, out_mul, out_bias, thresholds, raw_mul, os,
                         out);
    return;
  }
  t.p = p; t.is = is; t.os = os; t.in = (const uint32_t *)in;
  t.filter = (const uint32_t *)filter; t.out_mul = out_mul; t.out_bias = out_bias;
  t.raw_mul = raw_mul; t.thresholds = thresholds; t.out = out;
  t.cout = fs->n; t.fh = fs->h; t.fw = fs->w; t.gw = fs->c;
  t.kw = fs->h * fs->w * fs->c; /* words per output channel */
  t.out_words = KFDA_PACKED_WORDS(t.cout);
  t.same_zero = p->padding == 0 && p->pad_value == 0;
  t.qmin = p->clamp_min; t.qmax = p->clamp_max;
  t.noclamp = t.qmin <= 0 && (int64_t)t.qmax >= 64 * (int64_t)t.kw;
#if KFDA_BCONV_NEON4
  if (t.kw < 2048 && t.cout >= 4) {
    const int32_t padded = (t.kw + 3) & ~3;
    bconv_pixel px4[4];
    int32_t acc[16 * 16];
    for (; pix + 4 <= npix; pix += 4) {
      int32_t q, oc, oc1;
      int fused;
      im2col(&t, pix, 4, col, padded, px4);
      fused = p->output_kind == KFDA_BCONV_OUT_F32 && t.noclamp && !px4[0].edge && !px4[1].edge &&
              !px4[2].edge && !px4[3].edge;
      for (oc = 0; oc + 4 <= t.cout; oc = oc1) { /* up to 64 channels per call */
        const int32_t nblk = (t.cout - oc) / 4 < 16 ? (t.cout - oc) / 4 : 16;
        int32_t blk;
        oc1 = oc + 4 * nblk;
        if (fused) {
          float *o4[4];
          for (q = 0; q < 4; ++q) o4[q] = (float *)out + (pix + q) * t.cout + oc;
          xor_popcount_4x4(col, (size_t)padded, t.filter + (size_t)oc * t.kw, t.kw, nblk, acc,
                           o4, out_mul + oc, out_bias + oc);
          continue;
        }
        xor_popcount_4x4(col, (size_t)padded, t.filter + (size_t)oc * t.kw, t.kw, nblk, acc,
                         NULL, NULL, NULL);
        for (q = 0; q < 4; ++q) {
          if (p->output_kind == KFDA_BCONV_OUT_F32 && !px4[q].edge) {
            transform4_f32(&t, (float *)out + (pix + q) * t.cout + oc, oc, nblk, acc + 4 * q);
          } else {
            for (blk = 0; blk < nblk; ++blk)
              transform(&t, &px4[q], oc + 4 * blk, 4, acc + 16 * blk + 4 * q);
          }
        }
      }
      if (oc < t.cout)
        for (q = 0; q < 4; ++q) channels_one_pixel(&t, &px4[q], col + q * padded, oc);
    }
  }
#endif
  if (pix < npix) pixels_one_by_one(&t, pix, npix, col);
}

void kfda_lce_bconv2d(const kfda_bconv_params *p, const kfda_shape4 *is, const int32_t *in,
                      const kfda_shape4 *fs, const int32_t *filter, const float *out_mul,
                      const float *out_bias, const int32_t *thresholds, const float *raw_mul,
                      const kfda_shape4 *os, void *out, void *scratch) {
#if defined(KFDA_BENCH_SKIP_BCONV) /* benchmarks only: the rest of the model's cost */
  (void)p; (void)is; (void)in; (void)fs; (void)filter; (void)out_mul; (void)out_bias;
  (void)thresholds; (void)raw_mul; (void)os; (void)out; (void)scratch;
#elif defined(KFDA_KERNELS_REF)
  (void)scratch;
  kfda_lce_bconv2d_ref(p, is, in, fs, filter, out_mul, out_bias, thresholds, raw_mul, os, out);
#else
  kfda_lce_bconv2d_opt(p, is, in, fs, filter, out_mul, out_bias, thresholds, raw_mul, os, out,
                       scratch);
#endif
}
