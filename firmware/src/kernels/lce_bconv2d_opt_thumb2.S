/*
 * lce_bconv2d_opt_thumb2.S - the XOR-popcount inner loops of the optimized
 * LceBconv2d (lce_bconv2d_opt.c) in Thumb-2 assembly for ARMv7E-M / ARMv8-M
 * with the DSP extension (Cortex-M4, M7, M33, M55): no popcount instruction
 * there. (A preprocessed .S: lce_bconv2d_internal.h decides whether this
 * file serves the target; elsewhere it assembles to nothing.)
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
 * kfda_bconv_k18_thumb2 / _k9_thumb2 (kw 18 or 9: 3x3 over 33..64 or 1..32
 * input channels; FPU builds): one adder tree over the whole channel instead,
 * so the SWAR count runs once per channel, not once per 3 words. Per channel
 * (kw 18; kw 9 in brackets):
 *   LDM column/filter words, pointer reset              11  (7)
 *   EOR                                                  18  (9)
 *   full adders, 5 each (sum a^b^c, carry a^((a^c)&(a^b))), Harley-Seal order
 *   so the pending sums fit r2-r12, lr next to 8 loaded words   60  (25)
 *     -> bit planes of weight 1,1,2,2,4,8  (1,2,2,4)
 *   2-bit counts of each plane                           12  (8)
 *   nibble counts of p + 2 q per plane pair (as above)   18  (12)
 *   byte sums: USAD8(n, 15 * high nibble of n) = sum of the nibbles of n, no
 *   zero register; weights by one shifted add             10  (7)
 *   VMOV of the count to s0-s3                             1  (1)
 * = 130 (69), and per pass of 4 channels 24 more (6 per channel): VCVT,
 * 2 * x as VADD (exact), VMUL mul, VADD bias (the reference's order and
 * roundings: no fused multiply-add), one VSTM; or the int32 counts for the C
 * transform when mul is NULL (edges, clamps, int8 or packed output).
 * The _gather entries first copy the column from 3 input rows (3 LDM/STM
 * pairs, 10 instructions per pixel instead of ~70 in C), for interior pixels.
 *
 * kfda_bconv_kn_thumb2 (any other kw = 18 n (+ 9): 3x3 over 65.. input
 * channels): the same tree per 18-word block (+ one 9-word block), the block
 * counts summed on the stack (all registers are busy inside a block): about
 * 8 instructions per block more than the K18 tree, 0.25 per MAC at kw 36 and
 * 0.24 at kw 72 against 0.26-0.29 for the per-3-words loop. Merging the bit
 * planes across blocks would count once per channel, but needs registers
 * that the tree does not have. The C gathers its column (kw/3 words a row).
 *
 * The C prototypes are in lce_bconv2d_internal.h. Held bit for bit to the
 * reference by host/kernel_test.c built for Cortex-M and run under
 * qemu-system-arm (tests/firmware/test_kernels_opt.py).
 */
#include "lce_bconv2d_internal.h"

#if KFDA_BCONV_THUMB2

  .syntax unified
  .thumb
  .text

/* The adder + popcount + accumulate of r4, r5, r6 into r10 (A), r11 (L);
 * r3 holds 0; clobbers r4-r8. */
.macro KFDA_T2_COUNT
  eor   r7, r4, r5
  and   r4, r4, r5
  eor   r5, r7, r6     /* ones */
  and   r7, r7, r6
  orr   r4, r4, r7     /* twos */
  and   r7, r5, #0xAAAAAAAA
  sub   r5, r5, r7, lsr #1     /* o2: 2-bit counts of ones */
  and   r7, r4, #0xAAAAAAAA
  sub   r4, r4, r7, lsr #1     /* t2 */
  and   r7, r5, #0xCCCCCCCC    /* 4 * o_hi per nibble */
  and   r8, r4, #0xCCCCCCCC    /* 4 * t_hi */
  add   r7, r8, r7, lsr #1     /* 2h = 4 t_hi + 2 o_hi (even, <= 12) */
  add   r5, r5, r4, lsl #1     /* o2 + 2 t2 */
  sub   r5, r5, r7, lsr #1
  sub   r5, r5, r7             /* s: nibble counts of ones + 2 twos */
  usada8 r10, r5, r3, r10
  and   r5, r5, #0x0F0F0F0F
  usada8 r11, r5, r3, r11
