/* data_movement.c - TRANSPOSE and STRIDED_SLICE (one strided gather), SPLIT. */
#include <string.h>

#include "kfda/kernels.h"

void kfda_gather_strided(const uint8_t *in, const int32_t *out_dims, int32_t begin,
                         const int32_t *steps, size_t elem_size, uint8_t *out) {
  int32_t i0, i1, i2, i3, i4;
  for (i0 = 0; i0 < out_dims[0]; ++i0)
    for (i1 = 0; i1 < out_dims[1]; ++i1)
      for (i2 = 0; i2 < out_dims[2]; ++i2)
        for (i3 = 0; i3 < out_dims[3]; ++i3)
          for (i4 = 0; i4 < out_dims[4]; ++i4) {
            const int64_t e = (int64_t)begin + (int64_t)i0 * steps[0] + (int64_t)i1 * steps[1] +
                              (int64_t)i2 * steps[2] + (int64_t)i3 * steps[3] +
                              (int64_t)i4 * steps[4];
            memcpy(out, in + (size_t)e * elem_size, elem_size);
            out += elem_size;
          }
}

void kfda_split_piece(const uint8_t *in, size_t outer, size_t inner_bytes, int32_t n_out, int32_t k,
                      uint8_t *out) {
  size_t o;
  in += (size_t)k * inner_bytes;
  for (o = 0; o < outer; ++o, in += (size_t)n_out * inner_bytes, out += inner_bytes)
    memcpy(out, in, inner_bytes);
}
