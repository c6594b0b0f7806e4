/*
 * The instruction/cycle counter of the Cortex-M targets: SysTick on the core clock,
 * reload 2^24 - 1, with an interrupt counting the wraps so the count is 64-bit.
 *
 * Under QEMU with `-icount shift=0` every instruction advances virtual time by 1 ns,
 * so one SysTick tick is 1e9 / KFDA_CORE_HZ instructions (40 on the mps2 boards at
 * 25 MHz): kfda_counter_instructions() converts. On a real chip the ticks are core
 * cycles; KFDA_COUNTER_IS_CYCLES makes the application say "cycles" instead.
 */
#include <stdint.h>

#include "kfda_app_platform.h"

#ifndef KFDA_CORE_HZ
#error "KFDA_CORE_HZ (the SysTick clock of the board, in Hz) must be defined"
#endif

#define SYST_CSR    (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR    (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR    (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

static volatile uint32_t systick_wraps;

void SysTick_Handler(void) { ++systick_wraps; }

void kfda_counter_start(void) {
  SYST_CSR = 0;
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0; /* any write clears it: the count restarts from the reload value */
  systick_wraps = 0;
  /* CLKSOURCE = core clock, TICKINT = interrupt on wrap, ENABLE. */
  SYST_CSR = (1u << 2) | (1u << 1) | 1u;
  /* The cleared value reads 0 until the first reload (one tick): a read in that
   * tick would count as a whole period. Start counting from the reload. */
  while (SYST_CVR == 0) {
  }
}

uint64_t kfda_counter_ticks(void) {
  uint32_t wraps, value;
  do {
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  return (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - value);
}

uint64_t kfda_counter_instructions(uint64_t ticks) { return ticks * 1000000000ull / KFDA_CORE_HZ; }
