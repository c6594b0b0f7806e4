/* planner.c - greedy arena planner (see planner.h for the algorithm). */
#include "kfda/planner.h"

static uint64_t align_up(uint64_t x, uint32_t a) { return a <= 1 ? x : (x + a - 1) / a * a; }

static int before(const kfda_plan_buf *b, int i, int j) {
  if (b[i].size != b[j].size) return b[i].size > b[j].size;
  if (b[i].first != b[j].first) return b[i].first < b[j].first;
  return i < j;
}

static int lifetimes_meet(const kfda_plan_buf *x, const kfda_plan_buf *y) {
  return x->first <= y->last && y->first <= x->last;
}

int kfda_plan_greedy(kfda_plan_buf *bufs, int n, uint32_t align, int16_t *order, int16_t *live,
                     size_t *total) {
  int i, k, placed = 0;
  uint64_t high = 0;
  if (n < 0 || n > 32767 || (n > 0 && (!bufs || !order || !live)) || !total) return -1;
  /* 1. insertion sort by size (stable, deterministic) */
  for (i = 0; i < n; ++i) {
    if (bufs[i].last < bufs[i].first) return -1;
    for (k = placed; k > 0 && before(bufs, i, order[k - 1]); --k) order[k] = order[k - 1];
    order[k] = (int16_t)i;
    ++placed;
  }
  /* 2-3. place in that order */
  for (i = 0; i < n; ++i) {
    kfda_plan_buf *b = &bufs[order[i]];
    uint64_t size = align_up(b->size, align), cur = 0;
    int nl = 0, j;
    if (b->size == 0) {
      b->offset = 0;
      continue;
    }
    for (j = 0; j < i; ++j) { /* already placed, lifetimes intersect */
      const kfda_plan_buf *o = &bufs[order[j]];
      if (o->size == 0 || !lifetimes_meet(b, o)) continue;
      for (k = nl; k > 0 && bufs[live[k - 1]].offset > o->offset; --k) live[k] = live[k - 1];
      live[k] = order[j];
      ++nl;
    }
    for (j = 0; j < nl; ++j) {
      const kfda_plan_buf *o = &bufs[live[j]];
      uint64_t end;
      if (o->offset >= cur + size) break; /* gap before o fits */
      end = align_up((uint64_t)o->offset + o->size, align);
      if (end > cur) cur = end;
    }
    if (cur + size > 0xffffffffull) return -1;
    b->offset = (uint32_t)cur;
    if (cur + b->size > high) high = cur + b->size;
  }
  *total = (size_t)align_up(high, align);
  return 0;
}

int kfda_plan_check(const kfda_plan_buf *bufs, int n, size_t total) {
  int i, j;
  for (i = 0; i < n; ++i) {
    if (bufs[i].size == 0) continue;
    if ((uint64_t)bufs[i].offset + bufs[i].size > total) return i + 1;
    for (j = 0; j < i; ++j) {
      if (bufs[j].size == 0 || !lifetimes_meet(&bufs[i], &bufs[j])) continue;
      if ((uint64_t)bufs[i].offset < (uint64_t)bufs[j].offset + bufs[j].size &&
          (uint64_t)bufs[j].offset < (uint64_t)bufs[i].offset + bufs[i].size)
        return i + 1;
    }
  }
  return 0;
}
