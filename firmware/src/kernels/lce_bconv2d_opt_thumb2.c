/*
 * lce_bconv2d_opt_thumb2.c - the XOR-popcount inner loop of the optimized
 * LceBconv2d in Thumb-2 assembly for ARMv7E-M / ARMv8-M with the DSP
 * extension (Cortex-M4, M7, M33, M55): no popcount instruction there.
 *
 *   acc[j] = popcount(col[0..kw) XOR w[j*kw .. j*kw+kw)),   j < nch
 *
 * (OHWI filters: output channel j's kw words follow channel j-1's, so the
 * filter pointer simply runs on.) Per 3 words, one output channel:
 *
 *   LDM 3 column words, LDM 3 filter words, 3 EOR
 *   carry-save adder:  ones = a ^ b ^ c,  twos = majority(a, b, c)   (5)
 *   2-bit counts:      o2 = ones - ((ones & 0xAA..) >> 1), t2 likewise (4)
 *   nibble counts of ones + 2 * twos in one go (each nibble <= 12):     (6)
 *     s = o2 + 2 t2 - 3 h,  h = (o2 hi field) + 2 (t2 hi field) per nibble
 *     (linear: intermediate nibbles may carry, the final ones cannot)
 *   accumulate with USADA8 (byte sums), no flush needed:               (3)
 *     A += bytesum(s),  L += bytesum(s & 0x0F..)   ->  total = L + (A - L) / 16
 *
 * 24.5 instructions per 3 words with the loop (unrolled twice): 8.2 per 32
 * binary MACs. All masks are Thumb-2 modified immediates, so no mask
 * registers. The kw % 6 tail goes through the same adder (a last lone triple,
 * then 1-2 words with zero words).
 *
 * Only compiled for Thumb-2 with DSP (the C kernel serves M0+/M3 and others);
 * held bit for bit to the reference by host/kernel_test.c built for Cortex-M
 * and run under qemu-system-arm (tests/firmware/test_kernels_opt.py).
 */
#include "kfda/kernels.h"

#if defined(__GNUC__) && defined(__thumb2__) && defined(__ARM_FEATURE_DSP) && \
    !defined(__ARM_NEON) && !defined(__ARM_NEON__)

/* The adder + popcount + accumulate of r4, r5, r6 into r10 (A), r11 (L);
 * r3 holds 0; clobbers r4-r8. */
#define KFDA_T2_COUNT                                                           \
  "  eor   r7, r4, r5\n"                                                        \
  "  and   r4, r4, r5\n"                                                        \
  "  eor   r5, r7, r6\n" /* ones */                                             \
  "  and   r7, r7, r6\n"                                                        \
  "  orr   r4, r4, r7\n" /* twos */                                             \
  "  and   r7, r5, #0xAAAAAAAA\n"                                               \
  "  sub   r5, r5, r7, lsr #1\n" /* o2: 2-bit counts of ones */                 \
  "  and   r7, r4, #0xAAAAAAAA\n"                                               \
  "  sub   r4, r4, r7, lsr #1\n" /* t2 */                                       \
  "  and   r7, r5, #0xCCCCCCCC\n" /* 4 * o_hi per nibble */                     \
  "  and   r8, r4, #0xCCCCCCCC\n" /* 4 * t_hi */                                \
  "  add   r7, r8, r7, lsr #1\n"  /* 2h = 4 t_hi + 2 o_hi (even, <= 12) */      \
  "  add   r5, r5, r4, lsl #1\n"  /* o2 + 2 t2 */                               \
  "  sub   r5, r5, r7, lsr #1\n"                                                \
  "  sub   r5, r5, r7\n"          /* s: nibble counts of ones + 2 twos */       \
  "  usada8 r10, r5, r3, r10\n"                                                 \
  "  and   r5, r5, #0x0F0F0F0F\n"                                               \
  "  usada8 r11, r5, r3, r11\n"

__asm__(
    "  .syntax unified\n"
    "  .thumb\n"
    "  .text\n"
    "  .p2align 2\n"
    "  .global kfda_bconv_popcount_thumb2\n"
    "  .type kfda_bconv_popcount_thumb2, %function\n"
    "  .thumb_func\n"
    /* r0 col, r1 w, r2 kw (>= 1), r3 nch (>= 1), [sp] acc */
    "kfda_bconv_popcount_thumb2:\n"
    "  push  {r4-r11, lr}\n"
    "  ldr   lr, [sp, #36]\n"      /* acc */
    "  sub   sp, sp, #16\n"
    "  mov   r12, r3\n"           /* channels left */
    "  movs  r4, #6\n"
    "  udiv  r5, r2, r4\n"         /* pairs of triples */
    "  mls   r6, r5, r4, r2\n"     /* words left: 0..5 */
    "  str   r0, [sp, #0]\n"
    "  str   r5, [sp, #4]\n"
    "  str   r6, [sp, #8]\n"
    "  movs  r3, #0\n"
    "1:\n"                         /* per output channel */
    "  ldrd  r0, r2, [sp, #0]\n"
    "  movs  r10, #0\n"
    "  movs  r11, #0\n"
    "  cmp   r2, #0\n"
    "  beq   3f\n"
    "2:\n"                         /* per 6 words */
    "  ldm   r0!, {r4, r5, r6}\n"
    "  ldm   r1!, {r7, r8, r9}\n"
    "  eor   r4, r4, r7\n"
    "  eor   r5, r5, r8\n"
    "  eor   r6, r6, r9\n"
    KFDA_T2_COUNT
    "  ldm   r0!, {r4, r5, r6}\n"
    "  ldm   r1!, {r7, r8, r9}\n"
    "  eor   r4, r4, r7\n"
    "  eor   r5, r5, r8\n"
    "  eor   r6, r6, r9\n"
    KFDA_T2_COUNT
    "  subs  r2, r2, #1\n"
    "  bne   2b\n"
    "3:\n"
    "  ldr   r2, [sp, #8]\n"
    "  cmp   r2, #0\n"
    "  beq   5f\n"
    "  cmp   r2, #3\n"             /* a whole triple left */
    "  blo   6f\n"
    "  ldm   r0!, {r4, r5, r6}\n"
    "  ldm   r1!, {r7, r8, r9}\n"
    "  eor   r4, r4, r7\n"
    "  eor   r5, r5, r8\n"
    "  eor   r6, r6, r9\n"
    KFDA_T2_COUNT
    "  subs  r2, r2, #3\n"
    "  beq   5f\n"
    "6:\n"                         /* 1 or 2 words: the adder with zero words */
    "  ldr   r4, [r0], #4\n"
    "  ldr   r7, [r1], #4\n"
    "  eor   r4, r4, r7\n"
    "  movs  r5, #0\n"
    "  movs  r6, #0\n"
    "  cmp   r2, #1\n"
    "  beq   4f\n"
    "  ldr   r5, [r0], #4\n"
    "  ldr   r7, [r1], #4\n"
    "  eor   r5, r5, r7\n"
    "4:\n"
    KFDA_T2_COUNT
    "5:\n"
    "  sub   r10, r10, r11\n"       /* 16 * (high nibble sums) */
    "  add   r11, r11, r10, lsr #4\n"
    "  str   r11, [lr], #4\n"
    "  subs  r12, r12, #1\n"
    "  bne   1b\n"
    "  add   sp, sp, #16\n"
    "  pop   {r4-r11, pc}\n"
    "  .size kfda_bconv_popcount_thumb2, .-kfda_bconv_popcount_thumb2\n");

#else
typedef int kfda_lce_bconv2d_opt_thumb2_unused; /* ISO C: no empty translation unit */
#endif
