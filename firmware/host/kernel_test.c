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
  static const int32_t cins[] = {1, 32, 45, 64, 96, 160, 250};
  static const int32_t couts[] = {1, 5, 8, 33, 64};
  static const int32_t sizes[][2] = {{1, 1}, {5, 7}, {8, 8}};
  static const int32_t ksz[][2] = {{1, 1}, {3, 3}, {2, 3}, {5, 5}};
  int ci, co, si, ki, st, dl, pad, pv, fl, act, cases = 0;
  const int nci = quick ? 4 : 7, nco = quick ? 3 : 5;
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

#if defined(KFDA_KT_EMBEDDED)
int main(void) {
  const int quick = KFDA_KT_QUICK;
#else
int main(int argc, char **argv) {
  const int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
#endif
  if (check_bconv(quick)) return 1;
  printf("ok\n");
  return 0;
}
