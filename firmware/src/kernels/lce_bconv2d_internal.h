/* lce_bconv2d_internal.h - pieces the reference and the optimized LceBconv2d
 * share: LCE's same-zero padding correction (see lce_bconv2d_ref.c). */
#ifndef KFDA_LCE_BCONV2D_INTERNAL_H_
#define KFDA_LCE_BCONV2D_INTERNAL_H_
#include "kfda/kernels.h"

/* Which correction LCE applies at output (oy, ox): 0 with its case and cache
 * coordinates, or -1 for none. */
int kfda_lce_bconv2d_edge_case(const kfda_bconv_params *p, const kfda_shape4 *is,
                               const kfda_shape4 *os, int32_t fh, int32_t fw, int32_t oy,
                               int32_t ox, int *kase, int32_t *X, int32_t *Y);
/* Sum of (cin - 2 * popcount(w_tap)) over the taps counted for that case,
 * for one output channel's filter f. */
int32_t kfda_lce_bconv2d_edge_correction(const kfda_bconv_params *p, const uint32_t *f,
                                         int32_t fh, int32_t fw, int32_t gw, int32_t cin,
                                         int kase, int32_t X, int32_t Y);
#endif
