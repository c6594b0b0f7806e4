/* strided_slice.c - STRIDED_SLICE with constant begin/end/strides and begin, end and
 * shrink-axis masks (TFLite's StartForAxis/StopForAxis), any type (int8: the same
 * quantization in and out). Ellipsis, new-axis masks and `offset` are refused. */
#include "op_util.h"

typedef struct {
  int32_t out_dims[KFDA_MAX_DIMS]; /* per input axis (shrunk: 1), padded with leading 1s */
  int32_t steps[KFDA_MAX_DIMS];    /* input element stride x slice stride per axis */
  int32_t begin;                   /* input element of the first output element */
  uint32_t elem_size;
} strided_slice_params;
KFDA_OP_PARAMS_FIT(strided_slice_params);

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  strided_slice_params *p = (strided_slice_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT, *vec[3];
  int32_t begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_mask, offset;
  int32_t in_strides[KFDA_MAX_DIMS], stride = 1, a, k = 0;
  const int pad = KFDA_MAX_DIMS - in->ndim;
  int64_t begin = 0;
  NEED(ctx->op->n_in == 4 && kfda_has_input(ctx->op, 1) && kfda_has_input(ctx->op, 2) &&
           kfda_has_input(ctx->op, 3),
       KFDA_ERR_MODEL, "needs begin, end and strides");
  for (a = 0; a < 3; ++a) {
    vec[a] = IN(a + 1);
    NEED(vec[a]->type == KFDA_INT32 && vec[a]->is_const && vec[a]->ndim == 1 &&
             vec[a]->dims[0] == in->ndim && vec[a]->bytes >= 4u * (uint32_t)in->ndim,
         KFDA_ERR_UNSUPPORTED, "begin, end and strides must be constant int32 of the input's rank");
  }
  NEED(kfda_opt_i32(ctx, 0, 0, &begin_mask) == 0 && kfda_opt_i32(ctx, 1, 0, &end_mask) == 0 &&
           kfda_opt_i32(ctx, 2, 0, &ellipsis_mask) == 0 &&
           kfda_opt_i32(ctx, 3, 0, &new_axis_mask) == 0 &&
           kfda_opt_i32(ctx, 4, 0, &shrink_mask) == 0 && kfda_opt_u8(ctx, 5, 0, &offset) == 0,
       KFDA_ERR_MODEL, "bad options");
  NEED(ellipsis_mask == 0 && new_axis_mask == 0 && offset == 0, KFDA_ERR_UNSUPPORTED,
       "ellipsis, new-axis masks and offset are not supported");
  NEED(in->type == out->type && kfda_type_size(in->type) > 0, KFDA_ERR_SHAPE, "type mismatch");
  NEED(in->type != KFDA_INT8 || (in->scale == out->scale && in->zero_point == out->zero_point),
       KFDA_ERR_UNSUPPORTED, "int8 input and output with different quantization");
  for (a = in->ndim - 1; a >= 0; --a) {
    in_strides[a] = stride;
    stride *= in->dims[a];
  }
  for (a = 0; a < KFDA_MAX_DIMS; ++a) {
    p->out_dims[a] = 1;
    p->steps[a] = 0;
  }
  for (a = 0; a < in->ndim; ++a) {
    const int64_t size = in->dims[a];
    const int64_t step = (int32_t)kfda_rd_u32(vec[2]->data + 4 * a);
    int64_t start = (int32_t)kfda_rd_u32(vec[0]->data + 4 * a);
    int64_t stop = (int32_t)kfda_rd_u32(vec[1]->data + 4 * a), count;
    NEED(step != 0, KFDA_ERR_MODEL, "stride 0");
    NEED(size > 0, KFDA_ERR_SHAPE, "empty input axis");
    if (begin_mask & (1 << a)) start = step > 0 ? INT32_MIN : INT32_MAX;
    if (start < 0) start += size;
    start = step > 0 ? clamp64(start, 0, size) : clamp64(start, -1, size - 1);
    if (shrink_mask & (1 << a)) {
      NEED(start >= 0 && start < size, KFDA_ERR_SHAPE, "shrunk axis index out of range");
      count = 1;
    } else {
      if (end_mask & (1 << a)) stop = step > 0 ? INT32_MAX : INT32_MIN;
      if (stop < 0) stop += size;
      stop = step > 0 ? clamp64(stop, 0, size) : clamp64(stop, -1, size - 1);
      count = step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
      if (count < 0) count = 0;
      NEED(k < out->ndim && out->dims[k] == count, KFDA_ERR_SHAPE, "output shape does not match");
      ++k;
    }
    NEED(count > 0, KFDA_ERR_SHAPE, "empty slice");
    p->out_dims[pad + a] = (int32_t)count;
    p->steps[pad + a] = (int32_t)(step * in_strides[a]);
    begin += start * in_strides[a];
  }
  NEED(k == out->ndim, KFDA_ERR_SHAPE, "output shape does not match");
  p->begin = (int32_t)begin;
  p->elem_size = (uint32_t)kfda_type_size(in->type);
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const strided_slice_params *p = (const strided_slice_params *)params;
  kfda_gather_strided(KFDA_IN(0), p->out_dims, p->begin, p->steps, p->elem_size, KFDA_OUT);
}

/* options: StridedSliceOptions (32) */
const kfda_op_registration kfda_op_strided_slice = {32, 0, sizeof(strided_slice_params), prepare,
                                                    eval};
