/* mean.c - MEAN over constant axes, float32 and int8. */
#include "op_util.h"

typedef struct {
  int32_t ndim;
  int32_t dims[KFDA_MAX_DIMS]; /* the input's shape */
  uint32_t reduce_mask;        /* bit i: axis i is reduced */
  kfda_mean_params requant;    /* int8 */
  uint8_t is_int8;
} mean_params;
KFDA_OP_PARAMS_FIT(mean_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  mean_params *p = (mean_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT, *axes;
  uint32_t mask = 0, i;
  size_t kept = 1;
  int a;
  NEED(ctx->op->n_in >= 2 && kfda_has_input(ctx->op, 1), KFDA_ERR_MODEL, "missing axes");
  axes = IN(1);
  NEED((in->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
           (in->type == KFDA_INT8 && out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  NEED(axes->type == KFDA_INT32 && axes->is_const && axes->ndim <= 1, KFDA_ERR_UNSUPPORTED,
       "axes must be constant int32");
  for (i = 0; i < kfda_elements(axes); ++i) {
    int32_t v = (int32_t)kfda_rd_u32(axes->data + 4 * i);
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
  if (p->is_int8) {
    /* TFLite's reduce.cc (kGenericOptimized, as LCE builds it) picks the kernel from the
     * raw axes and keep_dims; the two round differently (derived here, one Eval). */
    const int32_t count = (int32_t)(kfda_elements(in) / kept);
    kfda_mean_params *q = &p->requant;
    int32_t keep_dims = 0, axis0 = 0, axis1 = 0, mult, shift, fold = 0;
    NEED(kfda_opt_u8(ctx, 0, 0, &keep_dims) == 0, KFDA_ERR_MODEL, "malformed options");
    kfda_status st = kfda_check_int8_tensor(ctx, in, "input");
    if (st == KFDA_OK) st = kfda_check_int8_tensor(ctx, out, "output");
    if (st != KFDA_OK) return st;
    NEED(kfda_elements(in) / kept <= (1u << 17), KFDA_ERR_LIMIT, "int8 MEAN over too many values");
    if (kfda_elements(axes) == 2) {
      axis0 = (int32_t)kfda_rd_u32(axes->data);
      axis1 = (int32_t)kfda_rd_u32(axes->data + 4);
    }
    if (keep_dims && in->ndim == 4 && kfda_elements(axes) == 2 &&
        ((axis0 == 1 && axis1 == 2) || (axis0 == 2 && axis1 == 1))) {
      /* optimized_integer_ops::Mean: the raw sum, one float multiplier with 1/count, the
       * input zero point as an output bias rounded half away from zero; channels in
       * blocks of 16 take its NEON loop (half-up rounding), the rest its scalar loop */
      float temp = (float)in->zero_point * in->scale / out->scale;
      temp = temp > 0 ? temp + 0.5f : temp - 0.5f;
      NEED(temp > -1e9f && temp < 1e9f, KFDA_ERR_UNSUPPORTED, "int8 MEAN scales out of range");
      q->in_offset = 0;
      q->out_offset = out->zero_point - (int32_t)temp;
      /* the int32 sum of count values of at most 128, then + out_offset */
      NEED(kfda_requant_multiplier((double)(in->scale / ((float)count * out->scale)),
                                   (int64_t)count * 128,
                                   q->out_offset < 0 ? -(int64_t)q->out_offset : q->out_offset,
                                   &q->out_mult, &q->out_shift) == 0,
           KFDA_ERR_UNSUPPORTED, "int8 requantisation out of range (input / output scale)");
      q->channels = in->dims[3];
      q->neon_channels = in->dims[3] / 16 * 16;
    } else {
      /* reference_ops::QuantizedMeanOrSum: the zero point out of the sum; Prepare's
       * multiplier of in/out with 1/count folded in (shifted up by floor(log2(count)), at
       * most 32 and 31 + shift, then divided, truncating) */
      /* a mean of values within 255 of the zero point, then + the output zero point */
      NEED(kfda_requant_multiplier((double)in->scale / (double)out->scale, 255, 128, &mult,
                                   &shift) == 0,
           KFDA_ERR_UNSUPPORTED, "int8 requantisation out of range (input / output scale)");
      while (fold < 32 && ((int64_t)1 << (fold + 1)) <= count) ++fold;
      if (fold > 31 + shift) fold = 31 + shift;
      NEED(fold >= 0, KFDA_ERR_UNSUPPORTED, "int8 MEAN scales out of range");
      q->in_offset = -in->zero_point;
      q->out_offset = out->zero_point;
      q->out_mult = (int32_t)(((int64_t)mult << fold) / count);
      q->out_shift = shift - fold;
      NEED(q->out_shift >= -31, KFDA_ERR_UNSUPPORTED, "int8 MEAN scales out of range");
      q->channels = 1;
      q->neon_channels = 0;
    }
  }
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const mean_params *p = (const mean_params *)params;
  if (p->is_int8)
    kfda_mean_s8(&p->requant, (const int8_t *)KFDA_IN(0), p->ndim, p->dims, p->reduce_mask,
                 (int8_t *)KFDA_OUT);
  else
    kfda_mean_f32((const float *)KFDA_IN(0), p->ndim, p->dims, p->reduce_mask, (float *)KFDA_OUT);
}

/* options: ReducerOptions (27) */
const kfda_op_registration kfda_op_mean = {27, 0, sizeof(mean_params), prepare, eval};
