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
  return kfda_pool_window(ctx, p, padding);
}

/* Output rows [row_begin, row_end), one batch's slice at a time (kfda_pool_slice_of). */
static void eval_rows(const kfda_model *m, const kfda_op *op, const void *params, int32_t row_begin,
                      int32_t row_end, void *scratch) {
  const kfda_pool_op_params *p = (const kfda_pool_op_params *)params;
  kfda_pool_slice s;
  (void)scratch;
  while (row_begin < row_end) {
    row_begin += kfda_pool_slice_of(p, row_begin, row_end, &s);
    kfda_lce_bmaxpool2d(&s.pool, &s.in_shape, (const int32_t *)KFDA_IN(0) + s.in_at, &s.out_shape,
                        (int32_t *)KFDA_OUT + s.out_at);
  }
}

/* Output channels of slices [slice_begin, slice_end) (kfda_pool_channel_slice_of). */
static void eval_slices(const kfda_model *m, const kfda_op *op, const void *params,
                        int32_t slice_begin, int32_t slice_end, void *scratch) {
  const kfda_pool_op_params *p = (const kfda_pool_op_params *)params;
  kfda_pool_channel_slice s;
  int32_t i;
  for (i = slice_begin; i < slice_end; ++i) {
    if (!kfda_pool_channel_slice_of(m, op, p, i, scratch, &s)) continue;
    kfda_lce_bmaxpool2d(&p->pool, &s.in_shape, (const int32_t *)s.in, &s.out_shape,
                        (int32_t *)s.out);
    kfda_pool_channel_slice_done(m, op, p, &s);
  }
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_pool_op_params *p = (const kfda_pool_op_params *)params;
  const int32_t slices = kfda_pool_channel_slices(m, op, p);
  if (slices > 0)
    kfda_op_run_rows(m, op, params, slices, eval_slices);
  else
    kfda_op_run_rows(m, op, params, p->out_shape.n * p->out_shape.h, eval_rows);
}

const kfda_op_registration kfda_op_lce_bmaxpool2d = {0, 0, sizeof(kfda_pool_op_params), prepare,
                                                     eval};
