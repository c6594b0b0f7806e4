/*
 * kernel_test.c - every optimized kernel against its reference twin, bit for
 * bit, over a product of shapes, strides, dilations, paddings, activations and
 * output kinds, on random packed data (deterministic LCG); the int8 requantisation
 * helpers against their written-out references over edge and random inputs. Prints one
 * line per kernel and "ok"; exits 1 on the first mismatch (with the case).
 *   kernel_test [quick]      quick: a smaller product (slow emulators)
 * Built for a Cortex-M board (make -C firmware/boards/<b> KERNEL_TEST=1 run) it has no
 * arguments: KFDA_KT_QUICK picks the product, output goes through semihosting.
 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kfda/kernels.h"
#include "../src/kernels/requant.h"

static uint32_t rng_state = 12345u;
static uint32_t rnd(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return (rng_state >> 16) | (rng_state << 16);
}

/* Buffer sizes: MAXB words per operand, the kernels' scratch, per-channel tables. A case
 * that does not fit is skipped. KFDA_KT_SMALL_RAM: the micro:bit's 16 KiB of RAM (about
 * 7 KiB here), which still runs every kernel on small shapes. */
#if defined(KFDA_KT_SMALL_RAM)
#define MAXB             256
#define KT_SCRATCH_WORDS 256
#define KT_CHANNELS      64
#endif
#ifndef MAXB
#define MAXB (64 * 1024)
#endif
#ifndef KT_SCRATCH_WORDS
#define KT_SCRATCH_WORDS 4096
#endif
#ifndef KT_CHANNELS
#define KT_CHANNELS 512
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__) /* the repacked filter: NEON builds only */
#define KT_REPACK_WORDS (MAXB + 3 * 4096)
#else
#define KT_REPACK_WORDS 1
#endif
static uint32_t in_buf[MAXB], filt_buf[MAXB], scratch[KT_SCRATCH_WORDS];
static uint32_t repack_buf[KT_REPACK_WORDS];
static uint8_t out_ref[4 * MAXB], out_opt[4 * MAXB];
static float mul[KT_CHANNELS], bias[KT_CHANNELS], raw[KT_CHANNELS];
static int32_t th[KT_CHANNELS];
#if KFDA_BCONV_REPACKED
static int32_t pad_counts[KT_CHANNELS];
#endif

/* One conv case's geometry: a batch of 2 inputs of size[0] x size[1] x c (channels, or
 * packed words), cout filters of k[0] x k[1] x c, stride st, dilation dl, VALID (valid != 0)
 * or SAME padding (TFLite's: an odd extra row or column goes after). Zeroes p and sets its
 * geometry; 0 when a VALID filter does not fit the input. */
/* A row to split [0, rows) at for two calls (0 and rows included: an empty range). */
static int32_t split_row(int cases, int32_t rows) { return (int32_t)(cases % (rows + 1)); }

static int conv_geometry(kfda_conv_params *p, kfda_shape4 *is, kfda_shape4 *fs, kfda_shape4 *os,
                         const int32_t size[2], const int32_t k[2], int32_t c, int32_t cout, int st,
                         int dl, int valid) {
  const int32_t eff_h = (k[0] - 1) * dl + 1, eff_w = (k[1] - 1) * dl + 1;
  memset(p, 0, sizeof *p);
  is->n = 2;
  is->h = size[0];
  is->w = size[1];
  is->c = c;
  os->n = 2;
  os->c = cout;
  if (valid) {
    if (is->h < eff_h || is->w < eff_w) return 0;
    os->h = (is->h - eff_h) / st + 1;
    os->w = (is->w - eff_w) / st + 1;
  } else {
    int32_t ph, pw;
    os->h = (is->h + st - 1) / st;
    os->w = (is->w + st - 1) / st;
    ph = (os->h - 1) * st + eff_h - is->h;
    pw = (os->w - 1) * st + eff_w - is->w;
    p->pad_h = ph > 0 ? ph / 2 : 0;
    p->pad_w = pw > 0 ? pw / 2 : 0;
  }
  fs->n = cout;
  fs->h = k[0];
  fs->w = k[1];
  fs->c = c;
  p->stride_h = p->stride_w = st;
  p->dil_h = p->dil_w = dl;
  return 1;
}

