/* mean.c - MEAN over constant axes, float32 and int8. int8 has TFLite's two paths: a
 * 4-D tensor's axes 1 and 2 (global average pooling) one way, every other set of axes
 * as TFLite's QuantizedMeanOrSum. */
#include "op_util.h"

typedef struct {
  int32_t ndim;
  int32_t dims[KFDA_MAX_DIMS]; /* the input's shape */
  uint32_t reduce_mask;        /* bit i: axis i is reduced */
  kfda_mean_params requant;    /* int8, axes 1 and 2 of a 4-D tensor */
  kfda_mean_any_s8_params any; /* int8, other axes */
  uint8_t is_int8, any_axes;
} mean_params;
KFDA_OP_PARAMS_FIT(mean_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  mean_params *p = (mean_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT, *axes;
  uint32_t mask = 0, i;
  size_t kept = 1;
  int a, raw_axes_1_2 = 1;
  NEED(ctx->op->n_in >= 2 && kfda_has_input(ctx->op, 1), KFDA_ERR_MODEL, "missing axes");
  axes = IN(1);
  NEED((in->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
           (in->type == KFDA_INT8 && out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  NEED(axes->type == KFDA_INT32 && axes->is_const && axes->ndim <= 1, KFDA_ERR_UNSUPPORTED,
       "axes must be constant int32");
  for (i = 0; i < kfda_elements(axes); ++i) {
    int32_t v = (int32_t)kfda_rd_u32(axes->data + 4 * i);
    /* TFLite takes the special path on the axes as written: [1, 2] or [2, 1] */
    if (kfda_elements(axes) != 2 || (v != 1 && v != 2)) raw_axes_1_2 = 0;
    if (v < 0) v += in->ndim;
    NEED(v >= 0 && v < in->ndim, KFDA_ERR_SHAPE, "axis out of range");
    mask |= 1u << v;
  }
  for (a = 0; a < in->ndim; ++a)
    if (!(mask & (1u << a))) kept *= (size_t)in->dims[a];
  NEED(kept == kfda_elements(out) && kfda_elements(in) > 0, KFDA_ERR_SHAPE,
       "output shape does not match");
  p->reduce_mask = mask;
  p->ndim = in->ndim;
  for (a = 0; a < in->ndim; ++a) p->dims[a] = in->dims[a];
  p->is_int8 = in->type == KFDA_INT8;
  p->any_axes = !(in->ndim == 4 && raw_axes_1_2 && mask == 6u);
  if (p->is_int8 && p->any_axes) { /* TFLite reduce.cc QuantizedMeanOrSum */
    const int32_t count = (int32_t)(kfda_elements(in) / kept);
    const double real = (double)in->scale / (double)out->scale;
    int32_t mult, shift, log2_count = 0;
    NEED(in->scale > 0.0f && out->scale > 0.0f && real > 1e-9 && real < 1e9, KFDA_ERR_MODEL,
         "int8 tensors need scales");
    NEED(kfda_elements(in) / kept < (1u << 23), KFDA_ERR_LIMIT, "int8 MEAN over too many values");
    kfda_quantize_multiplier(real, &mult, &shift);
    /* fold 1 / count into the multiplier: shift it up by floor(log2(count)) bits (at
     * most 32, and no further than a total shift of -31), then divide */
    while ((count >> (log2_count + 1)) != 0) ++log2_count;
    if (log2_count > 32) log2_count = 32;
    if (log2_count > 31 + shift) log2_count = 31 + shift;
    NEED(log2_count >= 0, KFDA_ERR_UNSUPPORTED, "int8 MEAN scales out of range");
    p->any.mult = (int32_t)((((int64_t)mult) << log2_count) / count);
    p->any.shift = shift - log2_count;
    p->any.count = count;
    p->any.in_zero_point = in->zero_point;
    p->any.out_zero_point = out->zero_point;
  } else if (p->is_int8) { /* TFLite reduce.cc: one multiplier over count * out_scale */
    const float count = (float)(kfda_elements(in) / kept);
    float temp, real;
    NEED(in->scale > 0.0f && out->scale > 0.0f, KFDA_ERR_MODEL, "int8 tensors need scales");
    NEED(kfda_elements(in) / kept < (1u << 23), KFDA_ERR_LIMIT, "int8 MEAN over too many values");
    temp = (float)in->zero_point * in->scale / out->scale;
    temp = temp > 0 ? temp + 0.5f : temp - 0.5f;
    NEED(temp > -1e9f && temp < 1e9f, KFDA_ERR_UNSUPPORTED, "int8 MEAN scales out of range");
    p->requant.out_offset = out->zero_point - (int32_t)temp;
    real = in->scale / (count * out->scale);
    kfda_quantize_multiplier((double)real, &p->requant.out_mult, &p->requant.out_shift);
  }
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const mean_params *p = (const mean_params *)params;
  if (p->is_int8 && p->any_axes)
    kfda_mean_any_s8(&p->any, (const int8_t *)KFDA_IN(0), p->ndim, p->dims, p->reduce_mask,
                     (int8_t *)KFDA_OUT);
  else if (p->is_int8)
    kfda_mean_s8(&p->requant, (const int8_t *)KFDA_IN(0), p->ndim, p->dims, p->reduce_mask,
                 (int8_t *)KFDA_OUT);
  else
    kfda_mean_f32((const float *)KFDA_IN(0), p->ndim, p->dims, p->reduce_mask, (float *)KFDA_OUT);
}

/* options: ReducerOptions (27) */
const kfda_op_registration kfda_op_mean = {27, 0, sizeof(mean_params), prepare, eval};
