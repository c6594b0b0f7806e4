/* lce_dequantize.c - LceDequantize: bits back to +-1. */
#include "kfda/kernels.h"

void kfda_lce_dequantize_f32(const int32_t *in, int32_t rows, int32_t cols, float *out) {
  int32_t r, c, words = KFDA_PACKED_WORDS(cols);
  for (r = 0; r < rows; ++r) {
    const uint32_t *w = (const uint32_t *)in + (size_t)r * words;
    float *o = out + (size_t)r * cols;
    for (c = 0; c < cols; ++c) o[c] = ((w[c >> 5] >> (c & 31)) & 1u) ? -1.0f : 1.0f;
  }
}

void kfda_lce_dequantize_s8(const int32_t *in, int32_t rows, int32_t cols, int8_t zero_val,
                            int8_t one_val, int8_t *out) {
  int32_t r, c, words = KFDA_PACKED_WORDS(cols);
  for (r = 0; r < rows; ++r) {
    const uint32_t *w = (const uint32_t *)in + (size_t)r * words;
    int8_t *o = out + (size_t)r * cols;
    for (c = 0; c < cols; ++c) o[c] = ((w[c >> 5] >> (c & 31)) & 1u) ? one_val : zero_val;
  }
}
