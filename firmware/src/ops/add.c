/* add.c - ADD with broadcasting, float32 and int8 (TFLite: left shift 20, three
 * multipliers). In place: the output may take over input 0 or 1 (see op_util.h). */
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
    NEED(r1 <= 1.0 && r2 <= 1.0 && ro < 1.0, KFDA_ERR_UNSUPPORTED, "int8 ADD scales out of range");
    /* inputs: (x - z) 2^20 <= 2^28; output: the sum of two of those times r <= 1 */
    NEED(kfda_requant_multiplier(r1, 1 << 28, 0, &q->in_mult, &q->in_shift) == 0 &&
             kfda_requant_multiplier(r2, 1 << 28, 0, &q->in2_mult, &q->in2_shift) == 0 &&
             kfda_requant_multiplier(ro, 1 << 29, 128, &q->out_mult, &q->out_shift) == 0,
         KFDA_ERR_UNSUPPORTED, "int8 ADD scales out of range");
  }
  return kfda_binary_broadcast(ctx, p);
}

static void eval_rows(const kfda_model *m, const kfda_op *op, const void *params, int32_t row_begin,
                      int32_t row_end, void *scratch) {
  const kfda_binary_op_params *p = (const kfda_binary_op_params *)params;
  kfda_binary_slice s;
  (void)scratch; /* none */
  kfda_binary_slice_of(p, row_begin, row_end, &s);
  if (p->is_int8)
    kfda_add_s8(&p->arith, (const int8_t *)KFDA_IN(0) + s.a, p->a_strides,
                (const int8_t *)KFDA_IN(1) + s.b, p->b_strides, s.dims, (int8_t *)KFDA_OUT + s.out);
  else
    kfda_add_f32(&p->arith, (const float *)KFDA_IN(0) + s.a, p->a_strides,
                 (const float *)KFDA_IN(1) + s.b, p->b_strides, s.dims, (float *)KFDA_OUT + s.out);
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  kfda_op_run_rows(m, op, params, kfda_binary_rows((const kfda_binary_op_params *)params),
                   eval_rows);
}

/* options: AddOptions (11); the output may share input 0 or 1 */
const kfda_op_registration kfda_op_add = {11, 2, sizeof(kfda_binary_op_params), prepare, eval};
