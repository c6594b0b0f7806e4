/* concatenation.c - CONCATENATION along one axis, any type (int8: same quantization). */
#include "op_util.h"

typedef struct {
  size_t outer;                           /* product of the dims before the axis */
  size_t inner_bytes[KFDA_MAX_OP_INPUTS]; /* per input: bytes from the axis on */
} concatenation_params;
KFDA_OP_PARAMS_FIT(concatenation_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  concatenation_params *p = (concatenation_params *)params;
  const kfda_tensor *out = OUT;
  int32_t axis, activation, i, a;
  int64_t sum = 0;
  NEED(kfda_opt_i32(ctx, 0, 0, &axis) == 0 && kfda_opt_u8(ctx, 1, 0, &activation) == 0,
       KFDA_ERR_MODEL, "bad options");
  NEED(activation == KFDA_ACT_NONE, KFDA_ERR_UNSUPPORTED, "fused activation");
  if (axis < 0) axis += out->ndim;
  NEED(axis >= 0 && axis < out->ndim, KFDA_ERR_SHAPE, "axis out of range");
  for (i = 0; i < ctx->op->n_in; ++i) {
    const kfda_tensor *t;
    NEED(kfda_has_input(ctx->op, i), KFDA_ERR_MODEL, "missing input");
    t = IN(i);
    NEED(t->type == out->type && t->ndim == out->ndim, KFDA_ERR_SHAPE, "type/rank mismatch");
    NEED(t->type != KFDA_INT8 || (t->scale == out->scale && t->zero_point == out->zero_point),
         KFDA_ERR_UNSUPPORTED, "int8 inputs with different quantization");
    for (a = 0; a < out->ndim; ++a)
      if (a != axis) NEED(t->dims[a] == out->dims[a], KFDA_ERR_SHAPE, "shape mismatch");
    sum += t->dims[axis];
    p->inner_bytes[i] = kfda_type_size(out->type);
    for (a = axis; a < t->ndim; ++a) p->inner_bytes[i] *= (size_t)t->dims[a];
  }
  NEED(sum == out->dims[axis], KFDA_ERR_SHAPE, "output shape does not match");
  p->outer = 1;
  for (a = 0; a < axis; ++a) p->outer *= (size_t)out->dims[a];
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const concatenation_params *p = (const concatenation_params *)params;
  const uint8_t *ins[KFDA_MAX_OP_INPUTS];
  int i;
  for (i = 0; i < op->n_in; ++i) ins[i] = KFDA_IN(i);
  kfda_concatenation(ins, p->inner_bytes, op->n_in, p->outer, KFDA_OUT);
}

/* options: ConcatenationOptions (10) */
const kfda_op_registration kfda_op_concatenation = {10, 0, sizeof(concatenation_params), prepare,
                                                    eval};
