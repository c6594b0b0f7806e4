/* activations_f32.c - float32 RELU / RELU6 / RELU_N1_TO_1 (clamp), ABS, ROUND, TANH,
 * LOGISTIC and HARD_SWISH, elementwise as TFLite's reference formulas. */
#include <math.h>

#include "kfda/kernels.h"

void kfda_clamp_f32(const float *in, size_t n, float lo, float hi, float *out) {
  size_t i;
  for (i = 0; i < n; ++i) {
    float v = in[i] < lo ? lo : in[i]; /* std::max(lo, x): lo when x is NaN */
    out[i] = v > hi ? hi : v;
  }
}

void kfda_abs_f32(const float *in, size_t n, float *out) {
  size_t i;
  for (i = 0; i < n; ++i) out[i] = fabsf(in[i]);
}

void kfda_round_f32(const float *in, size_t n, float *out) {
  size_t i;
  for (i = 0; i < n; ++i) {
    const float fl = floorf(in[i]), diff = in[i] - fl;
    /* ties to even; fmodf instead of TFLite's int cast (no overflow past 2^31) */
    out[i] = (diff < 0.5f || (diff == 0.5f && fmodf(fl, 2.0f) == 0.0f)) ? fl : fl + 1.0f;
  }
}

void kfda_tanh_f32(const float *in, size_t n, float *out) {
  size_t i;
  for (i = 0; i < n; ++i) out[i] = tanhf(in[i]);
}

void kfda_logistic_f32(const float *in, size_t n, float *out) {
  size_t i;
  for (i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + expf(-in[i]));
}

void kfda_hard_swish_f32(const float *in, size_t n, float *out) {
  size_t i;
  for (i = 0; i < n; ++i) {
    float r = in[i] + 3.0f;
    r = r < 0.0f ? 0.0f : r;
    r = r > 6.0f ? 6.0f : r;
    out[i] = in[i] * r / 6.0f;
  }
}
