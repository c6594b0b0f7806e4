/*
 * kernel_test.c - every optimized kernel against its reference twin, bit for
 * bit, over a product of shapes, strides, dilations, paddings, activations and
 * output kinds, on random packed data (deterministic LCG). Prints one line per
 * kernel and "ok"; exits 1 on the first mismatch (with the case).
 *   kernel_test [quick]      quick: a smaller product (slow emulators)
 * Built for a Cortex-M board (make -C firmware/boards/<b> KERNEL_TEST=1 run) it has no
 * arguments: KFDA_KT_QUICK picks the product, output goes through semihosting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kfda/kernels.h"

static uint32_t rng_state = 12345u;
static uint32_t rnd(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return (rng_state >> 16) | (rng_state << 16);
}

#ifndef MAXB
#define MAXB (64 * 1024)
#endif
static uint32_t in_buf[MAXB], filt_buf[MAXB], scratch[4096];
static uint8_t out_ref[4 * MAXB], out_opt[4 * MAXB];
static float mul[512], bias[512], raw[512];
static int32_t th[512];

static int check_bconv(int quick) {
  /* quick: the first 4 (64: the Thumb-2 adder tree with its float transform, kw 18) */
  static const int32_t cins[] = {1, 32, 45, 64, 100, 96, 160, 250};
  static const int32_t couts[] = {1, 5, 8, 33, 64};
  static const int32_t sizes[][2] = {{1, 1}, {5, 7}, {8, 8}};
  static const int32_t ksz[][2] = {{1, 1}, {3, 3}, {2, 3}, {5, 5}};
  int ci, co, si, ki, st, dl, pad, pv, fl, act, cases = 0;
  const int nci = quick ? 4 : 8, nco = quick ? 3 : 5;
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
                      kfda_op_params p;
                      kfda_shape4 is, fs, os;
                      const int32_t cin = cins[ci], cout = couts[co];
                      const int32_t words = KFDA_PACKED_WORDS(cin);
                      const int32_t eff_h = (ksz[ki][0] - 1) * dl + 1, eff_w = (ksz[ki][1] - 1) * dl + 1;
                      int32_t K, i, n_in, n_f, oh, ow, n_out;
                      size_t bytes;
                      if (pad == 1 && pv == 1) continue; /* VALID: pad value irrelevant */
                      if (pad == 0 && pv == 0 && (fl != 0 || act)) continue; /* as Prepare */
                      if (quick && (dl == 2 || act)) continue;
                      memset(&p, 0, sizeof p);
                      is.n = 2; is.h = sizes[si][0]; is.w = sizes[si][1]; is.c = words;
                      if (pad == 1) {
                        if (is.h < eff_h || is.w < eff_w) continue;
                        oh = (is.h - eff_h) / st + 1; ow = (is.w - eff_w) / st + 1;
                        p.pad_h = p.pad_w = 0;
                      } else {
                        int32_t ph, pw;
                        oh = (is.h + st - 1) / st; ow = (is.w + st - 1) / st;
                        ph = (oh - 1) * st + eff_h - is.h; pw = (ow - 1) * st + eff_w - is.w;
                        p.pad_h = ph > 0 ? ph / 2 : 0; p.pad_w = pw > 0 ? pw / 2 : 0;
                      }
                      fs.n = cout; fs.h = ksz[ki][0]; fs.w = ksz[ki][1]; fs.c = words;
                      os.n = 2; os.h = oh; os.w = ow; os.c = cout;
                      p.stride_h = p.stride_w = st; p.dil_h = p.dil_w = dl;
                      p.padding = pad; p.pad_value = pv; p.channels_in = cin; p.flag = fl;
                      K = fs.h * fs.w * cin;
                      p.qact_min = act ? K - 2 * (K / 3) : 0; /* a clamp that bites */
                      p.qact_max = act ? K + K / 2 : 2 * K;
                      n_in = is.n * is.h * is.w * words; n_f = cout * fs.h * fs.w * words;
                      if (n_in > MAXB || n_f > MAXB) continue;
                      if (kfda_lce_bconv2d_scratch_bytes(&fs) > sizeof scratch) continue;
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
                      n_out = os.n * oh * ow;
                      bytes = fl == 2 ? (size_t)n_out * KFDA_PACKED_WORDS(cout) * 4
                                      : (size_t)n_out * cout * (fl == 0 ? 4 : 1);
                      if (bytes > sizeof out_ref) continue;
                      memset(out_ref, 0xa5, bytes);
                      memset(out_opt, 0x5a, bytes);
                      kfda_lce_bconv2d_ref(&p, &is, (const int32_t *)in_buf, &fs,
                                           (const int32_t *)filt_buf, mul, bias, th, raw, &os,
                                           out_ref);
                      kfda_lce_bconv2d_opt(&p, &is, (const int32_t *)in_buf, &fs,
                                           (const int32_t *)filt_buf, mul, bias, th, raw, &os,
                                           out_opt, scratch);
                      ++cases;
                      if (memcmp(out_ref, out_opt, bytes) != 0) {
                        printf("lce_bconv2d MISMATCH cin=%d cout=%d in=%dx%d k=%dx%d stride=%d "
                               "dil=%d padding=%s pad_value=%d out=%d act=%d\n",
                               (int)cin, (int)cout, (int)is.h, (int)is.w, (int)fs.h,
                               (int)fs.w, st, dl,
                               pad ? "valid" : "same", pv, fl, act);
                        return 1;
                      }
                    }
  printf("lce_bconv2d opt == ref: %d cases\n", cases);
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
      for (i = 0; i < n; ++i) {
        const uint32_t r = rnd();
        if (r % 5 == 0) {
          f[i] = specials[(r >> 8) % 8];
        } else if (r % 11 == 1) {
          uint32_t u = 0x7fc00000u | ((r >> 4) & 1u) << 31 | (r >> 12 & 0xffu); /* NaN */
          if (r & 64) u = (r & 128) ? 0xff800000u : 0x7f800000u;                  /* inf */
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
  static const int32_t wordss[] = {1, 2, 3, 5, 8};
  int h, w, wi, fh, fw, st, pad, cases = 0, i;
  for (h = 1; h <= 7; h += 2)
    for (w = 1; w <= 8; w += 3)
      for (wi = 0; wi < 5; ++wi)
        for (fh = 1; fh <= 3; ++fh)
          for (fw = 1; fw <= 3; ++fw)
            for (st = 1; st <= 2; ++st)
              for (pad = 0; pad <= 1; ++pad) {
                kfda_op_params p;
                kfda_shape4 is, os;
                size_t bytes;
                memset(&p, 0, sizeof p);
                is.n = 2; is.h = h; is.w = w; is.c = wordss[wi];
                p.filter_h = fh; p.filter_w = fw; p.stride_h = p.stride_w = st;
                if (pad == 1) { /* VALID */
                  if (h < fh || w < fw) continue;
                  os.h = (h - fh) / st + 1; os.w = (w - fw) / st + 1;
                } else {
                  int32_t ph, pw;
                  os.h = (h + st - 1) / st; os.w = (w + st - 1) / st;
                  ph = (os.h - 1) * st + fh - h; pw = (os.w - 1) * st + fw - w;
                  p.pad_h = ph > 0 ? ph / 2 : 0; p.pad_w = pw > 0 ? pw / 2 : 0;
                }
                os.n = 2; os.c = is.c;
                for (i = 0; i < is.n * h * w * is.c; ++i) in_buf[i] = rnd() | rnd();
                bytes = (size_t)os.n * os.h * os.w * os.c * 4;
                memset(out_ref, 0xa5, bytes);
                memset(out_opt, 0x5a, bytes);
                kfda_lce_bmaxpool2d_ref(&p, &is, (const int32_t *)in_buf, &os,
                                        (int32_t *)(void *)out_ref);
                kfda_lce_bmaxpool2d_opt(&p, &is, (const int32_t *)in_buf, &os,
                                        (int32_t *)(void *)out_opt);
                ++cases;
                if (memcmp(out_ref, out_opt, bytes) != 0) {
                  printf("lce_bmaxpool2d MISMATCH in=%dx%d words=%d k=%dx%d stride=%d %s\n", h,
                         w, (int)is.c, fh, fw, st, pad ? "valid" : "same");
                  return 1;
                }
              }
  printf("lce_bmaxpool2d opt == ref: %d cases\n", cases);
  return 0;
}

/* CONV_2D int8: shapes, strides, dilations, paddings, offsets, clamps, bias or none. */
static int check_conv_s8(int quick) {
  static const int32_t cins[] = {1, 3, 4, 8, 13, 32};
  static const int32_t couts[] = {1, 2, 3, 8};
  static const int32_t sizes[][2] = {{1, 1}, {4, 5}, {7, 7}};
  static const int32_t ksz[][2] = {{1, 1}, {3, 3}, {2, 3}};
  static int32_t bias_buf[64], mult[64], shift[64];
  int ci, co, si, ki, st, dl, pad, nb, cases = 0, i;
  int8_t *x8 = (int8_t *)(void *)in_buf, *w8 = (int8_t *)(void *)filt_buf;
  for (ci = 0; ci < 6; ++ci)
    for (co = 0; co < 4; ++co)
      for (si = 0; si < 3; ++si)
        for (ki = 0; ki < 3; ++ki)
          for (st = 1; st <= 2; ++st)
            for (dl = 1; dl <= 2; ++dl)
              for (pad = 0; pad <= 1; ++pad)
                for (nb = 0; nb <= 1; ++nb) {
                  kfda_op_params p;
                  kfda_requant q;
                  kfda_shape4 is, fs, os;
                  const int32_t cin = cins[ci], cout = couts[co];
                  const int32_t eff_h = (ksz[ki][0] - 1) * dl + 1, eff_w = (ksz[ki][1] - 1) * dl + 1;
                  int32_t oh, ow, n_in, n_f;
                  size_t bytes;
                  if (quick && (dl == 2 || nb)) continue;
                  memset(&p, 0, sizeof p);
                  is.n = 2; is.h = sizes[si][0]; is.w = sizes[si][1]; is.c = cin;
                  if (pad == 1) {
                    if (is.h < eff_h || is.w < eff_w) continue;
                    oh = (is.h - eff_h) / st + 1; ow = (is.w - eff_w) / st + 1;
                  } else {
                    int32_t ph, pw;
                    oh = (is.h + st - 1) / st; ow = (is.w + st - 1) / st;
                    ph = (oh - 1) * st + eff_h - is.h; pw = (ow - 1) * st + eff_w - is.w;
                    p.pad_h = ph > 0 ? ph / 2 : 0; p.pad_w = pw > 0 ? pw / 2 : 0;
                  }
                  fs.n = cout; fs.h = ksz[ki][0]; fs.w = ksz[ki][1]; fs.c = cin;
                  os.n = 2; os.h = oh; os.w = ow; os.c = cout;
                  p.stride_h = p.stride_w = st; p.dil_h = p.dil_w = dl;
                  n_in = is.n * is.h * is.w * cin; n_f = cout * fs.h * fs.w * cin;
                  if (n_in > 4 * MAXB || n_f > 4 * MAXB) continue;
                  if (kfda_conv2d_s8_scratch_bytes(&fs) > sizeof scratch) continue;
                  for (i = 0; i < n_in; ++i) x8[i] = (int8_t)(rnd() >> 24);
                  for (i = 0; i < n_f; ++i) w8[i] = (int8_t)(rnd() >> 24);
                  if (cases % 3 == 0) /* extreme weights and inputs */
                    for (i = 0; i < n_f; i += 3) { w8[i] = -128; x8[i % n_in] = -128; }
                  for (i = 0; i < cout; ++i) {
                    bias_buf[i] = (int32_t)(rnd() % 20001) - 10000;
                    mult[i] = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
                    shift[i] = -(int32_t)(rnd() % 12);
                  }
                  q.in_offset = (int32_t)(rnd() % 256) - 127; /* -zero point in [-127, 128] */
                  q.out_offset = (int32_t)(rnd() % 256) - 128;
                  q.act_min = cases % 2 ? -128 : -20;
                  q.act_max = cases % 2 ? 127 : 90;
                  q.mult = mult; q.shift = shift;
                  bytes = (size_t)os.n * oh * ow * cout;
                  if (bytes > sizeof out_ref) continue;
                  memset(out_ref, 0xa5, bytes);
                  memset(out_opt, 0x5a, bytes);
                  kfda_conv2d_s8_ref(&p, &q, &is, x8, &fs, w8, nb ? NULL : bias_buf, &os,
                                     (int8_t *)out_ref);
                  kfda_conv2d_s8_opt(&p, &q, &is, x8, &fs, w8, nb ? NULL : bias_buf, &os,
                                     (int8_t *)out_opt, scratch);
                  ++cases;
                  if (memcmp(out_ref, out_opt, bytes) != 0) {
                    printf("conv2d_s8 MISMATCH cin=%d cout=%d in=%dx%d k=%dx%d stride=%d dil=%d "
                           "%s bias=%d\n", (int)cin, (int)cout, (int)is.h, (int)is.w,
                           (int)fs.h, (int)fs.w, st, dl, pad ? "valid" : "same", !nb);
                    return 1;
                  }
                }
  printf("conv2d_s8 opt == ref: %d cases\n", cases);
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
  printf("ok\n");
  return 0;
}
