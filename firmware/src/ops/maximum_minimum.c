/* maximum_minimum.c - MAXIMUM and MINIMUM of two broadcast inputs, float32 and int8 (int8:
 * inputs and output share one quantization, as the converter emits them, and the raw values
 * are compared). One file for both, as TFLite's maximum_minimum.cc: they differ only in the
 * kernel. */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_binary_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  return kfda_minmax_prepare(ctx, (kfda_binary_op_params *)params);
}

static void eval_maximum(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_binary_op_params *p = (const kfda_binary_op_params *)params;
  if (p->is_int8)
    kfda_maximum_s8((const int8_t *)KFDA_IN(0), p->a_strides, (const int8_t *)KFDA_IN(1),
                    p->b_strides, p->out_dims, (int8_t *)KFDA_OUT);
  else
    kfda_maximum_f32((const float *)KFDA_IN(0), p->a_strides, (const float *)KFDA_IN(1),
                     p->b_strides, p->out_dims, (float *)KFDA_OUT);
}

static void eval_minimum(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_binary_op_params *p = (const kfda_binary_op_params *)params;
  if (p->is_int8)
    kfda_minimum_s8((const int8_t *)KFDA_IN(0), p->a_strides, (const int8_t *)KFDA_IN(1),
                    p->b_strides, p->out_dims, (int8_t *)KFDA_OUT);
  else
    kfda_minimum_f32((const float *)KFDA_IN(0), p->a_strides, (const float *)KFDA_IN(1),
                     p->b_strides, p->out_dims, (float *)KFDA_OUT);
}

/* options: MaximumMinimumOptions (39) */
const kfda_op_registration kfda_op_maximum = {39, 0, sizeof(kfda_binary_op_params), prepare,
                                              eval_maximum};
const kfda_op_registration kfda_op_minimum = {39, 0, sizeof(kfda_binary_op_params), prepare,
                                              eval_minimum};
