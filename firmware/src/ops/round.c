/* round.c - ROUND, float32 (to nearest, ties to even; TFLite has no int8 ROUND: the
 * converter leaves it float between DEQUANTIZE and QUANTIZE). */
#include "op_util.h"

typedef struct {
  kfda_unary_shape u;
} round_params;
KFDA_OP_PARAMS_FIT(round_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  round_params *p = (round_params *)params;
  return kfda_unary_prepare(ctx, 0, &p->u);
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const round_params *p = (const round_params *)params;
  kfda_round_f32((const float *)KFDA_IN(0), p->u.elements, (float *)KFDA_OUT);
}

/* options: none; the output may share the input */
const kfda_op_registration kfda_op_round = {0, 1, sizeof(round_params), prepare, eval};