.endm

/* Full adder of a, b, c (t a temporary): sum in c, carry in a; b, t free.
 *   carry = majority(a, b, c) = a ^ ((a ^ c) & (a ^ b))   (a == c: a; else b) */
.macro KFDA_FA a, b, c, t
  eor   \t, \a, \b
  eor   \b, \a, \c
  eor   \c, \t, \c
  and   \b, \b, \t
  eor   \a, \a, \b
.endm
.macro KFDA_X4 a, b, c, d, e, f, g, h
  eor   \a, \a, \e
  eor   \b, \b, \f
  eor   \c, \c, \g
  eor   \d, \d, \h
.endm
.macro KFDA_X3 a, b, c, e, f, g
  eor   \a, \a, \e
  eor   \b, \b, \f
  eor   \c, \c, \g
.endm
/* 2-bit counts in place (t a temporary) */
.macro KFDA_C2 p, t
  and   \t, \p, #0xAAAAAAAA
  sub   \p, \p, \t, lsr #1
.endm
/* nibble counts of p + 2 q (2-bit counts, each nibble <= 12) into p */
.macro KFDA_N4 p, q, t, u
  and   \t, \p, #0xCCCCCCCC
  and   \u, \q, #0xCCCCCCCC
  add   \t, \u, \t, lsr #1     /* 2h, h = p_hi + 2 q_hi */
  add   \p, \p, \q, lsl #1
  sub   \p, \p, \t, lsr #1
  sub   \p, \p, \t
.endm
/* m = 15 * (high nibble) per byte of nibble vector n: usad8(n, m) = its popcount */
.macro KFDA_M15 m, n
  and   \m, \n, #0xF0F0F0F0
  sub   \m, \m, \m, lsr #4
.endm

/* popcount(col[0..18) ^ w[0..18)) into r7, w advanced by 18 words. r0 col
 * (advanced by 72), r1 w; clobbers r2-r12, lr. Harley-Seal order: ones O
 * (r4), twos T (r2), pending fours f1, f2 (r3, r5) live across the loads. */
.macro KFDA_K18_BODY
  ldm   r0!, {r2, r3, r4}
  ldm   r1!, {r5, r6, r7}
  KFDA_X3 r2, r3, r4, r5, r6, r7
  KFDA_FA r2, r3, r4, r5       /* O = r4, t1 = r2 */
  ldm   r0!, {r3, r5, r6, r7}
  ldm   r1!, {r8, r9, r10, r11}
  KFDA_X4 r3, r5, r6, r7, r8, r9, r10, r11
  KFDA_FA r3, r5, r4, r8       /* t2 = r3 */
  KFDA_FA r6, r7, r4, r5       /* t3 = r6 */
  KFDA_FA r3, r6, r2, r5       /* T = r2, f1 = r3 */
  ldm   r0!, {r5, r6, r7, r8}
  ldm   r1!, {r9, r10, r11, r12}
  KFDA_X4 r5, r6, r7, r8, r9, r10, r11, r12
  KFDA_FA r5, r6, r4, r9       /* t4 = r5 */
  KFDA_FA r7, r8, r4, r6       /* t5 = r7 */
  KFDA_FA r5, r7, r2, r6       /* f2 = r5 */
  ldm   r0!, {r6, r7, r8, r9}
  ldm   r1!, {r10, r11, r12, lr}
  KFDA_X4 r6, r7, r8, r9, r10, r11, r12, lr
  KFDA_FA r6, r7, r4, r10      /* t6 = r6 */
  KFDA_FA r8, r9, r4, r7       /* t7 = r8 */
  KFDA_FA r6, r8, r2, r7       /* f3 = r6 */
  KFDA_FA r3, r5, r6, r7       /* fours F = r6, eights E = r3 */
  ldm   r0!, {r5, r7, r8}
  ldm   r1!, {r9, r10, r11}
  KFDA_X3 r5, r7, r8, r9, r10, r11
  KFDA_FA r5, r7, r4, r9       /* t8 = r5; d17 = r8 */
  /* planes: ones r4, r8; twos r2, r5; fours r6; eights r3 */
  KFDA_C2 r4, r7
  KFDA_C2 r2, r7
  KFDA_C2 r8, r7
  KFDA_C2 r5, r7
  KFDA_C2 r6, r7
  KFDA_C2 r3, r7
  KFDA_N4 r4, r2, r7, r9       /* O + 2 T */
  KFDA_N4 r8, r5, r7, r9       /* d17 + 2 t8 */
  KFDA_N4 r6, r3, r7, r9       /* F + 2 E (weight 4) */
  KFDA_M15 r7, r4
  KFDA_M15 r9, r8
  KFDA_M15 r10, r6
  usad8  r7, r4, r7
  usada8 r7, r8, r9, r7
  usad8  r10, r6, r10
  add   r7, r7, r10, lsl #2    /* the count; r0, r1 advanced by 72 */
