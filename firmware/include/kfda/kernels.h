/*
 * kernels.h - one prototype per kernel.
 *
 * Conventions (all kernels):
 *   - Tensors are dense, row-major, NHWC for images. A "packed" tensor is
 *     LCE's bitpacked layout: the last (channel) axis is packed LSB-first into
 *     int32 words, 32 channels per word, bit 1 = negative (-1), bit 0 = +1,
 *     padding bits of the last word are 0.
 *   - Kernels never allocate, never fail: every check happens in the op's
 *     Prepare step (src/ops/<op>.c) before any kernel runs.
 *     Arguments are assumed valid (shapes consistent, pointers non-NULL).
 *   - Float kernels reproduce TFLite's reference arithmetic order where it
 *     matters (bias after the sum, then the activation clamp). Build with
 *     -ffp-contract=off so no multiply-add is fused (bit-exact float output
 *     transforms in LceBconv2d).
 *   - `p` is a small kernel-facing parameter struct (below, CMSIS-NN style),
 *     filled once by the op's Prepare.
 */
#ifndef KFDA_KERNELS_H_
#define KFDA_KERNELS_H_

#include <stddef.h>
#include <stdint.h>

#include "kfda/kfda.h"

typedef struct {
  int32_t n, h, w, c;
} kfda_shape4;

/* Words per packed row of `channels` values: ceil(channels / 32). */
#define KFDA_PACKED_WORDS(channels) (((channels) + 31) / 32)

/* TFLite Padding values. */
enum { KFDA_PADDING_SAME = 0, KFDA_PADDING_VALID = 1 };

/* CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D, LceBMaxPool2d. */
typedef struct {
  int32_t stride_h, stride_w, dil_h, dil_w;
  int32_t pad_h, pad_w;       /* top/left padding (TFLite convention) */
  int32_t filter_h, filter_w; /* pools: the window (convolutions: the filter's shape) */
  int32_t depth_multiplier;   /* DEPTHWISE_CONV_2D */
  float act_min, act_max;     /* float32: the fused activation's range */
  int32_t qact_min, qact_max; /* int8: the fused activation's range */
} kfda_conv_params;

/* Whether the optimized LceBconv2d of this build reads a filter repacked by prepare (the
 * NEON builds). Elsewhere the params have no room for it: a Cortex-M board's arena is
 * planned by the 64-bit host build, where a pointer costs 16 bytes per op. */
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#define KFDA_BCONV_REPACKED 1
#else
#define KFDA_BCONV_REPACKED 0
#endif

/* LceBconv2d. */
typedef struct {
  int32_t stride_h, stride_w, dil_h, dil_w;
  int32_t pad_h, pad_w;
  int32_t padding;              /* KFDA_PADDING_SAME / KFDA_PADDING_VALID */
  int32_t pad_value;            /* 0 or 1 (SAME: the value of padded taps) */
  int32_t channels_in;          /* true input channel count */
  int32_t receptive_field_bits; /* K = fh * fw * channels_in / groups */
  int32_t groups;
  int32_t output_kind;          /* KFDA_BCONV_OUT_* */
  int32_t clamp_min, clamp_max; /* float/int8 output: clamp of 2 * accum */
#if KFDA_BCONV_REPACKED
  /* the filter as kfda_lce_bconv2d_repack lays it out, or NULL */
  const int32_t *filter_repacked;
  /* a 1x1 output map whose taps inside the image are one run of the filter's words
   * (kfda_lce_bconv2d_inside_run): per output channel the popcount of its other taps
   * (kfda_lce_bconv2d_pad_counts), or NULL; the run's first word and length */
  const int32_t *pad_counts;
  int32_t inside_tap0, inside_words;
#endif
} kfda_bconv_params;

/* ADD, MUL (float32 and int8). */
typedef struct {
  float act_min, act_max;                         /* float32: the fused activation's range */
  int32_t qact_min, qact_max;                     /* int8: the fused activation's range */
  int32_t in_offset, in2_offset, out_offset;      /* -zero points of a, b; output zero point */
  int32_t in_mult, in_shift, in2_mult, in2_shift; /* ADD int8: rescale a, b */
  int32_t out_mult, out_shift;                    /* int8: output multiplier */
  int32_t left_shift;                             /* ADD int8 */
} kfda_arith_params;

/* MEAN int8: out = clamp(requant(sum + count * in_offset) + out_offset). The LCE
 * interpreter (TFLite reduce.cc, kGenericOptimized) runs one of two kernels, which differ
 * in these values (ops/mean.c derives them) and in the rounding: gemmlowp's, except the
 * optimized 4D kernel's NEON blocks of 16 channels (also on x86, through NEON_2_SSE):
 * VQRDMULH then a rounding shift, both half up (kfda_multiply_by_quantized_multiplier_ruy). */
