/*
 * planner.h - greedy memory planner (the TFLite Micro algorithm).
 *
 * Input: n buffers, each with a size in bytes and a lifetime [first, last]
 * (inclusive op indices). Output: an offset for each buffer such that two
 * buffers whose lifetimes intersect never overlap in memory.
 *
 * Algorithm:
 *   1. Order buffers by size, largest first (ties: earlier first use first,
 *      then lower index) - big buffers are hardest to fit, so they go first.
 *   2. For each buffer in that order, list the already placed buffers whose
 *      lifetimes intersect its own, sorted by offset.
 *   3. Walk that list keeping the lowest free offset `cur` (aligned to
 *      `align`); the first gap between `cur` and the next listed buffer that
 *      is large enough takes the buffer; otherwise it goes after the last.
 *   4. The plan's size is the highest end of any buffer.
 *
 * Limits: O(n^2) time; the caller provides all memory (two int16 scratch
 * arrays of n entries). Zero-sized buffers get offset 0 and take no space.
 * A greedy plan is not always optimal; it is deterministic.
 */
#ifndef KFDA_PLANNER_H_
#define KFDA_PLANNER_H_

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t size;   /* bytes */
  int32_t first;   /* first op index using it */
  int32_t last;    /* last op index using it (>= first) */
  uint32_t offset; /* output: offset in the arena */
} kfda_plan_buf;

/* Place bufs[0..n). scratch_a and scratch_b hold n entries each.
 * *total receives the high-water mark. Returns 0, or -1 on bad arguments
 * (n < 0, n > 32767, last < first, overflow). */
int kfda_plan_greedy(kfda_plan_buf *bufs, int n, uint32_t align, int16_t *scratch_a,
                     int16_t *scratch_b, size_t *total);

/* Overlap checker for tests: 0 if no two buffers with intersecting lifetimes
 * overlap in memory and every buffer ends within total; otherwise the
 * 1-based index of the first offending buffer. */
int kfda_plan_check(const kfda_plan_buf *bufs, int n, size_t total);

#endif /* KFDA_PLANNER_H_ */
