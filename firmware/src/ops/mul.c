/* mul.c - MUL with broadcasting, float32 and int8 (TFLite mul.cc: one multiplier).
 * In place: the output may take over input 0 or 1 (see op_util.h). */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_binary_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  kfda_binary_op_params *p = (kfda_binary_op_params *)params;
  kfda_status st = kfda_binary_prepare(ctx, p);
  if (st != KFDA_OK) return st;
  if (p->is_int8) {
    const kfda_tensor *a = IN(0), *b = IN(1), *out = OUT;
    /* (a - za) (b - zb) <= 256 * 256 */
    NEED(kfda_requant_multiplier((double)a->scale * (double)b->scale / (double)out->scale, 65536,
                                 128, &p->arith.out_mult, &p->arith.out_shift) == 0,
         KFDA_ERR_UNSUPPORTED, "int8 requantisation out of range (input scales / output scale)");
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
    kfda_mul_s8(&p->arith, (const int8_t *)KFDA_IN(0) + s.a, p->a_strides,
                (const int8_t *)KFDA_IN(1) + s.b, p->b_strides, s.dims, (int8_t *)KFDA_OUT + s.out);
  else
    kfda_mul_f32(&p->arith, (const float *)KFDA_IN(0) + s.a, p->a_strides,
                 (const float *)KFDA_IN(1) + s.b, p->b_strides, s.dims, (float *)KFDA_OUT + s.out);
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  kfda_op_run_rows(m, op, params, kfda_binary_rows((const kfda_binary_op_params *)params),
                   eval_rows);
}

/* options: MulOptions (21); the output may share input 0 or 1 */
const kfda_op_registration kfda_op_mul = {21, 2, sizeof(kfda_binary_op_params), prepare, eval};
