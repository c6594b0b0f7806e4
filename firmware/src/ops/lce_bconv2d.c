/* lce_bconv2d.c - LceBconv2d: binary convolution of bitpacked input and filter, with
 * LCE's fused output transform (float32/int8 output) or thresholds (bitpacked output). */
#include "op_util.h"

typedef struct {
  kfda_bconv_params bconv;
  kfda_shape4 in_shape, filter_shape, out_shape;
  const int32_t *filter;
  const float *out_mul, *out_bias; /* float/int8 output: fused transform (persistent) */
  const float *raw_mul;            /* the op's post_activation_multiplier (same-zero) */
  const int32_t *thresholds;       /* bitpacked output */
} lce_bconv2d_params;
KFDA_OP_PARAMS_FIT(lce_bconv2d_params);

static int32_t channel_slices(const kfda_model *m, const lce_bconv2d_params *p);

/* Whether prepare repacks the filter for the optimized kernel (a function of the shape
 * alone: the plan and the load agree). */
static int repacks(const lce_bconv2d_params *p) {
#if defined(KFDA_KERNELS_REF)
  (void)p;
  return 0;
#else
  return p->bconv.groups == 1 && kfda_lce_bconv2d_repacked_bytes(&p->filter_shape) > 0;
#endif
}

/* Channels per slice unit: the bitpacked output's words, else 4 channels (the kernel's
 * group), 16 when the filter is repacked (its blocks: a slice starts on one). */
