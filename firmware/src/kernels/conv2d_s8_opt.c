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
 * Accumulation is exact int32 in both (same sums, any order), then the
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

static int32_t padded_k(const kfda_shape4 *fs) { return (fs->h * fs->w * fs->c + 3) & ~3; }

size_t kfda_conv2d_s8_scratch_bytes(const kfda_shape4 *filter_shape) {
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
          int32_t a = acc[pi * 2 + ci];
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
          out[(pix + (size_t)pi) * cout + c] = (int8_t)a;
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
