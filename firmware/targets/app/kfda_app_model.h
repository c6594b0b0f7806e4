/*
 * The one seam between the application and what it runs: load a flatbuffer into a
 * caller-given arena, expose the input and output bytes, invoke. app/model_kfda.c
 * implements it with the keras-fda runtime (firmware/include/kfda); app/model_selftest.c
 * with a fixed plain-C computation, so a board can be brought up and checked before
 * any model exists. Neither allocates.
 */
#ifndef KFDA_APP_MODEL_H
#define KFDA_APP_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* Load the model; on failure return non-zero and write one line (no newline) to
 * `error`. `arena_needed` receives the bytes the memory plan needs when known
 * (also on an "arena too small" failure), else 0. */
int kfda_app_load(const uint8_t *flatbuffer, size_t size, uint8_t *arena, size_t arena_size,
                  size_t *arena_needed, char *error, size_t error_size);

/* The input, as one contiguous buffer of raw bytes (the model's first input). */
uint8_t *kfda_app_input(size_t *bytes);

/* Number of outputs, and output i as raw bytes. */
size_t kfda_app_output_count(void);
const uint8_t *kfda_app_output(size_t index, size_t *bytes);

/* Run one inference; non-zero on failure, with one line in `error`. */
int kfda_app_invoke(char *error, size_t error_size);

#endif
