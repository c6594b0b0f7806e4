/*
 * Semihosting glue for the emulated boards. Standard I/O (printf, fopen, fread,
 * fwrite) comes from newlib's rdimon library (--specs=rdimon.specs); this file adds
 * only what must work without the C library: the fault path, which prints one
 * line with SYS_WRITE0 and stops QEMU with a failure status.
 */
#include <stdint.h>

#define SYS_WRITE0                0x04u
#define SYS_EXIT                  0x18u
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u

static uint32_t semihost_call(uint32_t op, const void *arg) {
  register uint32_t r0 __asm("r0") = op;
  register const void *r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

__attribute__((noreturn)) void kfda_fault(uint32_t code) {
  static const char hex[] = "0123456789abcdef";
  char line[] = "kfda: error: CPU fault 0x0000 (stack overflow or bad memory access)\n";
  for (int i = 0; i < 4; ++i) {
    line[25 + i] = hex[(code >> (12 - 4 * i)) & 0xFu];
  }
  semihost_call(SYS_WRITE0, line);
  semihost_call(SYS_EXIT, (const void *)ADP_STOPPED_RUNTIME_ERROR);
  for (;;) {
  }
}
