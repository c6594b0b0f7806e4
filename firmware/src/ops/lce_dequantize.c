/* lce_dequantize.c - LceDequantize: bitpacked -> float32 (+-1.0) or int8. */
#include "op_util.h"

#include <math.h>

typedef struct {
  int32_t rows, cols;       /* cols: the output's last axis */
  int8_t zero_val, one_val; /* int8 output: the values of bit 0 (+1) and bit 1 (-1) */
  uint8_t is_int8;
} lce_dequantize_params;
KFDA_OP_PARAMS_FIT(lce_dequantize_params);

static kfda_status prepare(kfda_op_context *ctx, void *params) {
  lce_dequantize_params *p = (lce_dequantize_params *)params;
  const kfda_tensor *in = IN(0), *out = OUT;
  int i;
  NEED(in->type == KFDA_INT32, KFDA_ERR_UNSUPPORTED, "input must be int32");
  NEED(out->type == KFDA_FLOAT32 || out->type == KFDA_INT8, KFDA_ERR_UNSUPPORTED,
       "output must be float32 or int8");
  NEED(in->ndim >= 1 && in->ndim == out->ndim, KFDA_ERR_SHAPE, "rank mismatch");
  for (i = 0; i < in->ndim - 1; ++i)
    NEED(in->dims[i] == out->dims[i], KFDA_ERR_SHAPE, "shape mismatch");
  NEED(in->dims[in->ndim - 1] == KFDA_PACKED_WORDS(out->dims[in->ndim - 1]), KFDA_ERR_SHAPE,
       "packed size mismatch");
  p->is_int8 = out->type == KFDA_INT8;
  if (p->is_int8) { /* +-1 in the output's quantization, saturated (as LCE) */
    float r;
    int32_t offset, zv, ov;
    NEED(out->scale > 0.0f, KFDA_ERR_MODEL, "int8 output needs a scale");
    r = roundf(1.0f / out->scale);
    NEED(r < 1e6f, KFDA_ERR_UNSUPPORTED, "output scale too small");
    offset = (int32_t)r;
    zv = out->zero_point + offset;
    ov = out->zero_point - offset;
    p->zero_val = (int8_t)(zv > 127 ? 127 : zv);
    p->one_val = (int8_t)(ov < -128 ? -128 : ov);
  }
  p->cols = out->dims[out->ndim - 1];
  p->rows = p->cols ? (int32_t)(kfda_elements(out) / (size_t)p->cols) : 0;
  return KFDA_OK;
}

static void eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const lce_dequantize_params *p = (const lce_dequantize_params *)params;
  if (p->is_int8)
    kfda_lce_dequantize_s8((const int32_t *)KFDA_IN(0), p->rows, p->cols, p->zero_val, p->one_val,
                           (int8_t *)KFDA_OUT);
  else
    kfda_lce_dequantize_f32((const int32_t *)KFDA_IN(0), p->rows, p->cols, (float *)KFDA_OUT);
}

const kfda_op_registration kfda_op_lce_dequantize = {0, 0, sizeof(lce_dequantize_params), prepare,
                                                     eval};
