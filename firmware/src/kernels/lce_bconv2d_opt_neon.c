/*
 * lce_bconv2d_opt_neon.c - the XOR-popcount inner loops of the optimized
 * LceBconv2d (lce_bconv2d_opt.c) for arm64 and armv7 with NEON:
 *
 *   kfda_bconv_popcount_neon: 4 channels per pass, 4 words per step:
 *     EOR, CNT (per byte), ADD into byte counters (flushed with UADALP into
 *     16-bit lanes every 31 steps), ADDV at the end.
 *   kfda_bconv_bcast_neon: 4 pixels x 16 (arm64) or 8 (armv7) channels per
 *     pass over the repacked filter, one pixel word broadcast against 4
 *     channels' words.
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

#if KFDA_BCONV_BCAST
/* The float transform of 4 channels of one pixel, a their 8 16-bit sums (pairs of
 * lanes): (float)acc * M2 + B with M2 = m + m (every one finite: the product of
 * (float)(2 acc) and m), multiply, then add. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline float32x4_t bcast_y(uint16x8_t a, float32x4_t M2, float32x4_t B) {
  return vaddq_f32(vmulq_f32(vcvtq_f32_u32(vpaddlq_u16(a)), M2), B);
}
/* clamped: x = 2 acc, min(x, QX), max(x, QN), then (float)x * M + B (m not doubled) */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline float32x4_t bcast_y_clamped(uint16x8_t a, float32x4_t M, float32x4_t B, int32x4_t QN,
                                          int32x4_t QX) {
  const int32x4_t x = vshlq_n_s32(vreinterpretq_s32_u32(vpaddlq_u16(a)), 1);
  return vaddq_f32(vmulq_f32(vcvtq_f32_s32(vmaxq_s32(vminq_s32(x, QX), QN)), M), B);
}

/* One pixel whose window is one run of a->run_words words at x, against all of a's
 * channel groups, the float transform (as kfda_bconv_bcast_neon's, a->clamp included)
 * into o[4 g + j]: the pixels a range leaves after its passes of 4 (a 7x7 map's last).
 * Per word one LD1R and per 16 channels one load, 12 EOR/CNT/UADALP. */
void kfda_bconv_bcast1_neon(const kfda_bcast_args *a, const uint32_t *x, float *o) {
  const int32_t k = a->run_words;
  const uint32_t *w = a->w;
  const float *m = a->m, *bias = a->bias;
  int32_t ngroups = a->ngroups;
  for (; ngroups > 0; ngroups -= 4, o += 16, m += 16, bias += 16) {
    const int32_t g = ngroups < 4 ? ngroups : 4; /* the block's groups: [k][4 g] words */
    uint16x8_t c[4];
    const uint32_t *p = x;
    int32_t i, j;
    for (j = 0; j < 4; ++j) c[j] = vdupq_n_u16(0);
    if (g == 4) {
      uint16x8_t c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
      for (i = 0; i < k; ++i, w += 16) {
        const uint8x16_t X = vreinterpretq_u8_u32(vld1q_dup_u32(p++));
        c0 = vpadalq_u8(c0, vcntq_u8(veorq_u8(X, vld1q_u8((const uint8_t *)w))));
        c1 = vpadalq_u8(c1, vcntq_u8(veorq_u8(X, vld1q_u8((const uint8_t *)(w + 4)))));
        c2 = vpadalq_u8(c2, vcntq_u8(veorq_u8(X, vld1q_u8((const uint8_t *)(w + 8)))));
        c3 = vpadalq_u8(c3, vcntq_u8(veorq_u8(X, vld1q_u8((const uint8_t *)(w + 12)))));
      }
      c[0] = c0, c[1] = c1, c[2] = c2, c[3] = c3;
    } else {
      for (i = 0; i < k; ++i, w += 4 * g) {
        const uint8x16_t X = vreinterpretq_u8_u32(vld1q_dup_u32(p++));
        for (j = 0; j < g; ++j)
          c[j] = vpadalq_u8(c[j], vcntq_u8(veorq_u8(X, vld1q_u8((const uint8_t *)(w + 4 * j)))));
      }
    }
    for (j = 0; j < g; ++j) {
      const float32x4_t M = vld1q_f32(m + 4 * j), B = vld1q_f32(bias + 4 * j);
      vst1q_f32(o + 4 * j, a->clamp ? bcast_y_clamped(c[j], M, B, vdupq_n_s32(a->clamp[0]),
                                                      vdupq_n_s32(a->clamp[1]))
                                    : bcast_y(c[j], vaddq_f32(M, M), B));
    }
  }
}
#endif