typedef struct {
  int32_t in_offset;           /* -input zero point, or 0 */
  int32_t out_mult, out_shift; /* in_scale / (count * out_scale), as that kernel rounds it */
  int32_t out_offset;
  int32_t channels;      /* outputs cycle over this many channels (>= 1) */
  int32_t neon_channels; /* the first neon_channels of them round half up (0: none) */
} kfda_mean_params;

/* ---- LCE ops ------------------------------------------------------------ */

/* LceQuantize, float input: rows x cols -> rows x ceil(cols/32) words;
 * bit = (x < 0) (so -0.0 and NaN give bit 0, i.e. +1). */
void kfda_lce_quantize_f32(const float *in, int32_t rows, int32_t cols, int32_t *out);
/* LceQuantize, int8 input: bit = (x < zero_point). */
void kfda_lce_quantize_s8(const int8_t *in, int32_t rows, int32_t cols, int32_t zero_point,
                          int32_t *out);
/* The build's variant picks (as kfda_lce_bconv2d): *_ref (lce_quantize_ref.c, one
 * branch per value) or *_opt (lce_quantize_opt.c: a word built in a register
 * without branches; NEON compares + weighted lane sums on arm64/armv7). */
void kfda_lce_quantize_f32_ref(const float *in, int32_t rows, int32_t cols, int32_t *out);
void kfda_lce_quantize_s8_ref(const int8_t *in, int32_t rows, int32_t cols, int32_t zero_point,
                              int32_t *out);
void kfda_lce_quantize_f32_opt(const float *in, int32_t rows, int32_t cols, int32_t *out);
void kfda_lce_quantize_s8_opt(const int8_t *in, int32_t rows, int32_t cols, int32_t zero_point,
                              int32_t *out);
/* LceDequantize to float: bit 0 -> +1.0f, bit 1 -> -1.0f. */
void kfda_lce_dequantize_f32(const int32_t *in, int32_t rows, int32_t cols, float *out);
/* LceDequantize to int8: bit 0 -> zero_val, bit 1 -> one_val (the caller
 * computes them from the output scale/zero point as LCE does). */
void kfda_lce_dequantize_s8(const int32_t *in, int32_t rows, int32_t cols, int8_t zero_val,
                            int8_t one_val, int8_t *out);

/* Output row ranges: LceBconv2d, CONV_2D and DEPTHWISE_CONV_2D (float32 and int8) compute
 * only output rows [row_begin, row_end) of the rows [0, n * oh) (row = batch * oh + y), each
 * element with the same arithmetic whatever the range, so threads that split the rows give
 * the bit-identical output of one call over all rows. Their scratch (if any) is the
 * caller's, one per concurrent call. */

/* Output kinds of LceBconv2d (p->output_kind). */
enum { KFDA_BCONV_OUT_F32 = 0, KFDA_BCONV_OUT_S8 = 1, KFDA_BCONV_OUT_PACKED = 2 };

/*
 * LceBconv2d, reference.
 *   in:     packed [n, h, w, ceil(p->channels_in / 32)]
 *   filter: packed OHWI [cout, fh, fw, words_per_group]
 *   out_mul/out_bias (float/int8 output): the fused output transform, per
 *           output channel (see kfda_lce_bconv2d_output_transform):
 *             y = (float)clamp(2 * accum, p->clamp_min, p->clamp_max)
 *                 * out_mul[c] + out_bias[c]
 *           float: y (+ the same-zero correction); int8: sat(round(y)).
 *   thresholds (packed output): bit = accum > thresholds[c].
 *   raw_mul: the op's post_activation_multiplier (same-zero correction only).
 *   accum = popcount(in XOR filter) over the receptive field; padded taps
 *   read 0 bits (+1): "same-one". With p->pad_value == 0 and SAME padding the
 *   LCE correction -mul * sum(taps outside the image) is added to float y.
 *   out: [n, oh, ow, cout] float/int8, or packed [n, oh, ow, ceil(cout/32)].
 */
void kfda_lce_bconv2d_ref(const kfda_bconv_params *p, const kfda_shape4 *in_shape,
                          const int32_t *in, const kfda_shape4 *filter_shape, const int32_t *filter,
                          const float *out_mul, const float *out_bias, const int32_t *thresholds,
                          const float *raw_mul, const kfda_shape4 *out_shape, void *out,
                          int32_t row_begin, int32_t row_end);

