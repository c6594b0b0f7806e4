/* pad.c - PAD for any element type (constant pad value). */
#include <string.h>

#include "kfda/kernels.h"

void kfda_pad(const uint8_t *in, int32_t ndim, const int32_t *in_dims, const int32_t *pads,
              size_t es, const uint8_t *pad_value, uint8_t *out) {
  int32_t od[KFDA_MAX_DIMS], idx[KFDA_MAX_DIMS] = {0};
  size_t total = 1, i;
  int32_t a;
  for (a = 0; a < ndim; ++a) {
    od[a] = in_dims[a] + pads[2 * a] + pads[2 * a + 1];
    total *= (size_t)od[a];
  }
  for (i = 0; i < total; ++i) {
    size_t src = 0;
    int inside = 1;
    for (a = 0; a < ndim; ++a) {
      const int32_t x = idx[a] - pads[2 * a];
      if (x < 0 || x >= in_dims[a]) inside = 0;
      src = src * (size_t)in_dims[a] + (size_t)(inside ? x : 0);
    }
    memcpy(out + i * es, inside ? in + src * es : pad_value, es);
    for (a = ndim - 1; a >= 0; --a) {
      if (++idx[a] < od[a]) break;
      idx[a] = 0;
    }
  }
}
