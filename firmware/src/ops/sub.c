/* sub.c - SUB a - b with broadcasting and the fused activation, float32 and int8 (TFLite:
 * ADD's arithmetic, left shift 20 and three multipliers, with b's multiplier negated). */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_binary_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  kfda_binary_op_params *p = (kfda_binary_op_params *)params;
  kfda_status st = kfda_binary_prepare(ctx, p);
  if (st != KFDA_OK) return st;
  if (p->is_int8) {
    const kfda_tensor *a = IN(0), *b = IN(1), *out = OUT;
    kfda_arith_params *q = &p->arith;
    double twice, r1, r2, ro;
    q->left_shift = 20;
    twice = (double)(2 * (a->scale > b->scale ? a->scale : b->scale));
    r1 = (double)a->scale / twice;
    r2 = (double)b->scale / twice;
    ro = twice / (double)((float)(1 << q->left_shift) * out->scale);
    NEED(r1 > 1e-9 && r2 > 1e-9 && ro > 1e-9 && ro < 1.0, KFDA_ERR_UNSUPPORTED,
         "int8 SUB scales out of range");
    kfda_quantize_multiplier(r1, &q->in_mult, &q->in_shift);
    kfda_quantize_multiplier(r2, &q->in2_mult, &q->in2_shift);
    q->in2_mult = -q->in2_mult;
    kfda_quantize_multiplier(ro, &q->out_mult, &q->out_shift);
  }
  return kfda_binary_broadcast(ctx, p);
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_binary_op_params *p = (const kfda_binary_op_params *)params;
  if (p->is_int8)
    kfda_sub_s8(&p->arith, (const int8_t *)KFDA_IN(0), p->a_strides, (const int8_t *)KFDA_IN(1),
                p->b_strides, p->out_dims, (int8_t *)KFDA_OUT);
  else
    kfda_sub_f32(&p->arith, (const float *)KFDA_IN(0), p->a_strides, (const float *)KFDA_IN(1),
                 p->b_strides, p->out_dims, (float *)KFDA_OUT);
}

/* options: SubOptions (28) */
const kfda_op_registration kfda_op_sub = {28, 0, sizeof(kfda_binary_op_params), prepare, eval};