/* LceBconv2d, optimized (lce_bconv2d_opt.c: im2col of packed words, several
 * output channels per pass; NEON EOR/CNT on arm64/armv7, carry-save popcount
 * elsewhere). Same arguments and results, bit for bit, as the reference, plus
 * a scratch of kfda_lce_bconv2d_scratch_bytes() (one receptive field; NEON: 4 rows'
 * windows).
 * kfda_lce_bconv2d picks the build's variant: the reference when compiled
 * with -DKFDA_KERNELS_REF (make KFDA_KERNELS=ref), else the optimized one. */
size_t kfda_lce_bconv2d_scratch_bytes(const kfda_bconv_params *p, const kfda_shape4 *filter_shape,
                                      const kfda_shape4 *out_shape);
/* Bytes of the filter repacked for this build's optimized kernel (arm64: word k of 16
 * output channels side by side), 0 when it reads the filter as it is; the repacking
 * (prepare, into persistent memory: p->filter_repacked). */
size_t kfda_lce_bconv2d_repacked_bytes(const kfda_shape4 *filter_shape);
void kfda_lce_bconv2d_repack(const kfda_shape4 *filter_shape, const int32_t *filter,
                             int32_t *repacked);
/* A 1x1 output map (NEON builds): 1 when the taps of its window inside the image are one
 * run of words of the filter (one filter row's segment), with its first word *tap0 and
 * length *words; the other taps read 0 words (padding), so their popcounts are per
 * output channel constants: kfda_lce_bconv2d_pad_counts (prepare, into persistent
 * memory: p->pad_counts, cout words). */
int kfda_lce_bconv2d_inside_run(const kfda_bconv_params *p, const kfda_shape4 *in_shape,
                                const kfda_shape4 *filter_shape, const kfda_shape4 *out_shape,
                                int32_t *tap0, int32_t *words);
void kfda_lce_bconv2d_pad_counts(const kfda_shape4 *filter_shape, const int32_t *filter,
                                 int32_t tap0, int32_t words, int32_t *counts);
void kfda_lce_bconv2d_opt(const kfda_bconv_params *p, const kfda_shape4 *in_shape,
                          const int32_t *in, const kfda_shape4 *filter_shape, const int32_t *filter,
                          const float *out_mul, const float *out_bias, const int32_t *thresholds,
                          const float *raw_mul, const kfda_shape4 *out_shape, void *out,
                          void *scratch, int32_t row_begin, int32_t row_end);
void kfda_lce_bconv2d(const kfda_bconv_params *p, const kfda_shape4 *in_shape, const int32_t *in,
                      const kfda_shape4 *filter_shape, const int32_t *filter, const float *out_mul,
                      const float *out_bias, const int32_t *thresholds, const float *raw_mul,
                      const kfda_shape4 *out_shape, void *out, void *scratch, int32_t row_begin,
                      int32_t row_end);

/* Prepare helper: the fused output transform of LceBconv2d (as LCE's
 * OneTimeSetup): computed in double, stored as float.
 *   out_mul[c]  = -mul[c] / scale
 *   out_bias[c] = (bias[c] + K * mul[c]) / scale + zero_point
 * and the clamp of 2*accum: [K - min(act_max, K), K - max(act_min, -K)]. */
void kfda_lce_bconv2d_output_transform(const float *mul, const float *bias, int32_t cout, int32_t K,
                                       double scale, double zero_point, float *out_mul,
                                       float *out_bias);

/* LceBMaxPool2d: packed in [n,h,w,words] -> packed out [n,oh,ow,words];
 * each output word is the AND of the window's words (max of +-1 values);
 * SAME padding taps are skipped. */
void kfda_lce_bmaxpool2d(const kfda_conv_params *p, const kfda_shape4 *in_shape, const int32_t *in,
                         const kfda_shape4 *out_shape, int32_t *out);
/* Reference (bounds checked per tap) and optimized (window clipped once per
 * output row/pixel, branch-free AND loops) variants; the build picks one. */
void kfda_lce_bmaxpool2d_ref(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                             const int32_t *in, const kfda_shape4 *out_shape, int32_t *out);
void kfda_lce_bmaxpool2d_opt(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                             const int32_t *in, const kfda_shape4 *out_shape, int32_t *out);

/* ---- float32 builtins --------------------------------------------------- */

/* CONV_2D: in [n,h,w,cin], filter OHWI [cout,fh,fw,cin/groups], bias [cout]
 * or NULL; out [n,oh,ow,cout]. Sum over (fy, fx, ic) in that order, then
 * + bias, then clamp to [p->act_min, p->act_max]. */
void kfda_conv2d_f32(const kfda_conv_params *p, const kfda_shape4 *in_shape, const float *in,
                     const kfda_shape4 *filter_shape, const float *filter, const float *bias,
                     const kfda_shape4 *out_shape, float *out, int32_t row_begin, int32_t row_end);
