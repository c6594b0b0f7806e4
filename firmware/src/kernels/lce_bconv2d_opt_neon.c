/*
 * lce_bconv2d_opt_neon.c - the XOR-popcount inner loops of the optimized
 * LceBconv2d (lce_bconv2d_opt.c) for arm64 and armv7 with NEON:
 *
 *   kfda_bconv_popcount_neon: 4 channels per pass, 4 words per step:
 *     EOR, CNT (per byte), ADD into byte counters (flushed with UADALP into
 *     16-bit lanes every 31 steps), ADDV at the end.
 *   kfda_bconv_popcount_4x4_neon (arm64): 4 pixels x 4 channels per pass.
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
void kfda_bconv_popcount_4x4_neon(const uint32_t *col, size_t cstride, const uint32_t *w,
                                  int32_t kw, int32_t nblk, int32_t *acc, float *const *o4,
                                  const float *m, const float *bi) {
  const uint32_t *x0 = col, *x1 = col + cstride, *x2 = col + 2 * cstride, *x3 = col + 3 * cstride;
  int32_t blk;
  for (blk = 0; blk < nblk; ++blk, w += 4 * (size_t)kw, acc += 16) {
    const uint32_t *w0 = w, *w1 = w + kw, *w2 = w + 2 * (size_t)kw, *w3 = w + 3 * (size_t)kw;
    uint16x8_t a00, a01, a02, a03, a10, a11, a12, a13;
    uint16x8_t a20, a21, a22, a23, a30, a31, a32, a33;
    uint16x8_t r0, r1, r2, r3;
    int32_t i = 0;
#define KFDA_XPC(a, X, W)  a = vpadalq_u8(a, vcntq_u8(veorq_u8(X, W)))
#define KFDA_XPC0(a, X, W) a = vpaddlq_u8(vcntq_u8(veorq_u8(X, W)))
#define KFDA_PIX(OP, x, a0, a1, a2, a3)                          \
  do {                                                           \
    const uint8x16_t X = vreinterpretq_u8_u32(vld1q_u32(x + i)); \
    OP(a0, X, W0);                                               \
    OP(a1, X, W1);                                               \
    OP(a2, X, W2);                                               \
    OP(a3, X, W3);                                               \
  } while (0)
#define KFDA_STEP(OP)                                              \
  do {                                                             \
    const uint8x16_t W0 = vreinterpretq_u8_u32(vld1q_u32(w0 + i)); \
    const uint8x16_t W1 = vreinterpretq_u8_u32(vld1q_u32(w1 + i)); \
    const uint8x16_t W2 = vreinterpretq_u8_u32(vld1q_u32(w2 + i)); \
    const uint8x16_t W3 = vreinterpretq_u8_u32(vld1q_u32(w3 + i)); \
    KFDA_PIX(OP, x0, a00, a01, a02, a03);                          \
    KFDA_PIX(OP, x1, a10, a11, a12, a13);                          \
    KFDA_PIX(OP, x2, a20, a21, a22, a23);                          \
    KFDA_PIX(OP, x3, a30, a31, a32, a33);                          \
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
        v0 = vld1_u32(w0 + i);
        v1 = vld1_u32(w1 + i);
        v2 = vld1_u32(w2 + i);
        v3 = vld1_u32(w3 + i);
      } else {
        const uint32x2_t zz = vdup_n_u32(0);
        v0 = vld1_lane_u32(w0 + i, zz, 0);
        v1 = vld1_lane_u32(w1 + i, zz, 0);
        v2 = vld1_lane_u32(w2 + i, zz, 0);
        v3 = vld1_lane_u32(w3 + i, zz, 0);
      }
      W01 = vreinterpretq_u8_u32(vcombine_u32(v0, v1));
      W23 = vreinterpretq_u8_u32(vcombine_u32(v2, v3));
      /* bytes [c0 x4, c1 x4, c2 x4, c3 x4] -> 16-bit [c0, c0, c1, c1, ...] */
#define KFDA_TAIL(r, x)                                                                   \
  do {                                                                                    \
    const uint8x16_t X = vreinterpretq_u8_u64(vld1q_dup_u64((const uint64_t *)(x + i)));  \
    r = vpadalq_u8(r, vpaddq_u8(vcntq_u8(veorq_u8(X, W01)), vcntq_u8(veorq_u8(X, W23)))); \
  } while (0)
      KFDA_TAIL(r0, x0);
      KFDA_TAIL(r1, x1);
      KFDA_TAIL(r2, x2);
      KFDA_TAIL(r3, x3);
#undef KFDA_TAIL
    }
    if (o4) { /* float output, no clamp, no edge: the transform right here */
      const float32x4_t mv = vld1q_f32(m + 4 * blk), bv = vld1q_f32(bi + 4 * blk);
#define KFDA_OUT(q, r)       \
  vst1q_f32(o4[q] + 4 * blk, \
            vaddq_f32(vmulq_f32(vcvtq_f32_u32(vshlq_n_u32(vpaddlq_u16(r), 1)), mv), bv))
      KFDA_OUT(0, r0);
      KFDA_OUT(1, r1);
      KFDA_OUT(2, r2);
      KFDA_OUT(3, r3);
#undef KFDA_OUT
      continue;
    }
    vst1q_s32(acc, vreinterpretq_s32_u32(vpaddlq_u16(r0)));
    vst1q_s32(acc + 4, vreinterpretq_s32_u32(vpaddlq_u16(r1)));
    vst1q_s32(acc + 8, vreinterpretq_s32_u32(vpaddlq_u16(r2)));
    vst1q_s32(acc + 12, vreinterpretq_s32_u32(vpaddlq_u16(r3)));
  }
}
#endif

#else
typedef int kfda_lce_bconv2d_opt_neon_unused; /* ISO C: no empty translation unit */
#endif
