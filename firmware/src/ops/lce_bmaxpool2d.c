/* lce_bmaxpool2d.c - LceBMaxPool2d: max pool of bitpacked values (AND of the words). */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_pool_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  kfda_pool_op_params *p = (kfda_pool_op_params *)params;
  const kfda_tensor *in, *out;
  kfda_flex root;
  int32_t padding = 0;
  NEED(ctx->op->n_in >= 1 && kfda_has_input(ctx->op, 0), KFDA_ERR_MODEL, "missing input");
  in = IN(0);
  out = OUT;
  NEED(in->ndim == 4 && out->ndim == 4, KFDA_ERR_SHAPE, "input and output must be 4-D");
  NEED(kfda_custom_map(ctx, &root) == 0, KFDA_ERR_MODEL, "bad custom options");
  NEED(kfda_flex_opt(&root, "filter_height", 1, &p->pool.filter_h) >= 0, KFDA_ERR_MODEL,
       "bad option filter_height");
  NEED(kfda_flex_opt(&root, "filter_width", 1, &p->pool.filter_w) >= 0, KFDA_ERR_MODEL,
       "bad option filter_width");
  NEED(kfda_flex_opt(&root, "stride_height", 1, &p->pool.stride_h) >= 0, KFDA_ERR_MODEL,
       "bad option stride_height");
  NEED(kfda_flex_opt(&root, "stride_width", 1, &p->pool.stride_w) >= 0, KFDA_ERR_MODEL,
       "bad option stride_width");
  NEED(kfda_flex_opt(&root, "padding", 1, &padding) >= 0, KFDA_ERR_MODEL, "bad option padding");
  NEED(in->type == KFDA_INT32 && out->type == KFDA_INT32, KFDA_ERR_UNSUPPORTED,
       "needs bitpacked (int32) input and output");
  p->is_int8 = 0;
  p->kind = KFDA_POOL_BITPACKED_MAX;
  return kfda_pool_window(ctx, p, padding);
}

const kfda_op_registration kfda_op_lce_bmaxpool2d = {0, 0, sizeof(kfda_pool_op_params), prepare,
                                                     kfda_pool_eval};
