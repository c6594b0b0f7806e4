/* add.c - ADD with broadcasting, float32 and int8 (TFLite: left shift 20, three
 * multipliers). In place: the output may take over input 0 or 1 (see op_util.h). */
#include "op_util.h"

KFDA_OP_PARAMS_FIT(kfda_binary_op_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  return kfda_add_sub_prepare(ctx, (kfda_binary_op_params *)params, 0);
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
