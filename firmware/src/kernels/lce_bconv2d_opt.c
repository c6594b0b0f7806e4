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
 *   everything else (Cortex-M, which has no popcount instruction): 2 channels
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
#define OC_BLOCK 4
#elif !defined(OC_BLOCK)
#define OC_BLOCK 2
#endif

size_t kfda_lce_bconv2d_scratch_bytes(const kfda_shape4 *filter_shape) {
  return (size_t)filter_shape->h * (size_t)filter_shape->w * (size_t)filter_shape->c * 4u;
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

/* One output channel on its own (the tail when cout % OC_BLOCK != 0). */
static int32_t xor_popcount(const uint32_t *x, const uint32_t *w, int32_t n) {
  int32_t i, t = 0;
  for (i = 0; i < n; ++i) t += kfda_popcount32(x[i] ^ w[i]);
  return t;
}

void kfda_lce_bconv2d_opt(const kfda_op_params *p, const kfda_shape4 *is, const int32_t *in,
                          const kfda_shape4 *fs, const int32_t *filter, const float *out_mul,
                          const float *out_bias, const int32_t *thresholds,
                          const float *raw_mul, const kfda_shape4 *os, void *out,
                          void *scratch) {
  const int32_t cout = fs->n, fh = fs->h, fw = fs->w, gw = fs->c;
  const int32_t in_words = is->c;
  const int32_t kw = fh * fw * gw; /* words per output channel */
  const int32_t out_words = KFDA_PACKED_WORDS(cout);
  const int same_zero = p->padding == 0 && p->pad_value == 0;
  uint32_t *col = (uint32_t *)scratch;
  int32_t b, oy, ox, oc, fy, fx, k;
  int32_t acc[OC_BLOCK];
  if (gw != in_words || scratch == NULL) {
    kfda_lce_bconv2d_ref(p, is, in, fs, filter, out_mul, out_bias, thresholds, raw_mul, os,
                         out);
    return;
  }
  for (b = 0; b < os->n; ++b)
    for (oy = 0; oy < os->h; ++oy)
      for (ox = 0; ox < os->w; ++ox) {
        const size_t pix = ((size_t)b * os->h + oy) * os->w + ox;
        int kase = 0;
        int32_t X = 0, Y = 0;
        const int edge = same_zero && p->flag == KFDA_BCONV_OUT_F32 &&
                         kfda_lce_bconv2d_edge_case(p, is, os, fh, fw, oy, ox, &kase, &X,
                                                    &Y) == 0;
        uint32_t *c = col;
        /* im2col of packed words */
        for (fy = 0; fy < fh; ++fy) {
          const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dil_h;
          for (fx = 0; fx < fw; ++fx, c += gw) {
            const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dil_w;
            if (iy >= 0 && iy < is->h && ix >= 0 && ix < is->w) {
              const uint32_t *x = (const uint32_t *)in +
                                  (((size_t)b * is->h + iy) * is->w + ix) * in_words;
              for (k = 0; k < gw; ++k) c[k] = x[k];
            } else {
              for (k = 0; k < gw; ++k) c[k] = 0;
            }
          }
        }
        if (p->flag == KFDA_BCONV_OUT_PACKED) {
          uint32_t *o = (uint32_t *)out + pix * out_words;
          for (k = 0; k < out_words; ++k) o[k] = 0;
        }
        for (oc = 0; oc < cout; oc += OC_BLOCK) {
          const uint32_t *f = (const uint32_t *)filter + (size_t)oc * kw;
          const int32_t nb = cout - oc < OC_BLOCK ? cout - oc : OC_BLOCK;
          int32_t j;
          if (nb == OC_BLOCK) {
            xor_popcount_block(col, f, (size_t)kw, kw, acc);
          } else {
            for (j = 0; j < nb; ++j) acc[j] = xor_popcount(col, f + (size_t)j * kw, kw);
          }
          for (j = 0; j < nb; ++j) {
            const int32_t c_ = oc + j;
            const int32_t accum = acc[j];
            if (p->flag == KFDA_BCONV_OUT_PACKED) {
              if (accum > thresholds[c_])
                ((uint32_t *)out)[pix * out_words + (c_ >> 5)] |= 1u << (c_ & 31);
            } else {
              int32_t x = accum * 2;
              float y;
              if (x > p->qact_max) x = p->qact_max;
              if (x < p->qact_min) x = p->qact_min;
              y = (float)x * out_mul[c_] + out_bias[c_];
              if (p->flag == KFDA_BCONV_OUT_F32) {
                if (edge) {
                  const float m = -1.0f * raw_mul[c_];
                  y += m * (float)kfda_lce_bconv2d_edge_correction(
                                p, f + (size_t)j * kw, fh, fw, gw, p->channels_in, kase, X, Y);
                }
                ((float *)out)[pix * cout + c_] = y;
              } else {
                float r = roundf(y);
                if (r > 127.0f) r = 127.0f;
                if (!(r >= -128.0f)) r = -128.0f; /* also NaN */
                ((int8_t *)out)[pix * cout + c_] = (int8_t)r;
              }
            }
          }
        }
      }
}

void kfda_lce_bconv2d(const kfda_op_params *p, const kfda_shape4 *is, const int32_t *in,
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
