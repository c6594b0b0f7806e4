"""The C sources the export writes into a package (kept in Python so that they install
with the `keras_fda.export` package without package-data rules).

`MAIN_C` and `MAKEFILE` are `str.format` templates (literal braces doubled); the driver
uses the keras-fda C runtime's public API, `firmware/include/kfda/kfda.h`.
"""

MAIN_C = r"""/*
 * kfda_run: run {model_name} with the keras-fda C runtime on Arm Linux.
 * Written by `keras-fda export --target {target}`; build with `make`, run with
 *
 *     ./kfda_run [model.tflite] [sample_input.bin] [sample_output_lce.bin] [repeats] [threads]
 *
 * It loads the model (16-byte aligned, as the runtime requires), plans and allocates
 * the arena, runs the first sample input, compares the output with the LCE
 * interpreter's (written at export time) and prints the time per inference. With
 * threads > 1 (up to KFDA_MAX_THREADS, 8) the binary convolutions and convolutions split
 * their output rows over that many threads: the same outputs, bit for bit.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kfda/kfda.h"

static kfda_model model; /* a small header: its tables live in the arena */

static uint8_t *read_file(const char *path, size_t *size) {{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (n <= 0) {{ fclose(f); return NULL; }}
  size_t rounded = ((size_t)n + 15u) & ~(size_t)15u;
  uint8_t *data = aligned_alloc(16, rounded);
  if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {{ free(data); data = NULL; }}
  fclose(f);
  *size = (size_t)n;
  return data;
}}

static double now_s(void) {{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}}

static float value_at(const void *data, const kfda_tensor_info *info, size_t i) {{
  if (info->type == KFDA_INT8)
    return ((float)((const int8_t *)data)[i] - (float)info->zero_point) * info->scale;
  return ((const float *)data)[i];
}}

int main(int argc, char **argv) {{
  const char *model_path = argc > 1 ? argv[1] : "model.tflite";
  const char *input_path = argc > 2 ? argv[2] : "sample_input.bin";
  const char *expect_path = argc > 3 ? argv[3] : "sample_output_lce.bin";
  int repeats = argc > 4 ? atoi(argv[4]) : 10;
  int threads = argc > 5 ? atoi(argv[5]) : 1;
  size_t fb_size = 0, in_size = 0, expect_size = 0, need = 0;

  uint8_t *fb = read_file(model_path, &fb_size);
  if (!fb) {{ fprintf(stderr, "kfda_run: cannot read %s\n", model_path); return 1; }}
  /* plan in a scratch workspace of the size the runtime asks for, then load */
  kfda_status st = kfda_model_plan_threads(&model, fb, fb_size, NULL, 0, threads, &need);
  if (st == KFDA_ERR_ARENA_TOO_SMALL) {{
    uint8_t *work = aligned_alloc(KFDA_ARENA_ALIGN, (need + 15u) & ~(size_t)15u);
    st = work ? kfda_model_plan_threads(&model, fb, fb_size, work, need, threads, &need)
              : KFDA_ERR_ARENA_TOO_SMALL;
    free(work);
  }}
  if (st != KFDA_OK) {{
    fprintf(stderr, "kfda_run: %s: %s\n", kfda_status_string(st), kfda_model_error(&model));
    return 1;
  }}
  uint8_t *arena = aligned_alloc(KFDA_ARENA_ALIGN, (need + 15u) & ~(size_t)15u);
  st = kfda_model_load_threads(&model, fb, fb_size, arena, need, threads);
  if (st != KFDA_OK) {{
    fprintf(stderr, "kfda_run: %s: %s\n", kfda_status_string(st), kfda_model_error(&model));
    return 1;
  }}
  printf("model %s: %zu bytes, arena %zu bytes, %d ops\n", model_path, fb_size, need,
         kfda_model_num_ops(&model));

  kfda_tensor_info in_info, out_info;
  void *in = kfda_model_input(&model, 0, &in_info);
  uint8_t *sample = read_file(input_path, &in_size);
  if (sample && in_size >= in_info.bytes) {{
    memcpy(in, sample, in_info.bytes);
  }} else {{
    fprintf(stderr, "kfda_run: no input from %s, running on zeros\n", input_path);
    memset(in, 0, in_info.bytes);
  }}

  st = kfda_model_invoke(&model);
  if (st != KFDA_OK) {{
    fprintf(stderr, "kfda_run: invoke: %s: %s\n", kfda_status_string(st), kfda_model_error(&model));
    return 1;
  }}
  const void *out = kfda_model_output(&model, 0, &out_info);
  size_t n_out = out_info.bytes / (out_info.type == KFDA_INT8 ? 1 : 4);
  size_t best = 0;
  for (size_t i = 1; i < n_out; i++)
    if (value_at(out, &out_info, i) > value_at(out, &out_info, best)) best = i;
  printf("output: %zu values, top-1 index %zu (%g)\n", n_out, best, value_at(out, &out_info, best));

  uint8_t *expect = sample ? read_file(expect_path, &expect_size) : NULL;
  if (expect && expect_size >= out_info.bytes) {{
    float worst = 0.0f;
    for (size_t i = 0; i < n_out; i++) {{
      float d = fabsf(value_at(out, &out_info, i) - value_at(expect, &out_info, i));
      if (d > worst) worst = d;
    }}
    printf("max abs diff against the LCE interpreter: %g\n", worst);
  }}

  double start = now_s();
  for (int r = 0; r < repeats; r++) kfda_model_invoke(&model);
  if (repeats > 0)
    printf("%.3f ms per inference (%d runs, %d thread%s)\n", 1e3 * (now_s() - start) / repeats,
           repeats, threads, threads > 1 ? "s" : "");
  kfda_model_release(&model); /* joins the threads */
  return 0;
}}
"""

