/* sub.c - SUB a - b with broadcasting and the fused activation, float32 and int8 (TFLite:
 * ADD's arithmetic, left shift 20 and three multipliers, with b's multiplier negated). */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_binary_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  return kfda_add_sub_prepare(ctx, (kfda_binary_op_params *)params, 1);
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_binary_op_params *p = (const kfda_binary_op_params *)params;
  if (p->is_int8)
    kfda_sub_s8(&p->arith, (const int8_t *)KFDA_IN(0), p->a_strides, (const int8_t *)KFDA_IN(1),
                p->b_strides, p->out_dims, (int8_t *)KFDA_OUT);
  else
    kfda_sub_f32(&p->arith, (const float *)KFDA_IN(0), p->a_strides, (const float *)KFDA_IN(1),
                 p->b_strides, p->out_dims, (float *)KFDA_OUT);
}

/* options: SubOptions (28) */
const kfda_op_registration kfda_op_sub = {28, 0, sizeof(kfda_binary_op_params), prepare, eval};