static int check_bconv(int quick) {
  /* quick: the first 4 (64: the Thumb-2 adder tree with its float transform, kw 18), then
   * 3x3 only: the multi-block tree for kw 36, 27 (+ a 9-word block) and 72 */
  static const int32_t cins[] = {1, 32, 45, 64, 100, 96, 250, 160};
  /* 76: 4 blocks of 16 channels, then 3 groups of 4; 33: a lone channel after 8 groups */
  static const int32_t couts[] = {1, 5, 8, 33, 76};
  static const int32_t sizes[][2] = {{1, 1}, {5, 7}, {8, 8}};
  static const int32_t ksz[][2] = {{1, 1}, {3, 3}, {2, 3}, {5, 5}};
  int ci, co, si, ki, st, dl, pad, pv, fl, act, cases = 0;
  const int nci = quick ? 7 : 8, nco = quick ? 3 : 5;
#if KFDA_BCONV_REPACKED
  int inside_runs = 0;
#endif
  for (ci = 0; ci < nci; ++ci)
    for (co = 0; co < nco; ++co)
      for (si = 0; si < 3; ++si)
        for (ki = 0; ki < 4; ++ki)
          for (st = 1; st <= 2; ++st)
            for (dl = 1; dl <= 2; ++dl)
              for (pad = 0; pad <= 1; ++pad)
                for (pv = 0; pv <= 1; ++pv)
                  for (fl = 0; fl <= 2; ++fl)
                    for (act = 0; act <= 1; ++act) {
                      kfda_bconv_params p;
                      kfda_conv_params g;
                      kfda_shape4 is, fs, os;
                      const int32_t cin = cins[ci], cout = couts[co];
                      const int32_t words = KFDA_PACKED_WORDS(cin);
                      int32_t K, i, n_in, n_f, n_out;
                      size_t bytes;
                      if (pad == 1 && pv == 1) continue; /* VALID: pad value irrelevant */
                      if (pad == 0 && pv == 0 && (fl != 0 || act)) continue; /* as Prepare */
                      if (quick && (dl == 2 || act)) continue;
                      if (quick && ci >= 4 && ki != 1) continue;
                      if (!conv_geometry(&g, &is, &fs, &os, sizes[si], ksz[ki], words, cout, st, dl,
                                         pad))
                        continue;
                      memset(&p, 0, sizeof p);
                      p.stride_h = g.stride_h;
                      p.stride_w = g.stride_w;
                      p.dil_h = g.dil_h;
                      p.dil_w = g.dil_w;
                      p.pad_h = g.pad_h;
                      p.pad_w = g.pad_w;
                      p.padding = pad;
                      p.pad_value = pv;
                      p.channels_in = cin;
                      p.output_kind = fl;
                      K = fs.h * fs.w * cin;
                      p.receptive_field_bits = K;
                      p.groups = 1;
                      p.clamp_min = act ? K - 2 * (K / 3) : 0; /* a clamp that bites */
                      p.clamp_max = act ? K + K / 2 : 2 * K;
                      n_in = is.n * is.h * is.w * words;
                      n_f = cout * fs.h * fs.w * words;
                      if (n_in > MAXB || n_f > MAXB) continue;
                      if (kfda_lce_bconv2d_scratch_bytes(&p, &fs, &os) > sizeof scratch) continue;
                      if (kfda_lce_bconv2d_repacked_bytes(&fs) > sizeof repack_buf) continue;
                      for (i = 0; i < n_in; ++i) in_buf[i] = rnd();
                      for (i = 0; i < n_f; ++i) filt_buf[i] = rnd();
                      if (cin % 32) { /* channel padding: 0 bits in both */
                        const uint32_t m = (1u << (cin % 32)) - 1u;
                        for (i = words - 1; i < n_in; i += words) in_buf[i] &= m;
                        for (i = words - 1; i < n_f; i += words) filt_buf[i] &= m;
                      }
                      for (i = 0; i < cout; ++i) {
                        mul[i] = (float)((int32_t)(rnd() % 2001) - 1000) / 997.0f;
                        bias[i] = (float)((int32_t)(rnd() % 2001) - 1000) / 31.0f;
                        raw[i] = -mul[i];
                        th[i] = (int32_t)(rnd() % (uint32_t)(K + 1));
                      }
                      if (cases % 5 == 4) { /* a channel near denormals (armv7 NEON flushes) */
                        static const float tiny[] = {1.0e-40f,    -0x1p-101f, 0x1p-100f, -0.0f,
                                                     0x1.8p-100f, 1.0e-30f,   -1.0e-38f, 0.0f};
                        i = (int32_t)(rnd() % (uint32_t)cout);
                        mul[i] = tiny[rnd() % 8];
                        bias[i] = rnd() % 2 ? tiny[rnd() % 8] : -2.0f * (float)K * mul[i];
                      }
#if KFDA_BCONV_REPACKED
                      if (kfda_lce_bconv2d_repacked_bytes(&fs) > 0) { /* as prepare does */
                        kfda_lce_bconv2d_repack(&fs, (const int32_t *)filt_buf,
                                                (int32_t *)repack_buf);
                        p.filter_repacked = (const int32_t *)repack_buf;
                      }
                      if (kfda_lce_bconv2d_inside_run(&p, &is, &fs, &os, &p.inside_tap0,
                                                      &p.inside_words)) {
                        kfda_lce_bconv2d_pad_counts(&fs, (const int32_t *)filt_buf, p.inside_tap0,
                                                    p.inside_words, pad_counts);
                        p.pad_counts = pad_counts;
                        ++inside_runs;
                      }
#endif
                      n_out = os.n * os.h * os.w;
                      bytes = fl == 2 ? (size_t)n_out * KFDA_PACKED_WORDS(cout) * 4
                                      : (size_t)n_out * cout * (fl == 0 ? 4 : 1);
                      if (bytes > sizeof out_ref) continue;
                      memset(out_ref, 0xa5, bytes);
                      memset(out_opt, 0x5a, bytes);
                      kfda_lce_bconv2d_ref(&p, &is, (const int32_t *)in_buf, &fs,
                                           (const int32_t *)filt_buf, mul, bias, th, raw, &os,
                                           out_ref, 0, os.n * os.h);
                      { /* the optimized kernel in two row ranges (as two threads run it) */
                        const int32_t split = split_row(cases, os.n * os.h);
                        const size_t used = kfda_lce_bconv2d_scratch_bytes(&p, &fs, &os);
                        memset((uint8_t *)scratch + used, 0x3c, sizeof scratch - used);
                        /* only the output kind's tables, as the op passes them */
                        const float *m_ = fl == 2 ? NULL : mul, *b_ = fl == 2 ? NULL : bias;
                        const float *r_ = fl == 2 ? NULL : raw;
                        const int32_t *t_ = fl == 2 ? th : NULL;
                        kfda_lce_bconv2d_opt(&p, &is, (const int32_t *)in_buf, &fs,
                                             (const int32_t *)filt_buf, m_, b_, t_, r_, &os,
                                             out_opt, scratch, 0, split);
                        kfda_lce_bconv2d_opt(&p, &is, (const int32_t *)in_buf, &fs,
                                             (const int32_t *)filt_buf, m_, b_, t_, r_, &os,
                                             out_opt, scratch, split, os.n * os.h);
                        for (i = (int32_t)used; i < (int32_t)sizeof scratch; ++i)
                          if (((const uint8_t *)scratch)[i] != 0x3c) {
                            printf("lce_bconv2d wrote scratch byte %d past its %d\n", (int)i,
                                   (int)used);
                            return 1;
                          }
                      }
                      ++cases;
                      if (memcmp(out_ref, out_opt, bytes) != 0) {
                        printf(
                            "lce_bconv2d MISMATCH cin=%d cout=%d in=%dx%d k=%dx%d stride=%d "
                            "dil=%d padding=%s pad_value=%d out=%d act=%d\n",
                            (int)cin, (int)cout, (int)is.h, (int)is.w, (int)fs.h, (int)fs.w, st, dl,
                            pad ? "valid" : "same", pv, fl, act);
                        return 1;
                      }
                    }
#if KFDA_BCONV_REPACKED
  printf("lce_bconv2d opt == ref: %d cases (%d with a 1x1 map's inside run)\n", cases, inside_runs);
#else
  printf("lce_bconv2d opt == ref: %d cases\n", cases);
#endif
  return 0;
}

/* LceQuantize: float (with -0, NaN of both signs, infinities, denormals) and int8 (zero
 * points inside and outside the int8 range), every column count class. */
static int check_quantize(void) {
  static const int32_t colss[] = {1, 7, 31, 32, 33, 64, 95, 96, 250, 256};
  static const float specials[] = {0.0f, -0.0f, 1e-45f, -1e-45f, 1e-38f, -1e-38f, 1.0f, -1.0f};
  static const int32_t zps[] = {0, -128, 127, -5, 17, -200, 300};
  int ci, rows, z, cases = 0, i;
  float *f = (float *)(void *)in_buf;
  int8_t *q = (int8_t *)(void *)filt_buf;
  for (ci = 0; ci < 10; ++ci)
    for (rows = 1; rows <= 3; ++rows) {
      const int32_t cols = colss[ci], n = rows * cols, words = KFDA_PACKED_WORDS(cols);
      const size_t bytes = (size_t)rows * words * 4;
      if (n > MAXB || bytes > sizeof out_ref) continue;
      for (i = 0; i < n; ++i) {
        const uint32_t r = rnd();
        if (r % 5 == 0) {
          f[i] = specials[(r >> 8) % 8];
        } else if (r % 11 == 1) {
          uint32_t u = 0x7fc00000u | ((r >> 4) & 1u) << 31 | (r >> 12 & 0xffu); /* NaN */
          if (r & 64) u = (r & 128) ? 0xff800000u : 0x7f800000u;                /* inf */
          memcpy(&f[i], &u, 4);
        } else {
          f[i] = (float)((int32_t)(r % 2001) - 1000) / 37.0f;
        }
        q[i] = (int8_t)(rnd() >> 24);
      }
      memset(out_ref, 0xa5, bytes);
      memset(out_opt, 0x5a, bytes);
      kfda_lce_quantize_f32_ref(f, rows, cols, (int32_t *)(void *)out_ref);
      kfda_lce_quantize_f32_opt(f, rows, cols, (int32_t *)(void *)out_opt);
      ++cases;
      if (memcmp(out_ref, out_opt, bytes) != 0) {
        printf("lce_quantize_f32 MISMATCH rows=%d cols=%d\n", rows, (int)cols);
        return 1;
      }
      for (z = 0; z < 7; ++z) {
        memset(out_ref, 0xa5, bytes);
        memset(out_opt, 0x5a, bytes);
        kfda_lce_quantize_s8_ref(q, rows, cols, zps[z], (int32_t *)(void *)out_ref);
        kfda_lce_quantize_s8_opt(q, rows, cols, zps[z], (int32_t *)(void *)out_opt);
        ++cases;
        if (memcmp(out_ref, out_opt, bytes) != 0) {
          printf("lce_quantize_s8 MISMATCH rows=%d cols=%d zero_point=%d\n", rows, (int)cols,
                 (int)zps[z]);
          return 1;
        }
      }
    }
  printf("lce_quantize opt == ref: %d cases\n", cases);
  return 0;
}

