/*
 * What the shared application (app/main.c) needs from a target: a counter around
 * each inference, and the name of what it counts. Implemented by
 * targets/cortex-m/counter.c (SysTick; instructions under QEMU -icount) and
 * targets/linux/counter.c (CLOCK_MONOTONIC nanoseconds).
 */
#ifndef KFDA_APP_PLATFORM_H
#define KFDA_APP_PLATFORM_H

#include <stdint.h>

/* Restart the counter from zero. */
void kfda_counter_start(void);

/* Ticks since kfda_counter_start(). */
uint64_t kfda_counter_ticks(void);

/* Ticks converted to the unit printed (instructions, cycles or nanoseconds). */
uint64_t kfda_counter_instructions(uint64_t ticks);

/* Bare metal only (targets/cortex-m/startup.c): the stack's high-water mark and reserve. */
unsigned long kfda_stack_bytes_used(void);
unsigned long kfda_stack_bytes_reserved(void);

#endif
