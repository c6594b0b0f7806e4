/*
 * kfda_runtime_shim.c - the C side of the kfda_runtime Python package.
 *
 * Python reaches the keras-fda C runtime through ctypes. This shim owns everything
 * whose layout or alignment Python should not need to know: the (large) kfda_model
 * struct, a 16-byte aligned copy of the flatbuffer, and the arena. Python sees an
 * opaque session pointer and plain integers, floats and byte buffers.
 *
 * Built with the runtime's sources into one shared library (see build_library.py beside setup.py);
 * only the kfdart_* functions below are exported.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kfda/kfda.h"

#if defined(__GNUC__)
#define KFDART_API __attribute__((visibility("default")))
#else
#define KFDART_API
#endif

typedef struct {
  kfda_model model; /* a small header: its tables live in the arena */
  void *fb_raw;     /* malloc'd block holding the aligned flatbuffer copy */
  uint8_t *fb;
  size_t fb_size;
  void *arena_raw;
  uint8_t *arena;
  size_t arena_bytes;
  char error[KFDA_ERROR_LEN + 64];
} kfdart_session;

/* A pointer into `raw` rounded up to KFDA_ARENA_ALIGN (raw holds size + align bytes). */
static uint8_t *align_up(void *raw) {
  uintptr_t p = (uintptr_t)raw;
  return (uint8_t *)raw + (KFDA_ARENA_ALIGN - p % KFDA_ARENA_ALIGN) % KFDA_ARENA_ALIGN;
}

static void set_error(char *dst, size_t len, kfda_status st, const char *detail) {
  snprintf(dst, len, "%s: %s", kfda_status_string(st), detail && *detail ? detail : "no detail");
}

KFDART_API const char *kfdart_version(void) { return KFDA_VERSION; }
KFDART_API int kfdart_max_dims(void) { return KFDA_MAX_DIMS; }
KFDART_API int kfdart_max_threads(void) { return kfda_max_threads(); }

KFDART_API void kfdart_close(kfdart_session *s) {
  if (!s) return;
  kfda_model_release(&s->model); /* joins its threads before the arena goes */
  free(s->arena_raw);
  free(s->fb_raw);
  free(s);
}

/* Copy the flatbuffer (any alignment) and load it to run on num_threads threads
 * (1 .. kfdart_max_threads()). Returns NULL on failure with a one-line reason
 * ("<status>: <message>", e.g. "unsupported op: ...") in err. */
KFDART_API kfdart_session *kfdart_open(const uint8_t *flatbuffer, size_t size, int num_threads,
                                       char *err, size_t err_len) {
  kfdart_session *s;
  kfda_status st;
  if (err && err_len) err[0] = '\0';
  if (!flatbuffer || size == 0) {
    if (err) set_error(err, err_len, KFDA_ERR_ARG, "empty flatbuffer");
    return NULL;
  }
  s = calloc(1, sizeof(*s));
  if (!s || !(s->fb_raw = malloc(size + KFDA_ARENA_ALIGN))) {
    if (err) snprintf(err, err_len, "out of memory for a %lu byte model", (unsigned long)size);
    kfdart_close(s);
    return NULL;
  }
  s->fb = align_up(s->fb_raw);
  memcpy(s->fb, flatbuffer, size);
  s->fb_size = size;
  /* plan in a scratch workspace of the size the runtime asks for, then load */
  st = kfda_model_plan_threads(&s->model, s->fb, size, NULL, 0, num_threads, &s->arena_bytes);
  if (st == KFDA_ERR_ARENA_TOO_SMALL) {
    void *work = malloc(s->arena_bytes + KFDA_ARENA_ALIGN);
    if (!work) {
      if (err)
        snprintf(err, err_len, "out of memory for a %lu byte plan workspace",
                 (unsigned long)s->arena_bytes);
      kfdart_close(s);
      return NULL;
    }
    st = kfda_model_plan_threads(&s->model, s->fb, size, align_up(work), s->arena_bytes,
                                 num_threads, &s->arena_bytes);
    free(work);
  }
  if (st == KFDA_OK) {
    s->arena_raw = malloc(s->arena_bytes + KFDA_ARENA_ALIGN);
    if (!s->arena_raw) {
      if (err)
        snprintf(err, err_len, "out of memory for a %lu byte arena", (unsigned long)s->arena_bytes);
      kfdart_close(s);
      return NULL;
    }
    s->arena = align_up(s->arena_raw);
    st = kfda_model_load_threads(&s->model, s->fb, size, s->arena, s->arena_bytes, num_threads);
  }
  if (st != KFDA_OK) {
    if (err) set_error(err, err_len, st, kfda_model_error(&s->model));
    kfdart_close(s);
    return NULL;
  }
  return s;
}