.endm
/* the same into single-precision register s, col restored */
.macro KFDA_K18 s
  KFDA_K18_BODY
  sub   r0, r0, #72
  vmov  \s, r7
.endm

/* The same for kw == 9 (3x3 over 1..32 input channels): 5 full adders leave
 * ones r4, twos r6 and r5, fours r2. */
.macro KFDA_K9_BODY
  ldm   r0!, {r2, r3, r4}
  ldm   r1!, {r5, r6, r7}
  KFDA_X3 r2, r3, r4, r5, r6, r7
  KFDA_FA r2, r3, r4, r5       /* O = r4, t1 = r2 */
  ldm   r0!, {r3, r5, r6, r7}
  ldm   r1!, {r8, r9, r10, r11}
  KFDA_X4 r3, r5, r6, r7, r8, r9, r10, r11
  KFDA_FA r3, r5, r4, r8       /* t2 = r3 */
  KFDA_FA r6, r7, r4, r5       /* t3 = r6 */
  ldm   r0!, {r5, r7}
  ldm   r1!, {r8, r9}
  eor   r5, r5, r8
  eor   r7, r7, r9
  KFDA_FA r5, r7, r4, r8       /* t4 = r5 */
  KFDA_FA r2, r3, r6, r7       /* T = r6, F = r2 */
  KFDA_C2 r4, r7
  KFDA_C2 r6, r7
  KFDA_C2 r5, r7
  KFDA_C2 r2, r7
  KFDA_N4 r4, r6, r7, r9       /* O + 2 T */
  KFDA_N4 r5, r2, r7, r9       /* t4 + 2 F (weight 2) */
  KFDA_M15 r7, r4
  KFDA_M15 r9, r5
  usad8  r7, r4, r7
  usad8  r9, r5, r9
  add   r7, r7, r9, lsl #1     /* the count; r0, r1 advanced by 36 */
.endm
.macro KFDA_K9 s
  KFDA_K9_BODY
  sub   r0, r0, #36
  vmov  \s, r7
.endm

/* void kfda_bconv_popcount_thumb2(const uint32_t *col, const uint32_t *w,
 *                                 int32_t kw, int32_t nch, int32_t *acc)
 * r0 col, r1 w, r2 kw (>= 1), r3 nch (>= 1), [sp] acc */
  .p2align 2
  .global kfda_bconv_popcount_thumb2
  .type kfda_bconv_popcount_thumb2, %function
  .thumb_func
