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

/* exp, tanh and the logistic function of our own, in double arithmetic (+ - * / only),
 * rounded once to float: libm's expf/tanhf differ between targets (newlib builds for
 * cores without a double FPU use older, less accurate versions), these give the same
 * bits everywhere, and within an ulp of the exact value (the LCE interpreter's glibc). */
static double exp_d(double x) { /* x in [-104, 89] */
  const double ln2 = 0.693147180559945309417232121458;
  const double k = (double)(int32_t)(x / ln2 + (x < 0 ? -0.5 : 0.5));
  const double r = x - k * ln2; /* |r| <= ln2 / 2 */
  double term = 1.0, sum = 1.0, scale;
  union {
    double d;
    uint64_t u;
  } two_k;
  int i;
  for (i = 1; i <= 14; ++i) { /* Taylor: error below 0.35^15 / 15! */
    term = term * r / (double)i;
    sum += term;
  }
  two_k.u = (uint64_t)((int64_t)k + 1023) << 52;
  scale = two_k.d;
  return sum * scale;
}

float kfda_expf(float x) {
  if (x != x) return x;
  if (x > 89.0f) return INFINITY;
  if (x < -104.0f) return 0.0f;
  return (float)exp_d((double)x);
}

float kfda_tanhf(float x) {
  const double a = x < 0 ? -(double)x : (double)x;
  double em1, t;
  if (x != x) return x;
  if (a > 10.0) return x < 0 ? -1.0f : 1.0f;
  if (a < 0.25) { /* expm1(2a) by its series: no cancellation */
    double term = 1.0;
    int i;
    em1 = 0.0;
    for (i = 1; i <= 16; ++i) {
      term = term * (2.0 * a) / (double)i;
      em1 += term;
    }
  } else {
    em1 = exp_d(2.0 * a) - 1.0;
  }
  t = em1 / (em1 + 2.0);
  return (float)(x < 0 ? -t : t);
}

/* In float after the exp, as TFLite's int8 table: 1.0f / (1.0f + std::exp(-x)). */
float kfda_logisticf(float x) { return 1.0f / (1.0f + kfda_expf(-x)); }

void kfda_tanh_f32(const float *in, size_t n, float *out) {
  size_t i;
  for (i = 0; i < n; ++i) out[i] = kfda_tanhf(in[i]);
}

void kfda_logistic_f32(const float *in, size_t n, float *out) {
  size_t i;
  for (i = 0; i < n; ++i) out[i] = kfda_logisticf(in[i]);
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
