/* broadcast_ops.c - PRELU, MINIMUM, MAXIMUM and SUB over two broadcast inputs (one
 * broadcast step per element, see broadcast.h), float32 and int8. */
#include "broadcast.h"
#include "kfda/kernels.h"

static int8_t saturate(int32_t v, int32_t lo, int32_t hi) {
  return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

void kfda_prelu_f32(const float *x, const int32_t *x_strides, const float *alpha,
                    const int32_t *alpha_strides, const int32_t *out_dims, float *out) {
  kfda_broadcast_walk w;
  const size_t n = kfda_broadcast_begin(&w, x_strides, alpha_strides, out_dims);
  size_t i;
  for (i = 0; i < n; ++i, kfda_broadcast_next(&w)) {
    const float v = x[w.a];
    out[i] = v >= 0.0f ? v : v * alpha[w.b];
  }
}

void kfda_prelu_s8(const kfda_arith_params *p, const int8_t *x, const int32_t *x_strides,
                   const int8_t *alpha, const int32_t *alpha_strides, const int32_t *out_dims,
                   int8_t *out) {
  kfda_broadcast_walk w;
  const size_t n = kfda_broadcast_begin(&w, x_strides, alpha_strides, out_dims);
  size_t i;
  for (i = 0; i < n; ++i, kfda_broadcast_next(&w)) {
    const int32_t v = p->in_offset + x[w.a];
    int32_t y;
    if (v >= 0)
      y = kfda_multiply_by_quantized_multiplier(v, p->in_mult, p->in_shift);
    else
      y = kfda_multiply_by_quantized_multiplier(v * (p->in2_offset + alpha[w.b]), p->in2_mult,
                                                p->in2_shift);
    out[i] = saturate(y + p->out_offset, -128, 127);
  }
}

#define KFDA_MINMAX(name, type, better)                                                       \
  void name(const type *a, const int32_t *a_strides, const type *b, const int32_t *b_strides, \
            const int32_t *out_dims, type *out) {                                             \
    kfda_broadcast_walk w;                                                                    \
    const size_t n = kfda_broadcast_begin(&w, a_strides, b_strides, out_dims);                \
    size_t i;                                                                                 \
    for (i = 0; i < n; ++i, kfda_broadcast_next(&w))                                          \
      out[i] = a[w.a] better b[w.b] ? a[w.a] : b[w.b];                                        \
  }
/* TFLite: el1 < el2 ? el1 : el2 (MINIMUM), el1 > el2 ? el1 : el2 (MAXIMUM) */
KFDA_MINMAX(kfda_minimum_f32, float, <)
KFDA_MINMAX(kfda_maximum_f32, float, >)
KFDA_MINMAX(kfda_minimum_s8, int8_t, <)
KFDA_MINMAX(kfda_maximum_s8, int8_t, >)

void kfda_sub_f32(const kfda_arith_params *p, const float *a, const int32_t *a_strides,
                  const float *b, const int32_t *b_strides, const int32_t *out_dims, float *out) {
  kfda_broadcast_walk w;
  const size_t n = kfda_broadcast_begin(&w, a_strides, b_strides, out_dims);
  size_t i;
  for (i = 0; i < n; ++i, kfda_broadcast_next(&w)) {
    const float v = a[w.a] - b[w.b];
    out[i] = v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v;
  }
}

void kfda_sub_s8(const kfda_arith_params *p, const int8_t *a, const int32_t *a_strides,
                 const int8_t *b, const int32_t *b_strides, const int32_t *out_dims, int8_t *out) {
  kfda_broadcast_walk w;
  const size_t n = kfda_broadcast_begin(&w, a_strides, b_strides, out_dims);
  const int32_t shift = 1 << p->left_shift;
  size_t i;
  for (i = 0; i < n; ++i, kfda_broadcast_next(&w)) {
    const int32_t x = (p->in_offset + a[w.a]) * shift, y = (p->in2_offset + b[w.b]) * shift;
    const int32_t sum = kfda_multiply_by_quantized_multiplier(x, p->in_mult, p->in_shift) +
                        kfda_multiply_by_quantized_multiplier(y, p->in2_mult, p->in2_shift);
    out[i] = saturate(
        kfda_multiply_by_quantized_multiplier(sum, p->out_mult, p->out_shift) + p->out_offset,
        p->qact_min, p->qact_max);
  }
}
