/* relu.c - standalone RELU, float32 and int8 (TFLite ReluX: rescale to the output's
 * quantization, clamp to [0.0f, INFINITY] on it). */
#include <math.h>

#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_clamp_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  return kfda_clamp_prepare(ctx, (kfda_clamp_op_params *)params, 0.0f, INFINITY);
}

/* options: none; the output may share the input (element i from element i) */
const kfda_op_registration kfda_op_relu = {0, 1, sizeof(kfda_clamp_op_params), prepare,
                                           kfda_clamp_eval};
