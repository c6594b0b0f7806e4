/* depthwise_conv_2d.c - DEPTHWISE_CONV_2D, float32 and int8 (Prepare: conv_2d.c). */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_conv_op_params);

/* Channel slices (op_util.h) on a map too small for a row split: the units are
 * input channels (output channel c reads input channel c / depth_multiplier), 4 at a time.
 * A slice is the same kernel on the slice's input channels and filter taps, both gathered
 * into the thread's scratch (the input not for one pixel), its output there too (not for
 * one pixel: written in place) until copied back. */
static int32_t channel_slices(const kfda_model *m, const kfda_conv_op_params *p) {
  return kfda_channel_slices(m, &p->out_shape, p->in_shape.c, 4);
}

static size_t align16(size_t bytes) {
  return (bytes + KFDA_ARENA_ALIGN - 1) / KFDA_ARENA_ALIGN * KFDA_ARENA_ALIGN;
}

/* The thread's scratch: gathered input, gathered filter, then the output, 16-aligned. */
static void slice_buffers(const kfda_conv_op_params *p, int32_t slices, size_t *in_bytes,
                          size_t *filter_bytes, size_t *out_bytes) {
  const size_t value_bytes = p->is_int8 ? 1u : 4u;
  const size_t in_pixels = (size_t)p->in_shape.n * p->in_shape.h * p->in_shape.w;
  const size_t out_pixels = (size_t)p->out_shape.n * p->out_shape.h * p->out_shape.w;
  const size_t taps = (size_t)p->filter_shape.h * (size_t)p->filter_shape.w;
  const size_t channels = (size_t)kfda_slice_max_units(p->in_shape.c, 4, slices);
  const size_t outputs = channels * (size_t)p->conv.depth_multiplier;
  *in_bytes = in_pixels > 1 ? align16(in_pixels * channels * value_bytes) : 0;
  *filter_bytes = align16(taps * outputs * value_bytes);
  *out_bytes = out_pixels > 1 ? align16(out_pixels * outputs * value_bytes) : 0;
}

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  kfda_conv_op_params *p = (kfda_conv_op_params *)params;
  const kfda_status st = kfda_conv_prepare(ctx, p, 1);
  const int32_t slices = st == KFDA_OK ? channel_slices(ctx->m, p) : 0;
  size_t in_bytes, filter_bytes, out_bytes;
  if (slices == 0) return st;
  slice_buffers(p, slices, &in_bytes, &filter_bytes, &out_bytes);
  return kfda_op_thread_scratch(ctx, in_bytes + filter_bytes + out_bytes);
}

static void eval_rows(const kfda_model *m, const kfda_op *op, const void *params, int32_t row_begin,
                      int32_t row_end, void *scratch) {
  const kfda_conv_op_params *p = (const kfda_conv_op_params *)params;
  (void)scratch; /* none */
  if (p->is_int8)
    kfda_depthwise_conv2d_s8(&p->conv, &p->requant, &p->in_shape, (const int8_t *)KFDA_IN(0),
                             &p->filter_shape, (const int8_t *)p->filter, (const int32_t *)p->bias,
                             &p->out_shape, (int8_t *)KFDA_OUT, row_begin, row_end);
  else
    kfda_depthwise_conv2d_f32(&p->conv, &p->in_shape, (const float *)KFDA_IN(0), &p->filter_shape,
                              (const float *)p->filter, (const float *)p->bias, &p->out_shape,
                              (float *)KFDA_OUT, row_begin, row_end);
}

/* Input channels of slices [slice_begin, slice_end) and their outputs. */
static void eval_slices(const kfda_model *m, const kfda_op *op, const void *params,
                        int32_t slice_begin, int32_t slice_end, void *scratch) {
  const kfda_conv_op_params *p = (const kfda_conv_op_params *)params;
  const int32_t slices = m->num_threads, cin = p->in_shape.c, cout = p->out_shape.c;
  const int32_t dm = p->conv.depth_multiplier, value_bytes = p->is_int8 ? 1 : 4;
  const int32_t in_pixels = p->in_shape.n * p->in_shape.h * p->in_shape.w;
  const int32_t out_pixels = p->out_shape.n * p->out_shape.h * p->out_shape.w;
  const int32_t rows = p->out_shape.n * p->out_shape.h;
  uint8_t *in = KFDA_IN(0), *out = KFDA_OUT;
  size_t in_bytes, filter_bytes, out_bytes;
  uint8_t *in_slice = (uint8_t *)scratch, *filter_slice, *out_slice;
  int32_t s;
  slice_buffers(p, slices, &in_bytes, &filter_bytes, &out_bytes);
  filter_slice = in_slice + in_bytes;
  out_slice = filter_slice + filter_bytes;
  for (s = slice_begin; s < slice_end; ++s) {
    const int32_t i0 = kfda_slice_begin(cin, 4, slices, s);
    const int32_t i1 = kfda_slice_begin(cin, 4, slices, s + 1);
    const int32_t c0 = i0 * dm, c1 = i1 * dm;
    kfda_shape4 in_shape = p->in_shape, filter_shape = p->filter_shape, out_shape = p->out_shape;
    const uint8_t *slice_in = in + (size_t)i0 * (size_t)value_bytes;
    uint8_t *slice_out = out_bytes > 0 ? out_slice : out + (size_t)c0 * (size_t)value_bytes;
    if (i0 == i1) continue;
    in_shape.c = i1 - i0;
    filter_shape.c = out_shape.c = c1 - c0;
    if (in_bytes > 0) {
      kfda_gather_channel_slice(in, in_pixels, i0, i1, cin, value_bytes, in_slice);
      slice_in = in_slice;
    }
    kfda_gather_channel_slice(p->filter, p->filter_shape.h * p->filter_shape.w, c0, c1, cout,
                              value_bytes, filter_slice);
    if (p->is_int8) {
      kfda_requant requant = p->requant;
      requant.mult += c0;
      requant.shift += c0;
      kfda_depthwise_conv2d_s8(&p->conv, &requant, &in_shape, (const int8_t *)slice_in,
                               &filter_shape, (const int8_t *)filter_slice,
                               p->bias ? (const int32_t *)p->bias + c0 : NULL, &out_shape,
                               (int8_t *)slice_out, 0, rows);
    } else {
      kfda_depthwise_conv2d_f32(
          &p->conv, &in_shape, (const float *)slice_in, &filter_shape, (const float *)filter_slice,
          p->bias ? (const float *)p->bias + c0 : NULL, &out_shape, (float *)slice_out, 0, rows);
    }
    if (out_bytes > 0)
      kfda_copy_channel_slice(out_slice, out_pixels, c0, c1, cout, value_bytes, out);
  }
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_conv_op_params *p = (const kfda_conv_op_params *)params;
  if (channel_slices(m, p) > 0)
    kfda_op_run_rows(m, op, params, m->num_threads, eval_slices);
  else
    kfda_op_run_rows(m, op, params, p->out_shape.n * p->out_shape.h, eval_rows);
}

/* options: DepthwiseConv2DOptions (2) */
const kfda_op_registration kfda_op_depthwise_conv_2d = {2, 0, sizeof(kfda_conv_op_params), prepare,
                                                        eval};
