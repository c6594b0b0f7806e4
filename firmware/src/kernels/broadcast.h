/* broadcast.h - walk two broadcast inputs in output order (ADD and MUL, every dtype).
 *
 * The output has 5 axes d[0..4]; input x advances by xs[axis] elements along each axis
 * (0 on an axis it is broadcast over). Offsets are updated incrementally, like an
 * odometer, instead of being recomputed from five products per element. */
#ifndef KFDA_KERNELS_BROADCAST_H
#define KFDA_KERNELS_BROADCAST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const int32_t *dims, *a_strides, *b_strides;
  int32_t index[5];
  size_t a, b; /* current element offsets into the two inputs */
} kfda_broadcast_walk;

/* Number of output elements; positions the walk on the first one. */
static inline size_t kfda_broadcast_begin(kfda_broadcast_walk *w, const int32_t *as,
                                          const int32_t *bs, const int32_t *d) {
  size_t count = 1;
  int axis;
  w->dims = d;
  w->a_strides = as;
  w->b_strides = bs;
  w->a = w->b = 0;
  for (axis = 0; axis < 5; ++axis) {
    w->index[axis] = 0;
    count *= (size_t)(d[axis] > 0 ? d[axis] : 0);
  }
  return count;
}

/* Move to the next output element (output order: last axis fastest). */
static inline void kfda_broadcast_next(kfda_broadcast_walk *w) {
  int axis;
  for (axis = 4; axis >= 0; --axis) {
    w->a += (size_t)w->a_strides[axis];
    w->b += (size_t)w->b_strides[axis];
    if (++w->index[axis] < w->dims[axis]) return;
    /* wrap this axis back to 0 and carry into the next slower one */
    w->a -= (size_t)w->a_strides[axis] * (size_t)w->dims[axis];
    w->b -= (size_t)w->b_strides[axis] * (size_t)w->dims[axis];
    w->index[axis] = 0;
  }
}

/* For kernels that loop over runs: the trailing axes along which both inputs advance
 * evenly (on each merged axis an input's stride is its stride on the next faster axis
 * times that axis' size; both 0 counts too) form one run. Returns the run's length
 * and the inputs' element strides along it (*sa, *sb); rd: the output's sizes with the
 * merged axes set to 1, for a walk (kfda_broadcast_begin with as, bs, rd) over the runs'
 * first elements. Same-shape inputs are one run of every element; a per-channel
 * operand of an NHWC tensor gives runs of a channel row with strides 1 and 1. */
static inline size_t kfda_broadcast_run(const int32_t *as, const int32_t *bs, const int32_t *d,
                                        int32_t *rd, int32_t *sa, int32_t *sb) {
  size_t n = (size_t)(d[4] > 0 ? d[4] : 0);
  int axis;
  for (axis = 0; axis < 5; ++axis) rd[axis] = d[axis];
  rd[4] = 1;
  *sa = as[4];
  *sb = bs[4];
  for (axis = 3; axis >= 0; --axis) {
    if ((size_t)as[axis] != (size_t)*sa * n || (size_t)bs[axis] != (size_t)*sb * n) break;
    n *= (size_t)(d[axis] > 0 ? d[axis] : 0);
    rd[axis] = 1;
  }
  return n;
}

#endif