/* The build's variant picks (KFDA_KERNELS_REF: the reference): *_ref (conv2d_f32.c,
 * bounds checked per tap) or *_opt (conv2d_f32_opt.c: the same sums in the same order,
 * tap ranges clipped once per pixel, 4 channels x 2 pixels per pass). */
void kfda_conv2d_f32_ref(const kfda_conv_params *p, const kfda_shape4 *in_shape, const float *in,
                         const kfda_shape4 *filter_shape, const float *filter, const float *bias,
                         const kfda_shape4 *out_shape, float *out, int32_t row_begin,
                         int32_t row_end);
void kfda_conv2d_f32_opt(const kfda_conv_params *p, const kfda_shape4 *in_shape, const float *in,
                         const kfda_shape4 *filter_shape, const float *filter, const float *bias,
                         const kfda_shape4 *out_shape, float *out, int32_t row_begin,
                         int32_t row_end);
/* Both variants' one output pixel (one group, 4+ channels, 4+ taps x channels): the LCE
 * interpreter's GEMV order (src/kernels/gemv_f32.h), not ruy's. Returns 0 (nothing done)
 * when the conv is not such a case. */
int kfda_conv2d_f32_one_pixel(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                              const float *in, const kfda_shape4 *filter_shape, const float *filter,
                              const float *bias, const kfda_shape4 *out_shape, float *out);
/* DEPTHWISE_CONV_2D: filter [1,fh,fw,cout], cout = cin * depth_multiplier. */
void kfda_depthwise_conv2d_f32(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                               const float *in, const kfda_shape4 *filter_shape,
                               const float *filter, const float *bias, const kfda_shape4 *out_shape,
                               float *out, int32_t row_begin, int32_t row_end);
void kfda_depthwise_conv2d_f32_ref(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                                   const float *in, const kfda_shape4 *filter_shape,
                                   const float *filter, const float *bias,
                                   const kfda_shape4 *out_shape, float *out, int32_t row_begin,
                                   int32_t row_end);
void kfda_depthwise_conv2d_f32_opt(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                                   const float *in, const kfda_shape4 *filter_shape,
                                   const float *filter, const float *bias,
                                   const kfda_shape4 *out_shape, float *out, int32_t row_begin,
                                   int32_t row_end);
/* FULLY_CONNECTED: in [batches, depth], weights [units, depth]. `gemv_order` is the
 * interpreter's path for the whole op (kfda_fully_connected_f32_gemv_order of its shape):
 * a caller computing a slice of the units or batches passes the whole op's choice, so
 * every slice rounds as the whole op does. */
int kfda_fully_connected_f32_gemv_order(int32_t batches, int32_t units, int32_t depth);
void kfda_fully_connected_f32(float act_min, float act_max, const float *in, int32_t batches,
                              int32_t depth, const float *weights, const float *bias, int32_t units,
                              int gemv_order, float *out);
void kfda_fully_connected_f32_ref(float act_min, float act_max, const float *in, int32_t batches,
                                  int32_t depth, const float *weights, const float *bias,
                                  int32_t units, int gemv_order, float *out);
void kfda_fully_connected_f32_opt(float act_min, float act_max, const float *in, int32_t batches,
                                  int32_t depth, const float *weights, const float *bias,
                                  int32_t units, int gemv_order, float *out);
/* MAX_POOL_2D / AVERAGE_POOL_2D (average over the valid taps only). */
void kfda_max_pool2d_f32(const kfda_conv_params *p, const kfda_shape4 *in_shape, const float *in,
                         const kfda_shape4 *out_shape, float *out);
void kfda_average_pool2d_f32(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                             const float *in, const kfda_shape4 *out_shape, float *out);
/* The build's variant picks: *_ref (max_pool2d_f32.c, average_pool2d_f32.c: bounds
 * checked per tap and channel) or *_opt (pool2d_f32_opt.c: the window clipped once per
 * pixel, channels 4 per vector on arm64; the same order of taps). */
void kfda_max_pool2d_f32_ref(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                             const float *in, const kfda_shape4 *out_shape, float *out);
void kfda_max_pool2d_f32_opt(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                             const float *in, const kfda_shape4 *out_shape, float *out);
void kfda_average_pool2d_f32_ref(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                                 const float *in, const kfda_shape4 *out_shape, float *out);
void kfda_average_pool2d_f32_opt(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                                 const float *in, const kfda_shape4 *out_shape, float *out);
/* MEAN over the axes flagged in reduce_mask (bit i = axis i) of an
 * ndim-dimensional tensor; out has the kept axes in order. */
void kfda_mean_f32(const float *in, int32_t ndim, const int32_t *dims, uint32_t reduce_mask,
                   float *out);
