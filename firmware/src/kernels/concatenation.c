/* concatenation.c - CONCATENATION for any element type: for each of `outer`
 * slices, copy inner_bytes[i] bytes of input i in turn. */
#include <string.h>

#include "kfda/kernels.h"

void kfda_concatenation(const uint8_t *const *ins, const size_t *inner_bytes, int32_t n_in,
                        size_t outer, uint8_t *out) {
  size_t o;
  int32_t i;
  for (o = 0; o < outer; ++o)
    for (i = 0; i < n_in; ++i) {
      memcpy(out, ins[i] + o * inner_bytes[i], inner_bytes[i]);
      out += inner_bytes[i];
    }
}