static int32_t slice_align(const lce_bconv2d_params *p) {
  if (p->bconv.output_kind == KFDA_BCONV_OUT_PACKED) return 1;
  return repacks(p) ? 16 : 4;
}
static size_t slice_buffer_bytes(const lce_bconv2d_params *p, int32_t slices);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  lce_bconv2d_params *p = (lce_bconv2d_params *)params;
  kfda_bconv_params *b = &p->bconv;
  const kfda_op *op = ctx->op;
  const kfda_tensor *in, *f, *out;
  kfda_flex root;
  int64_t channels_in;
  int32_t oh, ow, cout, groups, in_words, K, cin_per_group, activation = KFDA_ACT_NONE;
  int32_t pad_value = 0;
  float act_min, act_max;
  int32_t act_qmin, act_qmax;
  NEED(op->n_in >= 2 && kfda_has_input(op, 0) && kfda_has_input(op, 1), KFDA_ERR_MODEL,
       "missing input");
  NEED(kfda_custom_map(ctx, &root) == 0, KFDA_ERR_MODEL, "bad custom options");
  b->dil_h = b->dil_w = 1;
  NEED(kfda_flex_opt(&root, "stride_height", 1, &b->stride_h) >= 0, KFDA_ERR_MODEL,
       "bad option stride_height");
  NEED(kfda_flex_opt(&root, "stride_width", 1, &b->stride_w) >= 0, KFDA_ERR_MODEL,
       "bad option stride_width");
  NEED(kfda_flex_opt(&root, "dilation_height_factor", 0, &b->dil_h) >= 0, KFDA_ERR_MODEL,
       "bad option dilation_height_factor");
  NEED(kfda_flex_opt(&root, "dilation_width_factor", 0, &b->dil_w) >= 0, KFDA_ERR_MODEL,
       "bad option dilation_width_factor");
  NEED(kfda_flex_opt(&root, "padding", 1, &b->padding) >= 0, KFDA_ERR_MODEL, "bad option padding");
  NEED(kfda_flex_opt(&root, "pad_values", 0, &pad_value) >= 0, KFDA_ERR_MODEL,
       "bad option pad_values");
  NEED(kfda_flex_opt(&root, "fused_activation_function", 0, &activation) >= 0, KFDA_ERR_MODEL,
       "bad option fused_activation_function");
  NEED(kfda_flex_opt_i64(&root, "channels_in", &channels_in) > 0 && channels_in > 0 &&
           channels_in < (1 << 24),
       KFDA_ERR_MODEL, "bad option channels_in");
  b->channels_in = (int32_t)channels_in;
  NEED(pad_value == 0 || pad_value == 1, KFDA_ERR_MODEL, "pad_values must be 0 or 1");
  b->pad_value = pad_value;
  in = IN(0);
  f = IN(1);
  out = OUT;
  NEED(in->ndim == 4 && f->ndim == 4 && out->ndim == 4, KFDA_ERR_SHAPE,
       "input, filter and output must be 4-D");
  NEED(in->type == KFDA_INT32 && f->type == KFDA_INT32, KFDA_ERR_UNSUPPORTED,
       "input and filter must be bitpacked (int32)");
  NEED(f->is_const, KFDA_ERR_UNSUPPORTED, "filter must be constant");
  in_words = in->dims[3];
  NEED(in_words == KFDA_PACKED_WORDS(b->channels_in), KFDA_ERR_SHAPE,
       "input words do not match channels_in");
  cout = f->dims[0];
  NEED(cout > 0 && f->dims[1] > 0 && f->dims[2] > 0 && f->dims[3] > 0, KFDA_ERR_SHAPE,
       "empty filter");
  if (f->dims[3] == in_words) {
    groups = 1;
  } else {
    NEED(in_words % f->dims[3] == 0, KFDA_ERR_SHAPE, "filter depth does not divide input");
    groups = in_words / f->dims[3];
    NEED(b->channels_in % groups == 0 && (b->channels_in / groups) % 32 == 0 && cout % groups == 0,
         KFDA_ERR_SHAPE, "bad grouped convolution");
  }
  cin_per_group = b->channels_in / groups;
  NEED((int64_t)f->dims[1] * f->dims[2] * cin_per_group < (1 << 28), KFDA_ERR_SHAPE,
       "receptive field too large");
  K = f->dims[1] * f->dims[2] * cin_per_group;
  NEED(kfda_window(in->dims[1], f->dims[1], b->stride_h, b->dil_h, b->padding, &oh, &b->pad_h) ==
               0 &&
           kfda_window(in->dims[2], f->dims[2], b->stride_w, b->dil_w, b->padding, &ow,
                       &b->pad_w) == 0,
       KFDA_ERR_SHAPE, "bad window (filter/stride/dilation/padding)");
  NEED(kfda_act_range(activation, &act_min, &act_max, &act_qmin, &act_qmax) == 0,
       KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
  NEED(out->dims[0] == in->dims[0] && out->dims[1] == oh && out->dims[2] == ow, KFDA_ERR_SHAPE,
       "output shape does not match");
  if (out->type == KFDA_INT32) {
    const kfda_tensor *th;
    b->output_kind = KFDA_BCONV_OUT_PACKED;
    NEED(out->dims[3] == KFDA_PACKED_WORDS(cout), KFDA_ERR_SHAPE, "output words mismatch");
    NEED(op->n_in >= 5 && kfda_has_input(op, 4), KFDA_ERR_MODEL, "missing thresholds");
    th = IN(4);
    NEED(th->type == KFDA_INT32 && th->is_const && th->ndim == 1 && th->dims[0] == cout,
         KFDA_ERR_SHAPE, "thresholds must be constant int32 [channels_out]");
    NEED(!(b->padding == KFDA_PADDING_SAME && b->pad_value == 0), KFDA_ERR_UNSUPPORTED,
         "bitpacked output needs valid or same-one padding");
    p->thresholds = (const int32_t *)th->data;
    b->clamp_min = act_qmin;
    b->clamp_max = act_qmax;
  } else {
    const kfda_tensor *mu, *bi;
    int64_t nmin, nmax;
    float *transform;
    NEED(out->type == KFDA_FLOAT32 || out->type == KFDA_INT8, KFDA_ERR_UNSUPPORTED,
         "output must be float32, int8 or bitpacked");
    b->output_kind = out->type == KFDA_FLOAT32 ? KFDA_BCONV_OUT_F32 : KFDA_BCONV_OUT_S8;
    NEED(out->dims[3] == cout, KFDA_ERR_SHAPE, "output channels mismatch");
    NEED(op->n_in >= 4 && kfda_has_input(op, 2) && kfda_has_input(op, 3), KFDA_ERR_MODEL,
         "missing multiplier/bias");
    mu = IN(2);
    bi = IN(3);
    NEED(mu->type == KFDA_FLOAT32 && bi->type == KFDA_FLOAT32 && mu->is_const && bi->is_const &&
             mu->ndim == 1 && bi->ndim == 1 && mu->dims[0] == cout && bi->dims[0] == cout,
         KFDA_ERR_SHAPE, "multiplier/bias must be constant float32 [channels_out]");
    NEED(b->output_kind == KFDA_BCONV_OUT_F32 || out->scale > 0.0f, KFDA_ERR_MODEL,
         "int8 output needs a scale");
    if (b->output_kind == KFDA_BCONV_OUT_S8) {
      const kfda_status st = kfda_check_int8_tensor(ctx, out, "output");
      if (st != KFDA_OK) return st;
    }
    if (b->padding == KFDA_PADDING_SAME && b->pad_value == 0)
      NEED(b->output_kind == KFDA_BCONV_OUT_F32 && activation == KFDA_ACT_NONE,
           KFDA_ERR_UNSUPPORTED, "same-zero padding needs float output and no fused activation");
    /* clamp of 2*accum (LCE's fused back-transformation) */
    nmin = act_qmin > -K ? act_qmin : -K;
    nmax = act_qmax < K ? act_qmax : K;
    b->clamp_min = (int32_t)(K - nmax);
    b->clamp_max = (int32_t)(K - nmin);
    p->raw_mul = (const float *)mu->data;
    transform = (float *)kfda_op_persist(ctx, 2u * 4u * (size_t)cout); /* multiplier + bias */
    if (transform) {
      const int s8 = b->output_kind == KFDA_BCONV_OUT_S8;
      kfda_lce_bconv2d_output_transform(
          (const float *)mu->data, (const float *)bi->data, cout, K, s8 ? (double)out->scale : 1.0,
          s8 ? (double)out->zero_point : 0.0, transform, transform + cout);
    }
    p->out_mul = transform;
    p->out_bias = transform ? transform + cout : NULL;
  }
  b->receptive_field_bits = K;
  b->groups = groups;
  p->in_shape = kfda_shape4_of(in);
  p->filter_shape = kfda_shape4_of(f);
  p->out_shape = kfda_shape4_of(out);
  p->filter = (const int32_t *)f->data;
#if KFDA_BCONV_REPACKED
  b->filter_repacked = NULL;
  if (repacks(p)) { /* the optimized kernel's filter layout, once (NEON builds) */
    int32_t *repacked =
        (int32_t *)kfda_op_persist(ctx, kfda_lce_bconv2d_repacked_bytes(&p->filter_shape));
    if (repacked) kfda_lce_bconv2d_repack(&p->filter_shape, p->filter, repacked);
    b->filter_repacked = repacked;
  }
  b->pad_counts = NULL;
  if (repacks(p) && kfda_lce_bconv2d_inside_run(b, &p->in_shape, &p->filter_shape, &p->out_shape,
                                                &b->inside_tap0, &b->inside_words)) {
    /* a 1x1 output map: its padded taps' popcounts, once */
    int32_t *counts = (int32_t *)kfda_op_persist(ctx, 4u * (size_t)cout);
    if (counts)
      kfda_lce_bconv2d_pad_counts(&p->filter_shape, p->filter, b->inside_tap0, b->inside_words,
                                  counts);
    b->pad_counts = counts;
  }
#endif
  {
    size_t kernel_bytes = 0; /* the optimized kernel's scratch, one per thread */
    const int32_t slices = channel_slices(ctx->m, p);
#if !defined(KFDA_KERNELS_REF)
    if (groups == 1)
      kernel_bytes = kfda_lce_bconv2d_scratch_bytes(b, &p->filter_shape, &p->out_shape);
#endif
    if (slices > 0) /* each thread's slice output, then its kernel scratch */
      return kfda_op_thread_scratch(ctx, slice_buffer_bytes(p, slices) + kernel_bytes);
    if (kernel_bytes > 0) return kfda_op_thread_scratch(ctx, kernel_bytes);
  }
  return KFDA_OK;
}

