/* fully_connected.c - FULLY_CONNECTED, float32 and int8 (per-tensor requantisation). */
#include "op_util.h"

typedef struct {
  float act_min, act_max; /* float32 */
  kfda_requant requant;   /* int8: mult/shift point at out_mult/out_shift below */
  int32_t out_mult, out_shift;
  int32_t batches, depth, units;
  const void *weights, *bias; /* constant data; bias may be NULL */
  uint8_t is_int8;
} fully_connected_params;
KFDA_OP_PARAMS_FIT(fully_connected_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  fully_connected_params *p = (fully_connected_params *)params;
  const kfda_op *op = ctx->op;
  const kfda_tensor *in, *w, *out;
  int32_t activation, weights_format, qmin, qmax;
  size_t n;
  NEED(op->n_in >= 2 && kfda_has_input(op, 0) && kfda_has_input(op, 1), KFDA_ERR_MODEL,
       "missing input");
  NEED(kfda_opt_u8(ctx, 0, 0, &activation) == 0 && kfda_opt_u8(ctx, 1, 0, &weights_format) == 0,
       KFDA_ERR_MODEL, "bad options");
  NEED(weights_format == 0, KFDA_ERR_UNSUPPORTED, "shuffled weights format");
  in = IN(0);
  w = IN(1);
  out = OUT;
  NEED((in->type == KFDA_FLOAT32 && w->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
           (in->type == KFDA_INT8 && w->type == KFDA_INT8 && out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  p->is_int8 = in->type == KFDA_INT8;
  if (p->is_int8) {
    NEED(in->scale > 0.0f && out->scale > 0.0f && w->scale > 0.0f && w->ch_scales == NULL,
         KFDA_ERR_UNSUPPORTED, "int8 FULLY_CONNECTED needs per-tensor scales");
    NEED(kfda_qact_range(activation, out, &p->requant.act_min, &p->requant.act_max) == 0,
         KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
    {
      kfda_status st = kfda_check_int8_tensor(ctx, in, "input");
      if (st == KFDA_OK) st = kfda_check_int8_tensor(ctx, w, "weights");
      if (st == KFDA_OK) st = kfda_check_int8_tensor(ctx, out, "output");
      if (st != KFDA_OK) return st;
    }
    p->requant.in_offset = -in->zero_point;
    p->requant.out_offset = out->zero_point;
    p->requant.mult = &p->out_mult;
    p->requant.shift = &p->out_shift;
  }
  NEED(w->is_const && w->ndim == 2 && w->dims[0] > 0 && w->dims[1] > 0, KFDA_ERR_SHAPE,
       "weights must be constant [units, depth]");
  if (!p->is_int8)
    NEED(kfda_act_range(activation, &p->act_min, &p->act_max, &qmin, &qmax) == 0,
         KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
  n = kfda_elements(in);
  NEED(n % (size_t)w->dims[1] == 0, KFDA_ERR_SHAPE, "input size not a multiple of depth");
  NEED(kfda_elements(out) == n / (size_t)w->dims[1] * (size_t)w->dims[0] && out->ndim >= 1 &&
           out->dims[out->ndim - 1] == w->dims[0],
       KFDA_ERR_SHAPE, "output shape does not match");
  if (kfda_has_input(op, 2)) {
    const kfda_tensor *b = IN(2);
    NEED(b->type == (p->is_int8 ? KFDA_INT32 : KFDA_FLOAT32) && b->is_const &&
             kfda_elements(b) == (size_t)w->dims[0],
         KFDA_ERR_SHAPE, "bias must be constant [units] (float32, or int32 for int8)");
    p->bias = b->data;
  }
  if (p->is_int8) {
    /* the int32 accumulator: depth terms times their bound, plus the bias */
    const int64_t acc_max = (int64_t)w->dims[1] * KFDA_S8_TERM_BOUND +
                            (kfda_has_input(op, 2) ? kfda_bias_max_s32(IN(2)) : 0);
    double real = (double)(in->scale * w->scale) / (double)out->scale;
    NEED(acc_max <= INT32_MAX, KFDA_ERR_UNSUPPORTED,
         "int8 accumulator (depth and bias) may overflow int32");
    NEED(kfda_requant_multiplier(real, acc_max, 128, &p->out_mult, &p->out_shift) == 0,
         KFDA_ERR_UNSUPPORTED, "int8 requantisation out of range (input * weights / output scale)");
  }
  p->depth = w->dims[1];
  p->units = w->dims[0];
  p->batches = (int32_t)(n / (size_t)w->dims[1]);
  p->weights = w->data;
  return KFDA_OK;
}

/* Over threads: work item i is batch i / slices' units of slice i % slices (one slice per
 * thread, at most one unit each); a slice is the kernel on one batch row with the slice's
 * weights and bias, so each output is the same sum. One thread: one call, as before. */
static int32_t unit_slices(const kfda_model *m, const fully_connected_params *p) {
  return m->num_threads > 1 ? (p->units < m->num_threads ? p->units : m->num_threads) : 0;
}

static void eval_items(const kfda_model *m, const kfda_op *op, const void *params,
                       int32_t item_begin, int32_t item_end, void *scratch) {
  const fully_connected_params *p = (const fully_connected_params *)params;
  const int32_t slices = unit_slices(m, p);
  int32_t i;
  (void)scratch;
  for (i = item_begin; i < item_end; ++i) {
    const int32_t batch = i / slices, slice = i % slices;
    const int32_t u0 = kfda_slice_begin(p->units, 1, slices, slice);
    const int32_t u1 = kfda_slice_begin(p->units, 1, slices, slice + 1);
    const size_t in_at = (size_t)batch * (size_t)p->depth, weights_at = (size_t)u0 * p->depth;
    const size_t out_at = (size_t)batch * (size_t)p->units + (size_t)u0;
    if (p->is_int8)
      kfda_fully_connected_s8(&p->requant, (const int8_t *)KFDA_IN(0) + in_at, 1, p->depth,
                              (const int8_t *)p->weights + weights_at,
                              p->bias ? (const int32_t *)p->bias + u0 : NULL, u1 - u0,
                              (int8_t *)KFDA_OUT + out_at);
    else
      kfda_fully_connected_f32(p->act_min, p->act_max, (const float *)KFDA_IN(0) + in_at, 1,
                               p->depth, (const float *)p->weights + weights_at,
                               p->bias ? (const float *)p->bias + u0 : NULL, u1 - u0,
                               kfda_fully_connected_f32_gemv_order(p->batches, p->units, p->depth),
                               (float *)KFDA_OUT + out_at);
  }
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const fully_connected_params *p = (const fully_connected_params *)params;
  const int32_t slices = unit_slices(m, p);
  if (slices > 0) {
    kfda_op_run_rows(m, op, params, p->batches * slices, eval_items);
    return;
  }
  if (p->is_int8)
    kfda_fully_connected_s8(&p->requant, (const int8_t *)KFDA_IN(0), p->batches, p->depth,
                            (const int8_t *)p->weights, (const int32_t *)p->bias, p->units,
                            (int8_t *)KFDA_OUT);
  else
    kfda_fully_connected_f32(p->act_min, p->act_max, (const float *)KFDA_IN(0), p->batches,
                             p->depth, (const float *)p->weights, (const float *)p->bias, p->units,
                             kfda_fully_connected_f32_gemv_order(p->batches, p->units, p->depth),
                             (float *)KFDA_OUT);
}

/* options: FullyConnectedOptions (8) */
const kfda_op_registration kfda_op_fully_connected = {8, 0, sizeof(fully_connected_params), prepare,
                                                      eval};
