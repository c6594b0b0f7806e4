/* logistic.c - LOGISTIC, float32 and int8. int8 as TFLite's generic kernel: a 256-entry table
 * built in Prepare from the float function (1 / (1 + exp(-x))) on the input's and output's
 * quantization, then one lookup per element. */
#include "op_util.h"

typedef struct {
  int8_t *table; /* int8: persistent, 256 entries indexed by (uint8_t)x */
  uint32_t elements;
  uint8_t is_int8;
} logistic_params;
KFDA_OP_PARAMS_FIT(logistic_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  logistic_params *p = (logistic_params *)params;
  size_t n;
  int is_int8;
  kfda_status st = kfda_unary_prepare(ctx, 1, &n, &is_int8);
  if (st != KFDA_OK) return st;
  p->elements = (uint32_t)n;
  p->is_int8 = (uint8_t)is_int8;
  if (is_int8) {
    const kfda_tensor *in = IN(0), *out = OUT;
    /* TFLite's Prepare insists on the output range [0, 1) in 256 steps */
    NEED(out->scale == 1.0f / 256 && out->zero_point == -128, KFDA_ERR_UNSUPPORTED,
         "int8 LOGISTIC needs output scale 1/256 and zero point -128");
    p->table = (int8_t *)kfda_op_persist(ctx, 256);
    if (p->table)
      kfda_lut_s8_populate(in->scale, in->zero_point, out->scale, out->zero_point, kfda_logisticf,
                           p->table);
  }
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const logistic_params *p = (const logistic_params *)params;
  if (p->is_int8)
    kfda_lut_s8(p->table, (const int8_t *)KFDA_IN(0), p->elements, (int8_t *)KFDA_OUT);
  else
    kfda_logistic_f32((const float *)KFDA_IN(0), p->elements, (float *)KFDA_OUT);
}

/* options: none; the output may share the input */
const kfda_op_registration kfda_op_logistic = {0, 1, sizeof(logistic_params), prepare, eval};
