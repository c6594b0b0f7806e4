/* split.c - SPLIT into num_splits equal pieces along a constant axis, any type (int8:
 * every output with the input's quantization). Inputs: axis, then the tensor. */
#include "op_util.h"

typedef struct {
  size_t outer;       /* product of the dims before the axis */
  size_t inner_bytes; /* per output: bytes from the axis on */
} split_params;
KFDA_OP_PARAMS_FIT(split_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  split_params *p = (split_params *)params;
  const kfda_tensor *axis_t = IN(0), *in;
  int32_t axis, num_splits, a, k;
  NEED(ctx->op->n_in == 2 && kfda_has_input(ctx->op, 1), KFDA_ERR_MODEL, "needs axis and input");
  in = IN(1);
  NEED(axis_t->type == KFDA_INT32 && axis_t->is_const && kfda_elements(axis_t) == 1 &&
           axis_t->bytes >= 4,
       KFDA_ERR_UNSUPPORTED, "axis must be a constant int32 scalar");
  NEED(kfda_opt_i32(ctx, 0, 0, &num_splits) == 0, KFDA_ERR_MODEL, "bad options");
  NEED(num_splits == ctx->op->n_out, KFDA_ERR_MODEL, "num_splits is not the number of outputs");
  axis = (int32_t)kfda_rd_u32(axis_t->data);
  if (axis < 0) axis += in->ndim;
  NEED(axis >= 0 && axis < in->ndim, KFDA_ERR_SHAPE, "axis out of range");
  NEED(kfda_type_size(in->type) > 0 && in->dims[axis] % num_splits == 0, KFDA_ERR_SHAPE,
       "axis does not split evenly");
  for (k = 0; k < ctx->op->n_out; ++k) {
    const kfda_tensor *out = &ctx->m->tensors[kfda_op_output(ctx->m, ctx->op, k)];
    NEED(out->type == in->type && out->ndim == in->ndim, KFDA_ERR_SHAPE, "type/rank mismatch");
    NEED(in->type != KFDA_INT8 || (in->scale == out->scale && in->zero_point == out->zero_point),
         KFDA_ERR_UNSUPPORTED, "int8 outputs with a different quantization");
    for (a = 0; a < in->ndim; ++a)
      NEED(out->dims[a] == (a == axis ? in->dims[a] / num_splits : in->dims[a]), KFDA_ERR_SHAPE,
           "output shape does not match");
  }
  p->outer = 1;
  for (a = 0; a < axis; ++a) p->outer *= (size_t)in->dims[a];
  p->inner_bytes = kfda_type_size(in->type) * (size_t)(in->dims[axis] / num_splits);
  for (a = axis + 1; a < in->ndim; ++a) p->inner_bytes *= (size_t)in->dims[a];
  ctx->outputs_checked = 1;
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const split_params *p = (const split_params *)params;
  int k;
  for (k = 0; k < op->n_out; ++k)
    kfda_split_piece(KFDA_IN(1), p->outer, p->inner_bytes, op->n_out, k,
                     kfda_tensor_data(m, kfda_op_output(m, op, k)));
}

/* options: SplitOptions (35) */
const kfda_op_registration kfda_op_split = {35, 0, sizeof(split_params), prepare, eval};
