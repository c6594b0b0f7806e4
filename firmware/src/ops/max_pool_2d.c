/* max_pool_2d.c - MAX_POOL_2D, float32 and int8. */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_pool_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  return kfda_pool_prepare(ctx, (kfda_pool_op_params *)params);
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_pool_op_params *p = (const kfda_pool_op_params *)params;
  if (p->is_int8)
    kfda_max_pool2d_s8(&p->pool, &p->in_shape, (const int8_t *)KFDA_IN(0), &p->out_shape,
                       (int8_t *)KFDA_OUT);
  else
    kfda_max_pool2d_f32(&p->pool, &p->in_shape, (const float *)KFDA_IN(0), &p->out_shape,
                        (float *)KFDA_OUT);
}

/* options: Pool2DOptions (5) */
const kfda_op_registration kfda_op_max_pool_2d = {5, 0, sizeof(kfda_pool_op_params), prepare, eval};
