/* softmax_f32.c - SOFTMAX, float32 reference over the last axis:
 * exp((x - max) * beta) / sum. */
#include <math.h>

#include "kfda/kernels.h"

void kfda_softmax_f32(float beta, const float *in, int32_t rows, int32_t depth, float *out) {
  int32_t r, i;
  for (r = 0; r < rows; ++r) {
    const float *x = in + (size_t)r * depth;
    float *y = out + (size_t)r * depth;
    float mx = x[0], sum = 0.0f;
    for (i = 1; i < depth; ++i)
      if (x[i] > mx) mx = x[i];
    for (i = 0; i < depth; ++i) {
      y[i] = expf((x[i] - mx) * beta);
      sum += y[i];
    }
    for (i = 0; i < depth; ++i) y[i] = y[i] / sum;
  }
}