/* The build's variant picks: *_ref (mean_f32.c, an index walk per element) or *_opt
 * (mean_f32_opt.c: consecutive reduced axes summed 4 outputs per pass, same order). */
void kfda_mean_f32_ref(const float *in, int32_t ndim, const int32_t *dims, uint32_t reduce_mask,
                       float *out);
void kfda_mean_f32_opt(const float *in, int32_t ndim, const int32_t *dims, uint32_t reduce_mask,
                       float *out);
/* ADD / MUL with broadcasting. a_strides/b_strides: element strides of the
 * inputs per output axis (0 where broadcast); out_dims: the output shape,
 * all padded to KFDA_MAX_DIMS dimensions. Result clamped to the activation.
 * In place: `out` may be `a` or `b` when that input is not broadcast (the planner
 * reuses a dying input's bytes), so every ADD/MUL kernel, float or int8, must read
 * element i of its inputs before it writes element i, walking forward. */
void kfda_add_f32(const kfda_arith_params *p, const float *a, const int32_t *a_strides,
                  const float *b, const int32_t *b_strides, const int32_t *out_dims, float *out);
void kfda_mul_f32(const kfda_arith_params *p, const float *a, const int32_t *a_strides,
                  const float *b, const int32_t *b_strides, const int32_t *out_dims, float *out);
/* The build's variant picks: *_ref (add_f32.c / mul_f32.c, one broadcast step per
 * element) or *_opt (add_f32_opt.c / mul_f32_opt.c: the same values over runs of
 * evenly advancing axes, see kfda_broadcast_run in src/kernels/broadcast.h). */
void kfda_add_f32_ref(const kfda_arith_params *p, const float *a, const int32_t *a_strides,
                      const float *b, const int32_t *b_strides, const int32_t *out_dims,
                      float *out);
void kfda_add_f32_opt(const kfda_arith_params *p, const float *a, const int32_t *a_strides,
                      const float *b, const int32_t *b_strides, const int32_t *out_dims,
                      float *out);
void kfda_mul_f32_ref(const kfda_arith_params *p, const float *a, const int32_t *a_strides,
                      const float *b, const int32_t *b_strides, const int32_t *out_dims,
                      float *out);
void kfda_mul_f32_opt(const kfda_arith_params *p, const float *a, const int32_t *a_strides,
                      const float *b, const int32_t *b_strides, const int32_t *out_dims,
                      float *out);
/* SOFTMAX along the last axis: rows x depth. */
void kfda_softmax_f32(float beta, const float *in, int32_t rows, int32_t depth, float *out);

/* ---- type-generic data movement ---------------------------------------- */

/* PAD: any element size; pads[2*i], pads[2*i+1] = before/after for axis i;
 * pad_value: elem_size bytes copied into every padded element. */
void kfda_pad(const uint8_t *in, int32_t ndim, const int32_t *in_dims, const int32_t *pads,
              size_t elem_size, const uint8_t *pad_value, uint8_t *out);
/* CONCATENATION along axis: outer x (sum of axis_bytes) x ... */
void kfda_concatenation(const uint8_t *const *ins, const size_t *inner_bytes, int32_t n_in,
                        size_t outer, uint8_t *out);

/* ---- quantization ------------------------------------------------------- */

/* QUANTIZE float -> int8: q = sat(round(x / scale) + zero_point). */
void kfda_quantize_f32_s8(const float *in, size_t n, float scale, int32_t zero_point, int8_t *out);
/* DEQUANTIZE int8 -> float: (q - zero_point) * scale. */
void kfda_dequantize_s8_f32(const int8_t *in, size_t n, float scale, int32_t zero_point,
                            float *out);

/* ---- int8 fixed-point helpers (TFLite / gemmlowp semantics) -------------- */

/* double multiplier -> Q31 significand and power-of-two exponent
 * (TFLite QuantizeMultiplier: frexp, round half away from zero). */
void kfda_quantize_multiplier(double m, int32_t *significand, int32_t *shift);
/* round(x * significand * 2^(shift - 31)) with gemmlowp's two roundings
 * (SaturatingRoundingDoublingHighMul then RoundingDivideByPOT). */
int32_t kfda_multiply_by_quantized_multiplier(int32_t x, int32_t significand, int32_t shift);

/* The same as ruy's int8 GEMM (TFLite's CONV_2D / FULLY_CONNECTED int8 path):
 * h = floor((x * 2^left * sig + 2^30) / 2^31), then floor((h + 2^(right-1))
 * / 2^right) - both roundings half up instead of half away from zero. Found
 * against the LCE interpreter: it differs from the gemmlowp form on ties of
 * negative values. */
