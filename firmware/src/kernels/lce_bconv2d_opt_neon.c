/*
 * lce_bconv2d_opt_neon.c - the XOR-popcount inner loops of the optimized
 * LceBconv2d (lce_bconv2d_opt.c) for arm64 and armv7 with NEON:
 *
 *   kfda_bconv_popcount_neon: 4 channels per pass, 4 words per step:
 *     EOR, CNT (per byte), ADD into byte counters (flushed with UADALP into
 *     16-bit lanes every 31 steps), ADDV at the end.
 *   kfda_bconv_popcount_4x4_neon: 4 pixels x 8 channels per pass on arm64,
 *     4 x 4 on armv7 (blocks of 4 channels: the name is the interface's), one
 *     16-bit accumulator per pixel and 4 channels.
 *
 * Held bit for bit to lce_bconv2d_ref.c by tests/firmware/test_kernels_opt.py
 * (kernel_test under qemu-aarch64 and qemu-arm).
 */
#include "lce_bconv2d_internal.h"

#if KFDA_BCONV_NEON
#include <arm_neon.h>

#include "popcount.h"

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
void kfda_bconv_popcount_neon(const uint32_t *x, const uint32_t *w, size_t stride, int32_t n,
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

#if KFDA_BCONV_NEON4
/* 4 pixels x 8 (or 4; armv7: 4 always) output channels per pass, over nblk blocks of 4
 * channels. Per 4 words: the 8 filter loads, then per pixel one column load,
 * EOR and CNT per channel, and an ADDP tree that folds the 4 channels of a
 * block into one vector of bytes [c0 x4, c1 x4, c2 x4, c3 x4] (each <= 32),
 * which UADALP adds into 16-bit lanes [c0, c0, c1, c1, c2, c2, c3, c3]: 3
 * instructions per 128 bits per pixel and channel, as with an accumulator
 * per channel, but only one accumulator per pixel and block, so 8 channels x
 * 4 pixels share each load. The kw % 4 tail words go 2 at a time with two
 * channels in one vector into the same lanes; a lone last word (odd kw) with
 * 4 channels in one vector (word4). One UADDLP
 * per pixel and block ends it: acc[16 * blk + 4 * q + j] for pixel q, channel
 * 4 * blk + j (a 16-bit lane holds at most kw * 16 < 65536). With o4 (float
 * output, no edge correction, a clamp that cannot bite) the transform
 * 2 * acc * m + b is done here instead, into o4[q][4 * blk + j] (multiply
 * then add: no fused rounding; the conversion is exact, acc < 2^24; arm64 only).
 * armv7 has no 128-bit ADDP: its fold4 pairs with 64-bit VPADDs into the same
 * layout. */

/* The lone-or-paired tail words i, i + 1 (i + 1 may be kw: then filter word 0) of
 * channels w0 and w1, in one vector. */
static inline uint8x16_t tail_pair(const uint32_t *w0, const uint32_t *w1, int32_t i, int32_t kw) {
  uint32x2_t v0, v1;
  if (i + 1 < kw) {
    v0 = vld1_u32(w0 + i);
    v1 = vld1_u32(w1 + i);
  } else {
    const uint32x2_t z = vdup_n_u32(0);
    v0 = vld1_lane_u32(w0 + i, z, 0);
    v1 = vld1_lane_u32(w1 + i, z, 0);
  }
  return vreinterpretq_u8_u32(vcombine_u32(v0, v1));
}

/* Word i of 4 channels' filters in one vector: bytes [c0 x4, c1 x4, c2 x4, c3 x4], the
 * layout fold4 gives, so that EOR with the column word in every lane and CNT add
 * straight into the accumulator (a lone last word: 1 instruction per channel less
 * than two channels' pairs). */
static inline uint8x16_t word4(const uint32_t *w0, const uint32_t *w1, const uint32_t *w2,
                               const uint32_t *w3, int32_t i) {
  uint32x4_t v = vld1q_dup_u32(w0 + i);
  v = vld1q_lane_u32(w1 + i, v, 1);
  v = vld1q_lane_u32(w2 + i, v, 2);
  v = vld1q_lane_u32(w3 + i, v, 3);
  return vreinterpretq_u8_u32(v);
}

static inline uint8x16_t col_pair(const uint32_t *x) {
  return vreinterpretq_u8_u64(vld1q_dup_u64((const uint64_t *)x));
}

#define KFDA_XC(X, W) vcntq_u8(veorq_u8(X, W))

#if defined(__aarch64__)
static inline uint8x16_t fold4(uint8x16_t c0, uint8x16_t c1, uint8x16_t c2, uint8x16_t c3) {
  return vpaddq_u8(vpaddq_u8(c0, c1), vpaddq_u8(c2, c3));
}

/* The finished sums of one block of 4 channels for 4 pixels: into acc, or with
 * o4 transformed into o4[q] + oc. */
static inline void finish(uint16x8_t r0, uint16x8_t r1, uint16x8_t r2, uint16x8_t r3, int32_t *acc,
                          float *const *o4, int32_t oc, const float *m, const float *bi) {
  const uint32x4_t s0 = vpaddlq_u16(r0), s1 = vpaddlq_u16(r1), s2 = vpaddlq_u16(r2),
                   s3 = vpaddlq_u16(r3);
  if (o4) {
    const float32x4_t mv = vld1q_f32(m + oc), bv = vld1q_f32(bi + oc);
    float *const p0 = o4[0] + oc, *const p1 = o4[1] + oc, *const p2 = o4[2] + oc,
                 *const p3 = o4[3] + oc;
    const float32x4_t y0 = vaddq_f32(vmulq_f32(vcvtq_f32_u32(vshlq_n_u32(s0, 1)), mv), bv);
    const float32x4_t y1 = vaddq_f32(vmulq_f32(vcvtq_f32_u32(vshlq_n_u32(s1, 1)), mv), bv);
    const float32x4_t y2 = vaddq_f32(vmulq_f32(vcvtq_f32_u32(vshlq_n_u32(s2, 1)), mv), bv);
    const float32x4_t y3 = vaddq_f32(vmulq_f32(vcvtq_f32_u32(vshlq_n_u32(s3, 1)), mv), bv);
    vst1q_f32(p0, y0);
    vst1q_f32(p1, y1);
    vst1q_f32(p2, y2);
    vst1q_f32(p3, y3);
  } else {
    vst1q_s32(acc, vreinterpretq_s32_u32(s0));
    vst1q_s32(acc + 4, vreinterpretq_s32_u32(s1));
    vst1q_s32(acc + 8, vreinterpretq_s32_u32(s2));
    vst1q_s32(acc + 12, vreinterpretq_s32_u32(s3));
  }
}

#if defined(__GNUC__) && !defined(__clang__)
/* GCC's first scheduling pass hoists all EORs and spills an accumulator */
__attribute__((optimize("no-schedule-insns")))
#endif
void kfda_bconv_popcount_4x4_neon(const uint32_t *col, size_t cstride, const uint32_t *w,
                                  int32_t kw, int32_t nblk, int32_t *acc, float *const *o4,
                                  const float *m, const float *bi) {
  const uint32_t *x0 = col, *x1 = col + cstride, *x2 = col + 2 * cstride, *x3 = col + 3 * cstride;
  const size_t k = (size_t)kw;
  int32_t blk = 0;
  for (; blk + 2 <= nblk; blk += 2, w += 8 * k, acc += 32) { /* 8 channels */
    const uint32_t *w0 = w, *w1 = w + k, *w2 = w + 2 * k, *w3 = w + 3 * k;
    const uint32_t *w4 = w + 4 * k, *w5 = w + 5 * k, *w6 = w + 6 * k, *w7 = w + 7 * k;
    uint16x8_t a0 = vdupq_n_u16(0), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
    int32_t i;
    for (i = 0; i + 4 <= kw; i += 4) {
      const uint8x16_t W0 = vreinterpretq_u8_u32(vld1q_u32(w0 + i));
      const uint8x16_t W1 = vreinterpretq_u8_u32(vld1q_u32(w1 + i));
      const uint8x16_t W2 = vreinterpretq_u8_u32(vld1q_u32(w2 + i));
      const uint8x16_t W3 = vreinterpretq_u8_u32(vld1q_u32(w3 + i));
      const uint8x16_t W4 = vreinterpretq_u8_u32(vld1q_u32(w4 + i));
      const uint8x16_t W5 = vreinterpretq_u8_u32(vld1q_u32(w5 + i));
      const uint8x16_t W6 = vreinterpretq_u8_u32(vld1q_u32(w6 + i));
      const uint8x16_t W7 = vreinterpretq_u8_u32(vld1q_u32(w7 + i));
#define KFDA_PIX(x, a, b)                                                                     \
  do {                                                                                        \
    const uint8x16_t X = vreinterpretq_u8_u32(vld1q_u32(x + i));                              \
    a = vpadalq_u8(a, fold4(KFDA_XC(X, W0), KFDA_XC(X, W1), KFDA_XC(X, W2), KFDA_XC(X, W3))); \
    b = vpadalq_u8(b, fold4(KFDA_XC(X, W4), KFDA_XC(X, W5), KFDA_XC(X, W6), KFDA_XC(X, W7))); \
  } while (0)
      KFDA_PIX(x0, a0, b0);
      KFDA_PIX(x1, a1, b1);
      KFDA_PIX(x2, a2, b2);
      KFDA_PIX(x3, a3, b3);
#undef KFDA_PIX
    }
    if (i + 1 == kw) { /* a lone last word */
      const uint8x16_t W03 = word4(w0, w1, w2, w3, i), W47 = word4(w4, w5, w6, w7, i);
#define KFDA_LONE(x, a, b)                                           \
  do {                                                               \
    const uint8x16_t X = vreinterpretq_u8_u32(vld1q_dup_u32(x + i)); \
    a = vpadalq_u8(a, KFDA_XC(X, W03));                              \
    b = vpadalq_u8(b, KFDA_XC(X, W47));                              \
  } while (0)
      KFDA_LONE(x0, a0, b0);
      KFDA_LONE(x1, a1, b1);
      KFDA_LONE(x2, a2, b2);
      KFDA_LONE(x3, a3, b3);
#undef KFDA_LONE
      i = kw;
    }
    for (; i < kw; i += 2) {
      const uint8x16_t W01 = tail_pair(w0, w1, i, kw), W23 = tail_pair(w2, w3, i, kw);
      const uint8x16_t W45 = tail_pair(w4, w5, i, kw), W67 = tail_pair(w6, w7, i, kw);
#define KFDA_TAIL(x, a, b)                                          \
  do {                                                              \
    const uint8x16_t X = col_pair(x + i);                           \
    a = vpadalq_u8(a, vpaddq_u8(KFDA_XC(X, W01), KFDA_XC(X, W23))); \
    b = vpadalq_u8(b, vpaddq_u8(KFDA_XC(X, W45), KFDA_XC(X, W67))); \
  } while (0)
      KFDA_TAIL(x0, a0, b0);
      KFDA_TAIL(x1, a1, b1);
      KFDA_TAIL(x2, a2, b2);
      KFDA_TAIL(x3, a3, b3);
#undef KFDA_TAIL
    }
    finish(a0, a1, a2, a3, acc, o4, 4 * blk, m, bi);
    finish(b0, b1, b2, b3, acc + 16, o4, 4 * blk + 4, m, bi);
  }
  if (blk < nblk) { /* the last 4 channels */
    const uint32_t *w0 = w, *w1 = w + k, *w2 = w + 2 * k, *w3 = w + 3 * k;
    uint16x8_t a0 = vdupq_n_u16(0), a1 = a0, a2 = a0, a3 = a0;
    int32_t i;
    for (i = 0; i + 4 <= kw; i += 4) {
      const uint8x16_t W0 = vreinterpretq_u8_u32(vld1q_u32(w0 + i));
      const uint8x16_t W1 = vreinterpretq_u8_u32(vld1q_u32(w1 + i));
      const uint8x16_t W2 = vreinterpretq_u8_u32(vld1q_u32(w2 + i));
      const uint8x16_t W3 = vreinterpretq_u8_u32(vld1q_u32(w3 + i));
#define KFDA_PIX(x, a)                                                                        \
  do {                                                                                        \
    const uint8x16_t X = vreinterpretq_u8_u32(vld1q_u32(x + i));                              \
    a = vpadalq_u8(a, fold4(KFDA_XC(X, W0), KFDA_XC(X, W1), KFDA_XC(X, W2), KFDA_XC(X, W3))); \
  } while (0)
      KFDA_PIX(x0, a0);
      KFDA_PIX(x1, a1);
      KFDA_PIX(x2, a2);
      KFDA_PIX(x3, a3);
#undef KFDA_PIX
    }
    if (i + 1 == kw) { /* a lone last word */
      const uint8x16_t W03 = word4(w0, w1, w2, w3, i);
#define KFDA_LONE(x, a) a = vpadalq_u8(a, KFDA_XC(vreinterpretq_u8_u32(vld1q_dup_u32(x + i)), W03))
      KFDA_LONE(x0, a0);
      KFDA_LONE(x1, a1);
      KFDA_LONE(x2, a2);
      KFDA_LONE(x3, a3);
#undef KFDA_LONE
      i = kw;
    }
    for (; i < kw; i += 2) {
      const uint8x16_t W01 = tail_pair(w0, w1, i, kw), W23 = tail_pair(w2, w3, i, kw);
#define KFDA_TAIL(x, a)                                             \
  do {                                                              \
    const uint8x16_t X = col_pair(x + i);                           \
    a = vpadalq_u8(a, vpaddq_u8(KFDA_XC(X, W01), KFDA_XC(X, W23))); \
  } while (0)
      KFDA_TAIL(x0, a0);
      KFDA_TAIL(x1, a1);
      KFDA_TAIL(x2, a2);
      KFDA_TAIL(x3, a3);
#undef KFDA_TAIL
    }
    finish(a0, a1, a2, a3, acc, o4, 4 * blk, m, bi);
  }
}
#else /* armv7: 16 vector registers, 4 pixels x 4 channels per pass */
/* 8 byte sums of pairs of c's bytes (armv7's VPADD is 64-bit only) */
static inline uint8x8_t pair8(uint8x16_t c) { return vpadd_u8(vget_low_u8(c), vget_high_u8(c)); }
/* [c0 x4, c1 x4, c2 x4, c3 x4]: the layout of arm64's fold4 */
static inline uint8x16_t fold4(uint8x16_t c0, uint8x16_t c1, uint8x16_t c2, uint8x16_t c3) {
  const uint8x16_t p01 = vcombine_u8(pair8(c0), pair8(c1)), p23 = vcombine_u8(pair8(c2), pair8(c3));
  return vcombine_u8(pair8(p01), pair8(p23));
}

/* The arm64 loop's block of 4 channels, one block at a time (4 filter vectors, 4
 * accumulators, the column and the fold's temporaries fill the 16 registers); o4 is
 * not taken (the driver transforms in scalar code: NEON float is not IEEE here). */
void kfda_bconv_popcount_4x4_neon(const uint32_t *col, size_t cstride, const uint32_t *w,
                                  int32_t kw, int32_t nblk, int32_t *acc, float *const *o4,
                                  const float *m, const float *bi) {
  const uint32_t *x0 = col, *x1 = col + cstride, *x2 = col + 2 * cstride, *x3 = col + 3 * cstride;
  const size_t k = (size_t)kw;
  int32_t blk;
  (void)o4;
  (void)m;
  (void)bi;
  for (blk = 0; blk < nblk; ++blk, w += 4 * k, acc += 16) {
    const uint32_t *w0 = w, *w1 = w + k, *w2 = w + 2 * k, *w3 = w + 3 * k;
    uint16x8_t a0 = vdupq_n_u16(0), a1 = a0, a2 = a0, a3 = a0;
    int32_t i;
    for (i = 0; i + 4 <= kw; i += 4) {
      const uint8x16_t W0 = vreinterpretq_u8_u32(vld1q_u32(w0 + i));
      const uint8x16_t W1 = vreinterpretq_u8_u32(vld1q_u32(w1 + i));
      const uint8x16_t W2 = vreinterpretq_u8_u32(vld1q_u32(w2 + i));
      const uint8x16_t W3 = vreinterpretq_u8_u32(vld1q_u32(w3 + i));
#define KFDA_PIX(x, a)                                                                        \
  do {                                                                                        \
    const uint8x16_t X = vreinterpretq_u8_u32(vld1q_u32(x + i));                              \
    a = vpadalq_u8(a, fold4(KFDA_XC(X, W0), KFDA_XC(X, W1), KFDA_XC(X, W2), KFDA_XC(X, W3))); \
  } while (0)
      KFDA_PIX(x0, a0);
      KFDA_PIX(x1, a1);
      KFDA_PIX(x2, a2);
      KFDA_PIX(x3, a3);
#undef KFDA_PIX
    }
    if (i + 1 == kw) { /* a lone last word */
      const uint8x16_t W03 = word4(w0, w1, w2, w3, i);
#define KFDA_LONE(x, a) a = vpadalq_u8(a, KFDA_XC(vreinterpretq_u8_u32(vld1q_dup_u32(x + i)), W03))
      KFDA_LONE(x0, a0);
      KFDA_LONE(x1, a1);
      KFDA_LONE(x2, a2);
      KFDA_LONE(x3, a3);
#undef KFDA_LONE
      i = kw;
    }
    for (; i < kw; i += 2) {
      const uint8x16_t W01 = tail_pair(w0, w1, i, kw), W23 = tail_pair(w2, w3, i, kw);
#define KFDA_TAIL(x, a)                                                             \
  do {                                                                              \
    const uint8x16_t X = col_pair(x + i);                                           \
    a = vpadalq_u8(a, vcombine_u8(pair8(KFDA_XC(X, W01)), pair8(KFDA_XC(X, W23)))); \
  } while (0)
      KFDA_TAIL(x0, a0);
      KFDA_TAIL(x1, a1);
      KFDA_TAIL(x2, a2);
      KFDA_TAIL(x3, a3);
#undef KFDA_TAIL
    }
    vst1q_s32(acc, vreinterpretq_s32_u32(vpaddlq_u16(a0)));
    vst1q_s32(acc + 4, vreinterpretq_s32_u32(vpaddlq_u16(a1)));
    vst1q_s32(acc + 8, vreinterpretq_s32_u32(vpaddlq_u16(a2)));
    vst1q_s32(acc + 12, vreinterpretq_s32_u32(vpaddlq_u16(a3)));
  }
}
#endif
#undef KFDA_XC
#endif

#else
typedef int kfda_lce_bconv2d_opt_neon_unused; /* ISO C: no empty translation unit */
#endif
