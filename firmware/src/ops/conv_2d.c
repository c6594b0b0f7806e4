/* conv_2d.c - CONV_2D, float32 and int8 (per-channel requantisation); its Prepare also
 * serves DEPTHWISE_CONV_2D (depthwise_conv_2d.c). */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_conv_op_params);

/* Channel slices (op_util.h) of an ungrouped CONV_2D on a map too small for a row split,
 * 4 channels at a time (the optimized kernels' channel block). */
static int32_t conv_channel_slices(const kfda_model *m, const kfda_conv_op_params *p) {
  if (p->filter_shape.c != p->in_shape.c) return 0;
  return kfda_channel_slices(m, &p->out_shape, p->out_shape.c, 4);
}

/* A slice's output in the thread's scratch, 16-aligned (none for one output pixel: the
 * slice's channels of that pixel are contiguous in the output). */
static size_t conv_slice_buffer_bytes(const kfda_conv_op_params *p, int32_t slices) {
  const size_t pixels = (size_t)p->out_shape.n * (size_t)p->out_shape.h * (size_t)p->out_shape.w;
  const size_t bytes =
      (size_t)kfda_slice_max_units(p->out_shape.c, 4, slices) * (p->is_int8 ? 1u : 4u) * pixels;
  return pixels > 1 ? (bytes + KFDA_ARENA_ALIGN - 1) / KFDA_ARENA_ALIGN * KFDA_ARENA_ALIGN : 0;
}