/* LceBMaxPool2d: sizes, words, windows, strides, SAME/VALID. */
static int check_bmaxpool(void) {
  static const int32_t wordss[] = {1, 2, 3, 7, 8}; /* chunks of 4, 2 and 1 */
  /* 10, 19: rows of 2x2 windows at stride 2, several outputs per pass and a rest */
  static const int32_t widths[] = {1, 4, 7, 10, 19};
  int h, w, wd, wi, fh, fw, st, pad, cases = 0, i;
  for (h = 1; h <= 7; h += 2)
    for (wd = 0; wd < 5; ++wd)
      for (wi = 0; wi < 5; ++wi)
        for (fh = 1; fh <= 3; ++fh)
          for (fw = 1; fw <= 3; ++fw)
            for (st = 1; st <= 2; ++st)
              for (pad = 0; pad <= 1; ++pad) {
                kfda_conv_params p;
                kfda_shape4 is, os;
                size_t bytes;
                memset(&p, 0, sizeof p);
                is.n = 2;
                w = widths[wd];
                is.h = h;
                is.w = w;
                is.c = wordss[wi];
                p.filter_h = fh;
                p.filter_w = fw;
                p.stride_h = p.stride_w = st;
                if (pad == 1) { /* VALID */
                  if (h < fh || w < fw) continue;
                  os.h = (h - fh) / st + 1;
                  os.w = (w - fw) / st + 1;
                } else {
                  int32_t ph, pw;
                  os.h = (h + st - 1) / st;
                  os.w = (w + st - 1) / st;
                  ph = (os.h - 1) * st + fh - h;
                  pw = (os.w - 1) * st + fw - w;
                  p.pad_h = ph > 0 ? ph / 2 : 0;
                  p.pad_w = pw > 0 ? pw / 2 : 0;
                }
                os.n = 2;
                os.c = is.c;
                bytes = (size_t)os.n * os.h * os.w * os.c * 4;
                if (is.n * h * w * is.c > MAXB || bytes > sizeof out_ref) continue;
                for (i = 0; i < is.n * h * w * is.c; ++i) in_buf[i] = rnd() | rnd();
                memset(out_ref, 0xa5, bytes);
                memset(out_opt, 0x5a, bytes);
                kfda_lce_bmaxpool2d_ref(&p, &is, (const int32_t *)in_buf, &os,
                                        (int32_t *)(void *)out_ref);
                kfda_lce_bmaxpool2d_opt(&p, &is, (const int32_t *)in_buf, &os,
                                        (int32_t *)(void *)out_opt);
                ++cases;
                if (memcmp(out_ref, out_opt, bytes) != 0) {
                  printf("lce_bmaxpool2d MISMATCH in=%dx%d words=%d k=%dx%d stride=%d %s\n", h, w,
                         (int)is.c, fh, fw, st, pad ? "valid" : "same");
                  return 1;
                }
              }
  printf("lce_bmaxpool2d opt == ref: %d cases\n", cases);
  return 0;
}

/* CONV_2D int8: shapes, strides, dilations, paddings, offsets, clamps, bias or none. */
static int check_conv_s8(int quick) {
  static const int32_t cins[] = {1, 3, 4, 8, 13, 32};
  static const int32_t couts[] = {1, 2, 3, 8, 9};
  static const int32_t sizes[][2] = {{1, 1}, {4, 5}, {7, 7}};
  static const int32_t ksz[][2] = {{1, 1}, {3, 3}, {2, 3}};
  static int32_t bias_buf[64], mult[64], shift[64];
  int ci, co, si, ki, st, dl, pad, nb, cases = 0, i;
  int8_t *x8 = (int8_t *)(void *)in_buf, *w8 = (int8_t *)(void *)filt_buf;
  for (ci = 0; ci < 6; ++ci)
    for (co = 0; co < 5; ++co)
      for (si = 0; si < 3; ++si)
        for (ki = 0; ki < 3; ++ki)
          for (st = 1; st <= 2; ++st)
            for (dl = 1; dl <= 2; ++dl)
              for (pad = 0; pad <= 1; ++pad)
                for (nb = 0; nb <= 1; ++nb) {
                  kfda_conv_params p;
                  kfda_requant q;
                  kfda_shape4 is, fs, os;
                  const int32_t cin = cins[ci], cout = couts[co];
                  int32_t n_in, n_f;
                  size_t bytes;
                  if (quick && (dl == 2 || nb)) continue;
                  if (!conv_geometry(&p, &is, &fs, &os, sizes[si], ksz[ki], cin, cout, st, dl, pad))
                    continue;
                  n_in = is.n * is.h * is.w * cin;
                  n_f = cout * fs.h * fs.w * cin;
                  if (n_in > 4 * MAXB || n_f > 4 * MAXB) continue;
                  if (kfda_conv2d_s8_scratch_bytes(&fs) > sizeof scratch) continue;
                  for (i = 0; i < n_in; ++i) x8[i] = (int8_t)(rnd() >> 24);
                  for (i = 0; i < n_f; ++i) w8[i] = (int8_t)(rnd() >> 24);
                  if (cases % 3 == 0) /* extreme weights and inputs */
                    for (i = 0; i < n_f; i += 3) {
                      w8[i] = -128;
                      x8[i % n_in] = -128;
                    }
                  for (i = 0; i < cout; ++i) {
                    bias_buf[i] = (int32_t)(rnd() % 20001) - 10000;
                    mult[i] = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
                    /* mostly right shifts; some left ones, which saturate large sums */
                    shift[i] = rnd() % 4 == 0 ? (int32_t)(rnd() % 3) : -(int32_t)(rnd() % 12);
                  }
                  q.in_offset = (int32_t)(rnd() % 256) - 127; /* -zero point in [-127, 128] */
                  q.out_offset = (int32_t)(rnd() % 256) - 128;
                  q.act_min = cases % 2 ? -128 : -20;
                  q.act_max = cases % 2 ? 127 : 90;
                  q.mult = mult;
                  q.shift = shift;
                  bytes = (size_t)os.n * os.h * os.w * cout;
                  if (bytes > sizeof out_ref) continue;
                  memset(out_ref, 0xa5, bytes);
                  memset(out_opt, 0x5a, bytes);
                  kfda_conv2d_s8_ref(&p, &q, &is, x8, &fs, w8, nb ? NULL : bias_buf, &os,
                                     (int8_t *)out_ref, 0, os.n * os.h);
                  { /* the optimized kernel in two row ranges (as two threads run it) */
                    const int32_t split = split_row(cases, os.n * os.h);
                    kfda_conv2d_s8_opt(&p, &q, &is, x8, &fs, w8, nb ? NULL : bias_buf, &os,
                                       (int8_t *)out_opt, scratch, 0, split);
                    kfda_conv2d_s8_opt(&p, &q, &is, x8, &fs, w8, nb ? NULL : bias_buf, &os,
                                       (int8_t *)out_opt, scratch, split, os.n * os.h);
                  }
                  ++cases;
                  if (memcmp(out_ref, out_opt, bytes) != 0) {
                    printf(
                        "conv2d_s8 MISMATCH cin=%d cout=%d in=%dx%d k=%dx%d stride=%d dil=%d "
                        "%s bias=%d\n",
                        (int)cin, (int)cout, (int)is.h, (int)is.w, (int)fs.h, (int)fs.w, st, dl,
                        pad ? "valid" : "same", !nb);
                    return 1;
                  }
                }
  printf("conv2d_s8 opt == ref: %d cases\n", cases);
  return 0;
}

