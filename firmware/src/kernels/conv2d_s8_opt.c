/*
 * conv2d_s8_opt.c - CONV_2D int8, optimized (held bit for bit to the TFLite
 * reference loop of conv2d_s8.c by host/kernel_test.c); CMSIS-NN's scheme:
 *
 * im2col: the receptive fields of 2 output pixels are gathered into int16
 *   columns of (x + in_offset) (taps outside the image are 0, which is what
 *   the reference's skipped taps contribute), K = fh * fw * cin values,
 *   padded to a multiple of 4 with zeros. On cores with the DSP extension each
 *   group of 4 is stored as (x0, x2, x1, x3) so that it pairs with SXTB16 of
 *   4 packed weights (w0, w2) and SXTB16 of the weights rotated by 8 (w1, w3).
 * inner loop: 2 output channels x 2 pixels per pass, so each weight word and
 *   each column word feeds 2 multiply-accumulates:
 *     DSP (Cortex-M4/M7/M33/M55): per 4 values, 2 weight loads, 4 SXTB16,
 *       2 column LDRs per pixel, 8 SMLAD (2 MACs each) for 16 MACs;
 *     elsewhere: plain C over the same blocking (the compiler vectorises it).
 * arm64: int8 columns (outside taps hold the zero point) and 4 pixels x 4
 *   channels per pass of NEON dot products: SDOT when the CPU reports dotprod
 *   (getauxval(AT_HWCAP) & HWCAP_ASIMDDP, e.g. Cortex-A76 / Raspberry Pi 5),
 *   else SMULL + SADALP (Cortex-A72 / Pi 4); in_offset * sum(w) per channel after.
 * Accumulation is exact int32 in all (same sums, any order), then the
 * reference's requantisation (inline, requant.h: the same results). Grouped
 * convolutions, no scratch, and leftover single pixels / channels use the same
 * code with a block of 1.
 */
#include <string.h>

#include "kfda/kernels.h"
#include "requant.h"

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(__aarch64__) && \
    !defined(__ARM_NEON) && !defined(__ARM_NEON__)
#include <arm_acle.h>
#define KFDA_S8_DSP 1
#else
#define KFDA_S8_DSP 0
#endif

/* arm64 (Linux): int8 columns and NEON dot products, SDOT when the CPU has it. */
#if defined(__aarch64__) && defined(__ARM_NEON) && defined(__GNUC__)
#include <arm_neon.h>
#define KFDA_S8_NEON64 1
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#else
#define KFDA_S8_NEON64 0
#endif

static int32_t padded_k(const kfda_shape4 *fs) { return (fs->h * fs->w * fs->c + 3) & ~3; }

size_t kfda_conv2d_s8_scratch_bytes(const kfda_shape4 *filter_shape) {
  /* the same on every target (the host's plan sizes the arena): 2 int16 columns, or on
   * arm64 4 int8 columns, of padded_k values */
  return 2u * (size_t)padded_k(filter_shape) * sizeof(int16_t);
}

/* column of pixel (b, oy, ox): K values (x + in_offset), zero-padded to kp */
static void im2col_s16(const kfda_conv_params *p, const kfda_shape4 *is, const int8_t *in,
                       const kfda_shape4 *fs, int32_t in_offset, int32_t b, int32_t oy, int32_t ox,
                       int16_t *col, int32_t kp) {
  const int32_t fh = fs->h, fw = fs->w, cin = fs->c;
  int32_t fy, fx, c, k = 0;
  for (fy = 0; fy < fh; ++fy) {
    const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dil_h;
    for (fx = 0; fx < fw; ++fx) {
      const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dil_w;
      if (iy >= 0 && iy < is->h && ix >= 0 && ix < is->w) {
        const int8_t *x = in + (((size_t)b * is->h + iy) * is->w + ix) * cin;
        for (c = 0; c < cin; ++c) col[k++] = (int16_t)(x[c] + in_offset);
      } else {
        for (c = 0; c < cin; ++c) col[k++] = 0;
      }
    }
  }
  for (; k < kp; ++k) col[k] = 0;
#if KFDA_S8_DSP
  for (k = 0; k < kp; k += 4) { /* (x0, x1, x2, x3) -> (x0, x2, x1, x3) */
    const int16_t t = col[k + 1];
    col[k + 1] = col[k + 2];
    col[k + 2] = t;
  }
#endif
}

