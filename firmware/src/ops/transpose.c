/* transpose.c - TRANSPOSE by a constant permutation, any type (int8: the same
 * quantization in and out). Output axis k walks input axis perm[k]. */
#include "op_util.h"

typedef struct {
  int32_t out_dims[KFDA_MAX_DIMS]; /* padded to KFDA_MAX_DIMS axes (leading 1s) */
  int32_t steps[KFDA_MAX_DIMS];    /* input element stride per output axis */
  uint32_t elem_size;
} transpose_params;
KFDA_OP_PARAMS_FIT(transpose_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  transpose_params *p = (transpose_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT, *perm;
  int32_t in_strides[KFDA_MAX_DIMS], stride = 1, k;
  uint32_t seen = 0;
  const int pad = KFDA_MAX_DIMS - in->ndim;
  NEED(ctx->op->n_in == 2 && kfda_has_input(ctx->op, 1), KFDA_ERR_MODEL, "missing permutation");
  perm = IN(1);
  NEED(perm->type == KFDA_INT32 && perm->is_const && perm->ndim == 1 && perm->dims[0] == in->ndim &&
           perm->bytes >= 4u * (uint32_t)in->ndim,
       KFDA_ERR_UNSUPPORTED, "permutation must be a constant int32 vector of the input's rank");
  NEED(in->type == out->type && kfda_type_size(in->type) > 0 && in->ndim == out->ndim,
       KFDA_ERR_SHAPE, "type/rank mismatch");
  NEED(in->type != KFDA_INT8 || (in->scale == out->scale && in->zero_point == out->zero_point),
       KFDA_ERR_UNSUPPORTED, "int8 input and output with different quantization");
  for (k = in->ndim - 1; k >= 0; --k) {
    in_strides[k] = stride;
    stride *= in->dims[k];
  }
  for (k = 0; k < KFDA_MAX_DIMS; ++k) {
    p->out_dims[k] = 1;
    p->steps[k] = 0;
  }
  for (k = 0; k < in->ndim; ++k) {
    int32_t a = (int32_t)kfda_rd_u32(perm->data + 4 * k);
    if (a < 0) a += in->ndim; /* TFLite accepts negative axes */
    NEED(a >= 0 && a < in->ndim && !(seen & (1u << a)), KFDA_ERR_MODEL, "bad permutation");
    seen |= 1u << a;
    NEED(out->dims[k] == in->dims[a], KFDA_ERR_SHAPE, "output shape does not match");
    p->out_dims[pad + k] = in->dims[a];
    p->steps[pad + k] = in_strides[a];
  }
  p->elem_size = (uint32_t)kfda_type_size(in->type);
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const transpose_params *p = (const transpose_params *)params;
  kfda_gather_strided(KFDA_IN(0), p->out_dims, 0, p->steps, p->elem_size, KFDA_OUT);
}

/* options: TransposeOptions (26) */
const kfda_op_registration kfda_op_transpose = {26, 0, sizeof(transpose_params), prepare, eval};
