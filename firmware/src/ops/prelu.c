/* prelu.c - PRELU x >= 0 ? x : x * alpha, alpha broadcast to x (Keras PReLU: a constant
 * per element or per channel), float32 and int8 (TFLite: two multipliers, one for x,
 * one for x * alpha). */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_binary_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  kfda_binary_op_params *p = (kfda_binary_op_params *)params;
  const kfda_tensor *x, *alpha, *out = OUT;
  NEED(ctx->op->n_in == 2 && kfda_has_input(ctx->op, 1), KFDA_ERR_MODEL, "needs x and alpha");
  x = IN(0);
  alpha = IN(1);
  NEED(x->type == out->type && alpha->type == out->type &&
           (out->type == KFDA_FLOAT32 || out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  NEED(kfda_same_dims(x, out), KFDA_ERR_SHAPE, "output shape must be x's");
  p->is_int8 = out->type == KFDA_INT8;
  if (p->is_int8) {
    kfda_arith_params *q = &p->arith;
    double identity, scaled;
    NEED(x->scale > 0.0f && alpha->scale > 0.0f && out->scale > 0.0f, KFDA_ERR_MODEL,
         "int8 tensors need scales");
    /* TFLite PreluPrepare: float products and quotients, then QuantizeMultiplier */
    identity = (double)(x->scale / out->scale);
    scaled = (double)(x->scale * alpha->scale / out->scale);
    NEED(identity > 1e-9 && identity < 1e9 && scaled > 1e-9 && scaled < 1e9, KFDA_ERR_UNSUPPORTED,
         "int8 PRELU scales out of range");
    kfda_quantize_multiplier(identity, &q->in_mult, &q->in_shift);
    kfda_quantize_multiplier(scaled, &q->in2_mult, &q->in2_shift);
    q->in_offset = -x->zero_point;
    q->in2_offset = -alpha->zero_point;
    q->out_offset = out->zero_point;
  }
  return kfda_binary_broadcast(ctx, p);
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_binary_op_params *p = (const kfda_binary_op_params *)params;
  if (p->is_int8)
    kfda_prelu_s8(&p->arith, (const int8_t *)KFDA_IN(0), p->a_strides, (const int8_t *)KFDA_IN(1),
                  p->b_strides, p->out_dims, (int8_t *)KFDA_OUT);
  else
    kfda_prelu_f32((const float *)KFDA_IN(0), p->a_strides, (const float *)KFDA_IN(1), p->b_strides,
                   p->out_dims, (float *)KFDA_OUT);
}

/* options: none */
const kfda_op_registration kfda_op_prelu = {0, 0, sizeof(kfda_binary_op_params), prepare, eval};
