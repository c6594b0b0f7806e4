/*
 * The micro:bit's instruction counter: the nRF51's TIMER0, not SysTick.
 *
 * The nRF51822's Cortex-M0 is built without SysTick (ARMv6-M makes it optional;
 * nRF51 Reference Manual: the system timer is the RTC/TIMER peripherals). QEMU's
 * -M microbit does emulate a SysTick at the 16 MHz HCLK, but an image that counts with
 * it would count nothing on the real chip. TIMER0 exists on both: 32-bit mode,
 * prescaler 0, so it counts the 16 MHz HFCLK; QEMU derives its count from virtual time,
 * so under -icount shift=0 (1 ns per instruction) one tick is 62.5 instructions.
 * On the real chip the ticks are 16 MHz clock ticks (a cycle each at HCLK = 16 MHz).
 */
#include <stdint.h>

#include "kfda_app_platform.h"

#ifndef KFDA_CORE_HZ
#error "KFDA_CORE_HZ (the TIMER0 clock, 16 MHz) must be defined"
#endif

#define TIMER0_REG(offset)    (*(volatile uint32_t *)(0x40008000u + (offset)))
#define TIMER0_TASKS_START    TIMER0_REG(0x000)
#define TIMER0_TASKS_STOP     TIMER0_REG(0x004)
#define TIMER0_TASKS_CLEAR    TIMER0_REG(0x00C)
#define TIMER0_TASKS_CAPTURE0 TIMER0_REG(0x040)
#define TIMER0_MODE           TIMER0_REG(0x504)
#define TIMER0_BITMODE        TIMER0_REG(0x508)
#define TIMER0_PRESCALER      TIMER0_REG(0x510)
#define TIMER0_CC0            TIMER0_REG(0x540)

#define BITMODE_32 3u

void kfda_counter_start(void) {
  TIMER0_TASKS_STOP = 1;
  TIMER0_MODE = 0; /* timer, not counter */
  TIMER0_BITMODE = BITMODE_32;
  TIMER0_PRESCALER = 0; /* 16 MHz / 2^0 */
  TIMER0_TASKS_CLEAR = 1;
  TIMER0_TASKS_START = 1;
}

/* 32 bits at 16 MHz wrap after 268 s (2.7e11 instructions under -icount): far beyond
 * an inference that fits 16 KiB. */
uint64_t kfda_counter_ticks(void) {
  TIMER0_TASKS_CAPTURE0 = 1;
  return TIMER0_CC0;
}

uint64_t kfda_counter_instructions(uint64_t ticks) { return ticks * 1000000000ull / KFDA_CORE_HZ; }
