/**
 * @file stm32l0_regs.h
 * @brief The STM32L0x2 registers and bits this port uses, and nothing else.
 *
 * Written from the STM32L0x2 reference manual (RM0376) and the Cortex-M0+
 * generic user guide; not a copy of a vendor header. Every name carries the
 * L0_ prefix so that it cannot clash with CMSIS or HAL headers a firmware
 * may also include. Internal to port/stm32l0: not part of the library API.
 */
#ifndef CELLOTA_STM32L0_REGS_H
#define CELLOTA_STM32L0_REGS_H

#include <stdint.h>

/** @cond INTERNAL */

#define L0_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- Cortex-M0+ core ---------------------------------------------------- */
#define L0_SYST_CSR L0_REG(0xE000E010u)
#define L0_SYST_RVR L0_REG(0xE000E014u)
#define L0_SYST_CVR L0_REG(0xE000E018u)
#define L0_NVIC_ISER L0_REG(0xE000E100u)
#define L0_NVIC_ICER L0_REG(0xE000E180u)
#define L0_NVIC_ICPR L0_REG(0xE000E280u)
#define L0_NVIC_IPR(n) L0_REG(0xE000E400u + 4u * ((n) / 4u))
#define L0_SCB_VTOR L0_REG(0xE000ED08u)
#define L0_SCB_AIRCR L0_REG(0xE000ED0Cu)
#define L0_SCB_SCR L0_REG(0xE000ED10u)
#define L0_AIRCR_VECTKEY (0x05FAu << 16)
#define L0_AIRCR_SYSRESETREQ (1u << 2)
#define L0_SCR_SLEEPDEEP (1u << 2)

/* Interrupt numbers (RM0376, table "List of vectors"). */
#define L0_IRQ_LPTIM1 13u
#define L0_IRQ_USART1 27u
#define L0_IRQ_USART2 28u
#define L0_IRQ_LPUART1 29u

/* ---- RCC ------------------------------------------------------------------ */
#define L0_RCC_BASE 0x40021000u
#define L0_RCC_CR L0_REG(L0_RCC_BASE + 0x00u)
#define L0_RCC_CFGR L0_REG(L0_RCC_BASE + 0x0Cu)
#define L0_RCC_IOPENR L0_REG(L0_RCC_BASE + 0x2Cu)
#define L0_RCC_APB2ENR L0_REG(L0_RCC_BASE + 0x34u)
#define L0_RCC_APB1ENR L0_REG(L0_RCC_BASE + 0x38u)
#define L0_RCC_CCIPR L0_REG(L0_RCC_BASE + 0x4Cu)
#define L0_RCC_CSR L0_REG(L0_RCC_BASE + 0x50u)

#define L0_RCC_CR_HSI16ON (1u << 0)
#define L0_RCC_CR_HSI16RDYF (1u << 2)
#define L0_RCC_CFGR_SW_MASK 0x3u
#define L0_RCC_CFGR_SW_HSI16 0x1u
#define L0_RCC_CFGR_SWS_MASK (0x3u << 2)
#define L0_RCC_CFGR_SWS_HSI16 (0x1u << 2)
#define L0_RCC_APB2ENR_SPI1EN (1u << 12)
#define L0_RCC_APB2ENR_USART1EN (1u << 14)
#define L0_RCC_APB1ENR_USART2EN (1u << 17)
#define L0_RCC_APB1ENR_LPUART1EN (1u << 18)
#define L0_RCC_APB1ENR_PWREN (1u << 28)
#define L0_RCC_APB1ENR_LPTIM1EN (1u << 31)
#define L0_RCC_CCIPR_LPTIM1SEL_SHIFT 18u /* 00 APB, 01 LSI, 10 HSI16, 11 LSE */
#define L0_RCC_CCIPR_LPTIM1SEL_LSI 1u
#define L0_RCC_CCIPR_LPTIM1SEL_LSE 3u
#define L0_RCC_CSR_LSION (1u << 0)
#define L0_RCC_CSR_LSIRDY (1u << 1)
#define L0_RCC_CSR_LSEON (1u << 8)
#define L0_RCC_CSR_LSERDY (1u << 9)
#define L0_RCC_CSR_RMVF (1u << 23)
#define L0_RCC_CSR_PINRSTF (1u << 26)
#define L0_RCC_CSR_PORRSTF (1u << 27)
#define L0_RCC_CSR_SFTRSTF (1u << 28)
#define L0_RCC_CSR_IWDGRSTF (1u << 29)

