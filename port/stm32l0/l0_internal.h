/**
 * @file l0_internal.h
 * @brief Helpers shared by the STM32L0 port's drivers (not part of its API).
 */
#ifndef CELLOTA_L0_INTERNAL_H
#define CELLOTA_L0_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "stm32l0_regs.h"

/** @cond INTERNAL */

/* PRIMASK-based critical section that nests: returns the previous state. */
static inline uint32_t l0_irq_save(void)
{
    uint32_t primask;

    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}

static inline void l0_irq_restore(uint32_t primask)
{
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
}

static inline void l0_nvic_enable(uint32_t irq, uint32_t priority)
{
    uint32_t shift = 8u * (irq % 4u) + 6u; /* 2 priority bits, the top of each byte */

    L0_NVIC_IPR(irq) = (L0_NVIC_IPR(irq) & ~(3u << shift)) | ((priority & 3u) << shift);
    L0_NVIC_ICPR = 1u << irq;
    L0_NVIC_ISER = 1u << irq;
}

static inline void l0_nvic_disable(uint32_t irq)
{
    L0_NVIC_ICER = 1u << irq;
}

/* Pin helpers (pin = CELLOTA_L0_PIN(port, n) of board.h). */
enum { L0_MODE_INPUT = 0u, L0_MODE_OUTPUT = 1u, L0_MODE_AF = 2u, L0_MODE_ANALOG = 3u };

void l0_pin_mode(uint32_t pin, uint32_t mode, uint32_t af);
void l0_pin_write(uint32_t pin, int high);
void l0_pin_output(uint32_t pin, int high); /* set the level, then make it an output */

/* True when the modem UART's receive ring holds bytes (l0_uart.c). */
bool l0_uart_rx_pending(void);

/* Flash/EEPROM interface (l0_nvm.c): wait until not busy and check the
 * error flags (cleared); unlock the data EEPROM (and the program memory when
 * program is true); lock both again. 0 or a CELLOTA_L0_ERR_ code. */
int l0_nvm_wait(void);
int l0_nvm_unlock(bool program);
void l0_nvm_lock(void);

/* Busy-wait for about us microseconds at 16 MHz (used only for short chip delays). */
void l0_delay_us(uint32_t us);

/** @endcond */

#endif /* CELLOTA_L0_INTERNAL_H */
