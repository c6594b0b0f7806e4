/*
 * A stand-in "model" for bringing a board up: fixed plain-C reference loops whose
 * results a test recomputes independently in NumPy. It exercises what the real
 * runtime relies on: byte loads, XOR + popcount, int32 accumulation, float
 * arithmetic through the FPU (or soft-float), and the file I/O path.
 *
 * Input record: 256 bytes. Output record: uint32 sum over i of
 * popcount(in[i] ^ (37 * i mod 256)), then float32 sum of 0.5f * (int8)in[i]
 * (exact in float32: at most 256 * 64 in magnitude, all multiples of 0.5).
 * The flatbuffer argument must start with the 4 bytes "KFST".
 */
#include <stdio.h>
#include <string.h>

#include "kfda_app_model.h"

#define SELFTEST_INPUT_BYTES 256u

static uint8_t selftest_input[SELFTEST_INPUT_BYTES];
static uint8_t selftest_output[8];

int kfda_app_load(const uint8_t *flatbuffer, size_t size, uint8_t *arena, size_t arena_size,
                  size_t *arena_needed, char *error, size_t error_size) {
  (void)arena;
  (void)arena_size;
  *arena_needed = 0;
  if (size < 4 || memcmp(flatbuffer, "KFST", 4) != 0) {
    snprintf(error, error_size, "not a self-test model (no KFST magic)");
    return 1;
  }
  return 0;
}

uint8_t *kfda_app_input(size_t *bytes) {
  *bytes = SELFTEST_INPUT_BYTES;
  return selftest_input;
}

size_t kfda_app_output_count(void) { return 1; }

const uint8_t *kfda_app_output(size_t index, size_t *bytes) {
  (void)index;
  *bytes = sizeof selftest_output;
  return selftest_output;
}

static uint32_t popcount8(uint32_t x) {
  x = x - ((x >> 1) & 0x55u);
  x = (x & 0x33u) + ((x >> 2) & 0x33u);
  return (x + (x >> 4)) & 0x0Fu;
}

int kfda_app_invoke(char *error, size_t error_size) {
  (void)error;
  (void)error_size;
  uint32_t bits = 0;
  float sum = 0.0f;
  for (uint32_t i = 0; i < SELFTEST_INPUT_BYTES; ++i) {
    bits += popcount8(selftest_input[i] ^ ((37u * i) & 0xFFu));
    sum += 0.5f * (float)(int8_t)selftest_input[i];
  }
  memcpy(selftest_output, &bits, 4);
  memcpy(selftest_output + 4, &sum, 4);
  return 0;
}