#if KFDA_BCONV_BCAST && defined(__aarch64__)
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

/* 16 words from *p, *p then 16 words on: one post-indexed LD1 (GCC adds an ADD to
 * vld1q_u8_x4 at every other word). */
static inline uint8x16x4_t load4_post(const uint32_t **p) {
#if defined(__GNUC__)
  uint8x16x4_t v;
  __asm__("ld1 {%S0.16b, %T0.16b, %U0.16b, %V0.16b}, [%1], #64"
          : "=w"(v), "+r"(*p)
          : "m"(*(const uint32_t (*)[16]) * p));
  return v;
#else
  const uint8x16x4_t v = vld1q_u8_x4((const uint8_t *)*p);
  *p += 16;
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
 * outputs stored in order (GCC pairs the stores): M<j> = m + m, B<j> = bias of group j;
 * clamped, M<j> = m. */
#define KFDA_Y(c, M, B)  bcast_y(c, M, B)
#define KFDA_YC(c, M, B) bcast_y_clamped(c, M, B, QN, QX)
#define KFDA_FINISH_PIXEL(Y, o, c0, c1, c2, c3)              \
  do {                                                       \
    const float32x4_t y0_ = Y(c0, M0, B0);                   \
    if (g > 1) {                                             \
      const float32x4_t y1_ = Y(c1, M1, B1);                 \
      vst1q_f32(o, y0_), vst1q_f32(o + 4, y1_); /* an STP */ \
    } else {                                                 \
      vst1q_f32(o, y0_);                                     \
    }                                                        \
    if (g > 3) {                                             \
      const float32x4_t y2_ = Y(c2, M2, B2);                 \
      const float32x4_t y3_ = Y(c3, M3, B3);                 \
      vst1q_f32(o + 8, y2_), vst1q_f32(o + 12, y3_);         \
    } else if (g > 2) {                                      \
      vst1q_f32(o + 8, Y(c2, M2, B2));                       \
    }                                                        \
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
static KFDA_INLINE_ALWAYS void bcast_block(const uint32_t *p0, const uint32_t *p1,
                                           const uint32_t *p2, const uint32_t *p3, size_t drun,
                                           int32_t rows, int32_t row_words, const uint32_t *w,
                                           const int g, int32_t *acc, float *o0, float *o1,
                                           float *o2, float *o3, const float *m, const float *bi,
                                           const int32_t *qclamp) {
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
      const uint8x16x4_t v = load4_post(&w);                      \
      W0 = v.val[0], W1 = v.val[1], W2 = v.val[2], W3 = v.val[3]; \
    } else if (g == 3) {                                          \
      const uint8x16x3_t v = vld1q_u8_x3((const uint8_t *)w);     \
      W0 = v.val[0], W1 = v.val[1], W2 = W3 = v.val[2];           \
      w += 12;                                                    \
    } else if (g == 2) {                                          \
      const uint8x16x2_t v = vld1q_u8_x2((const uint8_t *)w);     \
      W0 = v.val[0], W1 = W2 = W3 = v.val[1];                     \
      w += 8;                                                     \
    } else {                                                      \
      W0 = W1 = W2 = W3 = vld1q_u8((const uint8_t *)w);           \
      w += 4;                                                     \
    }                                                             \
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
  /* after a run the pointers stand row_words on: the next run is drun - row_words on */
  const size_t d0 = drun - (size_t)row_words, d1 = d0, d2 = d0, d3 = d0;
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
  if (o0 && qclamp) { /* a fused activation: the clamp bites */
    const int32x4_t QX = vdupq_n_s32(qclamp[1]), QN = vdupq_n_s32(qclamp[0]);
    float32x4_t M0 = vld1q_f32(m), M1 = M0, M2 = M0, M3 = M0;
    float32x4_t B0 = vld1q_f32(bi), B1 = B0, B2 = B0, B3 = B0;
    if (g > 1) M1 = vld1q_f32(m + 4), B1 = vld1q_f32(bi + 4);
    if (g > 2) M2 = vld1q_f32(m + 8), B2 = vld1q_f32(bi + 8);
    if (g > 3) M3 = vld1q_f32(m + 12), B3 = vld1q_f32(bi + 12);
    KFDA_FINISH_PIXEL(KFDA_YC, o0, a00, a01, a02, a03);
    KFDA_FINISH_PIXEL(KFDA_YC, o1, a10, a11, a12, a13);
    KFDA_FINISH_PIXEL(KFDA_YC, o2, a20, a21, a22, a23);
    KFDA_FINISH_PIXEL(KFDA_YC, o3, a30, a31, a32, a33);
  } else if (o0) {
    /* (float)(2 acc) * m == (float)acc * (m + m): the same real product, rounded once (the
     * driver passes o only when every m + m is finite) */
    float32x4_t M0 = vld1q_f32(m), M1 = M0, M2 = M0, M3 = M0;
    float32x4_t B0 = vld1q_f32(bi), B1 = B0, B2 = B0, B3 = B0;
    M0 = vaddq_f32(M0, M0);
    if (g > 1) M1 = vld1q_f32(m + 4), M1 = vaddq_f32(M1, M1), B1 = vld1q_f32(bi + 4);
    if (g > 2) M2 = vld1q_f32(m + 8), M2 = vaddq_f32(M2, M2), B2 = vld1q_f32(bi + 8);
    if (g > 3) M3 = vld1q_f32(m + 12), M3 = vaddq_f32(M3, M3), B3 = vld1q_f32(bi + 12);
    KFDA_FINISH_PIXEL(KFDA_Y, o0, a00, a01, a02, a03);
    KFDA_FINISH_PIXEL(KFDA_Y, o1, a10, a11, a12, a13);
    KFDA_FINISH_PIXEL(KFDA_Y, o2, a20, a21, a22, a23);
    KFDA_FINISH_PIXEL(KFDA_Y, o3, a30, a31, a32, a33);
  } else {
    KFDA_FINISH_ACC(0, a00, a10, a20, a30);
    if (g > 1) KFDA_FINISH_ACC(1, a01, a11, a21, a31);
    if (g > 2) KFDA_FINISH_ACC(2, a02, a12, a22, a32);
    if (g > 3) KFDA_FINISH_ACC(3, a03, a13, a23, a33);
  }
}
#undef KFDA_Y
#undef KFDA_YC
#undef KFDA_FINISH_PIXEL
#undef KFDA_FINISH_ACC

#if defined(__GNUC__) && !defined(__clang__)
/* GCC's first scheduling pass hoists all EORs and spills accumulators */
__attribute__((optimize("no-schedule-insns")))
#endif
/* One pass: all of a's channel groups for the 4 pixels at x0..x3 (runs a constant 1 or
 * a->runs once inlined). */
static KFDA_INLINE_ALWAYS void bcast_pass(const kfda_bcast_args *a, const uint32_t *x0,
                                          const uint32_t *x1, const uint32_t *x2,
                                          const uint32_t *x3, const int32_t runs, float *o) {
  const size_t block = 16u * (size_t)runs * (size_t)a->run_words; /* words of 16 channels */
  const size_t drun = a->drun;
  const int32_t run_words = a->run_words;
  const uint32_t *w = a->w;
  const float *m = a->m, *bi = a->bias;
  int32_t *acc = a->acc;
  /* the 4 pixels' outputs in registers (o NULL: acc) */
  float *o0 = o, *o1 = o ? o + a->cout : NULL, *o2 = o ? o1 + a->cout : NULL,
        *o3 = o ? o2 + a->cout : NULL;
  int32_t ngroups = a->ngroups;
  for (; ngroups >= 4; ngroups -= 4, w += block) {
    bcast_block(x0, x1, x2, x3, drun, runs, run_words, w, 4, acc, o0, o1, o2, o3, m, bi, a->clamp);
    if (o) {
      o0 += 16, o1 += 16, o2 += 16, o3 += 16;
      m += 16;
      bi += 16;
    } else {
      acc += 64;
    }
  }
  if (ngroups == 3)
    bcast_block(x0, x1, x2, x3, drun, runs, run_words, w, 3, acc, o0, o1, o2, o3, m, bi, a->clamp);
  else if (ngroups == 2)
    bcast_block(x0, x1, x2, x3, drun, runs, run_words, w, 2, acc, o0, o1, o2, o3, m, bi, a->clamp);
  else if (ngroups == 1)
    bcast_block(x0, x1, x2, x3, drun, runs, run_words, w, 1, acc, o0, o1, o2, o3, m, bi, a->clamp);
}

#if defined(__GNUC__) && !defined(__clang__)
/* GCC's first scheduling pass hoists all EORs and spills accumulators */
__attribute__((optimize("no-schedule-insns")))
#endif
void kfda_bconv_bcast_neon(const kfda_bcast_args *a) {
  const size_t xstep = a->xstep, ostep = 4u * (size_t)a->cout;
  const uint32_t *x0 = a->x[0], *x1 = a->x[1], *x2 = a->x[2], *x3 = a->x[3];
  float *o = a->o;
  int32_t pass;
  for (pass = 0; pass < a->npass; ++pass, x0 += xstep, x1 += xstep, x2 += xstep, x3 += xstep) {
    if (a->runs == 1) /* dil_w 1: each window one run, no loop over runs */
      bcast_pass(a, x0, x1, x2, x3, 1, o);
    else
      bcast_pass(a, x0, x1, x2, x3, a->runs, o);
    if (o) o += ostep;
  }
}
#undef KFDA_XACC
#undef KFDA_XSET
#endif

#if KFDA_BCONV_BCAST && !defined(__aarch64__)
/* armv7: 4 pixels x 8 channels per pass (8 accumulators, the 4 broadcast words, 2
 * filter vectors and 2 temporaries: the 16 Q registers), so a block of 16 channels is 2
 * passes over the words: per word 4 VLD1 to all lanes, one VLD1 of the 8 channels'
 * words, and per pixel and 4 channels VEOR, VCNT, VPADAL: 31 instructions per 1024
 * binary MACs with the loop. The float transform follows in NEON where the driver found
 * it exact (NEON float flushes denormals on armv7: neon_float_exact). */
#if defined(__GNUC__)
/* a += pairwise(popcount(X ^ W)) in one asm: with the intrinsics GCC's armv7 register
 * allocation copies every accumulator (VORR) at each word */
#define KFDA_XACC(a, X, W)                                                \
  do {                                                                    \
    uint8x16_t t_;                                                        \
    __asm__("veor %q1, %q2, %q3\n\tvcnt.8 %q1, %q1\n\tvpadal.u8 %q0, %q1" \
            : "+w"(a), "=&w"(t_)                                          \
            : "w"(X), "w"(W));                                            \
  } while (0)
#else
#define KFDA_XACC(a, X, W) a = vpadalq_u8(a, vcntq_u8(veorq_u8(X, W)))
#endif

/* *p's word in all 4 lanes, p then at the next word: one VLD1 with writeback (GCC adds
 * an ADD to vld1q_dup_u32 here). */
static inline uint8x16_t load_broadcast_v7(const uint32_t **p) {
#if defined(__GNUC__)
  uint32x4_t v;
  __asm__("vld1.32 {%e0[], %f0[]}, [%1]!" : "=w"(v), "+r"(*p) : "m"(**p));
  return vreinterpretq_u8_u32(v);
#else
  return vreinterpretq_u8_u32(vld1q_dup_u32((*p)++));
#endif
}

/* The float transform of one pixel's group (its 8 16-bit sums a) into o (bcast_y, or
 * bcast_y_clamped with QN, QX). */
#define KFDA_Y7(o, a, M, B)  vst1q_f32(o, bcast_y(a, M, B))
#define KFDA_Y7C(o, a, M, B) vst1q_f32(o, bcast_y_clamped(a, M, B, QN, QX))
#define KFDA_FINISH_HALF(Y)             \
  do {                                  \
    Y(o, a00, M0, B0);                  \
    Y(o + cout, a10, M0, B0);           \
    Y(o + 2 * cout, a20, M0, B0);       \
    Y(o + 3 * cout, a30, M0, B0);       \
    if (g > 1) {                        \
      Y(o + 4, a01, M1, B1);            \
      Y(o + cout + 4, a11, M1, B1);     \
      Y(o + 2 * cout + 4, a21, M1, B1); \
      Y(o + 3 * cout + 4, a31, M1, B1); \
    }                                   \
  } while (0)

/* g (1 or 2) groups of 4 channels at w, the next word's stride words on: with o the
 * float transform into o[cout * q + 4 * j + j'] for group j, else acc[16 * j + 4 * q +
 * j'] */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void bcast_half(const uint32_t *const *x, size_t drun, int32_t rows,
                              int32_t row_words, const uint32_t *w, size_t stride, const int g,
                              int32_t *acc, float *o, size_t cout, const float *m,
                              const float *bias, const int32_t *clamp) {
  uint16x8_t a00 = vdupq_n_u16(0), a10 = a00, a20 = a00, a30 = a00;
  uint16x8_t a01 = a00, a11 = a00, a21 = a00, a31 = a00;
  const uint32_t *p0 = x[0], *p1 = x[1], *p2 = x[2], *p3 = x[3];
  const size_t d = drun - (size_t)row_words;
  int32_t r, i;
#if defined(__GNUC__)
  /* GCC's loop copies w and counts up: 35 instructions per word, this 31 (it counts down
   * from row_words, at least 1: kfda_bcast_args) */
  if (g > 1) {
    const size_t stride_bytes = 4u * stride;
    for (r = 0; r < rows; ++r, p0 += d, p1 += d, p2 += d, p3 += d) {
      int32_t n = row_words;
      __asm__(
          "1:\n\t"
          "vld1.32 {d20[], d21[]}, [%[p0]]!\n\t"
          "vld1.32 {d22[], d23[]}, [%[p1]]!\n\t"
          "vld1.32 {d24[], d25[]}, [%[p2]]!\n\t"
          "vld1.32 {d26[], d27[]}, [%[p3]]!\n\t"
          "vld1.32 {d16-d19}, [%[w]], %[st]\n\t"
          "veor q14, q10, q8\n\t"
          "veor q15, q11, q8\n\t"
          "vcnt.8 q14, q14\n\t"
          "vcnt.8 q15, q15\n\t"
          "vpadal.u8 %q[a00], q14\n\t"
          "vpadal.u8 %q[a10], q15\n\t"
          "veor q14, q12, q8\n\t"
          "veor q15, q13, q8\n\t"
          "vcnt.8 q14, q14\n\t"
          "vcnt.8 q15, q15\n\t"
          "vpadal.u8 %q[a20], q14\n\t"
          "vpadal.u8 %q[a30], q15\n\t"
          "veor q14, q10, q9\n\t"
          "veor q15, q11, q9\n\t"
          "vcnt.8 q14, q14\n\t"
          "vcnt.8 q15, q15\n\t"
          "vpadal.u8 %q[a01], q14\n\t"
          "vpadal.u8 %q[a11], q15\n\t"
          "veor q14, q12, q9\n\t"
          "veor q15, q13, q9\n\t"
          "vcnt.8 q14, q14\n\t"
          "vcnt.8 q15, q15\n\t"
          "vpadal.u8 %q[a21], q14\n\t"
          "vpadal.u8 %q[a31], q15\n\t"
          "subs %[n], %[n], #1\n\t"
          "bne 1b"
          : [a00] "+w"(a00), [a10] "+w"(a10), [a20] "+w"(a20), [a30] "+w"(a30), [a01] "+w"(a01),
            [a11] "+w"(a11), [a21] "+w"(a21), [a31] "+w"(a31), [p0] "+r"(p0), [p1] "+r"(p1),
            [p2] "+r"(p2), [p3] "+r"(p3), [w] "+r"(w), [n] "+r"(n)
          : [st] "r"(stride_bytes)
          : "d16", "d17", "d18", "d19", "d20", "d21", "d22", "d23", "d24", "d25", "d26", "d27",
            "d28", "d29", "d30", "d31", "cc", "memory");
    }
  } else
#endif
    for (r = 0; r < rows; ++r, p0 += d, p1 += d, p2 += d, p3 += d) {
      for (i = 0; i < row_words; ++i, w += stride) {
        const uint8x16_t X0 = load_broadcast_v7(&p0);
        const uint8x16_t X1 = load_broadcast_v7(&p1);
        const uint8x16_t X2 = load_broadcast_v7(&p2);
        const uint8x16_t X3 = load_broadcast_v7(&p3);
        const uint8x16_t W0 = vreinterpretq_u8_u32(vld1q_u32(w));
        KFDA_XACC(a00, X0, W0);
        KFDA_XACC(a10, X1, W0);
        KFDA_XACC(a20, X2, W0);
        KFDA_XACC(a30, X3, W0);
        if (g > 1) {
          const uint8x16_t W1 = vreinterpretq_u8_u32(vld1q_u32(w + 4));
          KFDA_XACC(a01, X0, W1);
          KFDA_XACC(a11, X1, W1);
          KFDA_XACC(a21, X2, W1);
          KFDA_XACC(a31, X3, W1);
        }
      }
    }
  if (o) {
    float32x4_t M0 = vld1q_f32(m), B0 = vld1q_f32(bias), M1 = M0, B1 = B0;
    if (g > 1) M1 = vld1q_f32(m + 4), B1 = vld1q_f32(bias + 4);
    if (clamp) {
      const int32x4_t QN = vdupq_n_s32(clamp[0]), QX = vdupq_n_s32(clamp[1]);
      KFDA_FINISH_HALF(KFDA_Y7C);
    } else {
      M0 = vaddq_f32(M0, M0);
      M1 = vaddq_f32(M1, M1);
      KFDA_FINISH_HALF(KFDA_Y7);
    }
    return;
  }
  vst1q_u32((uint32_t *)acc, vpaddlq_u16(a00));
  vst1q_u32((uint32_t *)acc + 4, vpaddlq_u16(a10));
  vst1q_u32((uint32_t *)acc + 8, vpaddlq_u16(a20));
  vst1q_u32((uint32_t *)acc + 12, vpaddlq_u16(a30));
  if (g > 1) {
    vst1q_u32((uint32_t *)acc + 16, vpaddlq_u16(a01));
    vst1q_u32((uint32_t *)acc + 20, vpaddlq_u16(a11));
    vst1q_u32((uint32_t *)acc + 24, vpaddlq_u16(a21));
    vst1q_u32((uint32_t *)acc + 28, vpaddlq_u16(a31));
  }
}
#undef KFDA_Y7
#undef KFDA_Y7C
#undef KFDA_FINISH_HALF

#if defined(__GNUC__) && !defined(__clang__)
/* GCC's first scheduling pass hoists the EORs: register moves at each word */
__attribute__((optimize("no-schedule-insns")))
#endif
void kfda_bconv_bcast_neon(const kfda_bcast_args *a) {
  const size_t k = (size_t)a->runs * (size_t)a->run_words, cout = (size_t)a->cout;
  const int32_t rows = a->runs, row_words = a->run_words;
  const uint32_t *x[4];
  float *o = a->o; /* NULL: acc, one pass */
  int32_t pass, q;
  for (q = 0; q < 4; ++q) x[q] = a->x[q];
  for (pass = 0; pass < a->npass; ++pass, o = o ? o + 4 * cout : NULL) {
    const uint32_t *w = a->w;
    const float *m = a->m, *bias = a->bias;
    int32_t *acc = a->acc, ngroups = a->ngroups, blk;
    for (blk = 0; ngroups > 0; ngroups -= 4, w += 16 * k, ++blk) {
      const int32_t gb = ngroups < 4 ? ngroups : 4; /* the block's groups: [k][4 gb] words */
      const size_t stride = 4u * (size_t)gb;
      float *ob = o ? o + 16 * blk : NULL;
      const float *mb = o ? m + 16 * blk : NULL, *bb = o ? bias + 16 * blk : NULL;
      int32_t *ab = o ? NULL : acc + 64 * blk;
      if (gb >= 2)
        bcast_half(x, a->drun, rows, row_words, w, stride, 2, ab, ob, cout, mb, bb, a->clamp);
      else
        bcast_half(x, a->drun, rows, row_words, w, stride, 1, ab, ob, cout, mb, bb, a->clamp);
      if (gb == 4)
        bcast_half(x, a->drun, rows, row_words, w + 8, stride, 2, ab ? ab + 32 : NULL,
                   ob ? ob + 8 : NULL, cout, mb ? mb + 8 : NULL, bb ? bb + 8 : NULL, a->clamp);
      else if (gb == 3)
        bcast_half(x, a->drun, rows, row_words, w + 8, stride, 1, ab ? ab + 32 : NULL,
                   ob ? ob + 8 : NULL, cout, mb ? mb + 8 : NULL, bb ? bb + 8 : NULL, a->clamp);
    }
    for (q = 0; q < 4; ++q) x[q] += a->xstep;
  }
}
#undef KFDA_XACC
#endif

#else
typedef int kfda_lce_bconv2d_opt_neon_unused; /* ISO C: no empty translation unit */
#endif
