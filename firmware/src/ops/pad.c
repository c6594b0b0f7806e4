/* pad.c - PAD with constant paddings, float32 and int8 (padded with zero / the zero point). */
#include "op_util.h"

typedef struct {
  int32_t ndim;
  int32_t in_dims[KFDA_MAX_DIMS];
  int32_t pads[2 * KFDA_MAX_DIMS]; /* before, after per axis */
  uint32_t elem_size;
  uint8_t pad_value[4]; /* one element's bytes */
} pad_params;
KFDA_OP_PARAMS_FIT(pad_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  pad_params *p = (pad_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT, *paddings;
  int a;
  NEED(ctx->op->n_in >= 2 && kfda_has_input(ctx->op, 1), KFDA_ERR_MODEL, "missing paddings");
  paddings = IN(1);
  NEED(in->type == out->type && (in->type == KFDA_FLOAT32 || in->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 / int8 are supported");
  NEED(paddings->is_const && paddings->type == KFDA_INT32 && paddings->ndim == 2 &&
           paddings->dims[0] == in->ndim && paddings->dims[1] == 2 && in->ndim == out->ndim,
       KFDA_ERR_SHAPE, "paddings must be constant int32 [rank, 2]");
  for (a = 0; a < in->ndim; ++a) {
    int32_t lo = (int32_t)kfda_rd_u32(paddings->data + 8 * a);
    int32_t hi = (int32_t)kfda_rd_u32(paddings->data + 8 * a + 4);
    NEED(lo >= 0 && hi >= 0 && lo <= 65536 && hi <= 65536 &&
             (int64_t)in->dims[a] + lo + hi == out->dims[a],
         KFDA_ERR_SHAPE, "output shape does not match paddings");
    p->pads[2 * a] = lo;
    p->pads[2 * a + 1] = hi;
    p->in_dims[a] = in->dims[a];
  }
  p->ndim = in->ndim;
  p->elem_size = (uint32_t)kfda_type_size(in->type);
  if (out->type == KFDA_INT8) p->pad_value[0] = (uint8_t)(int8_t)out->zero_point;
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const pad_params *p = (const pad_params *)params;
  kfda_pad(KFDA_IN(0), p->ndim, p->in_dims, p->pads, p->elem_size, p->pad_value, KFDA_OUT);
}

/* options: PadOptions (22) */
const kfda_op_registration kfda_op_pad = {22, 0, sizeof(pad_params), prepare, eval};