/* Random floats for the float kernels: mostly fractions of both signs, some exact
 * zeros of both signs, and when `specials` a few infinities, NaNs, values near
 * FLT_MAX (sums that overflow: the clamp to +-FLT_MAX must bite) and denormals or values
 * whose products are denormal. Order-sensitive sums:
 * any reordering shows in the low bits. */
static void fill_f32(float *f, int32_t n, int specials) {
  int32_t i;
  for (i = 0; i < n; ++i) {
    const uint32_t r = rnd();
    if (r % 13 == 0) {
      f[i] = (r & 256) ? -0.0f : 0.0f;
    } else if (specials && r % 97 == 1) {
      uint32_t u = (r & 512) ? 0x7f800000u : 0x7fc00000u;
      u |= (r & 1024) ? 0x80000000u : 0u;
      memcpy(&f[i], &u, 4);
    } else if (specials && r % 97 == 2) {
      f[i] = (r & 512) ? -3.0e38f : 3.0e38f; /* sums and products overflow to inf */
    } else if (specials && r % 97 == 3) {
      f[i] = (r & 512) ? -1.0e-40f : 1.0e-40f; /* denormal (a flush to zero shows) */
    } else if (specials && r % 97 == 4) {
      f[i] = (r & 512) ? -1.0e-20f : 1.0e-20f; /* products underflow to denormals */
    } else {
      f[i] = (float)((int32_t)(r % 200001) - 100000) / 7919.0f;
    }
  }
}

/* Float outputs bit for bit, except that any NaN equals any NaN: C compilers may swap
 * the operands of a commutative + or *, which picks which NaN's sign and payload
 * propagate (the values are the same; the reference itself is not reproducible there). */
static int same_f32(const void *a, const void *b, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i) {
    uint32_t u, v;
    memcpy(&u, (const uint8_t *)a + 4 * i, 4);
    memcpy(&v, (const uint8_t *)b + 4 * i, 4);
    if (u != v && !((u << 1) > 0xff000000u && (v << 1) > 0xff000000u)) return 0;
  }
  return 1;
}

/* The float activation ranges: none, RELU, RELU6, a range that bites both ways. */
static void set_act_f32(float *act_min, float *act_max, int act) {
  static const float lo[] = {-FLT_MAX, 0.0f, 0.0f, -3.5f};
  static const float hi[] = {FLT_MAX, FLT_MAX, 6.0f, 2.25f};
  *act_min = lo[act];
  *act_max = hi[act];
}

/* CONV_2D float: shapes, strides, dilations (reference path), paddings, activations,
 * bias or none, special values in inputs, weights and bias. */
static int check_conv_f32(int quick) {
  static const int32_t cins[] = {1, 3, 4, 8, 13};
  static const int32_t couts[] = {1, 3, 4, 8, 9, 12};
  static const int32_t sizes[][2] = {{1, 1}, {4, 5}, {7, 7}, {2, 9}, {6, 10}, {3, 3}, {5, 13}};
  static const int32_t ksz[][2] = {{1, 1}, {3, 3}, {2, 3}, {5, 4}};
  float *x = (float *)(void *)in_buf, *w = (float *)(void *)filt_buf;
  int ci, co, si, ki, st, dl, pad, nb, act, cases = 0;
  for (ci = 0; ci < 5; ++ci)
    for (co = 0; co < 6; ++co)
      for (si = 0; si < 7; ++si)
        for (ki = 0; ki < 4; ++ki)
          for (st = 1; st <= 3; ++st)
            for (dl = 1; dl <= 2; ++dl)
              for (pad = 0; pad <= 1; ++pad)
                for (nb = 0; nb <= 1; ++nb)
                  for (act = 0; act < 4; ++act) {
                    kfda_conv_params p;
                    kfda_shape4 is, fs, os;
                    const int32_t cin = cins[ci], cout = couts[co];
                    /* 6 x 10: 3x3 blocks of 4 pixels without overlap (the arm64 stem) */
                    if (si == 4 && (cin != 1 || ki != 1)) continue;
                    /* 5 x 13: SAME rows of 8 channels, edge blocks and overlapping ones */
                    if (si == 6 && (cin != 1 || ki != 1)) continue;
                    /* 3 x 3: a 3x3 VALID filter over all of it (one pixel, the GEMV order);
                     * 12 outputs: 8 and 4 channels per pass (quick: neither the other
                     * filters on 3 x 3 nor 12, for the slow emulated cores) */
                    if (si == 5 && (cin % 4 != 0 || (quick && ki != 1))) continue;
                    if (quick && cout == 12) continue;
                    int32_t n_in, n_f;
                    size_t bytes;
                    if (quick && (dl == 2 || st == 3 || (act != (nb + pad) % 4 && act != 0)))
                      continue;
                    if (!conv_geometry(&p, &is, &fs, &os, sizes[si], ksz[ki], cin, cout, st, dl,
                                       pad))
                      continue;
                    /* one image of one output pixel: the interpreter's GEMV order */
                    if (os.h == 1 && os.w == 1 && (nb + act) % 2 == 0) is.n = os.n = 1;
                    set_act_f32(&p.act_min, &p.act_max, act);
                    n_in = is.n * is.h * is.w * cin;
                    n_f = cout * fs.h * fs.w * cin;
                    bytes = (size_t)os.n * os.h * os.w * cout * 4;
                    if (n_in > MAXB || n_f > MAXB || bytes > sizeof out_ref) continue;
                    fill_f32(x, n_in, rnd() % 4 == 0);
                    fill_f32(w, n_f, rnd() % 8 == 0);
                    fill_f32(bias, cout, rnd() % 8 == 0);
                    bytes = (size_t)os.n * os.h * os.w * cout * 4;
                    memset(out_ref, 0xa5, bytes);
                    memset(out_opt, 0x5a, bytes);
                    kfda_conv2d_f32_ref(&p, &is, x, &fs, w, nb ? NULL : bias, &os,
                                        (float *)(void *)out_ref, 0, os.n * os.h);
                    { /* the optimized kernel in two row ranges (as two threads run it) */
                      const int32_t split = split_row(cases, os.n * os.h);
                      kfda_conv2d_f32_opt(&p, &is, x, &fs, w, nb ? NULL : bias, &os,
                                          (float *)(void *)out_opt, 0, split);
                      kfda_conv2d_f32_opt(&p, &is, x, &fs, w, nb ? NULL : bias, &os,
                                          (float *)(void *)out_opt, split, os.n * os.h);
                    }
                    ++cases;
                    if (!same_f32(out_ref, out_opt, bytes / 4)) {
                      printf(
                          "conv2d_f32 MISMATCH cin=%d cout=%d in=%dx%d k=%dx%d stride=%d "
                          "dil=%d %s bias=%d act=%d\n",
                          (int)cin, (int)cout, (int)is.h, (int)is.w, (int)fs.h, (int)fs.w, st, dl,
                          pad ? "valid" : "same", !nb, act);
                      return 1;
                    }
                  }
  printf("conv2d_f32 opt == ref: %d cases\n", cases);
  return 0;
}

