/*
 * lce_quantize_opt.c - LceQuantize, optimized (held bit for bit to
 * lce_quantize_ref.c by host/kernel_test.c): each output word is built in a
 * register, no branch per value.
 *
 * float: bit = (x < 0), i.e. sign set, magnitude not zero, not NaN. On the
 *   raw bits u: u in [0x80000001, 0xFF800000]  <=>  u - 0x80000001 < 0x7F800000
 *   (unsigned), one subtract and one compare. arm64 NEON: FCMLT #0 (false for
 *   -0 and NaN, as the reference), lane masks narrowed to bytes, AND with
 *   byte weights, pairwise adds: 32 values -> one word; two words per pass in
 *   assembly, the masks folded by shift-right-and-insert (pack_pairs_f32).
 *   armv7 NEON: the integer test above per lane (its float compare flushes
 *   denormals), the masks folded by SRI as arm64's pairs. Thumb-2 (Cortex-M): the same test as
 *   an add of 0x7FFFFFFF and a compare with 0x7F800000, whose carry is the
 *   complement of the bit; ADC shifts it into the word (last value first), one
 *   MVN per word: 3 instructions per value and an LDRD per two.
 * int8: bit = (x < zero_point) = sign of (x - zero_point). NEON: VCLT on 16
 *   bytes, AND with byte weights 1 << (i % 8), pairwise adds: arm64 four words per
 *   pass (8 vectors, 7 ADDP), armv7 two (VPADD on D registers), then one at a time.
 */
#include <string.h>

#include "kfda/kernels.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#define KFDA_QUANT_NEON 1
#else
#define KFDA_QUANT_NEON 0
#endif
#if KFDA_QUANT_NEON && defined(__aarch64__)
#define KFDA_QUANT_PAIRS 1 /* pack_pairs_f32: two words per pass */
#else
#define KFDA_QUANT_PAIRS 0
#endif
#if !KFDA_QUANT_NEON && defined(__thumb2__) && defined(__GNUC__)
#define KFDA_QUANT_THUMB2 1
#else
#define KFDA_QUANT_THUMB2 0
#endif

static inline uint32_t neg_bit_f32(const float *x) {
  uint32_t u;
  memcpy(&u, x, 4);
  return (uint32_t)(u - 0x80000001u < 0x7F800000u);
}

#if KFDA_QUANT_NEON
#if defined(__aarch64__)
/* 32 floats -> 16 bytes of weighted lane masks: the 32 lane masks narrowed to
 * bytes (UZP1) and ANDed with byte weights 1 << (i % 8), for floats 0-15 (*a) and
 * 16-31 (*b). Written out (no loop over an array): GCC keeps it in registers. */
static inline void masks32_f32(const float *x, uint8x16_t w, uint8x16_t *a, uint8x16_t *b) {
  const float32x4x4_t lo = vld1q_f32_x4(x), hi = vld1q_f32_x4(x + 16);
#define KFDA_NEG16(v, i) vreinterpretq_u16_u32(vcltzq_f32(v.val[i]))
  const uint16x8_t h0 = vuzp1q_u16(KFDA_NEG16(lo, 0), KFDA_NEG16(lo, 1));
  const uint16x8_t h1 = vuzp1q_u16(KFDA_NEG16(lo, 2), KFDA_NEG16(lo, 3));
  const uint16x8_t h2 = vuzp1q_u16(KFDA_NEG16(hi, 0), KFDA_NEG16(hi, 1));
  const uint16x8_t h3 = vuzp1q_u16(KFDA_NEG16(hi, 2), KFDA_NEG16(hi, 3));
#undef KFDA_NEG16
  *a = vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(h0), vreinterpretq_u8_u16(h1)), w);
  *b = vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(h2), vreinterpretq_u8_u16(h3)), w);
}

static const uint8_t quant_byte_weights[16] = {1, 2, 4, 8, 16, 32, 64, 128,
                                               1, 2, 4, 8, 16, 32, 64, 128};

/* 32 floats -> one word: three pairwise adds of the weighted masks. */
static inline uint32_t pack32_f32(const float *x) {
  uint8x16_t a, b, s;
  masks32_f32(x, vld1q_u8(quant_byte_weights), &a, &b);
  s = vpaddq_u8(a, b);
  s = vpaddq_u8(s, s);
  s = vpaddq_u8(s, s);
  return vgetq_lane_u32(vreinterpretq_u32_u8(s), 0);
}

