/*
 * The counter of the Linux targets: CLOCK_MONOTONIC in nanoseconds. Under
 * qemu-aarch64-static / qemu-arm-static this is host time, not a property of the
 * code; keras_fda.export.runner counts instructions from an exec trace instead.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <time.h>

#include "kfda_app_platform.h"

static uint64_t counter_origin;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void kfda_counter_start(void) { counter_origin = now_ns(); }

uint64_t kfda_counter_ticks(void) { return now_ns() - counter_origin; }

uint64_t kfda_counter_instructions(uint64_t ticks) { return ticks; }