int32_t kfda_multiply_by_quantized_multiplier_ruy(int32_t x, int32_t significand, int32_t shift);
/* Both as the build's variant picks them: *_ref (quant_util.c: gemmlowp's and ruy's steps
 * written out one by one, a 64-bit division among them) or, without KFDA_KERNELS_REF, the
 * same results without a division (src/kernels/requant.h, also inlined by the optimized
 * int8 kernels; the reference for a significand of INT32_MIN or a shift below -31). */
int32_t kfda_multiply_by_quantized_multiplier_ref(int32_t x, int32_t significand, int32_t shift);
int32_t kfda_multiply_by_quantized_multiplier_ruy_ref(int32_t x, int32_t significand,
                                                      int32_t shift);

/* Per-channel requantisation for int8 conv-like ops. */
typedef struct {
  int32_t in_offset;  /* -input zero point */
  int32_t out_offset; /* output zero point */
  int32_t act_min, act_max;
  const int32_t *mult;  /* [channels] significands */
  const int32_t *shift; /* [channels] exponents */
} kfda_requant;

/* CONV_2D int8: in [n,h,w,cin] int8, filter OHWI int8 (zero point 0), bias
 * int32 [cout] or NULL; acc = sum((x + in_offset) * w) + bias, then
 * requantised per output channel, + out_offset, clamped. */
void kfda_conv2d_s8_ref(const kfda_conv_params *p, const kfda_requant *q,
                        const kfda_shape4 *in_shape, const int8_t *in,
                        const kfda_shape4 *filter_shape, const int8_t *filter, const int32_t *bias,
                        const kfda_shape4 *out_shape, int8_t *out, int32_t row_begin,
                        int32_t row_end);
/* Optimized (conv2d_s8_opt.c: int16 im2col of 2 pixels, 2 channels x 2 pixels
 * per pass, SXTB16 + SMLAD with the DSP extension, plain C elsewhere), with a
 * scratch of kfda_conv2d_s8_scratch_bytes() (NULL or groups: the reference).
 * kfda_conv2d_s8 picks the build's variant (KFDA_KERNELS_REF: the reference). */
size_t kfda_conv2d_s8_scratch_bytes(const kfda_shape4 *filter_shape);
void kfda_conv2d_s8_opt(const kfda_conv_params *p, const kfda_requant *q,
                        const kfda_shape4 *in_shape, const int8_t *in,
                        const kfda_shape4 *filter_shape, const int8_t *filter, const int32_t *bias,
                        const kfda_shape4 *out_shape, int8_t *out, void *scratch, int32_t row_begin,
                        int32_t row_end);
void kfda_conv2d_s8(const kfda_conv_params *p, const kfda_requant *q, const kfda_shape4 *in_shape,
                    const int8_t *in, const kfda_shape4 *filter_shape, const int8_t *filter,
                    const int32_t *bias, const kfda_shape4 *out_shape, int8_t *out, void *scratch,
                    int32_t row_begin, int32_t row_end);
/* DEPTHWISE_CONV_2D int8 (per-channel). */
void kfda_depthwise_conv2d_s8(const kfda_conv_params *p, const kfda_requant *q,
                              const kfda_shape4 *in_shape, const int8_t *in,
                              const kfda_shape4 *filter_shape, const int8_t *filter,
                              const int32_t *bias, const kfda_shape4 *out_shape, int8_t *out,
                              int32_t row_begin, int32_t row_end);
/* FULLY_CONNECTED int8 (per-tensor: q->mult[0], q->shift[0]). */
void kfda_fully_connected_s8(const kfda_requant *q, const int8_t *in, int32_t batches,
                             int32_t depth, const int8_t *weights, const int32_t *bias,
                             int32_t units, int8_t *out);
/* MEAN int8 over reduce_mask: sum = the int32 sum of the inputs of output `index`, then
 * kfda_mean_s8_finish(p, sum, count, index) (count 0: output 0, as TFLite). */
int8_t kfda_mean_s8_finish(const kfda_mean_params *p, int32_t sum, int32_t count, size_t index);
void kfda_mean_s8(const kfda_mean_params *p, const int8_t *in, int32_t ndim, const int32_t *dims,
                  uint32_t reduce_mask, int8_t *out);
/* The build's variant picks: *_ref (mean_s8.c: one pass over the input per output) or
 * *_opt (mean_s8_opt.c: each input read once, runs of merged axes; the same sums and
 * kfda_mean_s8_finish). */
void kfda_mean_s8_ref(const kfda_mean_params *p, const int8_t *in, int32_t ndim,
                      const int32_t *dims, uint32_t reduce_mask, int8_t *out);
void kfda_mean_s8_opt(const kfda_mean_params *p, const int8_t *in, int32_t ndim,
                      const int32_t *dims, uint32_t reduce_mask, int8_t *out);
