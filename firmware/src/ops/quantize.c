/* quantize.c - QUANTIZE: float32 -> int8, or int8 -> int8 (requantize). */
#include "op_util.h"

typedef struct {
  size_t count;
  float out_scale;
  int32_t out_zero_point;
  int32_t in_zero_point, mult, shift; /* requantize: in_scale / out_scale */
  uint8_t is_requantize;
} quantize_params;
KFDA_OP_PARAMS_FIT(quantize_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  quantize_params *p = (quantize_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT;
  NEED((in->type == KFDA_FLOAT32 || in->type == KFDA_INT8) && out->type == KFDA_INT8,
       KFDA_ERR_UNSUPPORTED, "only float32 -> int8 and int8 -> int8 are supported");
  NEED(kfda_same_dims(in, out), KFDA_ERR_SHAPE, "shape mismatch");
  NEED(out->scale > 0.0f && out->ch_scales == NULL, KFDA_ERR_UNSUPPORTED,
       "needs a per-tensor scale");
  {
    const kfda_status st = kfda_check_int8_tensor(ctx, out, "output");
    if (st != KFDA_OK) return st;
  }
  p->is_requantize = in->type == KFDA_INT8;
  if (p->is_requantize) { /* TFLite quantize.cc */
    NEED(in->scale > 0.0f && in->ch_scales == NULL, KFDA_ERR_UNSUPPORTED,
         "needs a per-tensor input scale");
    kfda_status st = kfda_check_int8_tensor(ctx, in, "input");
    if (st != KFDA_OK) return st;
    NEED(kfda_requant_multiplier((double)in->scale / (double)out->scale, 256, 128, &p->mult,
                                 &p->shift) == 0,
         KFDA_ERR_UNSUPPORTED, "int8 requantisation out of range (input scale / output scale)");
    p->in_zero_point = in->zero_point;
  }
  p->count = kfda_elements(in);
  p->out_scale = out->scale;
  p->out_zero_point = out->zero_point;
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const quantize_params *p = (const quantize_params *)params;
  if (p->is_requantize)
    kfda_requantize_s8((const int8_t *)KFDA_IN(0), p->count, p->in_zero_point, p->mult, p->shift,
                       p->out_zero_point, (int8_t *)KFDA_OUT);
  else
    kfda_quantize_f32_s8((const float *)KFDA_IN(0), p->count, p->out_scale, p->out_zero_point,
                         (int8_t *)KFDA_OUT);
}

const kfda_op_registration kfda_op_quantize = {0, 0, sizeof(quantize_params), prepare, eval};
