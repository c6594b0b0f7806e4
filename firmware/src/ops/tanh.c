/* tanh.c - TANH, float32 and int8. int8 as TFLite's generic kernel: a 256-entry table
 * built in Prepare from the float function (tanh) on the input's and output's
 * quantization, then one lookup per element. */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_lut_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  kfda_lut_op_params *p = (kfda_lut_op_params *)params;
  kfda_status st = kfda_lut_prepare(ctx, p, kfda_tanhf);
  if (st != KFDA_OK) return st;
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_lut_op_params *p = (const kfda_lut_op_params *)params;
  if (p->u.is_int8)
    kfda_lut_s8(p->table, (const int8_t *)KFDA_IN(0), p->u.elements, (int8_t *)KFDA_OUT);
  else
    kfda_tanh_f32((const float *)KFDA_IN(0), p->u.elements, (float *)KFDA_OUT);
}

/* options: none; the output may share the input */
const kfda_op_registration kfda_op_tanh = {0, 1, sizeof(kfda_lut_op_params), prepare, eval};
