/* lce_bconv2d_internal.h - pieces the reference and the optimized LceBconv2d
 * share: LCE's same-zero padding correction (see lce_bconv2d_ref.c), and the
 * interface between the optimized driver (lce_bconv2d_opt.c: columns, pixel
 * and row loops, edges, output transforms, the choice of inner loop) and its
 * XOR-popcount inner loops, one file per architecture:
 *
 *   arm64, armv7 with NEON                     lce_bconv2d_opt_neon.c
 *   Thumb-2 with DSP, no NEON                  lce_bconv2d_opt_thumb2.S
 *     (Cortex-M4/M7/M33/M55)
 *   everything else (Cortex-M0+/M3, x86, ...)  lce_bconv2d_opt_portable.c
 *
 * Each inner-loop file compiles to nothing on the architectures it does not
 * serve, so every build can take all of them. The .S file includes this
 * header too (the selection below is plain preprocessor; the C part is
 * skipped for the assembler). */
#ifndef KFDA_LCE_BCONV2D_INTERNAL_H_
#define KFDA_LCE_BCONV2D_INTERNAL_H_

/* Which inner loop this compiler's target gets (exactly one of the three is 1)
 * and how many output channels one call of it counts. */
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#define KFDA_BCONV_NEON     1
#define KFDA_BCONV_THUMB2   0
#define KFDA_BCONV_PORTABLE 0
/* 4 pixels x 16 (arm64; 32 vector registers) or 8 (armv7; 16) channels per pass over
 * the filter repacked by prepare, each pixel's word broadcast, vectors over channels
 * (kfda_bconv_bcast_neon) */
#define KFDA_BCONV_BCAST 1
#if defined(__aarch64__)
/* the float output transform in NEON for any multipliers (armv7's NEON float flushes
 * denormals: there only where that cannot show, lce_bconv2d_opt.c's neon_float_exact) */
#define KFDA_BCONV_BCAST_F32 1
#endif
#define KFDA_BCONV_OC_BLOCK 4
#elif defined(__GNUC__) && defined(__thumb2__) && defined(__ARM_FEATURE_DSP)
/* up to 32 output channels per call (any count: the loop has no channel tail) */
#define KFDA_BCONV_NEON     0
#define KFDA_BCONV_THUMB2   1
#define KFDA_BCONV_PORTABLE 0
#define KFDA_BCONV_OC_BLOCK 32
#if defined(__ARM_FP) && (__ARM_FP & 4)
#define KFDA_BCONV_TREE 1 /* the adder-tree kernels for kw a multiple of 9 (FPU builds) */
#endif
#else
#define KFDA_BCONV_NEON     0
#define KFDA_BCONV_THUMB2   0
#define KFDA_BCONV_PORTABLE 1
#ifndef KFDA_BCONV_OC_BLOCK
#define KFDA_BCONV_OC_BLOCK 2 /* 1 also works: one channel, fewer live registers */
#endif
#endif
#ifndef KFDA_BCONV_BCAST
#define KFDA_BCONV_BCAST 0
#endif
#ifndef KFDA_BCONV_BCAST_F32
#define KFDA_BCONV_BCAST_F32 0
#endif
#ifndef KFDA_BCONV_TREE
#define KFDA_BCONV_TREE 0
#endif

#ifndef __ASSEMBLER__
#include "kfda/kernels.h"

/* Which correction LCE applies at output (oy, ox): 0 with its case and cache
 * coordinates, or -1 for none. */
int kfda_lce_bconv2d_edge_case(const kfda_bconv_params *p, const kfda_shape4 *is,
                               const kfda_shape4 *os, int32_t fh, int32_t fw, int32_t oy,
                               int32_t ox, int *kase, int32_t *X, int32_t *Y);
/* Sum of (cin - 2 * popcount(w_tap)) over the taps counted for that case,
 * for one output channel's filter f. */
int32_t kfda_lce_bconv2d_edge_correction(const kfda_bconv_params *p, const uint32_t *f, int32_t fh,
                                         int32_t fw, int32_t gw, int32_t cin, int kase, int32_t X,
                                         int32_t Y);

/* The inner loops. Filters are OHWI, so output channel j's kw words follow
 * channel j-1's (w_j = w + j * stride, stride kw). */
