/* reshape.c - RESHAPE: the same bytes under a new shape. In place: the output usually
 * takes over input 0's bytes (then Eval does nothing). */
#include <string.h>

#include "op_util.h"

typedef struct {
  uint32_t bytes;
} reshape_params;
KFDA_OP_PARAMS_FIT(reshape_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  reshape_params *p = (reshape_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT;
  NEED(in->type == out->type && in->bytes == out->bytes, KFDA_ERR_SHAPE,
       "reshape changes the size or type");
  p->bytes = out->bytes;
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const reshape_params *p = (const reshape_params *)params;
  const uint8_t *x = KFDA_IN(0);
  uint8_t *y = KFDA_OUT;
  if (x != y) memmove(y, x, p->bytes);
}

/* options: ReshapeOptions (17); the output may share input 0 */
const kfda_op_registration kfda_op_reshape = {17, 1, sizeof(reshape_params), prepare, eval};