/* DEPTHWISE_CONV_2D float: channels (vectors of 4 and leftovers), shapes, filters,
 * strides, paddings (borders: windows clipped on every side), activations, bias or
 * none, special values; dilation 2 and depth multiplier 2 (the reference's path). */
static int check_depthwise_f32(int quick) {
  static const int32_t chans[] = {1, 3, 4, 8, 13};
  static const int32_t sizes[][2] = {{1, 1}, {4, 5}, {7, 7}, {2, 9}};
  static const int32_t ksz[][2] = {{1, 1}, {3, 3}, {2, 3}, {5, 4}};
  float *x = (float *)(void *)in_buf, *w = (float *)(void *)filt_buf;
  int ci, si, ki, st, dl, dm, pad, nb, act, cases = 0;
  for (ci = 0; ci < 5; ++ci)
    for (si = 0; si < 4; ++si)
      for (ki = 0; ki < 4; ++ki)
        for (st = 1; st <= 3; ++st)
          for (dl = 1; dl <= 2; ++dl)
            for (dm = 1; dm <= 2; ++dm)
              for (pad = 0; pad <= 1; ++pad)
                for (nb = 0; nb <= 1; ++nb)
                  for (act = 0; act < 4; ++act) {
                    kfda_conv_params p;
                    kfda_shape4 is, fs, os;
                    const int32_t c = chans[ci], cout = c * dm;
                    int32_t n_in, n_f, split;
                    size_t bytes;
                    if ((dl == 2 || dm == 2) && (st != 1 || act != 0 || nb)) continue;
                    if (quick && (st == 3 || dl == 2 || (act != (nb + pad) % 4 && act != 0)))
                      continue;
                    if (!conv_geometry(&p, &is, &fs, &os, sizes[si], ksz[ki], c, cout, st, dl, pad))
                      continue;
                    p.depth_multiplier = dm;
                    fs.n = 1;
                    fs.c = cout;
                    set_act_f32(&p.act_min, &p.act_max, act);
                    n_in = is.n * is.h * is.w * c;
                    n_f = fs.h * fs.w * cout;
                    bytes = (size_t)os.n * os.h * os.w * cout * 4;
                    if (n_in > MAXB || n_f > MAXB || cout > KT_CHANNELS || bytes > sizeof out_ref)
                      continue;
                    fill_f32(x, n_in, rnd() % 4 == 0);
                    fill_f32(w, n_f, rnd() % 8 == 0);
                    fill_f32(bias, cout, rnd() % 8 == 0);
                    memset(out_ref, 0xa5, bytes);
                    memset(out_opt, 0x5a, bytes);
                    kfda_depthwise_conv2d_f32_ref(&p, &is, x, &fs, w, nb ? NULL : bias, &os,
                                                  (float *)(void *)out_ref, 0, os.n * os.h);
                    /* in two row ranges, as two threads run it */
                    split = split_row(cases, os.n * os.h);
                    kfda_depthwise_conv2d_f32_opt(&p, &is, x, &fs, w, nb ? NULL : bias, &os,
                                                  (float *)(void *)out_opt, 0, split);
                    kfda_depthwise_conv2d_f32_opt(&p, &is, x, &fs, w, nb ? NULL : bias, &os,
                                                  (float *)(void *)out_opt, split, os.n * os.h);
                    ++cases;
                    if (!same_f32(out_ref, out_opt, bytes / 4)) {
                      printf(
                          "depthwise_conv2d_f32 MISMATCH c=%d dm=%d in=%dx%d k=%dx%d stride=%d "
                          "dil=%d %s bias=%d act=%d\n",
                          (int)c, dm, (int)is.h, (int)is.w, (int)fs.h, (int)fs.w, st, dl,
                          pad ? "valid" : "same", !nb, act);
                      return 1;
                    }
                  }
  printf("depthwise_conv2d_f32 opt == ref: %d cases\n", cases);
  return 0;
}

/* Element strides of an input of shape sh (sh[i] = d[i] or 1) broadcast to d, as the
 * interpreter computes them. */
static void bcast_strides(const int32_t *sh, const int32_t *d, int32_t *st) {
  int32_t s = 1, i;
  for (i = 4; i >= 0; --i) {
    st[i] = sh[i] == 1 && d[i] != 1 ? 0 : s;
    s *= sh[i];
  }
}

/* ADD / MUL float: random 5-d shapes, each input full or broadcast over a random set of
 * axes (same shape, per channel, scalar, both sides), every activation. */
static int check_add_mul_f32(void) {
  float *a = (float *)(void *)in_buf, *b = (float *)(void *)filt_buf;
  int t, op, act, cases = 0;
  for (t = 0; t < 300; ++t) {
    int32_t d[5], sa[5], sb[5], as[5], bs[5], i, na = 1, nb = 1, n = 1;
    const uint32_t ma = t % 5 == 0 ? 0u : rnd() % 32u, mb = t % 3 == 0 ? 0u : rnd() % 32u;
    for (i = 0; i < 5; ++i) {
      d[i] = i < 2 && t % 2 ? 1 : 1 + (int32_t)(rnd() % (i == 4 ? 9u : 4u));
      sa[i] = (ma >> i) & 1u ? 1 : d[i];
      sb[i] = t % 7 == 1 ? (i == 4 ? d[i] : 1) : (mb >> i) & 1u ? 1 : d[i];
      na *= sa[i];
      nb *= sb[i];
      n *= d[i];
    }
    if (n > MAXB) continue; /* na, nb <= n */
    bcast_strides(sa, d, as);
    bcast_strides(sb, d, bs);
    fill_f32(a, na, t % 4 == 3);
    fill_f32(b, nb, t % 4 == 1);
    for (op = 0; op < 2; ++op)
      for (act = 0; act < 4; ++act) {
        kfda_arith_params p;
        memset(&p, 0, sizeof p);
        set_act_f32(&p.act_min, &p.act_max, act);
        memset(out_ref, 0xa5, (size_t)n * 4);
        memset(out_opt, 0x5a, (size_t)n * 4);
        if (op) {
          kfda_mul_f32_ref(&p, a, as, b, bs, d, (float *)(void *)out_ref);
          kfda_mul_f32_opt(&p, a, as, b, bs, d, (float *)(void *)out_opt);
        } else {
          kfda_add_f32_ref(&p, a, as, b, bs, d, (float *)(void *)out_ref);
          kfda_add_f32_opt(&p, a, as, b, bs, d, (float *)(void *)out_opt);
        }
        ++cases;
        if (!same_f32(out_ref, out_opt, (size_t)n)) {
          printf("%s_f32 MISMATCH out=%dx%dx%dx%dx%d a_mask=%u b_mask=%u act=%d\n",
                 op ? "mul" : "add", (int)d[0], (int)d[1], (int)d[2], (int)d[3], (int)d[4],
                 (unsigned)ma, (unsigned)mb, act);
          return 1;
        }
      }
  }
  printf("add_f32, mul_f32 opt == ref: %d cases\n", cases);
  return 0;
}

static void fill_s8(int8_t *q, int32_t n);

