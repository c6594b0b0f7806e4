/* popcount.h - portable 32-bit population count (SWAR, no libgcc call). */
#ifndef KFDA_POPCOUNT_H_
#define KFDA_POPCOUNT_H_
#include <stdint.h>

static inline int32_t kfda_popcount32(uint32_t x) {
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0f0f0f0fu;
  return (int32_t)((x * 0x01010101u) >> 24);
}
#endif