/* `pairs` x 64 floats from x -> 2 words each from o: one pointer stepping through the
 * floats (each LD1 of 4 vectors post-incremented: no address arithmetic per load).
 * Written out, no arrays: GCC kept arrays of vectors on the stack. */
static void pack_pairs_f32(const float *x, size_t pairs, uint32_t *o) {
#if defined(__GNUC__)
  /* In assembly, 41 instructions per 64 floats (the intrinsics below: 47): per word the
   * 8 lane masks m_j (m_j lane l: float 4j + l) folded by shift-right-and-insert into one
   * vector whose nibble j is m_j (SRI by 4, 8, .., 28 keeps the nibbles above), then lane
   * l ANDed with 0x11111111 << l: bit 4j + l. Two pairwise adds (disjoint bits) give the
   * two words. */
  static const uint32_t nibble_bits[4] = {0x11111111u, 0x22222222u, 0x44444444u, 0x88888888u};
  const uint32x4_t k = vld1q_u32(nibble_bits);
  if (pairs == 0) return;
  __asm__ volatile(
      "1:\n\t"
      "ld1 {v16.4s-v19.4s}, [%[x]], #64\n\t"
      "ld1 {v20.4s-v23.4s}, [%[x]], #64\n\t"
      "ld1 {v24.4s-v27.4s}, [%[x]], #64\n\t"
      "ld1 {v28.4s-v31.4s}, [%[x]], #64\n\t"
      "fcmlt v23.4s, v23.4s, #0.0\n\t"
      "fcmlt v31.4s, v31.4s, #0.0\n\t"
      "fcmlt v22.4s, v22.4s, #0.0\n\t"
      "fcmlt v30.4s, v30.4s, #0.0\n\t"
      "fcmlt v21.4s, v21.4s, #0.0\n\t"
      "fcmlt v29.4s, v29.4s, #0.0\n\t"
      "fcmlt v20.4s, v20.4s, #0.0\n\t"
      "fcmlt v28.4s, v28.4s, #0.0\n\t"
      "sri v23.4s, v22.4s, #4\n\t"
      "sri v31.4s, v30.4s, #4\n\t"
      "fcmlt v19.4s, v19.4s, #0.0\n\t"
      "fcmlt v27.4s, v27.4s, #0.0\n\t"
      "sri v23.4s, v21.4s, #8\n\t"
      "sri v31.4s, v29.4s, #8\n\t"
      "fcmlt v18.4s, v18.4s, #0.0\n\t"
      "fcmlt v26.4s, v26.4s, #0.0\n\t"
      "sri v23.4s, v20.4s, #12\n\t"
      "sri v31.4s, v28.4s, #12\n\t"
      "fcmlt v17.4s, v17.4s, #0.0\n\t"
      "fcmlt v25.4s, v25.4s, #0.0\n\t"
      "sri v23.4s, v19.4s, #16\n\t"
      "sri v31.4s, v27.4s, #16\n\t"
      "fcmlt v16.4s, v16.4s, #0.0\n\t"
      "fcmlt v24.4s, v24.4s, #0.0\n\t"
      "sri v23.4s, v18.4s, #20\n\t"
      "sri v31.4s, v26.4s, #20\n\t"
      "sri v23.4s, v17.4s, #24\n\t"
      "sri v31.4s, v25.4s, #24\n\t"
      "sri v23.4s, v16.4s, #28\n\t"
      "sri v31.4s, v24.4s, #28\n\t"
      "and v23.16b, v23.16b, %[k].16b\n\t"
      "and v31.16b, v31.16b, %[k].16b\n\t"
      "addp v23.4s, v23.4s, v31.4s\n\t"
      "addp v23.4s, v23.4s, v23.4s\n\t"
      "subs %[n], %[n], #1\n\t"
      "str d23, [%[o]], #8\n\t"
      "b.ne 1b"
      : [x] "+r"(x), [o] "+r"(o), [n] "+r"(pairs)
      : [k] "w"(k)
      : "cc", "memory", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",
        "v27", "v28", "v29", "v30", "v31");
#else
  const uint8x16_t w = vld1q_u8(quant_byte_weights);
  for (; pairs > 0; --pairs, o += 2) {
    float32x4x4_t q;
    uint8x16_t m0, m1, m2, m3, s;
#define KFDA_NEG16(i) vreinterpretq_u16_u32(vcltzq_f32(q.val[i]))
#define KFDA_MASKS16(m)                                                                   \
  q = vld1q_f32_x4(x);                                                                    \
  x += 16;                                                                                \
  m = vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(vuzp1q_u16(KFDA_NEG16(0), KFDA_NEG16(1))),  \
                         vreinterpretq_u8_u16(vuzp1q_u16(KFDA_NEG16(2), KFDA_NEG16(3)))), \
               w)
    KFDA_MASKS16(m0);
    KFDA_MASKS16(m1);
    KFDA_MASKS16(m2);
    KFDA_MASKS16(m3);
