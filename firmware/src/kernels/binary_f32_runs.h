/* binary_f32_runs.h - the optimized float ADD and MUL, written once: the same value and
 * clamp per element as the references (add_f32.c, mul_f32.c), over runs instead of one
 * broadcast step per element. The trailing axes along which both inputs advance evenly
 * are one run (broadcast.h: all of a same-shape op; a channel row of a per-channel one).
 * Without an activation, runs of strides (1, 1) go 8 elements per pass with one test for
 * the 8 (their sum is finite only if none is an infinity or NaN: then the clamp to
 * +-FLT_MAX leaves them), else the clamp on the bits (act_f32.h).
 *
 * On arm64 runs of strides 1 or 0 (a scalar) go 4 lanes per step with the
 * clamp as compares and bit selects, every lane the scalar result; same-shape runs
 * without an activation 32 per pass (an assembly loop: 24 instructions), then 16, stored
 * unclamped with a running sum as the test (then the clamp, in place, only if that sum
 * is not finite).
 *
 * `op` is a constant at each call site (add_f32_opt.c, mul_f32_opt.c), so after inlining
 * every kernel holds only its own operator. */
#ifndef KFDA_KERNELS_BINARY_F32_RUNS_H
#define KFDA_KERNELS_BINARY_F32_RUNS_H

#include "act_f32.h"
#include "broadcast.h"
#include "kfda/kernels.h"

/* arm64 only: armv7 NEON float arithmetic flushes denormals to zero (not IEEE), which
 * would change results against the scalar VFP reference and x86. */
#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define KFDA_BINARY_NEON 1 /* 4 lanes per step */
#else
#define KFDA_BINARY_NEON 0
#endif

/* armv7-A (Linux; not the M profile): scalar VFP, 8 per pass in assembly (VLDM, VSTM) */
#if !KFDA_BINARY_NEON && defined(__ARM_ARCH_7A__) && defined(__ARM_NEON) && defined(__GNUC__)
#define KFDA_BINARY_VFP8 1
#else
#define KFDA_BINARY_VFP8 0
#endif

#if defined(__GNUC__)
#define KFDA_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define KFDA_ALWAYS_INLINE static inline
#endif

typedef enum { KFDA_BINARY_ADD, KFDA_BINARY_MUL } kfda_binary_op;

KFDA_ALWAYS_INLINE float kfda_binary_f32(kfda_binary_op op, float x, float y) {
  return op == KFDA_BINARY_MUL ? x * y : x + y;
}

#if KFDA_BINARY_NEON
/* 4 lanes of the references' value and clamp: v < lo -> lo, then !(v <= hi) -> hi
 * (NaN -> hi), as compares and bit selects, so every lane is the scalar result. */
KFDA_ALWAYS_INLINE float32x4_t kfda_binary_f32x4(kfda_binary_op op, float32x4_t x, float32x4_t y,
                                                 float32x4_t lo, float32x4_t hi) {
  float32x4_t v = op == KFDA_BINARY_MUL ? vmulq_f32(x, y) : vaddq_f32(x, y);
  v = vbslq_f32(vcltq_f32(v, lo), lo, v);
  return vbslq_f32(vcleq_f32(v, hi), v, hi);
}
#endif