/* MAX_POOL_2D / AVERAGE_POOL_2D float and MAX_POOL_2D int8: sizes, channels (vector blocks and
 * tails), windows larger than the image, strides, SAME/VALID, activations, special values. */
static int check_pool_f32(int quick) {
  static const int32_t chans[] = {1, 3, 4, 8, 13, 32, 19}; /* vectors of 4, 16; tails */
  float *x = (float *)(void *)in_buf;
  int h, w, ci, fh, fw, st, pad, act, avg, cases = 0;
  for (h = 1; h <= 7; h += 3)
    for (w = 1; w <= 8; w += quick ? 7 : 3)
      for (ci = 0; ci < 7; ++ci)
        for (fh = 1; fh <= 3; ++fh)
          for (fw = 1; fw <= 3; fw += quick ? 2 : 1)
            for (st = 1; st <= 2; ++st)
              for (pad = 0; pad <= 1; ++pad)
                for (act = 0; act < 4; ++act)
                  for (avg = 0; avg <= 2; ++avg) { /* 2: MAX_POOL_2D int8 */
                    kfda_conv_params p;
                    kfda_shape4 is, os;
                    size_t n_out;
                    int32_t n_in;
                    memset(&p, 0, sizeof p);
                    is.n = os.n = 2;
                    is.h = h;
                    is.w = w;
                    is.c = os.c = chans[ci];
                    p.filter_h = fh;
                    p.filter_w = fw;
                    p.stride_h = p.stride_w = st;
                    if (pad == 1) { /* VALID */
                      if (h < fh || w < fw) continue;
                      os.h = (h - fh) / st + 1;
                      os.w = (w - fw) / st + 1;
                    } else { /* SAME, and a pad wider than the window (all-outside taps) */
                      os.h = (h + st - 1) / st;
                      os.w = (w + st - 1) / st;
                      p.pad_h = act == 3 ? fh : ((os.h - 1) * st + fh - h) / 2;
                      p.pad_w = act == 3 ? fw : ((os.w - 1) * st + fw - w) / 2;
                      if (p.pad_h < 0) p.pad_h = 0;
                      if (p.pad_w < 0) p.pad_w = 0;
                    }
                    set_act_f32(&p.act_min, &p.act_max, act);
                    p.qact_min = act == 1 ? 0 : act == 3 ? -20 : -128; /* int8: the same kinds */
                    p.qact_max = act == 2 ? 5 : act == 3 ? 30 : 127;
                    n_in = is.n * h * w * is.c;
                    n_out = (size_t)os.n * os.h * os.w * os.c;
                    if (n_in > MAXB || 4 * n_out > sizeof out_ref) continue;
                    memset(out_ref, 0xa5, 4 * n_out);
                    memset(out_opt, 0x5a, 4 * n_out);
                    if (avg == 2) {
                      fill_s8((int8_t *)(void *)in_buf, n_in);
                      kfda_max_pool2d_s8_ref(&p, &is, (const int8_t *)(void *)in_buf, &os,
                                             (int8_t *)out_ref);
                      kfda_max_pool2d_s8_opt(&p, &is, (const int8_t *)(void *)in_buf, &os,
                                             (int8_t *)out_opt);
                      ++cases;
                      if (memcmp(out_ref, out_opt, n_out) != 0) {
                        printf("max_pool2d_s8 MISMATCH in=%dx%dx%d k=%dx%d stride=%d %s act=%d\n",
                               h, w, (int)is.c, fh, fw, st, pad ? "valid" : "same", act);
                        return 1;
                      }
                      continue;
                    }
                    fill_f32(x, n_in, cases % 3 == 2);
                    if (avg) {
                      kfda_average_pool2d_f32_ref(&p, &is, x, &os, (float *)(void *)out_ref);
                      kfda_average_pool2d_f32_opt(&p, &is, x, &os, (float *)(void *)out_opt);
                    } else {
                      kfda_max_pool2d_f32_ref(&p, &is, x, &os, (float *)(void *)out_ref);
                      kfda_max_pool2d_f32_opt(&p, &is, x, &os, (float *)(void *)out_opt);
                    }
                    ++cases;
                    if (!same_f32(out_ref, out_opt, n_out)) {
                      printf("%s_pool2d_f32 MISMATCH in=%dx%dx%d k=%dx%d stride=%d %s act=%d\n",
                             avg ? "average" : "max", h, w, (int)is.c, fh, fw, st,
                             pad ? "valid" : "same", act);
                      return 1;
                    }
                  }
  printf("max_pool2d_f32, average_pool2d_f32, max_pool2d_s8 opt == ref: %d cases\n", cases);
  return 0;
}

/* FULLY_CONNECTED float: batches, units, depths (multiples of 4 and not: the walked-back
 * step), the GEMV order and the GEMM one, bias or none, activations, special values. */
static int check_fc_f32(void) {
  static const int32_t unitss[] = {1, 3, 4, 8, 10, 13};
  static const int32_t depths[] = {1, 4, 7, 16, 33, 128};
  float *x = (float *)(void *)in_buf, *w = (float *)(void *)filt_buf;
  int ui, di, batches, gemv, nb, act, cases = 0;
  for (ui = 0; ui < 6; ++ui)
    for (di = 0; di < 6; ++di)
      for (batches = 1; batches <= 2; ++batches)
        for (gemv = 0; gemv <= 1; ++gemv)
          for (nb = 0; nb <= 1; ++nb)
            for (act = 0; act < 4; ++act) {
              const int32_t units = unitss[ui], depth = depths[di];
              const size_t bytes = (size_t)batches * units * 4;
              float act_min, act_max;
              if (gemv && depth < 4) continue; /* the GEMV order needs 4 depth */
              if (batches * depth > MAXB || units * depth > MAXB || units > KT_CHANNELS ||
                  bytes > sizeof out_ref)
                continue;
              set_act_f32(&act_min, &act_max, act);
              fill_f32(x, batches * depth, rnd() % 4 == 0);
              fill_f32(w, units * depth, rnd() % 8 == 0);
              fill_f32(bias, units, rnd() % 8 == 0);
              memset(out_ref, 0xa5, bytes);
              memset(out_opt, 0x5a, bytes);
              kfda_fully_connected_f32_ref(act_min, act_max, x, batches, depth, w, nb ? NULL : bias,
                                           units, gemv, (float *)(void *)out_ref);
              kfda_fully_connected_f32_opt(act_min, act_max, x, batches, depth, w, nb ? NULL : bias,
                                           units, gemv, (float *)(void *)out_opt);
              ++cases;
              if (!same_f32(out_ref, out_opt, bytes / 4)) {
                printf(
                    "fully_connected_f32 MISMATCH batches=%d units=%d depth=%d gemv=%d "
                    "bias=%d act=%d\n",
                    (int)batches, (int)units, (int)depth, gemv, !nb, act);
                return 1;
              }
            }
  printf("fully_connected_f32 opt == ref: %d cases\n", cases);
  return 0;
}