MAKEFILE = """# Build kfda_run for {target} on the device itself (e.g. a Raspberry Pi):   make
# or cross-compile from a Debian/Ubuntu machine:   make CC={cross_compiler} LDFLAGS=-static
# KFDA_DIR is the keras-fda C runtime (firmware/include and firmware/src); the export
# copies it to ./kfda when keras-fda was installed with it.
CC ?= gcc
KFDA_DIR ?= kfda
CFLAGS ?= -O3 {arch_flags}
# threads (./kfda_run ... REPEATS THREADS): pthreads, as every Linux build of the runtime
THREAD_FLAGS = {thread_flags}
# The model's ops: only these are linked (OPS=all: every op the runtime has).
OPS ?= {ops}
KFDA_CFLAGS = -std=c11 -ffp-contract=off -Wall -I$(KFDA_DIR)/include \\
              $(if $(filter-out all,$(OPS)),-DKFDA_OPS_SELECTED $(addprefix -DKFDA_OP_,$(OPS)))
# every C and assembly file of the runtime, as firmware/targets/linux/Makefile takes them
SOURCES = main.c $(shell find $(KFDA_DIR)/src -name '*.c' -o -name '*.S' 2>/dev/null | sort)

kfda_run: $(SOURCES)
	@test -f $(KFDA_DIR)/include/kfda/kfda.h || {{ echo "no keras-fda runtime in $(KFDA_DIR): set KFDA_DIR=<repo>/firmware"; exit 1; }}
	$(CC) $(CFLAGS) $(THREAD_FLAGS) $(KFDA_CFLAGS) -o $@ $(SOURCES) $(LDFLAGS) -lm

run: kfda_run
	./kfda_run model.tflite sample_input.bin sample_output_lce.bin 10

clean:
	rm -f kfda_run

.PHONY: run clean
"""

MODEL_DATA_H = """/* The model {model_name}, exported by keras-fda for {cpu}: the TFLite flatbuffer
 * as a byte array in flash. Pass both to kfda_model_load() (kfda_model_plan() sizes the arena). */
#ifndef KFDA_MODEL_DATA_H_
#define KFDA_MODEL_DATA_H_

#ifdef __cplusplus
extern "C" {{
#endif

extern const unsigned char kfda_model_data[];
extern const unsigned int kfda_model_size;

#ifdef __cplusplus
}}
#endif
#endif /* KFDA_MODEL_DATA_H_ */
"""

MODEL_DATA_C_HEAD = """/* The model {model_name}, exported by keras-fda for {cpu} ({size} bytes).
 * The runtime reads weights in place and requires 16-byte alignment. */
#include "model_data.h"

const unsigned int kfda_model_size = {size}u;

__attribute__((aligned(16))) const unsigned char kfda_model_data[] = {{
"""
