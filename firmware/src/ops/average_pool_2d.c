/* average_pool_2d.c - AVERAGE_POOL_2D (the mean of the valid taps), float32 and int8. */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_pool_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  return kfda_pool_prepare(ctx, (kfda_pool_op_params *)params);
}

/* Output rows [row_begin, row_end), one batch's slice at a time (kfda_pool_slice_of). */
static void eval_rows(const kfda_model *m, const kfda_op *op, const void *params, int32_t row_begin,
                      int32_t row_end, void *scratch) {
  const kfda_pool_op_params *p = (const kfda_pool_op_params *)params;
  kfda_pool_slice s;
  (void)scratch;
  while (row_begin < row_end) {
    row_begin += kfda_pool_slice_of(p, row_begin, row_end, &s);
    if (p->is_int8)
      kfda_average_pool2d_s8(&s.pool, &s.in_shape, (const int8_t *)KFDA_IN(0) + s.in_at,
                             &s.out_shape, (int8_t *)KFDA_OUT + s.out_at);
    else
      kfda_average_pool2d_f32(&s.pool, &s.in_shape, (const float *)KFDA_IN(0) + s.in_at,
                              &s.out_shape, (float *)KFDA_OUT + s.out_at);
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
    if (p->is_int8)
      kfda_average_pool2d_s8(&p->pool, &s.in_shape, (const int8_t *)s.in, &s.out_shape,
                             (int8_t *)s.out);
    else
      kfda_average_pool2d_f32(&p->pool, &s.in_shape, (const float *)s.in, &s.out_shape,
                              (float *)s.out);
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

/* options: Pool2DOptions (5) */
const kfda_op_registration kfda_op_average_pool_2d = {5, 0, sizeof(kfda_pool_op_params), prepare,
                                                      eval};
