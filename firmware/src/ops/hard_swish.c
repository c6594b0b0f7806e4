/* hard_swish.c - HARD_SWISH x * relu6(x + 3) / 6, float32 and int8 (TFLite's 16-bit
 * fixed-point kernel: two int16 multipliers derived in Prepare). */
#include <math.h>

#include "op_util.h"

typedef struct {
  kfda_unary_shape u;
  kfda_hard_swish_s8_params q; /* int8 */
} hard_swish_params;
KFDA_OP_PARAMS_FIT(hard_swish_params);

/* TFLite DownScaleInt32ToInt16Multiplier: the Q31 significand rounded to Q15. */
static int32_t to_int16_multiplier(int32_t m) {
  if (m >= INT32_MAX - (1 << 15)) return INT16_MAX;
  return (m + (1 << 15)) >> 16;
}

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  hard_swish_params *p = (hard_swish_params *)params;
  kfda_status st = kfda_unary_prepare(ctx, 1, &p->u);
  if (st != KFDA_OK) return st;
  if (p->u.is_int8) {
    const kfda_tensor *in = IN(0), *out = OUT;
    /* TFLite HardSwishPrepare, in float as there */
    const float hires_input_scale = (1.0f / 128.0f) * in->scale;
    const float reluish_scale = 3.0f / 32768.0f;
    const float out_multiplier = hires_input_scale / out->scale;
    const float reluish_multiplier = hires_input_scale / reluish_scale;
    int32_t m;
    NEED(out_multiplier > 1e-9f && out_multiplier < 1.0f && reluish_multiplier > 1e-9f &&
             reluish_multiplier < 32768.0f,
         KFDA_ERR_UNSUPPORTED, "int8 HARD_SWISH scales out of range");
    kfda_quantize_multiplier((double)out_multiplier, &m, &p->q.out_exponent);
    p->q.out_mult = to_int16_multiplier(m);
    kfda_quantize_multiplier((double)reluish_multiplier, &m, &p->q.reluish_exponent);
    p->q.reluish_mult = to_int16_multiplier(m);
    NEED(p->q.out_exponent <= 0 && p->q.out_exponent > -15 && p->q.reluish_exponent > -15 &&
             p->q.reluish_exponent < 15,
         KFDA_ERR_UNSUPPORTED, "int8 HARD_SWISH scales out of range");
    p->q.in_zero_point = in->zero_point;
    p->q.out_zero_point = out->zero_point;
  }
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const hard_swish_params *p = (const hard_swish_params *)params;
  if (p->u.is_int8)
    kfda_hard_swish_s8(&p->q, (const int8_t *)KFDA_IN(0), p->u.elements, (int8_t *)KFDA_OUT);
  else
    kfda_hard_swish_f32((const float *)KFDA_IN(0), p->u.elements, (float *)KFDA_OUT);
}

/* options: HardSwishOptions (91); the output may share the input */
const kfda_op_registration kfda_op_hard_swish = {91, 1, sizeof(hard_swish_params), prepare, eval};