#if KFDA_S8_DSP
static inline int32_t sxtb16_ror8(int32_t x) { /* SXTB16 with its rotation: bytes 1, 3 */
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
static inline int32_t ld32(const void *p) {
  int32_t v;
  memcpy(&v, p, 4); /* LDR (unaligned loads are fine on v7-M/v8-M) */
  return v;
}
#endif

/* acc[pi * 2 + ci] += column pi . filter row ci, for np pixels, nc channels */
static void dot_block(const int16_t *c0, const int16_t *c1, const int8_t *w0, const int8_t *w1,
                      int32_t k, int32_t np, int32_t nc, int32_t *acc) {
  int32_t i;
#if KFDA_S8_DSP
  int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
  const int32_t kf = k & ~3;
  const int16_t *c0p = c0, *c1p = c1, *const c0e = c0 + kf;
  const int8_t *w0p = w0, *w1p = w1;
  for (; c0p < c0e; c0p += 4, c1p += 4, w0p += 4, w1p += 4) {
    const int32_t wa = ld32(w0p), wb = ld32(w1p);
    const int32_t wa02 = __sxtb16(wa), wa13 = sxtb16_ror8(wa);
    const int32_t wb02 = __sxtb16(wb), wb13 = sxtb16_ror8(wb);
    int32_t x02 = ld32(c0p), x13 = ld32(c0p + 2);
    a00 = __smlad(x02, wa02, a00);
    a00 = __smlad(x13, wa13, a00);
    a01 = __smlad(x02, wb02, a01);
    a01 = __smlad(x13, wb13, a01);
    x02 = ld32(c1p);
    x13 = ld32(c1p + 2);
    a10 = __smlad(x02, wa02, a10);
    a10 = __smlad(x13, wa13, a10);
    a11 = __smlad(x02, wb02, a11);
    a11 = __smlad(x13, wb13, a11);
  }
  i = kf;
  for (; i < k; ++i) { /* the column is in (0, 2, 1, 3) order within groups of 4 */
    const int32_t j = (i & ~3) | ((i & 1) << 1) | ((i & 2) >> 1);
    a00 += c0[j] * w0[i];
    a01 += c0[j] * w1[i];
    a10 += c1[j] * w0[i];
    a11 += c1[j] * w1[i];
  }
  acc[0] = a00;
  if (nc > 1) acc[1] = a01;
  if (np > 1) {
    acc[2] = a10;
    if (nc > 1) acc[3] = a11;
  }
#else
  int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
  for (i = 0; i < k; ++i) {
    const int32_t x = c0[i], y = c1[i], u = w0[i], v = w1[i];
    a00 += x * u;
    a01 += x * v;
    a10 += y * u;
    a11 += y * v;
  }
  acc[0] = a00;
  if (nc > 1) acc[1] = a01;
  if (np > 1) {
    acc[2] = a10;
    if (nc > 1) acc[3] = a11;
  }
#endif
}

/* The reference's output of one accumulator (bias, requantisation, offset, clamp). */
static inline int8_t requant_out(const kfda_requant *q, const int32_t *bias, int32_t c, int32_t a) {
  if (bias) a += bias[c];
  if (kfda_qmul_ok(q->mult[c], q->shift[c])) { /* inline, the same results */
    const int32_t sh = q->shift[c];
    a = kfda_qmul_ruy(a, q->mult[c], sh > 0 ? sh : 0, sh > 0 ? 0 : -sh);
  } else {
    a = kfda_multiply_by_quantized_multiplier_ruy(a, q->mult[c], q->shift[c]);
  }
  a += q->out_offset;
  if (a < q->act_min) a = q->act_min;
  if (a > q->act_max) a = q->act_max;
  return (int8_t)a;
}

#if KFDA_S8_NEON64
/* sum (x + in_offset) * w = sum x * w + in_offset * sum w: the dot products run on the
 * raw int8 values (taps outside the image hold the zero point, -in_offset, so that
 * their x + in_offset is 0 as in the reference), the second term per channel after.
 * Exact int32 sums in any order: the same results as the reference. */

/* column of pixel (b, oy, ox): K raw int8 values, outside taps zp, zero-padded to kp */
static void im2col_s8(const kfda_conv_params *p, const kfda_shape4 *is, const int8_t *in,
                      const kfda_shape4 *fs, int8_t zp, int32_t b, int32_t oy, int32_t ox,
                      int8_t *col, int32_t kp) {
  const int32_t fh = fs->h, fw = fs->w, cin = fs->c;
  int32_t fy, fx, k = 0;
  for (fy = 0; fy < fh; ++fy) {
    const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dil_h;
    for (fx = 0; fx < fw; ++fx, k += cin) {
      const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dil_w;
      if (iy >= 0 && iy < is->h && ix >= 0 && ix < is->w)
        memcpy(col + k, in + (((size_t)b * is->h + iy) * is->w + ix) * cin, (size_t)cin);
      else
        memset(col + k, zp, (size_t)cin);
    }
  }
  memset(col + k, 0, (size_t)(kp - k));
}

/* The k % 16 last values of a filter row or column, zero-padded to 16 bytes (no read
 * past the row). */
static inline int8x16_t tail16(const int8_t *w, int32_t n) {
  int8_t t[16] = {0};
  memcpy(t, w, (size_t)n);
  return vld1q_s8(t);
}

/* 4 pixels (columns col + i * kp) x 4 channels (rows w + j * k): the 16 dot products
 * as acc[4 * i + j]. The 16 lane-partial accumulators end in 3 ADDPs per pixel. */
#define KFDA_DOT4X4_BODY(MAC)                                                            \
  const int8_t *w0 = w, *w1 = w + k, *w2 = w + 2 * (size_t)k, *w3 = w + 3 * (size_t)k;   \
  int32x4_t a00 = vdupq_n_s32(0), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, \
            a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, \
            a31 = a00, a32 = a00, a33 = a00;                                             \
  int32_t i;                                                                             \
  for (i = 0; i < k; i += 16) {                                                          \
    int8x16_t W0, W1, W2, W3, X0, X1, X2, X3;                                            \
    if (i + 16 <= k) {                                                                   \
      W0 = vld1q_s8(w0 + i);                                                             \
      W1 = vld1q_s8(w1 + i);                                                             \
      W2 = vld1q_s8(w2 + i);                                                             \
      W3 = vld1q_s8(w3 + i);                                                             \
      X0 = vld1q_s8(col + i);                                                            \
      X1 = vld1q_s8(col + kp + i);                                                       \
      X2 = vld1q_s8(col + 2 * kp + i);                                                   \
      X3 = vld1q_s8(col + 3 * kp + i);                                                   \
    } else {                                                                             \
      W0 = tail16(w0 + i, k - i);                                                        \
      W1 = tail16(w1 + i, k - i);                                                        \
      W2 = tail16(w2 + i, k - i);                                                        \
      W3 = tail16(w3 + i, k - i);                                                        \
      X0 = tail16(col + i, k - i);                                                       \
      X1 = tail16(col + kp + i, k - i);                                                  \
      X2 = tail16(col + 2 * kp + i, k - i);                                              \
      X3 = tail16(col + 3 * kp + i, k - i);                                              \
    }                                                                                    \
    MAC(a00, X0, W0), MAC(a01, X0, W1), MAC(a02, X0, W2), MAC(a03, X0, W3);              \
    MAC(a10, X1, W0), MAC(a11, X1, W1), MAC(a12, X1, W2), MAC(a13, X1, W3);              \
    MAC(a20, X2, W0), MAC(a21, X2, W1), MAC(a22, X2, W2), MAC(a23, X2, W3);              \
    MAC(a30, X3, W0), MAC(a31, X3, W1), MAC(a32, X3, W2), MAC(a33, X3, W3);              \
  }                                                                                      \
  vst1q_s32(acc, vpaddq_s32(vpaddq_s32(a00, a01), vpaddq_s32(a02, a03)));                \
  vst1q_s32(acc + 4, vpaddq_s32(vpaddq_s32(a10, a11), vpaddq_s32(a12, a13)));            \
  vst1q_s32(acc + 8, vpaddq_s32(vpaddq_s32(a20, a21), vpaddq_s32(a22, a23)));            \
  vst1q_s32(acc + 12, vpaddq_s32(vpaddq_s32(a30, a31), vpaddq_s32(a32, a33)))

/* plain NEON: SMULL / SMULL2 into 16 bits (|x w| <= 16384), SADALP into 32 */
#define KFDA_MAC_NEON(a, X, W)                                   \
  (a = vpadalq_s16(a, vmull_s8(vget_low_s8(X), vget_low_s8(W))), \
   a = vpadalq_s16(a, vmull_high_s8(X, W)))
static void dot4x4_neon(const int8_t *col, int32_t kp, const int8_t *w, int32_t k, int32_t *acc) {
  KFDA_DOT4X4_BODY(KFDA_MAC_NEON);
}

/* dotprod (Armv8.2, e.g. Cortex-A76 / Raspberry Pi 5): SDOT, 4 products per lane */
#define KFDA_MAC_SDOT(a, X, W) (a = vdotq_s32(a, X, W))
__attribute__((target("arch=armv8.2-a+dotprod"))) static void dot4x4_sdot(const int8_t *col,
                                                                          int32_t kp,
                                                                          const int8_t *w,
                                                                          int32_t k, int32_t *acc) {
  KFDA_DOT4X4_BODY(KFDA_MAC_SDOT);
}

/* requant_out for 4 channels (bias already in a): kfda_qmul_ruy as SQSHL (the saturated
 * left shift), SQRDMULH (floor((a b + 2^30) / 2^31), saturated only for INT32_MIN twice,
 * which kfda_qmul_ok excludes) and SRSHL by -right (floor((h + 2^(r-1)) / 2^r)); then
 * the offset and the clamp, narrowed to 16 bits (the clamp is within int8). */
static inline int16x4_t requant4(int32x4_t a, int32x4_t mul, int32x4_t left, int32x4_t right,
                                 const kfda_requant *q) {
  a = vrshlq_s32(vqrdmulhq_s32(vqshlq_s32(a, left), mul), right);
  a = vaddq_s32(a, vdupq_n_s32(q->out_offset));
  a = vminq_s32(vmaxq_s32(a, vdupq_n_s32(q->act_min)), vdupq_n_s32(q->act_max));
  return vmovn_s32(a);
}

/* 1 when this CPU has the dotprod instructions (Linux: HWCAP_ASIMDDP), asked once. */
static int cpu_has_dotprod(void) {
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
  static int known = -1;
  if (known < 0) known = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  return known;
#else
  return 0;
#endif
}

/* 4 pixels x 4 channels per pass over int8 columns, channels in chunks of 64 (the
 * sum of each channel's weights on the stack). */
static void conv_s8_neon64(const kfda_conv_params *p, const kfda_requant *q, const kfda_shape4 *is,
                           const int8_t *in, const kfda_shape4 *fs, const int8_t *filter,
                           const int32_t *bias, const kfda_shape4 *os, int8_t *out, int8_t *col,
                           size_t pix_begin, size_t npix) {
  const int32_t cout = fs->n, k = fs->h * fs->w * fs->c, kp = padded_k(fs);
  const int8_t zp = (int8_t)-q->in_offset;
  void (*const dot)(const int8_t *, int32_t, const int8_t *, int32_t, int32_t *) =
      cpu_has_dotprod() ? dot4x4_sdot : dot4x4_neon;
  int32_t sumw[64], oc0;
  int vec_ok[16];
  for (oc0 = 0; oc0 < cout; oc0 += 64) {
    const int32_t nch = cout - oc0 < 64 ? cout - oc0 : 64;
    size_t pix;
    int32_t j, i;
    for (j = 0; j < nch; ++j) {
      const int8_t *w = filter + (size_t)(oc0 + j) * k;
      int32_t t = 0;
      for (i = 0; i < k; ++i) t += w[i];
      sumw[j] = t * q->in_offset;
    }
    for (j = 0; j + 4 <= nch; j += 4) { /* requant4 holds for these 4 channels */
      int ok = q->act_min >= -128 && q->act_max <= 127;
      for (i = j; i < j + 4; ++i) ok = ok && kfda_qmul_ok(q->mult[oc0 + i], q->shift[oc0 + i]);
      vec_ok[j >> 2] = ok;
    }
    for (pix = pix_begin; pix < npix; pix += 4) { /* pixels [begin, npix) */
      const int32_t np = npix - pix >= 4 ? 4 : (int32_t)(npix - pix);
      int32_t pi, oc;
      for (pi = 0; pi < 4; ++pi) { /* a missing pixel repeats the last (not stored) */
        const size_t px = pix + (size_t)(pi < np ? pi : np - 1);
        const int32_t ox = (int32_t)(px % (size_t)os->w);
        const int32_t oy = (int32_t)((px / (size_t)os->w) % (size_t)os->h);
        const int32_t b = (int32_t)(px / ((size_t)os->w * os->h));
        im2col_s8(p, is, in, fs, zp, b, oy, ox, col + (size_t)pi * kp, kp);
      }
      for (oc = oc0; oc < oc0 + nch; oc += 4) {
        const int32_t nc = oc0 + nch - oc >= 4 ? 4 : oc0 + nch - oc;
        int32_t acc[16], ci;
        if (nc == 4) {
          dot(col, kp, filter + (size_t)oc * k, k, acc);
        } else { /* fewer than 4 channels left: one at a time in plain C */
          int32_t c;
          for (pi = 0; pi < np; ++pi)
            for (c = 0; c < nc; ++c) {
              const int8_t *w = filter + (size_t)(oc + c) * k, *x = col + (size_t)pi * kp;
              int32_t t = 0;
              for (i = 0; i < k; ++i) t += x[i] * w[i];
              acc[4 * pi + c] = t;
            }
        }
        if (nc == 4 && vec_ok[(oc - oc0) >> 2]) { /* 4 channels per vector */
          const int32x4_t sv =
              vaddq_s32(vld1q_s32(sumw + (oc - oc0)), bias ? vld1q_s32(bias + oc) : vdupq_n_s32(0));
          const int32x4_t sh = vld1q_s32(q->shift + oc), mul = vld1q_s32(q->mult + oc);
          const int32x4_t left = vmaxq_s32(sh, vdupq_n_s32(0)),
                          right = vminq_s32(sh, vdupq_n_s32(0));
          for (pi = 0; pi < np; ++pi) {
            int8x8_t o8;
            int32_t o4;
            o8 = vqmovn_s16(
                vcombine_s16(requant4(vaddq_s32(vld1q_s32(acc + 4 * pi), sv), mul, left, right, q),
                             vdup_n_s16(0)));
            o4 = vget_lane_s32(vreinterpret_s32_s8(o8), 0);
            memcpy(out + (pix + (size_t)pi) * cout + oc, &o4, 4);
          }
          continue;
        }
        for (pi = 0; pi < np; ++pi)
          for (ci = 0; ci < nc; ++ci)
            out[(pix + (size_t)pi) * cout + oc + ci] =
                requant_out(q, bias, oc + ci, acc[4 * pi + ci] + sumw[oc - oc0 + ci]);
      }
    }
  }
}
#endif

void kfda_conv2d_s8_opt(const kfda_conv_params *p, const kfda_requant *q, const kfda_shape4 *is,
                        const int8_t *in, const kfda_shape4 *fs, const int8_t *filter,
                        const int32_t *bias, const kfda_shape4 *os, int8_t *out, void *scratch,
                        int32_t row_begin, int32_t row_end) {
  const int32_t cout = fs->n, k = fs->h * fs->w * fs->c, kp = padded_k(fs);
  const size_t npix = (size_t)row_end * (size_t)os->w; /* pixels up to the range's end */
  int16_t *col0 = (int16_t *)scratch, *col1 = col0 + kp;
  size_t pix;
  if (fs->c != is->c || scratch == NULL) {
    kfda_conv2d_s8_ref(p, q, is, in, fs, filter, bias, os, out, row_begin, row_end);
    return;
  }
#if KFDA_S8_NEON64
  if (q->in_offset >= -127 && q->in_offset <= 128) { /* the zero point fits int8 */
    conv_s8_neon64(p, q, is, in, fs, filter, bias, os, out, (int8_t *)scratch,
                   (size_t)row_begin * (size_t)os->w, npix);
    return;
  }
#endif
  for (pix = (size_t)row_begin * (size_t)os->w; pix < npix; pix += 2) {
    const int32_t np = npix - pix >= 2 ? 2 : 1;
    int32_t oc, pi;
    for (pi = 0; pi < np; ++pi) {
      const size_t px = pix + (size_t)pi;
      const int32_t ox = (int32_t)(px % (size_t)os->w);
      const int32_t oy = (int32_t)((px / (size_t)os->w) % (size_t)os->h);
      const int32_t b = (int32_t)(px / ((size_t)os->w * os->h));
      im2col_s16(p, is, in, fs, q->in_offset, b, oy, ox, pi ? col1 : col0, kp);
    }
    for (oc = 0; oc < cout; oc += 2) {
      const int32_t nc = cout - oc >= 2 ? 2 : 1;
      const int8_t *w0 = filter + (size_t)oc * k, *w1 = nc > 1 ? w0 + k : w0;
      int32_t acc[4], ci;
      dot_block(col0, np > 1 ? col1 : col0, w0, w1, k, np, nc, acc);
      for (pi = 0; pi < np; ++pi)
        for (ci = 0; ci < nc; ++ci) {
          const int32_t c = oc + ci;
          const int32_t a = acc[pi * 2 + ci];
          out[(pix + (size_t)pi) * cout + c] = requant_out(q, bias, c, a);
        }
    }
  }
}

void kfda_conv2d_s8(const kfda_conv_params *p, const kfda_requant *q, const kfda_shape4 *is,
                    const int8_t *in, const kfda_shape4 *fs, const int8_t *filter,
                    const int32_t *bias, const kfda_shape4 *os, int8_t *out, void *scratch,
                    int32_t row_begin, int32_t row_end) {
#if defined(KFDA_BENCH_SKIP_CONV_S8) /* benchmarks only: the rest of the model's cost */
  (void)p;
  (void)q;
  (void)is;
  (void)in;
  (void)fs;
  (void)filter;
  (void)bias;
  (void)os;
  (void)out;
  (void)scratch;
  (void)row_begin;
  (void)row_end;
#elif defined(KFDA_KERNELS_REF)
  (void)scratch;
  kfda_conv2d_s8_ref(p, q, is, in, fs, filter, bias, os, out, row_begin, row_end);
#else
  kfda_conv2d_s8_opt(p, q, is, in, fs, filter, bias, os, out, scratch, row_begin, row_end);
#endif
}
