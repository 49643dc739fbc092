/**
 * @file board.h
 * @brief The board: which pins and peripherals the port uses, and the memory
 *        layout of the update. **Edit this file for your board.**
 *
 * The values below describe the reference board: an STM32L072CZ (192 KB
 * flash, 20 KB RAM, 6 KB data EEPROM) running from HSI16, a Quectel BG95-M2
 * or BC660K-GL on USART1, and a 4 MB SPI NOR (W25Q32 / ZB25VQ32 class) on
 * SPI1. Check every pin against your schematic and the alternate-function
 * table of the STM32L072xx datasheet ("Alternate functions" tables, AF0-AF7).
 *
 * Pins are written CELLOTA_L0_PIN('<port letter>', <pin number>);
 * CELLOTA_L0_NO_PIN marks a signal that is not wired.
 */
#ifndef CELLOTA_STM32L0_BOARD_H
#define CELLOTA_STM32L0_BOARD_H

/** @brief A pin: port letter 'A'..'H' and number 0..15, packed in one byte. */
#define CELLOTA_L0_PIN(port, num) ((((unsigned)(port) - (unsigned)'A') << 4) | (unsigned)(num))
/** @brief "Not wired". */
#define CELLOTA_L0_NO_PIN 0xFFu

/** @brief Modem UART choice: USART1. */
#define CELLOTA_L0_UART_USART1 1
/** @brief Modem UART choice: USART2. */
#define CELLOTA_L0_UART_USART2 2
/** @brief Modem UART choice: LPUART1 (kernel clock PCLK1, the reset selection: 16 MHz here). */
#define CELLOTA_L0_UART_LPUART1 3

/* ------------------------------------------------------------------------ */
/* Clocks                                                                    */
/* ------------------------------------------------------------------------ */

/** @brief SYSCLK = HCLK = PCLK1 = PCLK2: HSI16, 16 MHz (cellota_l0_system_init()). */
#define CELLOTA_BOARD_SYSCLK_HZ 16000000u

/**
 * @brief Clock of the millisecond timer (LPTIM1): 1 = the 32.768 kHz crystal
 *        (LSE, accurate), 0 = the internal LSI (about 37 kHz, +-15 %: only
 *        for boards without a crystal; timeouts then stretch or shrink).
 */
#define CELLOTA_BOARD_USE_LSE 1

/** @brief Independent watchdog timeout in milliseconds (at most about 28 000 on LSI). */
#define CELLOTA_BOARD_IWDG_TIMEOUT_MS 16000u

/* ------------------------------------------------------------------------ */
/* Modem: UART and control pins                                              */
/* ------------------------------------------------------------------------ */

/** @brief The modem's UART: CELLOTA_L0_UART_USART1, _USART2 or _LPUART1. */
#define CELLOTA_BOARD_MODEM_UART CELLOTA_L0_UART_USART1
/** @brief Modem baud rate (BG95 and BC660K default: 115200). */
#define CELLOTA_BOARD_MODEM_BAUD 115200u
/** @brief MCU TX -> module RXD. */
#define CELLOTA_BOARD_MODEM_TX_PIN CELLOTA_L0_PIN('A', 9)
/** @brief MCU RX <- module TXD. */
#define CELLOTA_BOARD_MODEM_RX_PIN CELLOTA_L0_PIN('A', 10)
/** @brief Alternate function of both UART pins (USART1 on PA9/PA10: AF4). */
#define CELLOTA_BOARD_MODEM_AF 4u
/** @brief Receive ring buffer in bytes (a power of two; holds one 1 KB chunk with room). */
#define CELLOTA_BOARD_MODEM_RX_BUF 2048u
/** @brief Transmit ring buffer in bytes (a power of two). */
#define CELLOTA_BOARD_MODEM_TX_BUF 512u