static void eval_rows(const kfda_model *m, const kfda_op *op, const void *params, int32_t row_begin,
                      int32_t row_end, void *scratch) {
  const lce_bconv2d_params *p = (const lce_bconv2d_params *)params;
  kfda_lce_bconv2d(&p->bconv, &p->in_shape, (const int32_t *)KFDA_IN(0), &p->filter_shape,
                   p->filter, p->out_mul, p->out_bias, p->thresholds, p->raw_mul, &p->out_shape,
                   KFDA_OUT, scratch, row_begin, row_end);
}

/* Channel slices (op_util.h) of an ungrouped LceBconv2d on a map too small for a row
 * split, or with fewer than two rows per thread that the threads do not divide; the
 * units are channels (slice_align at a time) or the words of a bitpacked output. */
static int32_t channel_slices(const kfda_model *m, const lce_bconv2d_params *p) {
  const int32_t threads = m->num_threads, rows = p->out_shape.n * p->out_shape.h;
  if (p->bconv.groups != 1) return 0;
  /* a 7x7 map over 4 threads: rows 2/2/2/1 would leave three a seventh over an even
   * share (small_bnn at 4 threads: 0.285x -> 0.273x of one thread's instructions) */
  if (threads > 1 && rows % threads != 0 && rows < 2 * threads &&
      p->out_shape.c >= threads * slice_align(p))
    return threads;
  return kfda_channel_slices(m, &p->out_shape, p->out_shape.c, slice_align(p));
}