#if KFDA_BCONV_NEON
/* acc[j] = popcount(x XOR w_j) over n words, j < 4 (lce_bconv2d_opt_neon.c). */
void kfda_bconv_popcount_neon(const uint32_t *x, const uint32_t *w, size_t stride, int32_t n,
                              int32_t *acc);
#if KFDA_BCONV_BCAST
/* One call of the broadcast kernel: npass passes of 4 pixels x ngroups groups of 4
 * channels (ngroups <= 16 with acc) from w, a block start of the repacked filter
 * (kfda_lce_bconv2d_repack: per block of 16 output channels, the last the rest rounded
 * up to 4 with zero words, tap word k of its channels side by side, [k][16]; the block
 * of channel c, a multiple of 16, at c * K). Pixel q's window is runs runs of run_words
 * words, the first at x[q], the next drun words on; each pass moves the windows xstep
 * words on. With acc (one pass): acc[16 * g + 4 * q + j] for channel 4 * g + j. With o
 * (acc unused, any ngroups; on armv7 only where the driver found NEON's float exact,
 * neon_float_exact in lce_bconv2d_opt.c) the float transform
 * (float)(2 * acc) * m + bias (multiply, then add) into o[q * cout + 4 * g + j], o moving
 * 4 * cout per pass; clamp NULL: every m + m finite and no clamp, else 2 * acc clamped to
 * [clamp[0], clamp[1]] first. runs, run_words >= 1 (a window has a word), runs * run_words
 * < 4096 (16-bit lanes). */
typedef struct {
  const uint32_t *x[4];
  size_t drun, xstep;
  int32_t runs, run_words, npass, ngroups, cout;
  const uint32_t *w;
  int32_t *acc;
  float *o;
  const float *m, *bias;
  const int32_t *clamp;
} kfda_bcast_args;
void kfda_bconv_bcast_neon(const kfda_bcast_args *a);
/* One pixel, its window one run of a->run_words words at x (a->runs 1), all of a's
 * channel groups, the float transform as above into o (a->x, xstep, npass, acc unused). */
void kfda_bconv_bcast1_neon(const kfda_bcast_args *a, const uint32_t *x, float *o);
#endif
#elif KFDA_BCONV_THUMB2
/* acc[j] = popcount(col XOR w_j) over kw words, j < nch (lce_bconv2d_opt_thumb2.S). */
void kfda_bconv_popcount_thumb2(const uint32_t *col, const uint32_t *w, int32_t kw, int32_t nch,
                                int32_t *acc);
#if KFDA_BCONV_TREE
/* kw == 18 or 9 (3x3 over 33..64 or 1..32 input channels): 4 * nb4 output
 * channels per call, a whole-channel adder tree each; with mul/bias the float
 * transform as well (out float), else out gets the popcounts (int32). */
typedef void kfda_bconv_tree_fn(const uint32_t *col, const uint32_t *w, int32_t nb4, void *out,
                                const float *mul, const float *bias);
kfda_bconv_tree_fn kfda_bconv_k18_thumb2, kfda_bconv_k9_thumb2;
/* The same, col first gathered from 3 rows of kw / 3 words: x, x + drow, x +
 * 2 drow (drow in bytes). */
typedef void kfda_bconv_tree_gather_fn(uint32_t *col, const uint32_t *w, int32_t nb4, void *out,
                                       const float *mul, const float *bias, const uint32_t *x,
                                       size_t drow);
kfda_bconv_tree_gather_fn kfda_bconv_k18_thumb2_gather, kfda_bconv_k9_thumb2_gather;
/* Any other kw = 18 n (+ 9) >= 27 (3x3 over 65.. input channels): the same
 * tree per 18-word block, the block counts summed. */
void kfda_bconv_kn_thumb2(const uint32_t *col, const uint32_t *w, int32_t nb4, void *out,
                          const float *mul, const float *bias, int32_t kw);
#endif
#else
/* acc[j] = popcount(x XOR w_j) over n words, j < KFDA_BCONV_OC_BLOCK
 * (lce_bconv2d_opt_portable.c). */
void kfda_bconv_popcount_portable(const uint32_t *x, const uint32_t *w, size_t stride, int32_t n,
                                  int32_t *acc);
#endif
#endif /* __ASSEMBLER__ */
#endif