/** @brief PWRKEY drive pin (usually through an NPN transistor to the module's PWRKEY). */
#define CELLOTA_BOARD_MODEM_PWRKEY_PIN CELLOTA_L0_PIN('B', 0)
/** @brief 1: the MCU pin is driven high to "press" PWRKEY (transistor); 0: low (direct). */
#define CELLOTA_BOARD_MODEM_PWRKEY_ACTIVE_HIGH 1
/** @brief RESET_N drive pin, or CELLOTA_L0_NO_PIN. */
#define CELLOTA_BOARD_MODEM_RESET_PIN CELLOTA_L0_PIN('B', 1)
/** @brief 1: the MCU pin is driven high to assert RESET_N (transistor); 0: low. */
#define CELLOTA_BOARD_MODEM_RESET_ACTIVE_HIGH 1
/** @brief PSM_EINT drive pin (wake from PSM), or CELLOTA_L0_NO_PIN. */
#define CELLOTA_BOARD_MODEM_PSM_PIN CELLOTA_L0_PIN('B', 2)
/** @brief 1: the MCU pin is driven high to assert PSM_EINT; 0: low. */
#define CELLOTA_BOARD_MODEM_PSM_ACTIVE_HIGH 1

/* ------------------------------------------------------------------------ */
/* External SPI NOR flash (SPI1)                                             */
/* ------------------------------------------------------------------------ */

/** @brief SPI1 SCK. */
#define CELLOTA_BOARD_NOR_SCK_PIN CELLOTA_L0_PIN('A', 5)
/** @brief SPI1 MISO. */
#define CELLOTA_BOARD_NOR_MISO_PIN CELLOTA_L0_PIN('A', 6)
/** @brief SPI1 MOSI. */
#define CELLOTA_BOARD_NOR_MOSI_PIN CELLOTA_L0_PIN('A', 7)
/** @brief Alternate function of SCK, MISO and MOSI (SPI1 on PA5/PA6/PA7: AF0). */
#define CELLOTA_BOARD_NOR_AF 0u
/** @brief Chip select, driven as a GPIO (active low). */
#define CELLOTA_BOARD_NOR_CS_PIN CELLOTA_L0_PIN('A', 4)
/** @brief SPI1 clock divider exponent: SCK = 16 MHz / 2^(n+1); 0 gives 8 MHz. */
#define CELLOTA_BOARD_NOR_SPI_BR 0u
/** @brief Size of the NOR in bytes (W25Q32 / ZB25VQ32: 4 MB). */
#define CELLOTA_BOARD_NOR_SIZE (4u * 1024u * 1024u)

/* ------------------------------------------------------------------------ */
/* Memory map of the update (DESIGN.md, "Memory map")                         */
/* ------------------------------------------------------------------------ */

/** @brief Internal flash: the bootloader image, from the start of flash. */
#define CELLOTA_BOARD_BOOT_ADDR 0x08000000u
/** @brief Internal flash: bytes reserved for the bootloader (its budget). */
#define CELLOTA_BOARD_BOOT_SIZE (8u * 1024u)
/** @brief Internal flash: the application, right after the bootloader. */
#define CELLOTA_BOARD_APP_ADDR (CELLOTA_BOARD_BOOT_ADDR + CELLOTA_BOARD_BOOT_SIZE)
/** @brief Internal flash: bytes of the application area (192 KB - 8 KB). */
#define CELLOTA_BOARD_APP_SIZE (192u * 1024u - CELLOTA_BOARD_BOOT_SIZE)

/** @brief NOR: metadata area (two 4 KB sectors: boot request + journal, client records). */
#define CELLOTA_BOARD_META_ADDR 0x000000u
/** @brief NOR: staging slot for the downloaded image. */
#define CELLOTA_BOARD_SLOT_ADDR 0x010000u
/** @brief NOR: staging slot size; an image larger than the application area is refused. */
#define CELLOTA_BOARD_SLOT_SIZE CELLOTA_BOARD_APP_SIZE
/** @brief NOR: backup slot of the running application. */
#define CELLOTA_BOARD_BACKUP_ADDR 0x040000u
/** @brief NOR: backup slot size (the application area, whole 4 KB sectors). */
#define CELLOTA_BOARD_BACKUP_SIZE CELLOTA_BOARD_APP_SIZE

/** @brief Data EEPROM: bytes given to the settings store, from its start. */
#define CELLOTA_BOARD_SETTINGS_SIZE 1024u
/** @brief Data EEPROM: offset of the bootloader's retry counter (4 bytes). */
#define CELLOTA_BOARD_BOOTCNT_OFFSET (6u * 1024u - 4u)

#endif /* CELLOTA_STM32L0_BOARD_H */