/* MEAN float: ranks 1 to 5, every set of reduced axes (consecutive or not). */
static int check_mean_f32(void) {
  float *x = (float *)(void *)in_buf;
  int32_t ndim, cases = 0, rep;
  uint32_t mask;
  for (rep = 0; rep < 3; ++rep) /* the last axis up to 11, then 40: 16, 8, 4 and 1 per pass */
    for (ndim = 1; ndim <= 5; ++ndim)
      for (mask = 0; mask < (1u << ndim); ++mask) {
        int32_t d[5], i, n = 1, out_n = 1;
        for (i = 0; i < ndim; ++i) {
          d[i] = 1 + (int32_t)(rnd() % (i == ndim - 1 ? (rep ? 40u : 11u) : 5u));
          n *= d[i];
          if (!(mask & (1u << i))) out_n *= d[i];
        }
        if (n > MAXB) continue;
        fill_f32(x, n, cases % 5 == 4);
        memset(out_ref, 0xa5, (size_t)out_n * 4);
        memset(out_opt, 0x5a, (size_t)out_n * 4);
        kfda_mean_f32_ref(x, ndim, d, mask, (float *)(void *)out_ref);
        kfda_mean_f32_opt(x, ndim, d, mask, (float *)(void *)out_opt);
        ++cases;
        if (!same_f32(out_ref, out_opt, (size_t)out_n)) {
          printf("mean_f32 MISMATCH ndim=%d mask=%u\n", (int)ndim, (unsigned)mask);
          return 1;
        }
      }
  printf("mean_f32 opt == ref: %d cases\n", (int)cases);
  return 0;
}

/* The requantisation helpers (quant_util.c's build variants and requant.h's inline forms)
 * against the written-out references: every shift from -31 to 40 over edge values of x and
 * of the significand (INT32_MIN and INT32_MAX among them; INT32_MIN as significand: the
 * reference's saturation), then random triples. */
static int one_qmul(int32_t x, int32_t m, int32_t s) {
  const int32_t g = kfda_multiply_by_quantized_multiplier_ref(x, m, s);
  const int32_t r = kfda_multiply_by_quantized_multiplier_ruy_ref(x, m, s);
  const int32_t left = s > 0 ? s : 0, right = s > 0 ? 0 : -s;
  int bad = kfda_multiply_by_quantized_multiplier(x, m, s) != g ||
            kfda_multiply_by_quantized_multiplier_ruy(x, m, s) != r;
  if (kfda_qmul_ok(m, s)) {
    bad |= kfda_qmul(x, m, left, right) != g || kfda_qmul_ruy(x, m, left, right) != r;
    if (left == 0) bad |= kfda_qmul_r(x, m, right) != g;
  }
  if (bad) printf("requant MISMATCH x=%ld significand=%ld shift=%d\n", (long)x, (long)m, (int)s);
  return bad;
}

static int check_qmul(int quick) {
  static int32_t xs[96];
  static const int32_t ms[] = {INT32_MIN,  INT32_MIN + 1, -1073741824, -1,         0,        1, 3,
                               1073741824, 1073741825,    1518500250,  2147483646, INT32_MAX};
  int nx = 0, i, j, k, cases = 0;
  const int n_rand = quick ? 20000 : 400000;
  xs[nx++] = INT32_MIN;
  xs[nx++] = INT32_MAX;
  xs[nx++] = 0;
  for (k = 0; k < 31; k += 2) { /* powers of two, their neighbours, both signs */
    const int32_t v = (int32_t)(1u << k);
    xs[nx++] = v;
    xs[nx++] = -v;
    xs[nx++] = v + 1;
    xs[nx++] = -v - 1;
    xs[nx++] = 3 * (v / 2) + (k == 0); /* a tie for the rounding at bit k - 1 */
  }
  for (i = 0; i < nx; ++i)
    for (j = 0; j < (int)(sizeof ms / sizeof ms[0]); ++j)
      for (k = -31; k <= 40; ++k, ++cases)
        if (one_qmul(xs[i], ms[j], k)) return 1;
  for (i = 0; i < n_rand; ++i, ++cases) {
    const uint32_t r = rnd();
    int32_t x = (int32_t)rnd(), m = (int32_t)rnd(), s = (int32_t)(rnd() % 72u) - 31;
    if (r % 4 == 0) x >>= r % 31; /* small values too */
    if (r % 8 == 1) {             /* low bits 100..0: ties for the roundings */
      const uint32_t bit = 1u << (r >> 8) % 31;
      x = (int32_t)(((uint32_t)x & ~(2u * bit - 1u)) | bit);
    }
    if (r % 16 == 3) m = (int32_t)(0x40000000u | (rnd() & 0x3fffffffu)); /* as TFLite's */
    if (one_qmul(x, m, s)) return 1;
  }
  printf("requant opt == ref: %d cases\n", cases);
  return 0;
}

/* int8 data with every value in the first 256 elements, the rest random. */
static void fill_s8(int8_t *q, int32_t n) {
  int32_t i;
  for (i = 0; i < n; ++i)
    q[i] = (int8_t)(i < 256 ? (int32_t)((i * 167u + rng_state) & 255u) - 128
                            : (int32_t)(rnd() >> 24) - 128);
}

/* A multiplier: usually TFLite's form of a random real (significand in [2^30, 2^31)),
 * sometimes an extreme significand; shift in [lo, hi]. */
