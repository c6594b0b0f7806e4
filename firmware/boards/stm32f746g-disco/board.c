/*
 * STM32F746G-Discovery bring-up: the least that is needed, all of it real.
 *
 * - Clock: the core stays on the 16 MHz HSI oscillator it starts on after reset
 *   (no PLL, flash at 0 wait states, which is correct up to 30 MHz at 3.3 V). The
 *   cycle counts printed do not depend on the clock.
 * - Instruction cache on (the Cortex-M7's own, enabled through its SCB).
 * - USART1 at 115200 8N1 on PA9 (TX), the ST-LINK's virtual COM port: printf goes
 *   there through _write. Nothing is read: the inputs are linked in.
 * - The counter: the DWT cycle counter (CYCCNT), 32 bits, extended to 64 with the
 *   wraps seen between two reads (an inference longer than 2^32 cycles, 268 s at
 *   16 MHz, would need a periodic read).
 */
#include <stdint.h>

#include "kfda_app_platform.h"

#define REG(address) (*(volatile uint32_t *)(address))

#define RCC_AHB1ENR   REG(0x40023830u)
#define RCC_APB2ENR   REG(0x40023844u)
#define GPIOA_MODER   REG(0x40020000u)
#define GPIOA_OSPEEDR REG(0x40020008u)
#define GPIOA_AFRH    REG(0x40020024u)
#define USART1_CR1    REG(0x40011000u)
#define USART1_BRR    REG(0x4001100Cu)
#define USART1_ISR    REG(0x4001101Cu)
#define USART1_TDR    REG(0x40011028u)
#define SCB_CCR       REG(0xE000ED14u)
#define SCB_ICIALLU   REG(0xE000EF50u)
#define DEMCR         REG(0xE000EDFCu)
#define DWT_CTRL      REG(0xE0001000u)
#define DWT_CYCCNT    REG(0xE0001004u)
#define DWT_LAR       REG(0xE0001FB0u)

#define HSI_HZ 16000000u
#define BAUD   115200u

void kfda_board_init(void) {
  /* I-cache: invalidate, then enable (ARMv7-M ARM B2.2.7, cache maintenance). */
  __asm volatile("dsb\n\tisb" ::: "memory");
  SCB_ICIALLU = 0;
  __asm volatile("dsb\n\tisb" ::: "memory");
  SCB_CCR |= 1u << 17;
  __asm volatile("dsb\n\tisb" ::: "memory");

  /* PA9 -> USART1_TX (alternate function 7). */
  RCC_AHB1ENR |= 1u << 0; /* GPIOA */
  RCC_APB2ENR |= 1u << 4; /* USART1 (APB2 = HSI / 1 after reset) */
  (void)RCC_APB2ENR;      /* read back: the clock is on before the first access */
  GPIOA_MODER = (GPIOA_MODER & ~(3u << 18)) | (2u << 18);
  GPIOA_OSPEEDR |= 2u << 18;
  GPIOA_AFRH = (GPIOA_AFRH & ~(0xFu << 4)) | (7u << 4);
  USART1_BRR = (HSI_HZ + BAUD / 2) / BAUD; /* oversampling by 16 */
  USART1_CR1 = (1u << 3) | (1u << 0);      /* TE, UE */

  /* DWT cycle counter (the M7 needs the lock access key first). */
  DEMCR |= 1u << 24; /* TRCENA */
  DWT_LAR = 0xC5ACCE55u;
  DWT_CYCCNT = 0;
  DWT_CTRL |= 1u;
}

static void uart_put(char c) {
  while ((USART1_ISR & (1u << 7)) == 0) { /* TXE */
  }
  USART1_TDR = (uint8_t)c;
}

/* newlib's stdout/stderr: every byte to the UART, "\n" as "\r\n" for terminals. */
int _write(int fd, const char *data, int length) {
  (void)fd;
  for (int i = 0; i < length; ++i) {
    if (data[i] == '\n') {
      uart_put('\r');
    }
    uart_put(data[i]);
  }
  return length;
}

__attribute__((noreturn)) void kfda_fault(uint32_t code) {
  static const char hex[] = "0123456789abcdef";
  const char *text = "kfda: error: CPU fault 0x";
  while (*text) {
    uart_put(*text++);
  }
  for (int shift = 12; shift >= 0; shift -= 4) {
    uart_put(hex[(code >> shift) & 0xFu]);
  }
  uart_put('\r');
  uart_put('\n');
  for (;;) {
  }
}

/* A real board has nowhere to return to: park after main's exit(). */
__attribute__((noreturn)) void _exit(int status) {
  (void)status;
  for (;;) {
    __asm volatile("wfi");
  }
}

static uint32_t counter_origin;

void kfda_counter_start(void) { counter_origin = DWT_CYCCNT; }

uint64_t kfda_counter_ticks(void) { return (uint32_t)(DWT_CYCCNT - counter_origin); }

uint64_t kfda_counter_instructions(uint64_t ticks) { return ticks; }