kfda_status kfda_conv_prepare(kfda_op_context *ctx, kfda_conv_op_params *p, int depthwise) {
  kfda_conv_params *c = &p->conv;
  const kfda_op *op = ctx->op;
  const kfda_tensor *in, *f, *out;
  int32_t oh, ow, cout, padding, activation;
  NEED(op->n_in >= 2 && kfda_has_input(op, 0) && kfda_has_input(op, 1), KFDA_ERR_MODEL,
       "missing input");
  if (depthwise) { /* DepthwiseConv2DOptions */
    NEED(kfda_opt_u8(ctx, 0, 0, &padding) == 0 && kfda_opt_i32(ctx, 1, 1, &c->stride_w) == 0 &&
             kfda_opt_i32(ctx, 2, 1, &c->stride_h) == 0 &&
             kfda_opt_i32(ctx, 3, 1, &c->depth_multiplier) == 0 &&
             kfda_opt_u8(ctx, 4, 0, &activation) == 0 && kfda_opt_i32(ctx, 5, 1, &c->dil_w) == 0 &&
             kfda_opt_i32(ctx, 6, 1, &c->dil_h) == 0,
         KFDA_ERR_MODEL, "bad options");
  } else { /* Conv2DOptions */
    NEED(kfda_opt_u8(ctx, 0, 0, &padding) == 0 && kfda_opt_i32(ctx, 1, 1, &c->stride_w) == 0 &&
             kfda_opt_i32(ctx, 2, 1, &c->stride_h) == 0 &&
             kfda_opt_u8(ctx, 3, 0, &activation) == 0 && kfda_opt_i32(ctx, 4, 1, &c->dil_w) == 0 &&
             kfda_opt_i32(ctx, 5, 1, &c->dil_h) == 0,
         KFDA_ERR_MODEL, "bad options");
  }
  in = IN(0);
  f = IN(1);
  out = OUT;
  NEED(in->ndim == 4 && f->ndim == 4 && out->ndim == 4, KFDA_ERR_SHAPE,
       "input, filter and output must be 4-D");
  NEED((in->type == KFDA_FLOAT32 && f->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
           (in->type == KFDA_INT8 && f->type == KFDA_INT8 && out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  NEED(f->is_const, KFDA_ERR_UNSUPPORTED, "filter must be constant");
  NEED(kfda_act_range(activation, &c->act_min, &c->act_max, &c->qact_min, &c->qact_max) == 0,
       KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
  p->is_int8 = in->type == KFDA_INT8;
  if (p->is_int8) {
    kfda_status st = kfda_check_int8_tensor(ctx, in, "input");
    if (st == KFDA_OK) st = kfda_check_int8_tensor(ctx, f, "filter");
    if (st == KFDA_OK) st = kfda_check_int8_tensor(ctx, out, "output");
    if (st != KFDA_OK) return st;
    NEED(kfda_qact_range(activation, out, &c->qact_min, &c->qact_max) == 0, KFDA_ERR_UNSUPPORTED,
         "unsupported fused activation");
    p->requant.in_offset = -in->zero_point;
    p->requant.out_offset = out->zero_point;
    p->requant.act_min = c->qact_min;
    p->requant.act_max = c->qact_max;
  }
  NEED(in->dims[3] > 0 && f->dims[0] > 0 && f->dims[1] > 0 && f->dims[2] > 0 && f->dims[3] > 0,
       KFDA_ERR_SHAPE, "zero channels or an empty filter");
  if (depthwise) {
    cout = f->dims[3];
    NEED(f->dims[0] == 1 && c->depth_multiplier > 0 &&
             (int64_t)in->dims[3] * c->depth_multiplier == cout,
         KFDA_ERR_SHAPE, "filter must be [1, fh, fw, cin * depth_multiplier]");
  } else {
    cout = f->dims[0];
    NEED(f->dims[3] > 0 && in->dims[3] % f->dims[3] == 0 && cout % (in->dims[3] / f->dims[3]) == 0,
         KFDA_ERR_SHAPE, "filter depth does not match input channels");
  }
  NEED(
      kfda_window(in->dims[1], f->dims[1], c->stride_h, c->dil_h, padding, &oh, &c->pad_h) == 0 &&
          kfda_window(in->dims[2], f->dims[2], c->stride_w, c->dil_w, padding, &ow, &c->pad_w) == 0,
      KFDA_ERR_SHAPE, "bad window (filter/stride/dilation/padding)");
  NEED(out->dims[0] == in->dims[0] && out->dims[1] == oh && out->dims[2] == ow &&
           out->dims[3] == cout,
       KFDA_ERR_SHAPE, "output shape does not match");
  if (kfda_has_input(op, 2)) {
    const kfda_tensor *b = IN(2);
    NEED(b->type == (p->is_int8 ? KFDA_INT32 : KFDA_FLOAT32) && b->is_const &&
             kfda_elements(b) == (size_t)cout,
         KFDA_ERR_SHAPE, "bias must be constant [channels_out] (float32, or int32 for int8)");
    p->bias = b->data;
  }
  c->filter_h = f->dims[1];
  c->filter_w = f->dims[2];
  p->in_shape = kfda_shape4_of(in);
  p->filter_shape = kfda_shape4_of(f);
  p->out_shape = kfda_shape4_of(out);
  p->filter = f->data;
  if (p->is_int8) {
    int32_t *mult;
    NEED(f->n_ch_scales == 0 || f->n_ch_scales == (uint32_t)cout, KFDA_ERR_SHAPE,
         "per-channel scales do not match channels_out");
    mult = (int32_t *)kfda_op_persist(ctx, 2u * 4u * (size_t)cout); /* multipliers + shifts */
    {
      /* the int32 accumulator: terms per output times their bound, plus the bias */
      const int64_t terms = (int64_t)f->dims[1] * f->dims[2] * (depthwise ? 1 : f->dims[3]);
      const int64_t acc_max =
          terms * KFDA_S8_TERM_BOUND + (kfda_has_input(op, 2) ? kfda_bias_max_s32(IN(2)) : 0);
      int32_t ch, sig, shift;
      NEED(acc_max <= INT32_MAX, KFDA_ERR_UNSUPPORTED,
           "int8 accumulator (filter size and bias) may overflow int32");
      for (ch = 0; ch < cout; ++ch) {
        const float fs = f->ch_scales ? kfda_rd_f32(f->ch_scales + 4 * ch) : f->scale;
        const double eff = (double)in->scale * (double)fs / (double)out->scale;
        NEED(kfda_requant_multiplier(eff, acc_max, 128, &sig, &shift) == 0, KFDA_ERR_UNSUPPORTED,
             "int8 requantisation out of range (input * filter / output scale)");
        if (mult) {
          mult[ch] = sig;
          mult[cout + ch] = shift;
        }
      }
    }
    p->requant.mult = mult;
    p->requant.shift = mult ? mult + cout : NULL;
  }
  if (!depthwise) {
    size_t kernel_bytes = 0;
    const int32_t slices = conv_channel_slices(ctx->m, p);
#if !defined(KFDA_KERNELS_REF)
    if (p->is_int8 && f->dims[3] == in->dims[3]) /* the optimized kernel's im2col, per thread */
      kernel_bytes = kfda_conv2d_s8_scratch_bytes(&p->filter_shape);
#endif
    if (slices > 0) /* each thread's slice output, then its kernel scratch */
      return kfda_op_thread_scratch(ctx, conv_slice_buffer_bytes(p, slices) + kernel_bytes);
    if (kernel_bytes > 0) return kfda_op_thread_scratch(ctx, kernel_bytes);
  }
  return KFDA_OK;
}

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  return kfda_conv_prepare(ctx, (kfda_conv_op_params *)params, 0);
}

static void eval_rows(const kfda_model *m, const kfda_op *op, const void *params, int32_t row_begin,
                      int32_t row_end, void *scratch) {
  const kfda_conv_op_params *p = (const kfda_conv_op_params *)params;
  if (p->is_int8)
    kfda_conv2d_s8(&p->conv, &p->requant, &p->in_shape, (const int8_t *)KFDA_IN(0),
                   &p->filter_shape, (const int8_t *)p->filter, (const int32_t *)p->bias,
                   &p->out_shape, (int8_t *)KFDA_OUT, scratch, row_begin, row_end);
  else
    kfda_conv2d_f32(&p->conv, &p->in_shape, (const float *)KFDA_IN(0), &p->filter_shape,
                    (const float *)p->filter, (const float *)p->bias, &p->out_shape,
                    (float *)KFDA_OUT, row_begin, row_end);
}

/* Output channels of slices [slice_begin, slice_end): the kernel over all rows with the
 * slice's filters, bias and requantisation, so each channel's arithmetic is the same. */
static void eval_slices(const kfda_model *m, const kfda_op *op, const void *params,
                        int32_t slice_begin, int32_t slice_end, void *scratch) {
  const kfda_conv_op_params *p = (const kfda_conv_op_params *)params;
  const int32_t cout = p->out_shape.c, slices = m->num_threads;
  const int32_t pixels = p->out_shape.n * p->out_shape.h * p->out_shape.w;
  const int32_t rows = p->out_shape.n * p->out_shape.h, elem_bytes = p->is_int8 ? 1 : 4;
  const size_t filter_values = (size_t)p->filter_shape.h * p->filter_shape.w * p->filter_shape.c;
  uint8_t *buffer = (uint8_t *)scratch, *out = KFDA_OUT;
  /* NULL when there is no scratch (one-pixel float output) */
  uint8_t *kernel_scratch = buffer ? buffer + conv_slice_buffer_bytes(p, slices) : NULL;
  int32_t s;
  for (s = slice_begin; s < slice_end; ++s) {
    const int32_t c0 = kfda_slice_begin(cout, 4, slices, s);
    const int32_t c1 = kfda_slice_begin(cout, 4, slices, s + 1);
    uint8_t *target = pixels > 1 ? buffer : out + (size_t)c0 * (size_t)elem_bytes;
    kfda_shape4 filter_shape = p->filter_shape, out_shape = p->out_shape;
    if (c0 == c1) continue;
    filter_shape.n = out_shape.c = c1 - c0;
    if (p->is_int8) {
      kfda_requant requant = p->requant;
      requant.mult += c0;
      requant.shift += c0;
      kfda_conv2d_s8(&p->conv, &requant, &p->in_shape, (const int8_t *)KFDA_IN(0), &filter_shape,
                     (const int8_t *)p->filter + (size_t)c0 * filter_values,
                     p->bias ? (const int32_t *)p->bias + c0 : NULL, &out_shape, (int8_t *)target,
                     kernel_scratch, 0, rows);
    } else {
      kfda_conv2d_f32(&p->conv, &p->in_shape, (const float *)KFDA_IN(0), &filter_shape,
                      (const float *)p->filter + (size_t)c0 * filter_values,
                      p->bias ? (const float *)p->bias + c0 : NULL, &out_shape, (float *)target, 0,
                      rows);
    }
    if (pixels > 1) kfda_copy_channel_slice(buffer, pixels, c0, c1, cout, elem_bytes, out);
  }
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_conv_op_params *p = (const kfda_conv_op_params *)params;
  const int32_t slices = conv_channel_slices(m, p);
  if (slices > 0)
    kfda_op_run_rows(m, op, params, slices, eval_slices);
  else
    kfda_op_run_rows(m, op, params, p->out_shape.n * p->out_shape.h, eval_rows);
}

/* options: Conv2DOptions (1) */
const kfda_op_registration kfda_op_conv_2d = {1, 0, sizeof(kfda_conv_op_params), prepare, eval};
