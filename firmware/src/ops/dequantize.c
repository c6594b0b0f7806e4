/* dequantize.c - DEQUANTIZE: int8 -> float32 (per-tensor). */
#include "op_util.h"

typedef struct {
  size_t count;
  float scale;
  int32_t zero_point;
} dequantize_params;
KFDA_OP_PARAMS_FIT(dequantize_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  dequantize_params *p = (dequantize_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT;
  NEED(in->type == KFDA_INT8 && out->type == KFDA_FLOAT32, KFDA_ERR_UNSUPPORTED,
       "only int8 -> float32 is supported");
  NEED(kfda_same_dims(in, out), KFDA_ERR_SHAPE, "shape mismatch");
  NEED(in->ch_scales == NULL, KFDA_ERR_UNSUPPORTED, "per-channel dequantize");
  p->count = kfda_elements(in);
  p->scale = in->scale;
  p->zero_point = in->zero_point;
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const dequantize_params *p = (const dequantize_params *)params;
  kfda_dequantize_s8_f32((const int8_t *)KFDA_IN(0), p->count, p->scale, p->zero_point,
                         (float *)KFDA_OUT);
}

const kfda_op_registration kfda_op_dequantize = {0, 0, sizeof(dequantize_params), prepare, eval};
