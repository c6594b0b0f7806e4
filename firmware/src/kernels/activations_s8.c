/* activations_s8.c - int8 RELU family (rescale and clamp), ABS, HARD_SWISH and the
 * lookup tables of LOGISTIC / TANH, as TFLite's int8 kernels compute them. */
#include <math.h>

#include "kfda/kernels.h"

static int8_t saturate_s8(int32_t v) { return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v); }

void kfda_clamp_s8(const kfda_unary_s8_params *p, const int8_t *in, size_t n, int8_t *out) {
  size_t i;
  for (i = 0; i < n; ++i) {
    int32_t v = p->out_zero_point + kfda_multiply_by_quantized_multiplier(
                                        (int32_t)in[i] - p->in_zero_point, p->mult, p->shift);
    v = v < p->qmin ? p->qmin : v;
    out[i] = (int8_t)(v > p->qmax ? p->qmax : v);
  }
}

void kfda_abs_s8(const kfda_unary_s8_params *p, const int8_t *in, size_t n, int8_t *out) {
  size_t i;
  for (i = 0; i < n; ++i) {
    int32_t v = (int32_t)in[i] - p->in_zero_point;
    v = v < 0 ? -v : v;
    if (p->needs_rescale) v = kfda_multiply_by_quantized_multiplier(v, p->mult, p->shift);
    out[i] = saturate_s8(v + p->out_zero_point);
  }
}

void kfda_lut_s8(const int8_t *table, const int8_t *in, size_t n, int8_t *out) {
  size_t i;
  for (i = 0; i < n; ++i) out[i] = table[(uint8_t)in[i]];
}

void kfda_lut_s8_populate(float in_scale, int32_t in_zero_point, float out_scale,
                          int32_t out_zero_point, float (*f)(float), int8_t *table) {
  const float inverse_scale = 1.0f / out_scale;
  int32_t v;
  for (v = -128; v <= 127; ++v) {
    const float x = in_scale * (float)(v - in_zero_point);
    const float rescaled = roundf(f(x) * inverse_scale);
    /* TFLite: int cast of the float sum (rescaled is whole; the clamp keeps it in range) */
    float q = rescaled + (float)out_zero_point;
    q = q < -128.0f ? -128.0f : q > 127.0f ? 127.0f : q;
    table[(uint8_t)(int8_t)v] = (int8_t)(int32_t)q;
  }
}

/* ---- gemmlowp's int16 fixed-point steps (HARD_SWISH) ---- */
static int16_t srdhm16(int16_t a, int16_t b) { /* SaturatingRoundingDoublingHighMul */
  const int32_t ab = (int32_t)a * (int32_t)b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  if (a == b && a == INT16_MIN) return INT16_MAX;
  return (int16_t)((ab + nudge) / (1 << 15));
}

static int16_t sdhm16(int16_t a, int16_t b) { /* SaturatingDoublingHighMul: truncating */
  if (a == b && a == INT16_MIN) return INT16_MAX;
  return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

static int16_t rdbpot16(int16_t x, int32_t exponent) { /* RoundingDivideByPOT */
  const int32_t mask = (1 << exponent) - 1;
  const int32_t remainder = x & mask, threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

static int16_t sat_left_shift16(int16_t x, int32_t amount) {
  int32_t r = (int32_t)x * (1 << amount);
  r = r > INT16_MAX ? INT16_MAX : r;
  return (int16_t)(r < INT16_MIN ? INT16_MIN : r);
}

void kfda_hard_swish_s8(const kfda_hard_swish_s8_params *p, const int8_t *in, size_t n,
                        int8_t *out) {
  size_t i;
  for (i = 0; i < n; ++i) {
    const int16_t x = (int16_t)((int32_t)in[i] - p->in_zero_point);
    const int16_t x_hires = (int16_t)(x * (1 << 7));
    const int16_t x_out_scale = srdhm16(x_hires, (int16_t)p->out_mult);
    int16_t reluish = x_hires, y;
    /* x on the scale where 3.0 is 32768, saturated to [-1, 1], then mapped to [0, 1] */
    if (p->reluish_exponent > 0) reluish = sat_left_shift16(reluish, p->reluish_exponent - 1);
    reluish = srdhm16(reluish, (int16_t)p->reluish_mult);
    if (p->reluish_exponent > 0) reluish = sat_left_shift16(reluish, 1);
    if (p->reluish_exponent < 0) reluish = rdbpot16(reluish, -p->reluish_exponent);
    reluish = (int16_t)(((int32_t)reluish + (1 << 15)) >> 1);
    y = rdbpot16(sdhm16(reluish, x_out_scale), -p->out_exponent);
    out[i] = saturate_s8((int32_t)y + p->out_zero_point);
  }
}