static int32_t unit_bytes(const lce_bconv2d_params *p) {
  return p->bconv.output_kind == KFDA_BCONV_OUT_S8 ? 1 : 4;
}

/* A slice's output in the thread's scratch, 16-aligned (none for one output pixel: the
 * slice's channels of that pixel are contiguous in the output). */
static size_t slice_buffer_bytes(const lce_bconv2d_params *p, int32_t slices) {
  const size_t pixels = (size_t)p->out_shape.n * (size_t)p->out_shape.h * (size_t)p->out_shape.w;
  const size_t bytes = (size_t)kfda_slice_max_units(p->out_shape.c, slice_align(p), slices) *
                       (size_t)unit_bytes(p) * pixels;
  return pixels > 1 ? (bytes + KFDA_ARENA_ALIGN - 1) / KFDA_ARENA_ALIGN * KFDA_ARENA_ALIGN : 0;
}

/* Output channels of slices [slice_begin, slice_end): the kernel over all rows with the
 * slice's filters and per-channel transform, so each channel's arithmetic is the same. */
static void eval_slices(const kfda_model *m, const kfda_op *op, const void *params,
                        int32_t slice_begin, int32_t slice_end, void *scratch) {
  const lce_bconv2d_params *p = (const lce_bconv2d_params *)params;
  const int packed = p->bconv.output_kind == KFDA_BCONV_OUT_PACKED;
  const int32_t units = p->out_shape.c, align = slice_align(p), slices = m->num_threads;
  const int32_t pixels = p->out_shape.n * p->out_shape.h * p->out_shape.w;
  const int32_t cout = p->filter_shape.n, ubytes = unit_bytes(p);
  const size_t filter_words = (size_t)p->filter_shape.h * p->filter_shape.w * p->filter_shape.c;
  uint8_t *buffer = (uint8_t *)scratch, *out = KFDA_OUT;
  /* NULL when there is no scratch (reference kernels, one output pixel) */
  uint8_t *kernel_scratch = buffer ? buffer + slice_buffer_bytes(p, slices) : NULL;
  int32_t s;
  for (s = slice_begin; s < slice_end; ++s) {
    const int32_t u0 = kfda_slice_begin(units, align, slices, s);
    const int32_t u1 = kfda_slice_begin(units, align, slices, s + 1);
    const int32_t c0 = packed ? 32 * u0 : u0;
    const int32_t c1 = packed ? (32 * u1 < cout ? 32 * u1 : cout) : u1;
    kfda_shape4 filter_shape = p->filter_shape, out_shape = p->out_shape;
    kfda_bconv_params bconv = p->bconv; /* c0 starts a block of the repacked filter */
    if (u0 == u1) continue;
#if KFDA_BCONV_REPACKED
    if (bconv.filter_repacked) bconv.filter_repacked += (size_t)c0 * filter_words;
    if (bconv.pad_counts) bconv.pad_counts += c0;
#endif
    filter_shape.n = c1 - c0;
    out_shape.c = u1 - u0;
    kfda_lce_bconv2d(&bconv, &p->in_shape, (const int32_t *)KFDA_IN(0), &filter_shape,
                     p->filter + (size_t)c0 * filter_words, p->out_mul ? p->out_mul + c0 : NULL,
                     p->out_bias ? p->out_bias + c0 : NULL,
                     p->thresholds ? p->thresholds + c0 : NULL, p->raw_mul ? p->raw_mul + c0 : NULL,
                     &out_shape, pixels > 1 ? buffer : out + (size_t)u0 * (size_t)ubytes,
                     kernel_scratch, 0, p->out_shape.n * p->out_shape.h);
    if (pixels > 1) kfda_copy_channel_slice(buffer, pixels, u0, u1, units, ubytes, out);
  }
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const lce_bconv2d_params *p = (const lce_bconv2d_params *)params;
  const int32_t slices = channel_slices(m, p);
  if (slices > 0)
    kfda_op_run_rows(m, op, params, slices, eval_slices);
  else
    kfda_op_run_rows(m, op, params, p->out_shape.n * p->out_shape.h, eval_rows);
}

const kfda_op_registration kfda_op_lce_bconv2d = {0, 0, sizeof(lce_bconv2d_params), prepare, eval};