#undef KFDA_MASKS16
#undef KFDA_NEG16
    s = vpaddq_u8(vpaddq_u8(m0, m1), vpaddq_u8(m2, m3)); /* [word 0: 8 | word 1: 8] */
    s = vpaddq_u8(s, s);                                 /* [word 0: 4 | word 1: 4] */
    vst1_u32(o, vget_low_u32(vreinterpretq_u32_u8(s)));
  }
#endif
}
#else
/* 32 floats -> one word, on the raw bits with integer NEON (armv7's NEON float
 * compare would flush a negative denormal to -0, and GCC then falls back to VFP one
 * lane at a time): u - 0x80000001 < 0x7F800000 per lane; the 8 lane masks m_j (lane l:
 * float 4j + l) folded by shift-right-and-insert into one vector whose nibble j is m_j,
 * lane l ANDed with 0x11111111 << l (bit 4j + l), two pairwise adds (disjoint bits). */
static inline uint32_t pack32_f32(const float *x) {
  static const uint32_t nibble_bits[4] = {0x11111111u, 0x22222222u, 0x44444444u, 0x88888888u};
  const uint32x4_t k1 = vdupq_n_u32(0x80000001u), k2 = vdupq_n_u32(0x7F800000u);
  uint32x4_t r;
  uint32x2_t s;
#define KFDA_NEG4(i) vcltq_u32(vsubq_u32(vreinterpretq_u32_f32(vld1q_f32(x + 4 * (i))), k1), k2)
  r = KFDA_NEG4(7);
  r = vsriq_n_u32(r, KFDA_NEG4(6), 4);
  r = vsriq_n_u32(r, KFDA_NEG4(5), 8);
  r = vsriq_n_u32(r, KFDA_NEG4(4), 12);
  r = vsriq_n_u32(r, KFDA_NEG4(3), 16);
  r = vsriq_n_u32(r, KFDA_NEG4(2), 20);
  r = vsriq_n_u32(r, KFDA_NEG4(1), 24);
  r = vsriq_n_u32(r, KFDA_NEG4(0), 28);
#undef KFDA_NEG4
  r = vandq_u32(r, vld1q_u32(nibble_bits));
  s = vpadd_u32(vget_low_u32(r), vget_high_u32(r));
  s = vpadd_u32(s, s);
  return vget_lane_u32(s, 0);
}
#endif

#if defined(__aarch64__)
/* `quads` x 128 int8 from x -> 4 words each from o: per 16 values VCLT and AND with the
 * byte weights, then 7 pairwise adds fold the 8 vectors into the 4 words. */
