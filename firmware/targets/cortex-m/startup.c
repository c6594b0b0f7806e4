/*
 * Cortex-M start-up shared by every board: vector table, reset handler, fault
 * handlers, and the empty _init/_fini that newlib's __libc_init_array expects
 * when linking with -nostartfiles.
 *
 * Reset: copy .data from flash to RAM, zero .bss, enable the FPU where the core
 * has one (CPACR, before any float instruction runs), run the C++-style
 * constructors, call main, and hand main's result to exit() (which, under
 * semihosting, ends the QEMU run with that status).
 *
 * The symbols come from cortex-m.ld: _sidata/_sdata/_edata (initialised data,
 * load address and run addresses), _sbss/_ebss, _estack (top of RAM).
 */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[], __StackLimit[];

#define STACK_PAINT 0x5AC4C0DEu

int main(void);
void __libc_init_array(void);
void kfda_systick_handler(void);
void kfda_board_init(void);

void _init(void) {}
void _fini(void) {}

/* The emulated boards' default: open the semihosting stdin/stdout/stderr (rdimon's
 * crt0 would, but -nostartfiles leaves it out). A real board overrides it with its
 * clock and UART set-up. */
void initialise_monitor_handles(void);
__attribute__((weak)) void kfda_board_init(void) { initialise_monitor_handles(); }

/* Cortex-M system control registers used here (same on v7-M and v8-M). */
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_VTOR  (*(volatile uint32_t *)0xE000ED08u)
#define SCB_CFSR  (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR  (*(volatile uint32_t *)0xE000ED2Cu)

__attribute__((noreturn)) void Reset_Handler(void) {
  uint32_t *src = _sidata;
  uint32_t *dst = _sdata;
  while (dst < _edata) {
    *dst++ = *src++;
  }
  for (dst = _sbss; dst < _ebss; ++dst) {
    *dst = 0;
  }
  /* Paint the stack reserve below the current frame, so kfda_stack_bytes_used() can
   * tell how deep the stack went (a fixed reserve: the link fails if RAM can't hold it). */
  uint32_t *frame = (uint32_t *)__builtin_frame_address(0) - 16;
  for (dst = __StackLimit; dst < frame; ++dst) {
    *dst = STACK_PAINT;
  }
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
  /* Full access to coprocessors 10 and 11 (the FPU, and MVE on v8.1-M). */
  SCB_CPACR |= (0xFu << 20);
  __asm volatile("dsb\n\tisb" ::: "memory");
#endif
  kfda_board_init();
  __libc_init_array();
  exit(main());
}

/* The high-water mark of the stack: bytes from the top down to the deepest word that
 * lost its paint. The whole reserve used means it probably overflowed. */
unsigned long kfda_stack_bytes_used(void) {
  const uint32_t *p = __StackLimit;
  while (p < _estack && *p == STACK_PAINT) {
    ++p;
  }
  return (unsigned long)((const uint8_t *)_estack - (const uint8_t *)p);
}

unsigned long kfda_stack_bytes_reserved(void) {
  return (unsigned long)((const uint8_t *)_estack - (const uint8_t *)__StackLimit);
}

/* A fault prints nothing (the stack may be gone) but ends the run with a
 * recognisable status through semihosting on the emulated boards. */
__attribute__((noreturn)) void kfda_fault(uint32_t code);

void HardFault_Handler(void) { kfda_fault(0xFA17u); }
void Default_Handler(void) { kfda_fault(0xDEADu); }

/* Weak aliases so a board or the cycle counter can provide a real handler. */
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SecureFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*kfda_vector)(void);

/* The 16 system exceptions; no peripheral interrupt is enabled by this code,
 * so the table stops there (VTOR needs 128-byte alignment, given by the
 * linker script placing it first in flash). */
__attribute__((section(".isr_vector"), used)) const kfda_vector kfda_vector_table[16] = {
    (kfda_vector)_estack,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    SecureFault_Handler,
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
};
