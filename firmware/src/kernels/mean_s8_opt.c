/*
 * mean_s8_opt.c - MEAN int8, optimized; bit for bit the reference of mean_s8.c (held to it
 * by host/kernel_test.c). The reference makes one pass over the whole input per output;
 * here each input is read once. Axes of size 1 are dropped and neighbouring axes that are
 * both kept or both reduced merged, which leaves at most 3 kept and 3 reduced groups,
 * alternating; each has a size and an element stride. Integer sums do not depend on the
 * order, so each output's int32 sum is the reference's. Then
 *   - innermost group reduced (the last axis, or all axes): each output sums contiguous
 *     runs, one per step of the outer reduced groups;
 *   - innermost group kept (global average pooling of NHWC: [outer, H*W, C]): 4 adjacent
 *     outputs per pass, summed over the reduced groups in registers;
 * and the reference's rounding (kfda_mean_s8_finish, once per output).
 */
#include "kfda/kernels.h"

typedef struct {
  int32_t size[3], stride[3]; /* outer first; unused levels: size 1, stride 0 */
} groups3;

static int32_t sum_run(const int8_t *x, int32_t n) {
  int32_t s = 0, i = 0;
  for (; i + 4 <= n; i += 4) s += ((int32_t)x[i] + x[i + 1]) + ((int32_t)x[i + 2] + x[i + 3]);
  for (; i < n; ++i) s += x[i];
  return s;
}

/* `n` (at most 3) groups of one kind, given innermost first, as 3 levels outermost first
 * (the missing outer levels: size 1). */
static void to_levels(const int32_t *size, const int32_t *stride, int n, groups3 *g) {
  int i;
  for (i = 0; i < 3; ++i) {
    g->size[2 - i] = i < n ? size[i] : 1;
    g->stride[2 - i] = i < n ? stride[i] : 0;
  }
}

void kfda_mean_s8_opt(const kfda_mean_params *p, const int8_t *in, int32_t ndim,
                      const int32_t *dims, uint32_t reduce_mask, int8_t *out) {
  int32_t ksz[KFDA_MAX_DIMS] = {0}, kst[KFDA_MAX_DIMS] = {0};
  int32_t rsz[KFDA_MAX_DIMS] = {0}, rst[KFDA_MAX_DIMS] = {0};
  int32_t stride = 1, a, i0, i1, i2, j0, j1, c;
  int nk = 0, nr = 0, last = -1; /* last: kind of the innermost group so far (1: reduced) */
  int inner_reduced = 0;
  int32_t count = 1; /* inputs per output */
  size_t total = 1, out_n = 1, o;
  int8_t *const out0 = out; /* output indices pick the rounding */
  groups3 K, R;
  for (a = 0; a < ndim; ++a) {
    total *= (size_t)dims[a];
    if (!(reduce_mask & (1u << a)))
      out_n *= (size_t)dims[a];
    else
      count *= dims[a];
  }
  if (ndim > KFDA_MAX_DIMS) {
    kfda_mean_s8_ref(p, in, ndim, dims, reduce_mask, out);
    return;
  }
  if (total == 0) { /* an empty reduced axis: every output's sum is 0 */
    for (o = 0; o < out_n; ++o) out[o] = kfda_mean_s8_finish(p, 0, count, o);
    return;
  }
  /* groups from the innermost axis out */
  for (a = ndim - 1; a >= 0; --a) {
    const int red = (reduce_mask >> a) & 1u;
    if (dims[a] == 1) continue;
    if (red == last) {
      if (red)
        rsz[nr - 1] *= dims[a];
      else
        ksz[nk - 1] *= dims[a];
    } else if (red) {
      rsz[nr] = dims[a];
      rst[nr++] = stride;
    } else {
      ksz[nk] = dims[a];
      kst[nk++] = stride;
    }
    if (last < 0) inner_reduced = red;
    last = red;
    stride *= dims[a];
  }
  if (nk > 3 || nr > 3) { /* not with 5 axes; only if KFDA_MAX_DIMS grows */
    kfda_mean_s8_ref(p, in, ndim, dims, reduce_mask, out);
    return;
  }
  to_levels(ksz, kst, nk, &K);
  to_levels(rsz, rst, nr, &R);
  if (inner_reduced) { /* R.stride[2] == 1: contiguous runs of R.size[2] */
    for (i0 = 0; i0 < K.size[0]; ++i0)
      for (i1 = 0; i1 < K.size[1]; ++i1)
        for (i2 = 0; i2 < K.size[2]; ++i2) {
          const int8_t *base = in + i0 * K.stride[0] + i1 * K.stride[1] + i2 * K.stride[2];
          int32_t acc = 0;
          for (j0 = 0; j0 < R.size[0]; ++j0)
            for (j1 = 0; j1 < R.size[1]; ++j1)
              acc += sum_run(base + j0 * R.stride[0] + j1 * R.stride[1], R.size[2]);
          *out = kfda_mean_s8_finish(p, acc, count, (size_t)(out - out0));
          ++out;
        }
    return;
  }
  /* K.stride[2] == 1: rows of K.size[2] adjacent outputs (no reduced axes: R all 1s) */
  for (i0 = 0; i0 < K.size[0]; ++i0)
    for (i1 = 0; i1 < K.size[1]; ++i1) {
      const int8_t *row = in + i0 * K.stride[0] + i1 * K.stride[1];
      const int32_t n = K.size[2];
      for (c = 0; c + 4 <= n; c += 4) {
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, j2;
        for (j0 = 0; j0 < R.size[0]; ++j0)
          for (j1 = 0; j1 < R.size[1]; ++j1) {
            const int8_t *x = row + c + j0 * R.stride[0] + j1 * R.stride[1];
            for (j2 = 0; j2 < R.size[2]; ++j2, x += R.stride[2]) {
              s0 += x[0];
              s1 += x[1];
              s2 += x[2];
              s3 += x[3];
            }
          }
        out[0] = kfda_mean_s8_finish(p, s0, count, (size_t)(out - out0) + 0);
        out[1] = kfda_mean_s8_finish(p, s1, count, (size_t)(out - out0) + 1);
        out[2] = kfda_mean_s8_finish(p, s2, count, (size_t)(out - out0) + 2);
        out[3] = kfda_mean_s8_finish(p, s3, count, (size_t)(out - out0) + 3);
        out += 4;
      }
      for (; c < n; ++c) {
        int32_t s = 0, j2;
        for (j0 = 0; j0 < R.size[0]; ++j0)
          for (j1 = 0; j1 < R.size[1]; ++j1) {
            const int8_t *x = row + c + j0 * R.stride[0] + j1 * R.stride[1];
            for (j2 = 0; j2 < R.size[2]; ++j2, x += R.stride[2]) s += *x;
          }
        *out = kfda_mean_s8_finish(p, s, count, (size_t)(out - out0));
        ++out;
      }
    }
}

void kfda_mean_s8(const kfda_mean_params *p, const int8_t *in, int32_t ndim, const int32_t *dims,
                  uint32_t reduce_mask, int8_t *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_mean_s8_ref(p, in, ndim, dims, reduce_mask, out);
#else
  kfda_mean_s8_opt(p, in, ndim, dims, reduce_mask, out);
#endif
}