static void pack_quads_s8(const int8_t *x, size_t quads, int8x16_t zp, uint32_t *o) {
  static const uint8_t wts[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t w = vld1q_u8(wts);
  for (; quads > 0; --quads, x += 128, o += 4) {
    const int8x16x4_t p = vld1q_s8_x4(x), q = vld1q_s8_x4(x + 64);
#define KFDA_M(v) vandq_u8(vcltq_s8(v, zp), w)
    const uint8x16_t s0 = vpaddq_u8(KFDA_M(p.val[0]), KFDA_M(p.val[1])); /* 8 bytes per 16 values */
    const uint8x16_t s1 = vpaddq_u8(KFDA_M(p.val[2]), KFDA_M(p.val[3]));
    const uint8x16_t s2 = vpaddq_u8(KFDA_M(q.val[0]), KFDA_M(q.val[1]));
    const uint8x16_t s3 = vpaddq_u8(KFDA_M(q.val[2]), KFDA_M(q.val[3]));
#undef KFDA_M
    /* [16 values: 4 bytes each, 8 times] then [2 bytes each]: words 0 - 3 */
    vst1q_u32(o, vreinterpretq_u32_u8(vpaddq_u8(vpaddq_u8(s0, s1), vpaddq_u8(s2, s3))));
  }
}
#else
/* `pairs` x 64 int8 from x -> 2 words each from o (the pairwise adds of both shared). */
static void pack_pairs_s8(const int8_t *x, size_t pairs, int8x16_t zp, uint32_t *o) {
  static const uint8_t wts[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t w = vld1q_u8(wts);
  for (; pairs > 0; --pairs, x += 64, o += 2) {
#define KFDA_P(i)                                                          \
  const uint8x16_t m##i = vandq_u8(vcltq_s8(vld1q_s8(x + 16 * i), zp), w); \
  const uint8x8_t p##i = vpadd_u8(vget_low_u8(m##i), vget_high_u8(m##i))
    KFDA_P(0);
    KFDA_P(1);
    KFDA_P(2);
    KFDA_P(3);
#undef KFDA_P
    vst1_u32(o, vreinterpret_u32_u8(vpadd_u8(vpadd_u8(p0, p1), vpadd_u8(p2, p3))));
  }
}
#endif

/* 32 int8 -> one word */
static inline uint32_t pack32_s8(const int8_t *x, int8x16_t zp) {
  static const uint8_t wts[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t w = vld1q_u8(wts);
  const uint8x16_t a = vandq_u8(vcltq_s8(vld1q_s8(x), zp), w);
  const uint8x16_t b = vandq_u8(vcltq_s8(vld1q_s8(x + 16), zp), w);
#if defined(__aarch64__)
  uint8x16_t s = vpaddq_u8(a, b);
  s = vpaddq_u8(s, s);
  s = vpaddq_u8(s, s);
  return vgetq_lane_u32(vreinterpretq_u32_u8(s), 0);
#else
  const uint8x8_t pa = vpadd_u8(vget_low_u8(a), vget_high_u8(a));
  const uint8x8_t pb = vpadd_u8(vget_low_u8(b), vget_high_u8(b));
  uint8x8_t s = vpadd_u8(pa, pb);
  s = vpadd_u8(s, s);
  return vget_lane_u32(vreinterpret_u32_u8(s), 0);
#endif
}
#endif

#if KFDA_QUANT_THUMB2
/* 32 floats -> one word: values 31 down to 0, two per LDRD, 16 per pass. */
#define KFDA_QUANT_BIT(x) \
  "add " x ", " x ", %[k]\n\tcmp " x ", #0x7f800000\n\tadc %[v], %[v], %[v]\n\t"
static inline uint32_t pack32_f32(const float *x) {
  const float *p = x + 32;
  uint32_t v = 0, a, b, c, d;
  int i;
  for (i = 0; i < 2; ++i)
    __asm__("ldrd %[a], %[b], [%[p], #-8]!\n\t"
            "ldrd %[c], %[d], [%[p], #-8]!\n\t"
            KFDA_QUANT_BIT("%[b]") KFDA_QUANT_BIT("%[a]")
            KFDA_QUANT_BIT("%[d]") KFDA_QUANT_BIT("%[c]")
            "ldrd %[a], %[b], [%[p], #-8]!\n\t"
            "ldrd %[c], %[d], [%[p], #-8]!\n\t"
            KFDA_QUANT_BIT("%[b]") KFDA_QUANT_BIT("%[a]")
            KFDA_QUANT_BIT("%[d]") KFDA_QUANT_BIT("%[c]")
            "ldrd %[a], %[b], [%[p], #-8]!\n\t"
            "ldrd %[c], %[d], [%[p], #-8]!\n\t"
            KFDA_QUANT_BIT("%[b]") KFDA_QUANT_BIT("%[a]")
            KFDA_QUANT_BIT("%[d]") KFDA_QUANT_BIT("%[c]")
            "ldrd %[a], %[b], [%[p], #-8]!\n\t"
            "ldrd %[c], %[d], [%[p], #-8]!\n\t"
            KFDA_QUANT_BIT("%[b]") KFDA_QUANT_BIT("%[a]")
            KFDA_QUANT_BIT("%[d]") KFDA_QUANT_BIT("%[c]")
            : [v] "+r"(v), [p] "+r"(p), [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c),
              [d] "=&r"(d)
            : [k] "r"(0x7FFFFFFFu), "m"(*(const float(*)[32])x)
            : "cc");
  return ~v;
}
#undef KFDA_QUANT_BIT
#endif

void kfda_lce_quantize_f32_opt(const float *in, int32_t rows, int32_t cols, int32_t *out) {
  int32_t words, full, r, k, c;
  if (cols % 32 == 0) { /* whole words: all rows are one row of words */
    cols *= rows;
    rows = rows > 0 ? 1 : 0;
  }
  words = KFDA_PACKED_WORDS(cols);
  full = cols / 32;
  for (r = 0; r < rows; ++r) {
    const float *row = in + (size_t)r * cols;
    uint32_t *o = (uint32_t *)out + (size_t)r * words;
    k = 0;
#if KFDA_QUANT_PAIRS
    pack_pairs_f32(row, (size_t)full / 2, o);
    k = full - full % 2;
#endif
    for (; k < full; ++k) {
      const float *x = row + 32 * k;
#if KFDA_QUANT_NEON || KFDA_QUANT_THUMB2
      o[k] = pack32_f32(x);
#else
      uint32_t v = 0;
      for (c = 0; c < 32; c += 4)
        v |= neg_bit_f32(x + c) << c | neg_bit_f32(x + c + 1) << (c + 1) |
             neg_bit_f32(x + c + 2) << (c + 2) | neg_bit_f32(x + c + 3) << (c + 3);
      o[k] = v;
#endif
    }
    if (full < words) { /* the last, partial word: padding bits 0 */
      uint32_t v = 0;
      for (c = 32 * full; c < cols; ++c) v |= neg_bit_f32(row + c) << (c & 31);
      o[full] = v;
    }
  }
}

void kfda_lce_quantize_s8_opt(const int8_t *in, int32_t rows, int32_t cols, int32_t zero_point,
                              int32_t *out) {
  const int32_t words = KFDA_PACKED_WORDS(cols), full = cols / 32;
  int32_t r, k, c;
#if KFDA_QUANT_NEON
  /* int8 compare: a zero point outside [-128, 127] makes every bit equal */
  const int zp_in = zero_point >= -128 && zero_point <= 127;
  const int8x16_t zp = vdupq_n_s8((int8_t)(zp_in ? zero_point : 0));
#endif
  for (r = 0; r < rows; ++r) {
    const int8_t *row = in + (size_t)r * cols;
    uint32_t *o = (uint32_t *)out + (size_t)r * words;
    k = 0;
#if KFDA_QUANT_NEON
    if (zp_in) {
#if defined(__aarch64__)
      pack_quads_s8(row, (size_t)full / 4, zp, o);
      k = full - full % 4;
#else
      pack_pairs_s8(row, (size_t)full / 2, zp, o);
      k = full - full % 2;
#endif
    }
#endif
    for (; k < full; ++k) {
      const int8_t *x = row + 32 * k;
#if KFDA_QUANT_NEON
      if (zp_in) {
        o[k] = pack32_s8(x, zp);
        continue;
      }
#endif
      {
        uint32_t v = 0;
        for (c = 0; c < 32; ++c) v |= ((uint32_t)((int32_t)x[c] - zero_point) >> 31) << c;
        o[k] = v;
      }
    }
    if (full < words) {
      uint32_t v = 0;
      for (c = 32 * full; c < cols; ++c)
        v |= ((uint32_t)((int32_t)row[c] - zero_point) >> 31) << (c & 31);
      o[full] = v;
    }
  }
}

void kfda_lce_quantize_f32(const float *in, int32_t rows, int32_t cols, int32_t *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_lce_quantize_f32_ref(in, rows, cols, out);
#else
  kfda_lce_quantize_f32_opt(in, rows, cols, out);
#endif
}

void kfda_lce_quantize_s8(const int8_t *in, int32_t rows, int32_t cols, int32_t zero_point,
                          int32_t *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_lce_quantize_s8_ref(in, rows, cols, zero_point, out);
#else
  kfda_lce_quantize_s8_opt(in, rows, cols, zero_point, out);
#endif
}
