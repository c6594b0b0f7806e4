/* depthwise_conv_2d.c - DEPTHWISE_CONV_2D, float32 and int8 (Prepare: conv_2d.c). */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_conv_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  return kfda_conv_prepare(ctx, (kfda_conv_op_params *)params, 1);
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

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_conv_op_params *p = (const kfda_conv_op_params *)params;
  kfda_op_run_rows(m, op, params, p->out_shape.n * p->out_shape.h, eval_rows);
}

/* options: DepthwiseConv2DOptions (2) */
const kfda_op_registration kfda_op_depthwise_conv_2d = {2, 0, sizeof(kfda_conv_op_params), prepare,
                                                        eval};
