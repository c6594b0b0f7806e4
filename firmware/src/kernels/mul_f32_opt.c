/*
 * mul_f32_opt.c - MUL float32, optimized; bit for bit the reference of mul_f32.c (held
 * to it by host/kernel_test.c). The run walker and the 8-wide pass are shared with the
 * other float binary op: binary_f32_runs.h.
 */
#include "binary_f32_runs.h"

void kfda_mul_f32_opt(const kfda_arith_params *p, const float *a, const int32_t *as, const float *b,
                      const int32_t *bs, const int32_t *d, float *out) {
  kfda_binary_f32_opt(KFDA_BINARY_MUL, p, a, as, b, bs, d, out);
}

void kfda_mul_f32(const kfda_arith_params *p, const float *a, const int32_t *as, const float *b,
                  const int32_t *bs, const int32_t *d, float *out) {
#if defined(KFDA_KERNELS_REF)
  kfda_mul_f32_ref(p, a, as, b, bs, d, out);
#else
  kfda_mul_f32_opt(p, a, as, b, bs, d, out);
#endif
}
