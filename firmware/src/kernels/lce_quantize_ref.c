/* lce_quantize_ref.c - LceQuantize, reference: pack the sign of each value
 * into bits, one branch per value (lce_quantize_opt.c is held to it). */
#include "kfda/kernels.h"

void kfda_lce_quantize_f32_ref(const float *in, int32_t rows, int32_t cols, int32_t *out) {
  int32_t r, c, words = KFDA_PACKED_WORDS(cols);
  for (r = 0; r < rows; ++r) {
    const float *row = in + (size_t)r * cols;
    uint32_t *o = (uint32_t *)out + (size_t)r * words;
    for (c = 0; c < words; ++c) o[c] = 0;
    for (c = 0; c < cols; ++c)
      if (row[c] < 0.0f) o[c >> 5] |= 1u << (c & 31);
  }
}

void kfda_lce_quantize_s8_ref(const int8_t *in, int32_t rows, int32_t cols, int32_t zero_point,
                              int32_t *out) {
  int32_t r, c, words = KFDA_PACKED_WORDS(cols);
  for (r = 0; r < rows; ++r) {
    const int8_t *row = in + (size_t)r * cols;
    uint32_t *o = (uint32_t *)out + (size_t)r * words;
    for (c = 0; c < words; ++c) o[c] = 0;
    for (c = 0; c < cols; ++c)
      if ((int32_t)row[c] < zero_point) o[c >> 5] |= 1u << (c & 31);
  }
}
