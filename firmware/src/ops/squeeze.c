/* squeeze.c - SQUEEZE: drops axes of size 1; the same bytes under the output's shape
 * (as RESHAPE; in place: the output usually takes over the input's bytes). */
#include <string.h>

#include "op_util.h"

typedef struct {
  uint32_t bytes;
} squeeze_params;
KFDA_OP_PARAMS_FIT(squeeze_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  squeeze_params *p = (squeeze_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT;
  int32_t a, k = 0;
  NEED(in->type == out->type && in->bytes == out->bytes, KFDA_ERR_SHAPE,
       "squeeze changes the size or type");
  /* the output's axes are the input's, less some of size 1, in order */
  for (a = 0; a < in->ndim; ++a)
    if (k < out->ndim && out->dims[k] == in->dims[a])
      ++k;
    else
      NEED(in->dims[a] == 1, KFDA_ERR_SHAPE, "output is not the input less axes of size 1");
  NEED(k == out->ndim, KFDA_ERR_SHAPE, "output is not the input less axes of size 1");
  p->bytes = out->bytes;
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const squeeze_params *p = (const squeeze_params *)params;
  const uint8_t *x = KFDA_IN(0);
  uint8_t *y = KFDA_OUT;
  if (x != y) memmove(y, x, p->bytes);
}

/* options: SqueezeOptions (30); the output may share the input */
const kfda_op_registration kfda_op_squeeze = {30, 1, sizeof(squeeze_params), prepare, eval};