/* ADD int8 with broadcasting (TFLite: left shift 20, three multipliers). */
void kfda_add_s8(const kfda_arith_params *p, const int8_t *a, const int32_t *a_strides,
                 const int8_t *b, const int32_t *b_strides, const int32_t *out_dims, int8_t *out);
/* MUL int8 with broadcasting: requant((a + in_offset) * (b + in2_offset)) with
 * in1_scale * in2_scale / out_scale (p->out_mult/shift), + out_offset, clamped
 * to p->qact_min/max. */
void kfda_mul_s8(const kfda_arith_params *p, const int8_t *a, const int32_t *a_strides,
                 const int8_t *b, const int32_t *b_strides, const int32_t *out_dims, int8_t *out);
/* The build's variant picks: *_ref (add_s8.c / mul_s8.c, one broadcast step and
 * out-of-line requantisations per element) or *_opt (add_s8_opt.c / mul_s8_opt.c: the same
 * values over runs of evenly advancing axes, requant.h inline, a broadcast operand's
 * rescaled value computed once per run). In place as the float kernels (out may be a
 * non-broadcast a or b). */
void kfda_add_s8_ref(const kfda_arith_params *p, const int8_t *a, const int32_t *a_strides,
                     const int8_t *b, const int32_t *b_strides, const int32_t *out_dims,
                     int8_t *out);
void kfda_add_s8_opt(const kfda_arith_params *p, const int8_t *a, const int32_t *a_strides,
                     const int8_t *b, const int32_t *b_strides, const int32_t *out_dims,
                     int8_t *out);
void kfda_mul_s8_ref(const kfda_arith_params *p, const int8_t *a, const int32_t *a_strides,
                     const int8_t *b, const int32_t *b_strides, const int32_t *out_dims,
                     int8_t *out);
void kfda_mul_s8_opt(const kfda_arith_params *p, const int8_t *a, const int32_t *a_strides,
                     const int8_t *b, const int32_t *b_strides, const int32_t *out_dims,
                     int8_t *out);
/* SOFTMAX int8 -> int8 over the last axis (TFLite's float-table kernel);
 * neg_scale_beta = -in_scale * beta as float. */
void kfda_softmax_s8(float neg_scale_beta, float out_scale, int32_t out_zero_point,
                     const int8_t *in, int32_t rows, int32_t depth, int8_t *out);
/* QUANTIZE int8 -> int8 (requantize): multiplier of in_scale / out_scale,
 * ruy rounding. */
void kfda_requantize_s8(const int8_t *in, size_t n, int32_t in_zero_point, int32_t mult,
                        int32_t shift, int32_t out_zero_point, int8_t *out);
/* MAX_POOL_2D int8 (clamped to p->qact_min/max). */
void kfda_max_pool2d_s8(const kfda_conv_params *p, const kfda_shape4 *in_shape, const int8_t *in,
                        const kfda_shape4 *out_shape, int8_t *out);
/* The build's variant picks: *_ref (max_pool2d_s8.c) or *_opt (max_pool2d_s8_opt.c: the
 * window clipped once per pixel, NEON 16 channels per vector). */
void kfda_max_pool2d_s8_ref(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                            const int8_t *in, const kfda_shape4 *out_shape, int8_t *out);
void kfda_max_pool2d_s8_opt(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                            const int8_t *in, const kfda_shape4 *out_shape, int8_t *out);

/* AVERAGE_POOL_2D int8 (sum / count, rounded half away from zero). */
void kfda_average_pool2d_s8(const kfda_conv_params *p, const kfda_shape4 *in_shape,
                            const int8_t *in, const kfda_shape4 *out_shape, int8_t *out);

/* ---- activations, elementwise and shape ops (issue 15; plain reference kernels) ---- */

/* int8 rescale-and-clamp of RELU / RELU6 / RELU_N1_TO_1 (TFLite ReluX) and the
 * rescale of ABS: y = clamp(out_zero_point + MBQM(f(x - in_zero_point), mult, shift)). */
typedef struct {
  int32_t in_zero_point, out_zero_point;
  int32_t mult, shift;   /* in_scale / out_scale (QuantizeMultiplier) */
  int32_t qmin, qmax;    /* RELU family: the clamp on the output scale */
  int32_t needs_rescale; /* ABS: 0 when in_scale == out_scale (no multiplier) */
} kfda_unary_s8_params;

/* HARD_SWISH int8 (TFLite reference_ops::HardSwish, 16-bit fixed point). */
typedef struct {
  int32_t in_zero_point, out_zero_point;
  int32_t reluish_mult, reluish_exponent; /* int16 significand, exponent */
  int32_t out_mult, out_exponent;         /* int16 significand, exponent (<= 0) */
} kfda_hard_swish_s8_params;