kfda_bconv_popcount_thumb2:
  push  {r4-r11, lr}
  ldr   lr, [sp, #36]          /* acc */
  sub   sp, sp, #16
  mov   r12, r3                /* channels left */
  movs  r4, #6
  udiv  r5, r2, r4             /* pairs of triples */
  mls   r6, r5, r4, r2         /* words left: 0..5 */
  str   r0, [sp, #0]
  str   r5, [sp, #4]
  str   r6, [sp, #8]
  movs  r3, #0
1:                             /* per output channel */
  ldrd  r0, r2, [sp, #0]
  movs  r10, #0
  movs  r11, #0
  cmp   r2, #0
  beq   3f
2:                             /* per 6 words */
  ldm   r0!, {r4, r5, r6}
  ldm   r1!, {r7, r8, r9}
  eor   r4, r4, r7
  eor   r5, r5, r8
  eor   r6, r6, r9
  KFDA_T2_COUNT
  ldm   r0!, {r4, r5, r6}
  ldm   r1!, {r7, r8, r9}
  eor   r4, r4, r7
  eor   r5, r5, r8
  eor   r6, r6, r9
  KFDA_T2_COUNT
  subs  r2, r2, #1
  bne   2b
3:
  ldr   r2, [sp, #8]
  cmp   r2, #0
  beq   5f
  cmp   r2, #3                 /* a whole triple left */
  blo   6f
  ldm   r0!, {r4, r5, r6}
  ldm   r1!, {r7, r8, r9}
  eor   r4, r4, r7
  eor   r5, r5, r8
  eor   r6, r6, r9
  KFDA_T2_COUNT
  subs  r2, r2, #3
  beq   5f
6:                             /* 1 or 2 words: the adder with zero words */
  ldr   r4, [r0], #4
  ldr   r7, [r1], #4
  eor   r4, r4, r7
  movs  r5, #0
  movs  r6, #0
  cmp   r2, #1
  beq   4f
  ldr   r5, [r0], #4
  ldr   r7, [r1], #4
  eor   r5, r5, r7
4:
  KFDA_T2_COUNT
5:
  sub   r10, r10, r11          /* 16 * (high nibble sums) */
  add   r11, r11, r10, lsr #4
  str   r11, [lr], #4
  subs  r12, r12, #1
  bne   1b
  add   sp, sp, #16
  pop   {r4-r11, pc}
  .size kfda_bconv_popcount_thumb2, .-kfda_bconv_popcount_thumb2

#if KFDA_BCONV_TREE
/* s0-s3 = (float)(2 * s0-s3) * mul[0..4) + bias[0..4) (r3 mul, r4 bias, advanced):
 * the reference's order and roundings, no fused multiply-add */
.macro KFDA_XFORM4
  vcvt.f32.s32 s0, s0
  vcvt.f32.s32 s1, s1
  vcvt.f32.s32 s2, s2
  vcvt.f32.s32 s3, s3
  vadd.f32 s0, s0, s0          /* 2 * pc, exact */
  vadd.f32 s1, s1, s1
  vadd.f32 s2, s2, s2
  vadd.f32 s3, s3, s3
  vldmia r3!, {s4-s7}
  vmul.f32 s0, s0, s4
  vmul.f32 s1, s1, s5
  vmul.f32 s2, s2, s6
  vmul.f32 s3, s3, s7
  vldmia r4!, {s4-s7}
  vadd.f32 s0, s0, s4
  vadd.f32 s1, s1, s5
  vadd.f32 s2, s2, s6
  vadd.f32 s3, s3, s7
.endm

/* void NAME(const uint32_t *col, const uint32_t *w, int32_t nb4, void *out,
 *           const float *mul, const float *bias)
 * r0 col, r1 w, r2 batches of 4 channels (>= 1), r3 out (float, or int32
 * popcounts when mul is NULL), [sp] mul, [sp, #4] bias; tree the per-channel
 * count macro, {first-last} the registers of one row of the column (kw / 3
 * words), kw4 the column's bytes. */
.macro KFDA_TREE_FN name, tree, first, last, kw4
  .p2align 2
  .global \name\()_gather
  .type \name\()_gather, %function
  .thumb_func
\name\()_gather:               /* the same, the column gathered first: [sp, #8] x, */
  push  {r4-r11, lr}           /* [sp, #12] bytes between its 3 rows */
  ldrd  r4, r5, [sp, #44]
  ldm   r4, {\first-\last}
  stm   r0!, {\first-\last}
  add   r4, r4, r5
  ldm   r4, {\first-\last}
  stm   r0!, {\first-\last}
  add   r4, r4, r5
  ldm   r4, {\first-\last}
  stm   r0!, {\first-\last}
  sub   r0, r0, #\kw4
  b     0f
  .size \name\()_gather, .-\name\()_gather
  .global \name
  .type \name, %function
  .thumb_func
\name:
  push  {r4-r11, lr}
0:
  ldrd  r4, r5, [sp, #36]
  mov   r12, r2
  push  {r3, r4, r5, r12}      /* frame: out, mul, bias, batches left */
1:
  \tree s0
  \tree s1
  \tree s2
  \tree s3
  ldm   sp, {r2, r3, r4, r5}
  cbz   r3, 2f
  KFDA_XFORM4
2:
  vstmia r2!, {s0-s3}
  subs  r5, r5, #1
  stm   sp, {r2, r3, r4, r5}
  bne   1b
  add   sp, sp, #16
  pop   {r4-r11, pc}
  .size \name, .-\name
.endm

  KFDA_TREE_FN kfda_bconv_k18_thumb2, KFDA_K18, r6, r11, 72
  KFDA_TREE_FN kfda_bconv_k9_thumb2, KFDA_K9, r6, r8, 36

/* void kfda_bconv_kn_thumb2(col, w, nb4, out, mul, bias, int32_t kw): the same
 * for any kw = 18 n (+ 9), kw >= 27 ([sp, #8] kw): per channel n K18 blocks
 * and a K9 block, their counts summed on the stack. Frame: 0 out, 4 mul,
 * 8 bias, 12 batches left, 16 sum, 20 blocks left, 24 n, 28 9 or 0, 32 4 kw,
 * 36 channel in the batch, 40..55 the batch's 4 counts. */
  .p2align 2
  .global kfda_bconv_kn_thumb2
  .type kfda_bconv_kn_thumb2, %function
  .thumb_func
kfda_bconv_kn_thumb2:
  push  {r4-r11, lr}
  ldrd  r4, r5, [sp, #36]
  ldr   r6, [sp, #44]
  sub   sp, sp, #56
  movs  r7, #18
  udiv  r8, r6, r7
  mls   r9, r8, r7, r6
  lsls  r6, r6, #2
  str   r3, [sp, #0]
  strd  r4, r5, [sp, #4]
  str   r2, [sp, #12]
  strd  r8, r9, [sp, #24]
  str   r6, [sp, #32]
1:                             /* per 4 channels */
  movs  r2, #0
  str   r2, [sp, #36]
2:                             /* per channel */
  ldr   r3, [sp, #24]
  movs  r2, #0
  strd  r2, r3, [sp, #16]
3:                             /* per 18 words */
  KFDA_K18_BODY
  ldrd  r2, r3, [sp, #16]
  add   r2, r2, r7
  subs  r3, r3, #1
  strd  r2, r3, [sp, #16]
  bne   3b
  ldr   r3, [sp, #28]
  cmp   r3, #0
  beq   4f
  KFDA_K9_BODY
  ldr   r2, [sp, #16]
  add   r2, r2, r7
4:
  ldrd  r3, r4, [sp, #32]
  sub   r0, r0, r3             /* col back to its start */
  add   r5, sp, #40
  str   r2, [r5, r4, lsl #2]
  adds  r4, r4, #1
  str   r4, [sp, #36]
  cmp   r4, #4
  bne   2b
  vldmia r5, {s0-s3}
  ldm   sp, {r2, r3, r4, r5}
  cbz   r3, 5f
  KFDA_XFORM4
5:
  vstmia r2!, {s0-s3}
  subs  r5, r5, #1
  stm   sp, {r2, r3, r4, r5}
  bne   1b
  add   sp, sp, #56
  pop   {r4-r11, pc}
  .size kfda_bconv_kn_thumb2, .-kfda_bconv_kn_thumb2
#endif /* KFDA_BCONV_TREE */
#endif /* KFDA_BCONV_THUMB2 */

#if defined(__linux__) && defined(__ELF__)
  .section .note.GNU-stack, "", %progbits /* no executable stack (Linux hosts) */
#endif
