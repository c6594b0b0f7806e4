/*
 * lce_bconv2d_opt_neon.c - the XOR-popcount inner loops of the optimized
 * LceBconv2d (lce_bconv2d_opt.c) for arm64 and armv7 with NEON:
 *
 *   kfda_bconv_popcount_neon: 4 channels per pass, 4 words per step:
 *     EOR, CNT (per byte), ADD into byte counters (flushed with UADALP into
 *     16-bit lanes every 31 steps), ADDV at the end.
 *   kfda_bconv_bcast_neon (arm64): 4 pixels x 16 channels per pass over the
 *     repacked filter, one pixel word broadcast against 4 channels' words.
 *   kfda_bconv_popcount_4x4_neon (armv7): 4 pixels x 4 channels per pass
 *     over im2col columns, one 16-bit accumulator per pixel and 4 channels.
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
/* 4 pixels x 4 output channels per pass, over nblk blocks of 4 channels. Per 4
 * words: the 4 filter loads, then per pixel one column load, EOR and CNT per
 * channel, and a pairwise-add tree that folds the 4 channels of a block into one
 * vector of bytes [c0 x4, c1 x4, c2 x4, c3 x4] (each <= 32), which VPADAL adds
 * into 16-bit lanes [c0, c0, c1, c1, c2, c2, c3, c3]: one accumulator per pixel
 * and block. The kw % 4 tail words go 2 at a time with two channels in one vector
 * into the same lanes; a lone last word (odd kw) with 4 channels in one vector
 * (word4). One VPADDL per pixel and block ends it: acc[16 * blk + 4 * q + j] for
 * pixel q, channel 4 * blk + j (a 16-bit lane holds at most kw * 16 < 65536).
 * armv7 has no 128-bit pairwise add: fold4 pairs with 64-bit VPADDs. */

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

/* 8 byte sums of pairs of c's bytes (armv7's VPADD is 64-bit only) */
static inline uint8x8_t pair8(uint8x16_t c) { return vpadd_u8(vget_low_u8(c), vget_high_u8(c)); }
/* [c0 x4, c1 x4, c2 x4, c3 x4]: the layout of arm64's fold4 */
static inline uint8x16_t fold4(uint8x16_t c0, uint8x16_t c1, uint8x16_t c2, uint8x16_t c3) {
  const uint8x16_t p01 = vcombine_u8(pair8(c0), pair8(c1)), p23 = vcombine_u8(pair8(c2), pair8(c3));
  return vcombine_u8(pair8(p01), pair8(p23));
}

/* One block of 4 channels at a time (4 filter vectors, 4 accumulators, the column and
 * the fold's temporaries fill the 16 registers). */