/* float32 clamp to [lo, hi] (RELU: hi = +inf), as TFLite: min(max(lo, x), hi). */
void kfda_clamp_f32(const float *in, size_t n, float lo, float hi, float *out);
void kfda_clamp_s8(const kfda_unary_s8_params *p, const int8_t *in, size_t n, int8_t *out);
void kfda_abs_f32(const float *in, size_t n, float *out);
void kfda_abs_s8(const kfda_unary_s8_params *p, const int8_t *in, size_t n, int8_t *out);
/* ROUND: to nearest, ties to even (TFLite RoundToNearest). */
void kfda_round_f32(const float *in, size_t n, float *out);
/* exp, tanh, 1 / (1 + exp(-x)) of our own (activations_f32.c): the same bits on every
 * target (not libm's), within an ulp of the exact value. */
float kfda_expf(float x);
float kfda_tanhf(float x);
float kfda_logisticf(float x);
void kfda_tanh_f32(const float *in, size_t n, float *out);
void kfda_logistic_f32(const float *in, size_t n, float *out);
void kfda_hard_swish_f32(const float *in, size_t n, float *out);
void kfda_hard_swish_s8(const kfda_hard_swish_s8_params *p, const int8_t *in, size_t n,
                        int8_t *out);
/* int8 through a 256-entry table indexed by (uint8_t)x (LOGISTIC, TANH). */
void kfda_lut_s8(const int8_t *table, const int8_t *in, size_t n, int8_t *out);
/* The table of f as TFLite's LUTPopulate builds it in float: q(f(s_in * (x - z_in))). */
void kfda_lut_s8_populate(float in_scale, int32_t in_zero_point, float out_scale,
                          int32_t out_zero_point, float (*f)(float), int8_t *table);

/* Two broadcast inputs (strides and out_dims as ADD/MUL's, KFDA_MAX_DIMS axes). */
/* PRELU: x >= 0 ? x : x * alpha. */
void kfda_prelu_f32(const float *x, const int32_t *x_strides, const float *alpha,
                    const int32_t *alpha_strides, const int32_t *out_dims, float *out);
/* PRELU int8 (TFLite reference_ops::BroadcastPrelu4DSlow): in_offset/in2_offset the
 * -zero points of x and alpha; in_mult/in_shift: x's rescale, in2_mult/in2_shift: the
 * rescale of x * alpha; out_offset the output zero point. */
void kfda_prelu_s8(const kfda_arith_params *p, const int8_t *x, const int32_t *x_strides,
                   const int8_t *alpha, const int32_t *alpha_strides, const int32_t *out_dims,
                   int8_t *out);
/* MINIMUM / MAXIMUM (int8: same quantization everywhere, raw values compared). */
void kfda_minimum_f32(const float *a, const int32_t *a_strides, const float *b,
                      const int32_t *b_strides, const int32_t *out_dims, float *out);
void kfda_maximum_f32(const float *a, const int32_t *a_strides, const float *b,
                      const int32_t *b_strides, const int32_t *out_dims, float *out);
void kfda_minimum_s8(const int8_t *a, const int32_t *a_strides, const int8_t *b,
                     const int32_t *b_strides, const int32_t *out_dims, int8_t *out);
void kfda_maximum_s8(const int8_t *a, const int32_t *a_strides, const int8_t *b,
                     const int32_t *b_strides, const int32_t *out_dims, int8_t *out);
/* SUB with the fused activation; int8 as TFLite: ADD's arithmetic with b's multiplier
 * negated (p->in2_mult < 0). */
void kfda_sub_f32(const kfda_arith_params *p, const float *a, const int32_t *a_strides,
                  const float *b, const int32_t *b_strides, const int32_t *out_dims, float *out);
void kfda_sub_s8(const kfda_arith_params *p, const int8_t *a, const int32_t *a_strides,
                 const int8_t *b, const int32_t *b_strides, const int32_t *out_dims, int8_t *out);

/* TRANSPOSE / STRIDED_SLICE: element gathers over KFDA_MAX_DIMS axes (leading axes of
 * size 1). Output element (i0..i4) reads input element begin + sum(i_k * step_k) where
 * step_k is an element stride of the input (negative for reversed slices). */
void kfda_gather_strided(const uint8_t *in, const int32_t *out_dims, int32_t begin,
                         const int32_t *steps, size_t elem_size, uint8_t *out);
/* SPLIT along one axis, the input being outer x (n_out pieces of inner_bytes each):
 * piece k of every outer row into `out`. */
void kfda_split_piece(const uint8_t *in, size_t outer, size_t inner_bytes, int32_t n_out, int32_t k,
                      uint8_t *out);
#endif /* KFDA_KERNELS_H_ */
