/* softmax.c - SOFTMAX over the last axis, float32 and int8. */
#include <math.h>

#include "op_util.h"

typedef struct {
  int32_t rows, depth;
  float beta;             /* float32: beta; int8: -in_scale * beta (the exponent's scale) */
  float out_scale;        /* int8 */
  int32_t out_zero_point; /* int8 */
  uint8_t is_int8;
} softmax_params;
KFDA_OP_PARAMS_FIT(softmax_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  softmax_params *p = (softmax_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT;
  NEED((in->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
           (in->type == KFDA_INT8 && out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  NEED(in->ndim >= 1 && kfda_same_dims(in, out) && in->dims[in->ndim - 1] > 0, KFDA_ERR_SHAPE,
       "shape mismatch");
  if (ctx->has_options) {
    NEED(kfda_fb_f32(ctx->fb, &ctx->options, 0, 0.0f, &p->beta) >= 0, KFDA_ERR_MODEL,
         "bad options");
  } else {
    p->beta = 1.0f;
  }
  p->is_int8 = in->type == KFDA_INT8;
  if (p->is_int8) {
    kfda_status st = kfda_check_int8_tensor(ctx, in, "input");
    if (st == KFDA_OK) st = kfda_check_int8_tensor(ctx, out, "output");
    if (st != KFDA_OK) return st;
    /* exp(-in_scale * beta * d) <= 1 and round(e / (sum * out_scale)) <= 1 / out_scale
     * must fit the int32 cast */
    NEED(isfinite(p->beta) && p->beta >= 0.0f && isfinite(in->scale * p->beta * 256.0f),
         KFDA_ERR_UNSUPPORTED, "int8 SOFTMAX beta must be finite and >= 0");
    NEED(out->scale >= 1e-9f, KFDA_ERR_UNSUPPORTED, "int8 SOFTMAX output scale below 1e-9");
    p->beta = -in->scale * p->beta; /* as TFLite's table */
    p->out_scale = out->scale;
    p->out_zero_point = out->zero_point;
  }
  p->depth = in->dims[in->ndim - 1];
  p->rows = (int32_t)(kfda_elements(in) / (size_t)p->depth);
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const softmax_params *p = (const softmax_params *)params;
  if (p->is_int8)
    kfda_softmax_s8(p->beta, p->out_scale, p->out_zero_point, (const int8_t *)KFDA_IN(0), p->rows,
                    p->depth, (int8_t *)KFDA_OUT);
  else
    kfda_softmax_f32(p->beta, (const float *)KFDA_IN(0), p->rows, p->depth, (float *)KFDA_OUT);
}

/* options: SoftmaxOptions (9) */
const kfda_op_registration kfda_op_softmax = {9, 0, sizeof(softmax_params), prepare, eval};
