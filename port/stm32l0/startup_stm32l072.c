/*
 * startup_stm32l072.c - vector table and reset handler of both images
 * (bootloader and application) on the STM32L072.
 *
 * Reset: copy .data (which also holds .ramfunc, the code that must run from
 * RAM) from flash, zero .bss, point VTOR at this image's own table (the
 * application does not rely on the bootloader for that), call main(). A
 * return from main, a HardFault or any interrupt without a handler resets
 * the MCU: on a device in the field a reset is the recovery, and the
 * bootloader's trial counting rolls back a new image that keeps faulting.
 *
 * Interrupt handlers are weak aliases of the default handler; the port's
 * drivers define the ones they use (cellota_l0_isr_*), and only the drivers
 * an image links are in it.
 */
#include <stdint.h>

#include "cellota_stm32l0.h"
#include "l0_internal.h"

extern uint32_t __data_load[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __stack_top[];

int main(void);

void cellota_l0_reset_handler(void);
void cellota_l0_default_handler(void);
void cellota_l0_isr_lptim1(void) __attribute__((weak, alias("cellota_l0_default_handler")));
void cellota_l0_isr_usart1(void) __attribute__((weak, alias("cellota_l0_default_handler")));
void cellota_l0_isr_usart2(void) __attribute__((weak, alias("cellota_l0_default_handler")));
void cellota_l0_isr_lpuart1(void) __attribute__((weak, alias("cellota_l0_default_handler")));

typedef void (*vector_t)(void);

#define DEF cellota_l0_default_handler
#define DEF4 DEF, DEF, DEF, DEF

/* RM0376, "Interrupt and exception vectors" (STM32L0x2); same order and
 * count as ST's startup_stm32l072xx.s and IRQn_Type in stm32l072xx.h. */
__attribute__((section(".isr_vector"), used)) const vector_t cellota_l0_vectors[16 + 32] = {
    (vector_t)(uintptr_t)__stack_top,
    cellota_l0_reset_handler,
    DEF,  /* NMI */
    DEF,  /* HardFault */
    DEF4, /* 4-7 reserved */
    DEF4, /* 8-10 reserved, 11 SVCall */
    DEF4, /* 12-13 reserved, 14 PendSV, 15 SysTick */
    /* IRQ 0-12: WWDG, PVD, RTC, FLASH, RCC_CRS, EXTI0_1, EXTI2_3, EXTI4_15,
     * TSC, DMA1_CH1, DMA1_CH2_3, DMA1_CH4_7, ADC_COMP */
    DEF4, DEF4, DEF4, DEF,
    cellota_l0_isr_lptim1, /* 13 */
    /* 14-26: USART4_5, TIM2, TIM3, TIM6_DAC, TIM7, -, TIM21, I2C3, TIM22,
     * I2C1, I2C2, SPI1, SPI2 */
    DEF4, DEF4, DEF4, DEF,
    cellota_l0_isr_usart1,  /* 27 */
    cellota_l0_isr_usart2,  /* 28 */
    cellota_l0_isr_lpuart1, /* 29: RNG_LPUART1 */
    DEF,                    /* 30 reserved on the L072 (LCD on the L073) */
    DEF,                    /* 31 USB */
};

void cellota_l0_reset_handler(void)
{
    const uint32_t *src = __data_load;
    uint32_t *dst;

    /* Linker symbols: compared as addresses, not as pointers into one object. */
    for (dst = __data_start; (uintptr_t)dst < (uintptr_t)__data_end; dst++) {
        *dst = *src++;
    }
    for (dst = __bss_start; (uintptr_t)dst < (uintptr_t)__bss_end; dst++) {
        *dst = 0u;
    }
    L0_SCB_VTOR = (uint32_t)(uintptr_t)cellota_l0_vectors;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    (void)main();
    cellota_l0_reset();
}

void cellota_l0_default_handler(void)
{
    cellota_l0_reset();
}