/* ---- PWR ------------------------------------------------------------------ */
#define L0_PWR_CR L0_REG(0x40007000u)
#define L0_PWR_CR_DBP (1u << 8)

/* ---- FLASH / data EEPROM interface ------------------------------------- */
#define L0_FLASH_BASE 0x40022000u
#define L0_FLASH_ACR L0_REG(L0_FLASH_BASE + 0x00u)
#define L0_FLASH_PECR L0_REG(L0_FLASH_BASE + 0x04u)
#define L0_FLASH_PEKEYR L0_REG(L0_FLASH_BASE + 0x0Cu)
#define L0_FLASH_PRGKEYR L0_REG(L0_FLASH_BASE + 0x10u)
#define L0_FLASH_SR L0_REG(L0_FLASH_BASE + 0x18u)

#define L0_FLASH_ACR_LATENCY (1u << 0)
#define L0_FLASH_ACR_PRFTEN (1u << 1)
#define L0_FLASH_PECR_PELOCK (1u << 0)
#define L0_FLASH_PECR_PRGLOCK (1u << 1)
#define L0_FLASH_PECR_PROG (1u << 3)
#define L0_FLASH_PECR_DATA (1u << 4)
#define L0_FLASH_PECR_ERASE (1u << 9)
#define L0_FLASH_PECR_FPRG (1u << 10)
#define L0_FLASH_PEKEY1 0x89ABCDEFu
#define L0_FLASH_PEKEY2 0x02030405u
#define L0_FLASH_PRGKEY1 0x8C9DAEBFu
#define L0_FLASH_PRGKEY2 0x13141516u
#define L0_FLASH_SR_BSY (1u << 0)
#define L0_FLASH_SR_EOP (1u << 1)
#define L0_FLASH_SR_WRPERR (1u << 8)
#define L0_FLASH_SR_PGAERR (1u << 9)
#define L0_FLASH_SR_SIZERR (1u << 10)
#define L0_FLASH_SR_OPTVERR (1u << 11)
#define L0_FLASH_SR_RDERR (1u << 13)
#define L0_FLASH_SR_NOTZEROERR (1u << 16)
#define L0_FLASH_SR_FWWERR (1u << 17)
#define L0_FLASH_SR_ERRORS                                                                  \
    (L0_FLASH_SR_WRPERR | L0_FLASH_SR_PGAERR | L0_FLASH_SR_SIZERR | L0_FLASH_SR_OPTVERR | \
     L0_FLASH_SR_RDERR | L0_FLASH_SR_NOTZEROERR | L0_FLASH_SR_FWWERR)

#define L0_FLASH_MEM_BASE 0x08000000u    /* program memory */
#define L0_EEPROM_MEM_BASE 0x08080000u   /* data EEPROM */

/* ---- IWDG ----------------------------------------------------------------- */
#define L0_IWDG_BASE 0x40003000u
#define L0_IWDG_KR L0_REG(L0_IWDG_BASE + 0x00u)
#define L0_IWDG_PR L0_REG(L0_IWDG_BASE + 0x04u)
#define L0_IWDG_RLR L0_REG(L0_IWDG_BASE + 0x08u)
#define L0_IWDG_SR L0_REG(L0_IWDG_BASE + 0x0Cu)
#define L0_IWDG_KEY_START 0xCCCCu
#define L0_IWDG_KEY_RELOAD 0xAAAAu
#define L0_IWDG_KEY_ACCESS 0x5555u

/* ---- GPIO (port index 0 = A ... 7 = H; 0x400 apart) ----------------------- */
#define L0_GPIO_BASE(port) (0x50000000u + 0x400u * (uint32_t)(port))
#define L0_GPIO_MODER(port) L0_REG(L0_GPIO_BASE(port) + 0x00u)
#define L0_GPIO_OTYPER(port) L0_REG(L0_GPIO_BASE(port) + 0x04u)
#define L0_GPIO_OSPEEDR(port) L0_REG(L0_GPIO_BASE(port) + 0x08u)
#define L0_GPIO_PUPDR(port) L0_REG(L0_GPIO_BASE(port) + 0x0Cu)
#define L0_GPIO_IDR(port) L0_REG(L0_GPIO_BASE(port) + 0x10u)
#define L0_GPIO_BSRR(port) L0_REG(L0_GPIO_BASE(port) + 0x18u)
#define L0_GPIO_AFR(port, pin) L0_REG(L0_GPIO_BASE(port) + 0x20u + 4u * ((pin) / 8u))