KFDA_ALWAYS_INLINE void kfda_binary_run_f32(kfda_binary_op op, const float *a, int32_t sa,
                                            const float *b, int32_t sb, size_t n, float lo,
                                            float hi, int none, float *out) {
  size_t i = 0;
#if KFDA_BINARY_NEON
  if ((sa == 0 || sa == 1) && (sb == 0 || sb == 1) && n >= 4) { /* same shape or a scalar */
    const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
    if (sa == 1 && sb == 1 && none) {
      /* no activation: FMINNM then FMAXNM against +-FLT_MAX give the same (+-inf to
       * +-FLT_MAX; a NaN, always quiet out of an add or multiply, to FLT_MAX) */
      const float32x4_t vmax = vdupq_n_f32(FLT_MAX), vmin = vdupq_n_f32(-FLT_MAX);
      if (n >= 16) {
        /* 4 vectors per LD1 / ST1, stored unclamped; their sum is finite only if every
         * value is (an overflow of the sum itself only costs the pass below), so the clamp
         * runs afterwards over what was stored, and only when the sum is not finite */
        const float *pa = a, *pb = b, *const a_end = a + (n - n % 16);
        float *po = out;
        float32x4_t sum = vdupq_n_f32(0.0f);
#if defined(__GNUC__)
        if (n >= 32) { /* 32 per pass: written out (GCC's took 15 instructions per 16) */
          size_t left = n / 32;
#define KFDA_RUN32_ADD             \
  "fadd v24.4s, v0.4s, v16.4s\n\t" \
  "fadd v25.4s, v1.4s, v17.4s\n\t" \
  "fadd v26.4s, v2.4s, v18.4s\n\t" \
  "fadd v27.4s, v3.4s, v19.4s\n\t" \
  "fadd v28.4s, v4.4s, v20.4s\n\t" \
  "fadd v29.4s, v5.4s, v21.4s\n\t" \
  "fadd v30.4s, v6.4s, v22.4s\n\t" \
  "fadd v31.4s, v7.4s, v23.4s\n\t"
#define KFDA_RUN32_MUL             \
  "fmul v24.4s, v0.4s, v16.4s\n\t" \
  "fmul v25.4s, v1.4s, v17.4s\n\t" \
  "fmul v26.4s, v2.4s, v18.4s\n\t" \
  "fmul v27.4s, v3.4s, v19.4s\n\t" \
  "fmul v28.4s, v4.4s, v20.4s\n\t" \
  "fmul v29.4s, v5.4s, v21.4s\n\t" \
  "fmul v30.4s, v6.4s, v22.4s\n\t" \
  "fmul v31.4s, v7.4s, v23.4s\n\t"
#define KFDA_RUN32(OPS)                                                                      \
  __asm__ volatile(                                                                          \
      "1:\n\t"                                                                               \
      "ld1 {v0.4s-v3.4s}, [%[a]], #64\n\t"                                                   \
      "ld1 {v16.4s-v19.4s}, [%[b]], #64\n\t"                                                 \
      "ld1 {v4.4s-v7.4s}, [%[a]], #64\n\t"                                                   \
      "ld1 {v20.4s-v23.4s}, [%[b]], #64\n\t" OPS                                             \
      "fadd v0.4s, v24.4s, v25.4s\n\t"                                                       \
      "fadd v1.4s, v26.4s, v27.4s\n\t"                                                       \
      "st1 {v24.4s-v27.4s}, [%[o]], #64\n\t"                                                 \
      "fadd v2.4s, v28.4s, v29.4s\n\t"                                                       \
      "fadd v3.4s, v30.4s, v31.4s\n\t"                                                       \
      "st1 {v28.4s-v31.4s}, [%[o]], #64\n\t"                                                 \
      "fadd v0.4s, v0.4s, v1.4s\n\t"                                                         \
      "fadd v2.4s, v2.4s, v3.4s\n\t"                                                         \
      "subs %[k], %[k], #1\n\t"                                                              \
      "fadd v0.4s, v0.4s, v2.4s\n\t"                                                         \
      "fadd %[s].4s, %[s].4s, v0.4s\n\t"                                                     \
      "b.ne 1b"                                                                              \
      : [a] "+r"(pa), [b] "+r"(pb), [o] "+r"(po), [k] "+r"(left), [s] "+w"(sum)              \
      :                                                                                      \
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18", \
        "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31")
          if (op == KFDA_BINARY_MUL)
            KFDA_RUN32(KFDA_RUN32_MUL);
          else
            KFDA_RUN32(KFDA_RUN32_ADD);
#undef KFDA_RUN32
#undef KFDA_RUN32_ADD
#undef KFDA_RUN32_MUL
        }
#endif
        for (; pa != a_end; pa += 16, pb += 16, po += 16) {
          const float32x4x4_t x = vld1q_f32_x4(pa), y = vld1q_f32_x4(pb);
          float32x4x4_t v;
#define KFDA_LANES(k) \
  v.val[k] = op == KFDA_BINARY_MUL ? vmulq_f32(x.val[k], y.val[k]) : vaddq_f32(x.val[k], y.val[k])
          KFDA_LANES(0);
          KFDA_LANES(1);
          KFDA_LANES(2);
          KFDA_LANES(3);
#undef KFDA_LANES
          sum = vaddq_f32(sum,
                          vaddq_f32(vaddq_f32(v.val[0], v.val[1]), vaddq_f32(v.val[2], v.val[3])));
          vst1q_f32(po, v.val[0]); /* STP pairs: ST1's 4 consecutive registers cost moves */
          vst1q_f32(po + 4, v.val[1]);
          vst1q_f32(po + 8, v.val[2]);
          vst1q_f32(po + 12, v.val[3]);
        }
        i = n - n % 16;
        if (vminvq_u32(vceqzq_f32(vsubq_f32(sum, sum))) == 0) { /* an inf or NaN lane */
          size_t j;
          for (j = 0; j < i; j += 4)
            vst1q_f32(out + j, vmaxnmq_f32(vminnmq_f32(vld1q_f32(out + j), vmax), vmin));
        }
      }
      for (; i + 8 <= n; i += 8) {
        const float32x4_t x0 = vld1q_f32(a + i), y0 = vld1q_f32(b + i);
        const float32x4_t x1 = vld1q_f32(a + i + 4), y1 = vld1q_f32(b + i + 4);
        float32x4_t v0 = op == KFDA_BINARY_MUL ? vmulq_f32(x0, y0) : vaddq_f32(x0, y0);
        float32x4_t v1 = op == KFDA_BINARY_MUL ? vmulq_f32(x1, y1) : vaddq_f32(x1, y1);
        v0 = vmaxnmq_f32(vminnmq_f32(v0, vmax), vmin);
        v1 = vmaxnmq_f32(vminnmq_f32(v1, vmax), vmin);
        vst1q_f32(out + i, v0);
        vst1q_f32(out + i + 4, v1);
      }
    }
    if (sa == 1 && sb == 1) {
      for (; i + 8 <= n; i += 8) {
        const float32x4_t v0 = kfda_binary_f32x4(op, vld1q_f32(a + i), vld1q_f32(b + i), vlo, vhi);
        const float32x4_t v1 =
            kfda_binary_f32x4(op, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4), vlo, vhi);
        vst1q_f32(out + i, v0);
        vst1q_f32(out + i + 4, v1);
      }
      for (; i + 4 <= n; i += 4)
        vst1q_f32(out + i, kfda_binary_f32x4(op, vld1q_f32(a + i), vld1q_f32(b + i), vlo, vhi));
    } else if (sa == 1) {
      const float32x4_t y = vdupq_n_f32(*b);
      for (; i + 4 <= n; i += 4)
        vst1q_f32(out + i, kfda_binary_f32x4(op, vld1q_f32(a + i), y, vlo, vhi));
    } else if (sb == 1) {
      const float32x4_t x = vdupq_n_f32(*a);
      for (; i + 4 <= n; i += 4)
        vst1q_f32(out + i, kfda_binary_f32x4(op, x, vld1q_f32(b + i), vlo, vhi));
    }
    for (; i < n; ++i)
      kfda_act_store_f32(out + i, kfda_binary_f32(op, a[i * (size_t)sa], b[i * (size_t)sb]), lo,
                         hi);
    return;
  }
#endif
#if KFDA_BINARY_VFP8
  if (none && sa == 1 && sb == 1 && n >= 8) {
    /* armv7-A NEON flushes denormals, so scalar VFP: 8 per pass, 21 instructions (the C
     * loop below: about 57), stored unclamped with a running sum as the test (finite
     * only if every value is), then the clamp in place only if it is not */
    const float *pa = a, *pb = b;
    float *po = out, sum = 0.0f;
    size_t left = n / 8;
#define KFDA_VFP8_ADD         \
  "vadd.f32 s16, s0, s8\n\t"  \
  "vadd.f32 s17, s1, s9\n\t"  \
  "vadd.f32 s18, s2, s10\n\t" \
  "vadd.f32 s19, s3, s11\n\t" \
  "vadd.f32 s20, s4, s12\n\t" \
  "vadd.f32 s21, s5, s13\n\t" \
  "vadd.f32 s22, s6, s14\n\t" \
  "vadd.f32 s23, s7, s15\n\t"
#define KFDA_VFP8_MUL         \
  "vmul.f32 s16, s0, s8\n\t"  \
  "vmul.f32 s17, s1, s9\n\t"  \
  "vmul.f32 s18, s2, s10\n\t" \
  "vmul.f32 s19, s3, s11\n\t" \
  "vmul.f32 s20, s4, s12\n\t" \
  "vmul.f32 s21, s5, s13\n\t" \
  "vmul.f32 s22, s6, s14\n\t" \
  "vmul.f32 s23, s7, s15\n\t"
#define KFDA_VFP8(OPS)                                                                            \
  __asm__ volatile(                                                                               \
      "1:\n\t"                                                                                    \
      "vldmia %[a]!, {s0-s7}\n\t"                                                                 \
      "vldmia %[b]!, {s8-s15}\n\t" OPS                                                            \
      "vstmia %[o]!, {s16-s23}\n\t"                                                               \
      "vadd.f32 s0, s16, s17\n\t"                                                                 \
      "vadd.f32 s1, s18, s19\n\t"                                                                 \
      "vadd.f32 s2, s20, s21\n\t"                                                                 \
      "vadd.f32 s3, s22, s23\n\t"                                                                 \
      "vadd.f32 s0, s0, s1\n\t"                                                                   \
      "vadd.f32 s2, s2, s3\n\t"                                                                   \
      "vadd.f32 s0, s0, s2\n\t"                                                                   \
      "vadd.f32 %[s], %[s], s0\n\t"                                                               \
      "subs %[k], %[k], #1\n\t"                                                                   \
      "bne 1b"                                                                                    \
      : [a] "+r"(pa), [b] "+r"(pb), [o] "+r"(po), [k] "+r"(left), [s] "+t"(sum)                   \
      :                                                                                           \
      : "cc", "memory", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", \
        "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23")
    if (op == KFDA_BINARY_MUL)
      KFDA_VFP8(KFDA_VFP8_MUL);
    else
      KFDA_VFP8(KFDA_VFP8_ADD);
#undef KFDA_VFP8
#undef KFDA_VFP8_ADD
#undef KFDA_VFP8_MUL
    i = n - n % 8;
    if (!(sum - sum == 0.0f)) { /* an inf or NaN among them: the clamp, in place */
      size_t j;
      for (j = 0; j < i; ++j) kfda_act_store_none_f32(out + j, out[j]);
    }
  }
#endif
  if (none && sa == 1 && sb == 1) {
    for (; i + 8 <= n; i += 8) {
      const float *x = a + i, *y = b + i;
      const float v0 = kfda_binary_f32(op, x[0], y[0]), v1 = kfda_binary_f32(op, x[1], y[1]);
      const float v2 = kfda_binary_f32(op, x[2], y[2]), v3 = kfda_binary_f32(op, x[3], y[3]);
      const float v4 = kfda_binary_f32(op, x[4], y[4]), v5 = kfda_binary_f32(op, x[5], y[5]);
      const float v6 = kfda_binary_f32(op, x[6], y[6]), v7 = kfda_binary_f32(op, x[7], y[7]);
      const float all = ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7));
      float *o = out + i;
      if (all - all == 0.0f) { /* all 8 finite: the clamp leaves them */
        o[0] = v0;
        o[1] = v1;
        o[2] = v2;
        o[3] = v3;
        o[4] = v4;
        o[5] = v5;
        o[6] = v6;
        o[7] = v7;
      } else {
        kfda_act_store_none_f32(o, v0);
        kfda_act_store_none_f32(o + 1, v1);
        kfda_act_store_none_f32(o + 2, v2);
        kfda_act_store_none_f32(o + 3, v3);
        kfda_act_store_none_f32(o + 4, v4);
        kfda_act_store_none_f32(o + 5, v5);
        kfda_act_store_none_f32(o + 6, v6);
        kfda_act_store_none_f32(o + 7, v7);
      }
    }
    for (; i < n; ++i) kfda_act_store_none_f32(out + i, kfda_binary_f32(op, a[i], b[i]));
  } else if (none) {
    for (; i < n; ++i, a += sa, b += sb)
      kfda_act_store_none_f32(out + i, kfda_binary_f32(op, *a, *b));
  } else {
    for (; i < n; ++i, a += sa, b += sb)
      kfda_act_store_f32(out + i, kfda_binary_f32(op, *a, *b), lo, hi);
  }
}

KFDA_ALWAYS_INLINE void kfda_binary_f32_opt(kfda_binary_op op, const kfda_arith_params *p,
                                            const float *a, const int32_t *as, const float *b,
                                            const int32_t *bs, const int32_t *d, float *out) {
  kfda_broadcast_walk w;
  int32_t rd[5], sa, sb;
  const size_t n = kfda_broadcast_run(as, bs, d, rd, &sa, &sb);
  const size_t runs = kfda_broadcast_begin(&w, as, bs, rd);
  const int none = kfda_act_f32_none(p->act_min, p->act_max);
  size_t r;
  for (r = 0; r < runs; ++r, kfda_broadcast_next(&w))
    kfda_binary_run_f32(op, a + w.a, sa, b + w.b, sb, n, p->act_min, p->act_max, none, out + r * n);
}

#endif
