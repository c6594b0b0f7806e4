/* max_pool_2d.c - MAX_POOL_2D, float32 and int8. */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_pool_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  ((kfda_pool_op_params *)params)->kind = KFDA_POOL_MAX;
  return kfda_pool_prepare(ctx, (kfda_pool_op_params *)params);
}

/* options: Pool2DOptions (5) */
const kfda_op_registration kfda_op_max_pool_2d = {5, 0, sizeof(kfda_pool_op_params), prepare,
                                                  kfda_pool_eval};
