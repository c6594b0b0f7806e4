/* abs.c - ABS, float32 and int8 (TFLite: |x - in_zero_point|, rescaled when the scales
 * differ, plus the output zero point). */
#include "op_util.h"

typedef struct {
  kfda_unary_shape u;
  kfda_unary_s8_params q; /* int8 */
} abs_params;
KFDA_OP_PARAMS_FIT(abs_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  abs_params *p = (abs_params *)params;
  kfda_status st = kfda_unary_prepare(ctx, 1, &p->u);
  if (st != KFDA_OK) return st;
  if (p->u.is_int8) {
    const kfda_tensor *in = IN(0), *out = OUT;
    const double real = (double)(in->scale / out->scale);
    NEED(real > 1e-9 && real < 1e9, KFDA_ERR_UNSUPPORTED, "int8 scales out of range");
    p->q.in_zero_point = in->zero_point;
    p->q.out_zero_point = out->zero_point;
    p->q.needs_rescale = in->scale != out->scale;
    if (p->q.needs_rescale) kfda_quantize_multiplier(real, &p->q.mult, &p->q.shift);
  }
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const abs_params *p = (const abs_params *)params;
  if (p->u.is_int8)
    kfda_abs_s8(&p->q, (const int8_t *)KFDA_IN(0), p->u.elements, (int8_t *)KFDA_OUT);
  else
    kfda_abs_f32((const float *)KFDA_IN(0), p->u.elements, (float *)KFDA_OUT);
}

/* options: AbsOptions (78); the output may share the input */
const kfda_op_registration kfda_op_abs = {78, 1, sizeof(abs_params), prepare, eval};