/* ---- USART / LPUART (same register layout for what is used here) --------- */
#define L0_USART1_BASE 0x40013800u
#define L0_USART2_BASE 0x40004400u
#define L0_LPUART1_BASE 0x40004800u
#define L0_USART_CR1(base) L0_REG((base) + 0x00u)
#define L0_USART_CR2(base) L0_REG((base) + 0x04u)
#define L0_USART_CR3(base) L0_REG((base) + 0x08u)
#define L0_USART_BRR(base) L0_REG((base) + 0x0Cu)
#define L0_USART_ISR(base) L0_REG((base) + 0x1Cu)
#define L0_USART_ICR(base) L0_REG((base) + 0x20u)
#define L0_USART_RDR(base) L0_REG((base) + 0x24u)
#define L0_USART_TDR(base) L0_REG((base) + 0x28u)
#define L0_USART_CR1_UE (1u << 0)
#define L0_USART_CR1_RE (1u << 2)
#define L0_USART_CR1_TE (1u << 3)
#define L0_USART_CR1_RXNEIE (1u << 5)
#define L0_USART_CR1_TXEIE (1u << 7)
#define L0_USART_CR3_EIE (1u << 0)
#define L0_USART_ISR_PE (1u << 0)
#define L0_USART_ISR_FE (1u << 1)
#define L0_USART_ISR_NF (1u << 2)
#define L0_USART_ISR_ORE (1u << 3)
#define L0_USART_ISR_RXNE (1u << 5)
#define L0_USART_ISR_TC (1u << 6)
#define L0_USART_ISR_TXE (1u << 7)
#define L0_USART_ICR_ERRORS 0x0Fu /* PECF | FECF | NCF | ORECF */

/* ---- SPI1 ------------------------------------------------------------------ */
#define L0_SPI1_BASE 0x40013000u
#define L0_SPI1_CR1 L0_REG(L0_SPI1_BASE + 0x00u)
#define L0_SPI1_CR2 L0_REG(L0_SPI1_BASE + 0x04u)
#define L0_SPI1_SR L0_REG(L0_SPI1_BASE + 0x08u)
#define L0_SPI1_DR L0_REG(L0_SPI1_BASE + 0x0Cu)
#define L0_SPI_CR1_MSTR (1u << 2)
#define L0_SPI_CR1_BR_SHIFT 3u
#define L0_SPI_CR1_SPE (1u << 6)
#define L0_SPI_CR1_SSI (1u << 8)
#define L0_SPI_CR1_SSM (1u << 9)
#define L0_SPI_SR_RXNE (1u << 0)
#define L0_SPI_SR_TXE (1u << 1)
#define L0_SPI_SR_BSY (1u << 7)

/* ---- LPTIM1 ---------------------------------------------------------------- */
#define L0_LPTIM1_BASE 0x40007C00u
#define L0_LPTIM_ISR L0_REG(L0_LPTIM1_BASE + 0x00u)
#define L0_LPTIM_ICR L0_REG(L0_LPTIM1_BASE + 0x04u)
#define L0_LPTIM_IER L0_REG(L0_LPTIM1_BASE + 0x08u)
#define L0_LPTIM_CFGR L0_REG(L0_LPTIM1_BASE + 0x0Cu)
#define L0_LPTIM_CR L0_REG(L0_LPTIM1_BASE + 0x10u)
#define L0_LPTIM_CMP L0_REG(L0_LPTIM1_BASE + 0x14u)
#define L0_LPTIM_ARR L0_REG(L0_LPTIM1_BASE + 0x18u)
#define L0_LPTIM_CNT L0_REG(L0_LPTIM1_BASE + 0x1Cu)
#define L0_LPTIM_ISR_CMPM (1u << 0)
#define L0_LPTIM_ISR_ARRM (1u << 1)
#define L0_LPTIM_ISR_CMPOK (1u << 3)
#define L0_LPTIM_ISR_ARROK (1u << 4)
#define L0_LPTIM_CR_ENABLE (1u << 0)
#define L0_LPTIM_CR_CNTSTRT (1u << 2)

/** @endcond */

#endif /* CELLOTA_STM32L0_REGS_H */
