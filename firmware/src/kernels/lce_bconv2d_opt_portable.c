/*
 * lce_bconv2d_opt_portable.c - the XOR-popcount inner loop of the optimized
 * LceBconv2d (lce_bconv2d_opt.c) in plain C, for cores without NEON or the
 * Thumb-2 DSP loop (Cortex-M0+/M3: no popcount instruction either; x86 and
 * the rest): 2 channels per pass, 3 words per step through a carry-save adder:
 *   ones = a ^ b ^ c, twos = majority(a, b, c)    (a + b + c = ones + 2 twos)
 * then one SWAR reduction of ones + 2 * twos to nibbles (each <= 12) and
 * two byte accumulators (flushed every 21 steps): about 10 instructions per
 * word instead of ~14 for XOR + SWAR popcount per word.
 *
 * Held bit for bit to lce_bconv2d_ref.c by tests/firmware/test_kernels_opt.py
 * (kernel_test natively and on Cortex-M3 under qemu-system-arm).
 */
#include "lce_bconv2d_internal.h"

#if KFDA_BCONV_PORTABLE
#include "popcount.h"

#define M1 0x55555555u
#define M2 0x33333333u
#define M4 0x0f0f0f0fu

/* Sum of the four bytes of a byte accumulator pair (each byte <= 252). */
static inline int32_t hsum_bytes(uint32_t lo, uint32_t hi) {
  uint32_t h = (lo & 0x00ff00ffu) + ((lo >> 8) & 0x00ff00ffu) + (hi & 0x00ff00ffu) +
               ((hi >> 8) & 0x00ff00ffu);
  return (int32_t)((h + (h >> 16)) & 0xffffu);
}

/* ones + 2 * twos as nibble counts (each <= 12) */
static inline uint32_t csa_nibbles(uint32_t a, uint32_t b, uint32_t c) {
  const uint32_t ab = a ^ b;
  uint32_t ones = ab ^ c, twos = (a & b) | (ab & c);
  ones = ones - ((ones >> 1) & M1);
  twos = twos - ((twos >> 1) & M1);
  ones = (ones & M2) + ((ones >> 2) & M2);
  twos = (twos & M2) + ((twos >> 2) & M2);
  return ones + (twos << 1);
}

#if KFDA_BCONV_OC_BLOCK == 1
/* acc[0] = popcount(x XOR w) over n words (one channel: fewer live registers). */
void kfda_bconv_popcount_portable(const uint32_t *x, const uint32_t *w, size_t stride, int32_t n,
                                  int32_t *acc) {
  int32_t i = 0, t0 = 0;
  (void)stride;
  while (n - i >= 3) {
    int32_t steps = (n - i) / 3;
    uint32_t lo0 = 0, hi0 = 0;
    if (steps > 21) steps = 21;
    for (; steps > 0; --steps, i += 3) {
      const uint32_t s0 = csa_nibbles(x[i] ^ w[i], x[i + 1] ^ w[i + 1], x[i + 2] ^ w[i + 2]);
      lo0 += s0 & M4;
      hi0 += (s0 >> 4) & M4;
    }
    t0 += hsum_bytes(lo0, hi0);
  }
  for (; i < n; ++i) t0 += kfda_popcount32(x[i] ^ w[i]);
  acc[0] = t0;
}
#else
/* acc[j] = popcount(x XOR w_j) over n words, w_j = w + j * stride, j < 2. */
void kfda_bconv_popcount_portable(const uint32_t *x, const uint32_t *w, size_t stride, int32_t n,
                                  int32_t *acc) {
  const uint32_t *v = w + stride;
  int32_t i = 0, t0 = 0, t1 = 0;
  while (n - i >= 3) {
    int32_t steps = (n - i) / 3;
    uint32_t lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0;
    if (steps > 21) steps = 21;
    for (; steps > 0; --steps, i += 3) {
      const uint32_t a = x[i], b = x[i + 1], c = x[i + 2];
      const uint32_t s0 = csa_nibbles(a ^ w[i], b ^ w[i + 1], c ^ w[i + 2]);
      const uint32_t s1 = csa_nibbles(a ^ v[i], b ^ v[i + 1], c ^ v[i + 2]);
      lo0 += s0 & M4;
      hi0 += (s0 >> 4) & M4;
      lo1 += s1 & M4;
      hi1 += (s1 >> 4) & M4;
    }
    t0 += hsum_bytes(lo0, hi0);
    t1 += hsum_bytes(lo1, hi1);
  }
  for (; i < n; ++i) {
    t0 += kfda_popcount32(x[i] ^ w[i]);
    t1 += kfda_popcount32(x[i] ^ v[i]);
  }
  acc[0] = t0;
  acc[1] = t1;
}
#endif

#else
typedef int kfda_lce_bconv2d_opt_portable_unused; /* ISO C: no empty translation unit */
#endif