KFDART_API int kfdart_num_inputs(const kfdart_session *s) {
  return kfda_model_num_inputs(&s->model);
}
KFDART_API int kfdart_num_outputs(const kfdart_session *s) {
  return kfda_model_num_outputs(&s->model);
}
KFDART_API size_t kfdart_arena_bytes(const kfdart_session *s) { return s->arena_bytes; }
KFDART_API size_t kfdart_weight_bytes(const kfdart_session *s) {
  return kfda_model_weight_bytes(&s->model);
}
KFDART_API int kfdart_num_ops(const kfdart_session *s) { return kfda_model_num_ops(&s->model); }
KFDART_API const char *kfdart_op_name(const kfdart_session *s, int i) {
  return kfda_model_op_name(&s->model, i);
}

/* Description of input (is_output = 0) or output i. dims needs KFDA_MAX_DIMS slots.
 * Returns 0, or -1 when i is out of range. */
KFDART_API int kfdart_tensor(kfdart_session *s, int is_output, int i, int32_t *type, int32_t *ndim,
                             int32_t *dims, uint64_t *bytes, float *scale, int32_t *zero_point) {
  kfda_tensor_info info;
  const void *data =
      is_output ? kfda_model_output(&s->model, i, &info) : kfda_model_input(&s->model, i, &info);
  int d;
  if (!data) return -1;
  *type = (int32_t)info.type;
  *ndim = info.ndim;
  for (d = 0; d < info.ndim && d < KFDA_MAX_DIMS; ++d) dims[d] = info.dims[d];
  *bytes = (uint64_t)info.bytes;
  *scale = info.scale;
  *zero_point = info.zero_point;
  return 0;
}

/* Run n samples. inputs[i] holds n samples of input i back to back (n * its bytes),
 * outputs[i] receives n samples of output i. The caller sized every buffer from
 * kfdart_tensor. Returns 0, or a kfda_status with kfdart_error set. */
KFDART_API int kfdart_run(kfdart_session *s, uint64_t n, const uint8_t *const *inputs,
                          uint8_t *const *outputs) {
  int n_in = kfda_model_num_inputs(&s->model), n_out = kfda_model_num_outputs(&s->model);
  uint64_t k;
  int i;
  for (k = 0; k < n; ++k) {
    kfda_status st;
    for (i = 0; i < n_in; ++i) {
      kfda_tensor_info info;
      void *dst = kfda_model_input(&s->model, i, &info);
      memcpy(dst, inputs[i] + k * info.bytes, info.bytes);
    }
    st = kfda_model_invoke(&s->model);
    if (st != KFDA_OK) {
      set_error(s->error, sizeof(s->error), st, kfda_model_error(&s->model));
      return (int)st;
    }
    for (i = 0; i < n_out; ++i) {
      kfda_tensor_info info;
      const void *src = kfda_model_output(&s->model, i, &info);
      memcpy(outputs[i] + k * info.bytes, src, info.bytes);
    }
  }
  return 0;
}

KFDART_API const char *kfdart_error(const kfdart_session *s) { return s->error; }
