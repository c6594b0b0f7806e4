/*
 * fuzz_model.c - libFuzzer harness over the whole C API: plan, load, then invoke on
 * zero and extreme inputs (README.md: how to build and run it, short and long).
 *
 * Every input is a flatbuffer candidate. The runtime must refuse it with a status or
 * run it; the sanitizers (address, undefined, float-cast-overflow) turn any memory error
 * or undefined behaviour into a crash that libFuzzer reports and minimises.
 *
 * The harness (not the library) uses malloc: the flatbuffer is copied into a 16-byte
 * aligned buffer of exactly its size, so a read past its end is caught, and the arena
 * is exactly the planned size, so a write past it is caught.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kfda/kfda.h"

#define MAX_ARENA_BYTES (64u << 20) /* larger plans are planned but not loaded */
/* Invoke's work bounds, in multiply-accumulates (estimate_work): a mutated shape can ask
 * for seconds of arithmetic per input, which stalls the campaign without reaching new
 * code. Small models run every input pattern, larger ones one pattern (picked by the
 * input's size, so the campaign still tries them all), heavier ones are still planned
 * and loaded (every check runs) but not invoked. */
#define ALL_PATTERNS_WORK (1u << 16)
#define MAX_INVOKE_WORK   (1u << 20)

static kfda_model model; /* large: static */

static double tensor_elements(const kfda_tensor *t) {
  double n = 1.0;
  int d;
  for (d = 0; d < t->ndim; ++d) n *= t->dims[d] > 0 ? (double)t->dims[d] : 1.0;
  return n;
}

/* Invoke's work, roughly: per op, its input and output elements plus, for an op with
 * constant inputs (weights), output elements x weights per output channel (a conv's or
 * a fully connected layer's multiply-accumulates). */
static double estimate_work(void) {
  double work = 0.0;
  int o, k;
  for (o = 0; o < model.n_ops; ++o) {
    const kfda_op *op = &model.ops[o];
    double out = 0.0, weights = 0.0, channels = 1.0;
    if (op->n_out > 0 && op->out >= 0) { /* the first output: all but SPLIT's only one */
      const kfda_tensor *t = &model.tensors[op->out];
      out = tensor_elements(t) * (double)op->n_out;
      if (t->ndim > 0 && t->dims[t->ndim - 1] > 0) channels = (double)t->dims[t->ndim - 1];
    }
    for (k = 0; k < op->n_in; ++k) {
      const kfda_tensor *t;
      if (op->in[k] < 0) continue;
      t = &model.tensors[op->in[k]];
      if (t->is_const)
        weights += tensor_elements(t);
      else
        work += tensor_elements(t);
    }
    work += out * (1.0 + weights / channels);
  }
  return work;
}

/* Fill every input with one pattern: 0 zeros, then the extremes of each type. */
static void fill_inputs(int pattern) {
  static const float floats[] = {0.0f, FLT_MAX, -FLT_MAX, INFINITY, -INFINITY, NAN, 1e-45f};
  static const uint8_t bytes[] = {0x00, 0x7f, 0x80, 0xff, 0x55, 0xaa, 0x01};
  int i;
  for (i = 0; i < kfda_model_num_inputs(&model); ++i) {
    kfda_tensor_info info;
    uint8_t *p = (uint8_t *)kfda_model_input(&model, i, &info);
    size_t k;
    if (p == NULL) continue;
    if (info.type == KFDA_FLOAT32) {
      for (k = 0; k + 4 <= info.bytes; k += 4) {
        /* the pattern, with every other value its neighbour, so sums mix signs */
        const float v = floats[(pattern + (int)((k / 4) % 2)) % 7];
        memcpy(p + k, &v, 4);
      }
    } else {
      for (k = 0; k < info.bytes; ++k) p[k] = bytes[(pattern + (int)(k % 2)) % 7];
    }
  }
}

/* A 16-byte aligned buffer of n bytes, its allocation's size when malloc aligns (copied
 * from src when given); *raw is what to free. */
static uint8_t *aligned_end_copy(const uint8_t *src, size_t n, void **raw) {
  uint8_t *p = (uint8_t *)malloc(n ? n : 1);
  size_t pad;
  if (p != NULL && (uintptr_t)p % 16 != 0) { /* padded: up to 15 bytes of slack */
    free(p);
    p = (uint8_t *)malloc(n + 16);
    if (p == NULL) return NULL;
    pad = (16 - (uintptr_t)p % 16) % 16;
    *raw = p;
    p += pad;
  } else {
    *raw = p;
  }
  if (p != NULL && src != NULL && n) memcpy(p, src, n);
  return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  void *raw_fb, *raw_arena, *raw_work;
  uint8_t *fb, *arena, *work;
  kfda_status status;
  size_t need = 0;
  int pattern;
  /* exact-size copies, so a read past the flatbuffer or a write past the arena is
   * caught (malloc aligns to 16 bytes under ASan; else a padded copy) */
  fb = aligned_end_copy(data, size, &raw_fb);
  if (fb == NULL) return 0;
  /* the planner's workspace: ask its size, then plan in an exact-size copy */
  if (kfda_model_plan(&model, fb, size, NULL, 0, &need) != KFDA_ERR_ARENA_TOO_SMALL ||
      need > MAX_ARENA_BYTES) {
    free(raw_fb);
    return 0;
  }
  work = aligned_end_copy(NULL, need, &raw_work);
  if (work == NULL) {
    free(raw_fb);
    return 0;
  }
  status = kfda_model_plan(&model, fb, size, work, need, &need);
  free(raw_work);
  if (status != KFDA_OK || need > MAX_ARENA_BYTES) {
    free(raw_fb);
    return 0;
  }
  arena = aligned_end_copy(NULL, need, &raw_arena);
  if (arena == NULL) {
    free(raw_fb);
    return 0;
  }
  if (kfda_model_load(&model, fb, size, arena, need) == KFDA_OK) {
    const double work = estimate_work();
    if (work <= (double)ALL_PATTERNS_WORK) {
      for (pattern = 0; pattern < 7; ++pattern) {
        fill_inputs(pattern);
        (void)kfda_model_invoke(&model);
      }
    } else if (work <= (double)MAX_INVOKE_WORK) {
      fill_inputs((int)(size % 7));
      (void)kfda_model_invoke(&model);
    }
  }
  free(raw_arena);
  free(raw_fb);
  return 0;
}