void kfda_bconv_popcount_4x4_neon(const uint32_t *col, size_t cstride, const uint32_t *w,
                                  int32_t kw, int32_t nblk, int32_t *acc) {
  const uint32_t *x0 = col, *x1 = col + cstride, *x2 = col + 2 * cstride, *x3 = col + 3 * cstride;
  const size_t k = (size_t)kw;
  int32_t blk;
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
#undef KFDA_XC
#endif

#if KFDA_BCONV_BCAST
/* 4 pixels x 16 channels per pass over the repacked filter (lce_bconv2d_internal.h):
 * per word k, LD1R of each pixel's word k into all 4 lanes, one LD1 of the 16
 * channels' words k, and per pixel and 4 channels EOR, CNT and UADALP into 16-bit
 * lanes [c0, c0, c1, c1, c2, c2, c3, c3]: 53 instructions per 2048 binary MACs with
 * no tail for any word count, and the window read where it lies (a run per filter
 * row). UADDLP then gives each pixel's 4 channels in output order. */
#if defined(__GNUC__)
#define KFDA_INLINE_ALWAYS inline __attribute__((always_inline))
#else
#define KFDA_INLINE_ALWAYS inline
#endif

#define KFDA_XACC(a, X, W) a = vpadalq_u8(a, vcntq_u8(veorq_u8(X, W)))
#define KFDA_XSET(a, X, W) a = vpaddlq_u8(vcntq_u8(veorq_u8(X, W)))

/* *p's next 2 words, each in all 4 lanes of its vector; p then 2 words on (LD2R). */
static inline uint32x4x2_t load2_broadcast(const uint32_t **p) {
#if defined(__GNUC__) /* GCC's vld2q_dup_u32 takes no post-index: an ADD per load more */
  uint32x4x2_t v;
  __asm__("ld2r {%S0.4s, %T0.4s}, [%1], #8"
          : "=w"(v), "+r"(*p)
          : "m"(*(const uint32_t (*)[2]) * p));
  return v;
#else
  const uint32x4x2_t v = vld2q_dup_u32(*p);
  *p += 2;
  return v;
#endif
}

/* *p's word in all 4 lanes, p then at the next word: one LD1R (GCC makes a load with a
 * register offset and a DUP of vld1q_dup_u32 in this loop). */
static inline uint8x16_t load_broadcast(const uint32_t **p) {
#if defined(__GNUC__)
  uint32x4_t v;
  __asm__("ld1r {%0.4s}, [%1], #4" : "=w"(v), "+r"(*p) : "m"(**p));
  return vreinterpretq_u8_u32(v);
#else
  return vreinterpretq_u8_u32(vld1q_dup_u32((*p)++));
#endif
}

/* The float transform of one pixel's groups (accumulators c0..c3) into o, its 16
 * outputs stored in order (GCC pairs the stores): M<j> = m + m, B<j> = bias of group j. */
#define KFDA_Y(c, M, B) vaddq_f32(vmulq_f32(vcvtq_f32_u32(vpaddlq_u16(c)), M), B)
#define KFDA_FINISH_PIXEL(o, c0, c1, c2, c3)          \
  do {                                                \
    vst1q_f32(o, KFDA_Y(c0, M0, B0));                 \
    if (g > 1) vst1q_f32(o + 4, KFDA_Y(c1, M1, B1));  \
    if (g > 2) vst1q_f32(o + 8, KFDA_Y(c2, M2, B2));  \
    if (g > 3) vst1q_f32(o + 12, KFDA_Y(c3, M3, B3)); \
  } while (0)
/* The sums of group j (accumulators a0..a3 of pixels 0..3) into acc. */
#define KFDA_FINISH_ACC(j, a0, a1, a2, a3)                     \
  do {                                                         \
    vst1q_u32((uint32_t *)acc + 16 * j, vpaddlq_u16(a0));      \
    vst1q_u32((uint32_t *)acc + 16 * j + 4, vpaddlq_u16(a1));  \
    vst1q_u32((uint32_t *)acc + 16 * j + 8, vpaddlq_u16(a2));  \
    vst1q_u32((uint32_t *)acc + 16 * j + 12, vpaddlq_u16(a3)); \
  } while (0)

/* g (1..4, a constant once inlined) groups of 4 channels, w the block's [k][4 g] words;
 * a<pixel><group> the accumulators (those of groups >= g unused and dropped). o0..o3:
 * the 4 pixels' float outputs, or NULL for acc. */
static KFDA_INLINE_ALWAYS void bcast_block(const uint32_t *const *x, const size_t *drow,
                                           int32_t rows, int32_t row_words, const uint32_t *w,
                                           const int g, int32_t *acc, float *o0, float *o1,
                                           float *o2, float *o3, const float *m, const float *bi) {
  /* set by the first word (UADDLP: no zeroing) */
  uint16x8_t a00, a10, a20, a30, a01, a11, a21, a31;
  uint16x8_t a02, a12, a22, a32, a03, a13, a23, a33;
/* one word k of the 4 pixels (X0..X3, broadcast) against the block's words k, w then at
 * word k + 1; XACC adds to the accumulators, XSET sets them */
#define KFDA_WORD(X0, X1, X2, X3, KFDA_XACC)                      \
  do {                                                            \
    const uint8x16_t Y0 = (X0), Y1 = (X1), Y2 = (X2), Y3 = (X3);  \
    uint8x16_t W0, W1, W2, W3;                                    \
    if (g == 4) {                                                 \
      const uint8x16x4_t v = vld1q_u8_x4((const uint8_t *)w);     \
      W0 = v.val[0], W1 = v.val[1], W2 = v.val[2], W3 = v.val[3]; \
    } else if (g == 3) {                                          \
      const uint8x16x3_t v = vld1q_u8_x3((const uint8_t *)w);     \
      W0 = v.val[0], W1 = v.val[1], W2 = W3 = v.val[2];           \
    } else if (g == 2) {                                          \
      const uint8x16x2_t v = vld1q_u8_x2((const uint8_t *)w);     \
      W0 = v.val[0], W1 = W2 = W3 = v.val[1];                     \
    } else {                                                      \
      W0 = W1 = W2 = W3 = vld1q_u8((const uint8_t *)w);           \
    }                                                             \
    w += 4 * g;                                                   \
    KFDA_XACC(a00, Y0, W0);                                       \
    KFDA_XACC(a10, Y1, W0);                                       \
    KFDA_XACC(a20, Y2, W0);                                       \
    KFDA_XACC(a30, Y3, W0);                                       \
    if (g > 1) {                                                  \
      KFDA_XACC(a01, Y0, W1);                                     \
      KFDA_XACC(a11, Y1, W1);                                     \
      KFDA_XACC(a21, Y2, W1);                                     \
      KFDA_XACC(a31, Y3, W1);                                     \
    }                                                             \
    if (g > 2) {                                                  \
      KFDA_XACC(a02, Y0, W2);                                     \
      KFDA_XACC(a12, Y1, W2);                                     \
      KFDA_XACC(a22, Y2, W2);                                     \
      KFDA_XACC(a32, Y3, W2);                                     \
    }                                                             \
    if (g > 3) {                                                  \
      KFDA_XACC(a03, Y0, W3);                                     \
      KFDA_XACC(a13, Y1, W3);                                     \
      KFDA_XACC(a23, Y2, W3);                                     \
      KFDA_XACC(a33, Y3, W3);                                     \
    }                                                             \
  } while (0)
  /* after a row the pointers stand row_words on: the next row is drow - row_words on */
  const uint32_t *p0 = x[0], *p1 = x[1], *p2 = x[2], *p3 = x[3];
  const size_t d0 = drow[0] - (size_t)row_words, d1 = drow[1] - (size_t)row_words;
  const size_t d2 = drow[2] - (size_t)row_words, d3 = drow[3] - (size_t)row_words;
  int32_t r, i;
  if (row_words >= 2) { /* row 0's first 2 words (the rows' word pairs stay in step) */
    const uint32x4x2_t v0 = load2_broadcast(&p0), v1 = load2_broadcast(&p1);
    const uint32x4x2_t v2 = load2_broadcast(&p2), v3 = load2_broadcast(&p3);
    KFDA_WORD(vreinterpretq_u8_u32(v0.val[0]), vreinterpretq_u8_u32(v1.val[0]),
              vreinterpretq_u8_u32(v2.val[0]), vreinterpretq_u8_u32(v3.val[0]), KFDA_XSET);
    KFDA_WORD(vreinterpretq_u8_u32(v0.val[1]), vreinterpretq_u8_u32(v1.val[1]),
              vreinterpretq_u8_u32(v2.val[1]), vreinterpretq_u8_u32(v3.val[1]), KFDA_XACC);
    i = row_words - 2;
  } else {
    KFDA_WORD(load_broadcast(&p0), load_broadcast(&p1), load_broadcast(&p2), load_broadcast(&p3),
              KFDA_XSET);
    i = row_words - 1;
  }
  for (r = 0; r < rows; ++r, p0 += d0, p1 += d1, p2 += d2, p3 += d3, i = row_words) {
    for (; i >= 2; i -= 2) { /* words k, k + 1: one LD2R per pixel */
      const uint32x4x2_t v0 = load2_broadcast(&p0), v1 = load2_broadcast(&p1);
      const uint32x4x2_t v2 = load2_broadcast(&p2), v3 = load2_broadcast(&p3);
      KFDA_WORD(vreinterpretq_u8_u32(v0.val[0]), vreinterpretq_u8_u32(v1.val[0]),
                vreinterpretq_u8_u32(v2.val[0]), vreinterpretq_u8_u32(v3.val[0]), KFDA_XACC);
      KFDA_WORD(vreinterpretq_u8_u32(v0.val[1]), vreinterpretq_u8_u32(v1.val[1]),
                vreinterpretq_u8_u32(v2.val[1]), vreinterpretq_u8_u32(v3.val[1]), KFDA_XACC);
    }
    if (i) /* an odd row's last word */
      KFDA_WORD(load_broadcast(&p0), load_broadcast(&p1), load_broadcast(&p2), load_broadcast(&p3),
                KFDA_XACC);
  }
#undef KFDA_WORD
  if (o0) {
    /* (float)(2 acc) * m == (float)acc * (m + m): the same real product, rounded once (the
     * driver passes o4 only when every m + m is finite) */
    float32x4_t M0 = vld1q_f32(m), M1 = M0, M2 = M0, M3 = M0;
    float32x4_t B0 = vld1q_f32(bi), B1 = B0, B2 = B0, B3 = B0;
    M0 = vaddq_f32(M0, M0);
    if (g > 1) M1 = vld1q_f32(m + 4), M1 = vaddq_f32(M1, M1), B1 = vld1q_f32(bi + 4);
    if (g > 2) M2 = vld1q_f32(m + 8), M2 = vaddq_f32(M2, M2), B2 = vld1q_f32(bi + 8);
    if (g > 3) M3 = vld1q_f32(m + 12), M3 = vaddq_f32(M3, M3), B3 = vld1q_f32(bi + 12);
    KFDA_FINISH_PIXEL(o0, a00, a01, a02, a03);
    KFDA_FINISH_PIXEL(o1, a10, a11, a12, a13);
    KFDA_FINISH_PIXEL(o2, a20, a21, a22, a23);
    KFDA_FINISH_PIXEL(o3, a30, a31, a32, a33);
  } else {
    KFDA_FINISH_ACC(0, a00, a10, a20, a30);
    if (g > 1) KFDA_FINISH_ACC(1, a01, a11, a21, a31);
    if (g > 2) KFDA_FINISH_ACC(2, a02, a12, a22, a32);
    if (g > 3) KFDA_FINISH_ACC(3, a03, a13, a23, a33);
  }
}
#undef KFDA_Y
#undef KFDA_FINISH_PIXEL
#undef KFDA_FINISH_ACC

#if defined(__GNUC__) && !defined(__clang__)
/* GCC's first scheduling pass hoists all EORs and spills accumulators */
__attribute__((optimize("no-schedule-insns")))
#endif
void kfda_bconv_bcast_neon(const uint32_t *const *x, const size_t *drow, int32_t rows,
                           int32_t row_words, const uint32_t *w, int32_t ngroups, int32_t *acc,
                           float *const *o4, const float *m, const float *bi) {
  const size_t block = 16u * (size_t)rows * (size_t)row_words; /* words of 16 channels */
  /* the output pointers in registers (through o4 GCC loads them at each store) */
  float *o0 = o4 ? o4[0] : NULL, *o1 = o4 ? o4[1] : NULL, *o2 = o4 ? o4[2] : NULL,
        *o3 = o4 ? o4[3] : NULL;
  for (; ngroups >= 4; ngroups -= 4, w += block) {
    bcast_block(x, drow, rows, row_words, w, 4, acc, o0, o1, o2, o3, m, bi);
    if (o4) {
      o0 += 16, o1 += 16, o2 += 16, o3 += 16;
      m += 16;
      bi += 16;
    } else {
      acc += 64;
    }
  }
  if (ngroups == 3)
    bcast_block(x, drow, rows, row_words, w, 3, acc, o0, o1, o2, o3, m, bi);
  else if (ngroups == 2)
    bcast_block(x, drow, rows, row_words, w, 2, acc, o0, o1, o2, o3, m, bi);
  else if (ngroups == 1)
    bcast_block(x, drow, rows, row_words, w, 1, acc, o0, o1, o2, o3, m, bi);
}
#undef KFDA_XACC
#undef KFDA_XSET
#endif

#else
typedef int kfda_lce_bconv2d_opt_neon_unused; /* ISO C: no empty translation unit */
#endif
