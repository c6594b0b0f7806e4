/* lce_quantize.c - LceQuantize: float32/int8 -> bitpacked (sign bits, 32 per word). */
#include "op_util.h"

typedef struct {
  int32_t rows, cols; /* cols: the last axis */
  int32_t zero_point; /* int8 input: bit = (x < zero_point) */
  uint8_t is_int8;
} lce_quantize_params;
KFDA_OP_PARAMS_FIT(lce_quantize_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  lce_quantize_params *p = (lce_quantize_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT;
  int i;
  NEED(in->type == KFDA_FLOAT32 || in->type == KFDA_INT8, KFDA_ERR_UNSUPPORTED,
       "input must be float32 or int8");
  NEED(out->type == KFDA_INT32, KFDA_ERR_UNSUPPORTED, "output must be int32");
  NEED(in->ndim >= 1 && in->ndim == out->ndim, KFDA_ERR_SHAPE, "rank mismatch");
  for (i = 0; i < in->ndim - 1; ++i)
    NEED(in->dims[i] == out->dims[i], KFDA_ERR_SHAPE, "shape mismatch");
  NEED(out->dims[in->ndim - 1] == KFDA_PACKED_WORDS(in->dims[in->ndim - 1]), KFDA_ERR_SHAPE,
       "packed size mismatch");
  p->cols = in->dims[in->ndim - 1];
  p->rows = p->cols ? (int32_t)(kfda_elements(in) / (size_t)p->cols) : 0;
  p->zero_point = in->zero_point;
  p->is_int8 = in->type == KFDA_INT8;
  return KFDA_OK;
}

/* Rows [row_begin, row_end): each row (pixel) packs into its own words, so threads that
 * split the rows write disjoint words with the same arithmetic. */
static void eval_rows(const kfda_model *m, const kfda_op *op, const void *params, int32_t row_begin,
                      int32_t row_end, void *scratch) {
  const lce_quantize_params *p = (const lce_quantize_params *)params;
  const size_t first = (size_t)row_begin * (size_t)p->cols;
  int32_t *out = (int32_t *)KFDA_OUT + (size_t)row_begin * KFDA_PACKED_WORDS(p->cols);
  (void)scratch; /* none */
  if (p->is_int8)
    kfda_lce_quantize_s8((const int8_t *)KFDA_IN(0) + first, row_end - row_begin, p->cols,
                         p->zero_point, out);
  else
    kfda_lce_quantize_f32((const float *)KFDA_IN(0) + first, row_end - row_begin, p->cols, out);
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  kfda_op_run_rows(m, op, params, ((const lce_quantize_params *)params)->rows, eval_rows);
}

const kfda_op_registration kfda_op_lce_quantize = {0, 0, sizeof(lce_quantize_params), prepare,
                                                   eval};
