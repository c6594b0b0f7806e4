/* logistic.c - LOGISTIC, float32 and int8. int8 as TFLite's generic kernel: a 256-entry table
 * built in Prepare from the float function (1 / (1 + exp(-x))) on the input's and output's
 * quantization, then one lookup per element. */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_lut_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  kfda_lut_op_params *p = (kfda_lut_op_params *)params;
  kfda_status st = kfda_lut_prepare(ctx, p, kfda_logisticf);
  if (st != KFDA_OK) return st;
  /* TFLite's Prepare insists on the output range [0, 1) in 256 steps */
  NEED(!p->u.is_int8 || (OUT->scale == 1.0f / 256 && OUT->zero_point == -128), KFDA_ERR_UNSUPPORTED,
       "int8 LOGISTIC needs output scale 1/256 and zero point -128");
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_lut_op_params *p = (const kfda_lut_op_params *)params;
  if (p->u.is_int8)
    kfda_lut_s8(p->table, (const int8_t *)KFDA_IN(0), p->u.elements, (int8_t *)KFDA_OUT);
  else
    kfda_logistic_f32((const float *)KFDA_IN(0), p->u.elements, (float *)KFDA_OUT);
}

/* options: none; the output may share the input */
const kfda_op_registration kfda_op_logistic = {0, 1, sizeof(kfda_lut_op_params), prepare, eval};