static void rand_mult(int32_t *m, int32_t *s, int32_t lo, int32_t hi) {
  const uint32_t r = rnd();
  *m = r % 7 == 0   ? 1073741824
       : r % 7 == 1 ? INT32_MAX
                    : (int32_t)(0x40000000u | (rnd() & 0x3fffffffu));
  if (r % 29 == 2) *m = INT32_MIN; /* the optimized kernels run the reference */
  *s = lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

/* The int8 activation ranges: none, RELU from a zero point, a range that bites both ways. */
static void set_act_s8(int32_t *qact_min, int32_t *qact_max, int act) {
  static const int32_t lo[] = {-128, -5, -20}, hi[] = {127, 127, 90};
  *qact_min = lo[act];
  *qact_max = hi[act];
}

/* ADD / MUL int8: random 5-d shapes broadcast as in check_add_mul_f32, random multipliers
 * and offsets (extremes included), every activation, all int8 values; then in place (out
 * = a, out = b where that input is not broadcast). */
static int check_add_mul_s8(int quick) {
  int8_t *a = (int8_t *)(void *)in_buf, *b = (int8_t *)(void *)filt_buf;
  int8_t *ro = (int8_t *)out_ref, *oo = (int8_t *)out_opt;
  int t, op, act, place, cases = 0;
  const int n_t = quick ? 120 : 400;
  for (t = 0; t < n_t; ++t) {
    int32_t d[5], sa[5], sb[5], as[5], bs[5], i, na = 1, nb = 1, n = 1;
    const uint32_t ma = t % 5 == 0 ? 0u : rnd() % 32u, mb = t % 3 == 0 ? 0u : rnd() % 32u;
    for (i = 0; i < 5; ++i) {
      d[i] = i < 2 && t % 2 ? 1 : 1 + (int32_t)(rnd() % (i == 4 ? 19u : 4u));
      sa[i] = (ma >> i) & 1u ? 1 : d[i];
      sb[i] = t % 7 == 1 ? (i == 4 ? d[i] : 1) : (mb >> i) & 1u ? 1 : d[i];
      na *= sa[i];
      nb *= sb[i];
      n *= d[i];
    }
    if (n > 4 * MAXB) continue; /* na, nb <= n */
    bcast_strides(sa, d, as);
    bcast_strides(sb, d, bs);
    fill_s8(a, na);
    fill_s8(b, nb);
    for (op = 0; op < 2; ++op)
      for (act = 0; act < 3; ++act) {
        kfda_arith_params p;
        const uint32_t r = rnd();
        memset(&p, 0, sizeof p);
        set_act_s8(&p.qact_min, &p.qact_max, act);
        /* -zero points in [-127, 128]; extremes every few cases */
        p.in_offset = r % 5 == 0 ? 128 : r % 5 == 1 ? -127 : (int32_t)(rnd() % 256) - 127;
        p.in2_offset = r % 3 == 0 ? -127 : (int32_t)(rnd() % 256) - 127;
        p.out_offset = r % 11 == 0 ? 127 : r % 11 == 1 ? -128 : (int32_t)(rnd() % 256) - 128;
        if (op) { /* MUL: |product| <= 2^16, left shifts up to 12 stay below saturation */
          rand_mult(&p.out_mult, &p.out_shift, -31, 12);
          if (r % 4 == 0) p.out_shift = -(int32_t)(rnd() % 20); /* realistic scales */
        } else { /* ADD: TFLite's multipliers below 1 (shift <= 0) */
          static const int32_t lss[] = {20, 20, 20, 0, 8, 21};
          p.left_shift = lss[rnd() % 6];
          rand_mult(&p.in_mult, &p.in_shift, -31, 0);
          rand_mult(&p.in2_mult, &p.in2_shift, -31, 0);
          rand_mult(&p.out_mult, &p.out_shift, -31, 0);
          if (r % 4 == 0) { /* TFLite's: input shifts near 0, output shift near -20 */
            p.in_shift = -(int32_t)(rnd() % 3);
            p.in2_shift = -(int32_t)(rnd() % 3);
            p.out_shift = -16 - (int32_t)(rnd() % 8);
          }
        }
        memset(ro, 0xa5, (size_t)n);
        if (op)
          kfda_mul_s8_ref(&p, a, as, b, bs, d, ro);
        else
          kfda_add_s8_ref(&p, a, as, b, bs, d, ro);
        for (place = 0; place < 3; ++place) { /* out apart, out = a, out = b */
          const int8_t *x = a, *y = b;
          if (place == 1) {
            if (na != n) continue;
            memcpy(oo, a, (size_t)n);
            x = oo;
          } else if (place == 2) {
            if (nb != n) continue;
            memcpy(oo, b, (size_t)n);
            y = oo;
          } else {
            memset(oo, 0x5a, (size_t)n);
          }
          if (op)
            kfda_mul_s8_opt(&p, x, as, y, bs, d, oo);
          else
            kfda_add_s8_opt(&p, x, as, y, bs, d, oo);
          ++cases;
          if (memcmp(ro, oo, (size_t)n) != 0) {
            printf("%s_s8 MISMATCH out=%dx%dx%dx%dx%d a_mask=%u b_mask=%u act=%d in_place=%d\n",
                   op ? "mul" : "add", (int)d[0], (int)d[1], (int)d[2], (int)d[3], (int)d[4],
                   (unsigned)ma, (unsigned)mb, act, place);
            return 1;
          }
        }
      }
  }
  printf("add_s8, mul_s8 opt == ref: %d cases\n", cases);
  return 0;
}

static void rand_mean_params(kfda_mean_params *p) {
  memset(p, 0, sizeof *p);
  p->in_offset = rnd() % 2 ? 0 : (int32_t)(rnd() % 256) - 127;
  rand_mult(&p->out_mult, &p->out_shift, -31, 0);
  p->out_offset = (int32_t)(rnd() % 601) - 300;
  p->channels = 1 + (int32_t)(rnd() % 40);
  p->neon_channels = rnd() % 2 ? p->channels / 16 * 16 : 0;
}

/* MEAN int8: ranks 1 to 5, every set of reduced axes, sizes 1 (merged away) to 11 and some
 * empty axes, random offsets and multipliers. */
static int check_mean_s8(int quick) {
  int8_t *x = (int8_t *)(void *)in_buf;
  int32_t ndim, cases = 0, rep;
  uint32_t mask;
  for (rep = 0; rep < (quick ? 1 : 3); ++rep)
    for (ndim = 1; ndim <= 5; ++ndim)
      for (mask = 0; mask < (1u << ndim); ++mask) {
        kfda_mean_params p;
        int32_t d[5], i, n = 1, out_n = 1;
        for (i = 0; i < ndim; ++i) {
          const uint32_t r = rnd();
          d[i] = r % 5 == 0 ? 1 : 1 + (int32_t)(rnd() % (i == ndim - 1 ? 11u : 5u));
          if (r % 97 == 1) d[i] = 0;
          n *= d[i];
          if (!(mask & (1u << i))) out_n *= d[i];
        }
        if (n > 4 * MAXB) continue;
        fill_s8(x, n);
        rand_mean_params(&p);
        memset(out_ref, 0xa5, (size_t)out_n);
        memset(out_opt, 0x5a, (size_t)out_n);
        kfda_mean_s8_ref(&p, x, ndim, d, mask, (int8_t *)out_ref);
        kfda_mean_s8_opt(&p, x, ndim, d, mask, (int8_t *)out_opt);
        ++cases;
        if (memcmp(out_ref, out_opt, (size_t)out_n) != 0) {
          printf("mean_s8 MISMATCH ndim=%d mask=%u\n", (int)ndim, (unsigned)mask);
          return 1;
        }
      }
  for (rep = 0; rep < 4; ++rep) { /* global average pooling of NHWC, as the models use */
    static const int32_t shapes[][4] = {{1, 8, 8, 64}, {2, 4, 4, 13}, {1, 7, 7, 6}, {3, 1, 5, 7}};
    kfda_mean_params p;
    int32_t n = shapes[rep][0] * shapes[rep][1] * shapes[rep][2] * shapes[rep][3];
    int32_t out_n = shapes[rep][0] * shapes[rep][3];
    if (n > 4 * MAXB) continue;
    fill_s8(x, n);
    rand_mean_params(&p);
    p.channels = shapes[rep][3];
    p.neon_channels = p.channels / 16 * 16;
    memset(out_ref, 0xa5, (size_t)out_n);
    memset(out_opt, 0x5a, (size_t)out_n);
    kfda_mean_s8_ref(&p, x, 4, shapes[rep], 6u, (int8_t *)out_ref);
    kfda_mean_s8_opt(&p, x, 4, shapes[rep], 6u, (int8_t *)out_opt);
    ++cases;
    if (memcmp(out_ref, out_opt, (size_t)out_n) != 0) {
      printf("mean_s8 MISMATCH NHWC %dx%dx%dx%d\n", (int)shapes[rep][0], (int)shapes[rep][1],
             (int)shapes[rep][2], (int)shapes[rep][3]);
      return 1;
    }
  }
  printf("mean_s8 opt == ref: %d cases\n", (int)cases);
  return 0;
}

#if defined(KFDA_KT_EMBEDDED)
int main(void) {
  const int quick = KFDA_KT_QUICK;
#else
int main(int argc, char **argv) {
  const int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
#endif
  if (check_bconv(quick)) return 1;
  if (check_quantize()) return 1;
  if (check_bmaxpool()) return 1;
  if (check_conv_s8(quick)) return 1;
  if (check_conv_f32(quick)) return 1;
  if (check_depthwise_f32(quick)) return 1;
  if (check_add_mul_f32()) return 1;
  if (check_mean_f32()) return 1;
  if (check_fc_f32()) return 1;
  if (check_pool_f32(quick)) return 1;
  if (check_qmul(quick)) return 1;
  if (check_add_mul_s8(quick)) return 1;
  if (check_mean_s8(quick)) return 1;
  printf("ok\n");
  return 0;
}
