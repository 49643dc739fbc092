/**
 * @file cellota_stm32l0.h
 * @brief The STM32L0 port: register-level drivers that fill cellota's port
 *        interfaces on an STM32L072 (board.h says which pins and peripherals).
 *
 * | Interface               | Filled by                  | Hardware                      |
 * |-------------------------|----------------------------|-------------------------------|
 * | ::ota_clock_t           | cellota_l0_clock()         | LPTIM1 on LSE (or LSI)        |
 * | ::quectel_uart_t        | cellota_l0_modem_uart()    | USART1/USART2/LPUART1, IRQ rings |
 * | ::quectel_gpio_t        | cellota_l0_modem_gpio()    | PWRKEY, RESET_N, PSM_EINT     |
 * | ::ota_flash_t           | cellota_l0_nor()           | SPI1 NOR (JEDEC, 0x20/0x02/0x03) |
 * | ::ota_store_t           | cellota_l0_eeprom_store()  | data EEPROM                   |
 * | ::ota_boot_iflash_t     | cellota_l0_iflash()        | internal flash, half pages    |
 * | ::ota_reboot_t          | cellota_l0_reboot_port()   | AIRCR.SYSRESETREQ             |
 *
 * All drivers are single-instance (one board), use no heap and no vendor
 * code. Blocking: the NOR and flash operations wait for the chip (bounded by
 * a timeout each); everything else returns at once. Call nothing here from
 * an interrupt except where noted.
 */
#ifndef CELLOTA_STM32L0_H
#define CELLOTA_STM32L0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_boot.h"
#include "cellota/ota_port.h"
#include "cellota/quectel_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Raw error: a wait for the hardware timed out. */
#define CELLOTA_L0_ERR_TIMEOUT (-1001)
/** @brief Raw error: an address or length outside the device or misaligned. */
#define CELLOTA_L0_ERR_RANGE (-1002)
/** @brief Raw error: the NOR answered no JEDEC ID (all 0x00 or 0xFF), or a smaller part. */
#define CELLOTA_L0_ERR_ABSENT (-1003)
/** @brief Raw error: the NOR did not set its write-enable latch (protected or absent). */
#define CELLOTA_L0_ERR_WEL (-1004)
/** @brief Raw error: the flash interface reported an error (FLASH_SR bits in the log). */
#define CELLOTA_L0_ERR_FLASH (-1005)
/** @brief Raw error: data read back differs from what was programmed. */
#define CELLOTA_L0_ERR_VERIFY (-1006)

/* ---- system ------------------------------------------------------------- */

/**
 * @brief Clock tree and flash timing: HSI16 as the system clock (16 MHz),
 *        one flash wait state with prefetch. Call first, in both images.
 */
void cellota_l0_system_init(void);

/**
 * @brief Start the independent watchdog (board.h: CELLOTA_BOARD_IWDG_TIMEOUT_MS).
 *        Once started it cannot be stopped; a started watchdog is reloaded.
 */
void cellota_l0_watchdog_start(void);

/** @brief Reload the independent watchdog. Safe to call from anywhere. */
void cellota_l0_watchdog_kick(void);

/** @brief Reset the MCU now (AIRCR.SYSRESETREQ). */
__attribute__((noreturn)) void cellota_l0_reset(void);

/**
 * @brief Fill an ::ota_reboot_t whose reboot resets the MCU into the
 *        bootloader.
 * @param[out] r Filled.
 */
void cellota_l0_reboot_port(ota_reboot_t *r);

/**
 * @brief The RCC reset flags of the last reset (RCC_CSR bits 24..31), read
 *        once and cleared by the first call.
 * @return The flags (e.g. bit 29 IWDGRSTF: the watchdog fired).
 */
uint32_t cellota_l0_reset_cause(void);

/* ---- millisecond clock and sleep ------------------------------------------- */

/**
 * @brief Start the millisecond clock: LPTIM1 free-running on LSE (2000 ms
 *        per 16-bit period), extended to 32 bits in its interrupt. Falls
 *        back to LSI (nominal 37 kHz, +-15 %) when board.h has no crystal or
 *        the LSE does not start within about 3 s. Needs cellota_l0_system_init().
 * @retval 0 Running.
 * @retval CELLOTA_L0_ERR_TIMEOUT Neither oscillator started, or LPTIM1 did not answer.
 */
int cellota_l0_clock_init(void);

/**
 * @brief Milliseconds since cellota_l0_clock_init() (wraps at 2^32).
 *        Safe to call with interrupts enabled or disabled.
 * @return The time.
 */
uint32_t cellota_l0_millis(void);

/**
 * @brief Fill an ::ota_clock_t on cellota_l0_millis().
 * @param[out] c Filled.
 */
void cellota_l0_clock(ota_clock_t *c);

/**
 * @brief Sleep (WFI, Sleep mode) until @p deadline_ms or an interrupt,
 *        whichever comes first. Returns at once when the deadline has
 *        passed. The UART receive interrupt wakes it, so data from the modem
 *        is never left waiting.
 * @param deadline_ms Clock value to wake at.
 */
void cellota_l0_sleep_until(uint32_t deadline_ms);

/** @brief Sleep (WFI) until any interrupt, with no deadline. */
void cellota_l0_sleep(void);

/* ---- modem UART and pins ------------------------------------------------------- */

/**
 * @brief Start the modem UART (board.h: which one, pins, baud) with
 *        interrupt-driven receive and transmit ring buffers.
 */
void cellota_l0_modem_uart_init(void);

/**
 * @brief Fill a ::quectel_uart_t on the modem UART: write queues into the
 *        transmit ring (returns the bytes accepted), read empties the
 *        receive ring (returns the bytes copied). Neither blocks.
 * @param[out] u Filled.
 */
void cellota_l0_modem_uart(quectel_uart_t *u);

/**
 * @brief Receive bytes lost because the ring was full or the UART overran.
 * @return The count since start (wraps).
 */
uint32_t cellota_l0_modem_uart_lost(void);

/** @brief Configure the modem's control pins as outputs, all de-asserted. */
void cellota_l0_modem_gpio_init(void);

/**
 * @brief Fill a ::quectel_gpio_t: pwrkey, reset and psm_eint drive the
 *        board.h pins with their polarity; NULL for a pin that is not wired.
 * @param[out] g Filled.
 */
void cellota_l0_modem_gpio(quectel_gpio_t *g);

/* ---- external NOR flash ------------------------------------------------------- */

/**
 * @brief Configure SPI1 and the chip-select pin, and wake the chip from deep
 *        power-down. Does not check that the chip is there (probe does).
 */
void cellota_l0_nor_init(void);

/**
 * @brief Fill an ::ota_flash_t on the SPI NOR: size from board.h, 4 KB
 *        sectors, 256-byte pages. probe reads the JEDEC ID (0x9F) and fails
 *        with ::CELLOTA_L0_ERR_ABSENT when no chip answers (the client then
 *        reports code 2); erase is 0x20, write 0x02 split at page boundaries,
 *        read 0x03; every program or erase waits for the status register's
 *        busy bit with a timeout.
 * @param[out] f Filled.
 */
void cellota_l0_nor(ota_flash_t *f);

/**
 * @brief The JEDEC ID read by the last probe: manufacturer << 16 | type << 8 | capacity.
 * @return The ID (0 before a probe; 0xFFFFFF or 0 when absent).
 */
uint32_t cellota_l0_nor_jedec_id(void);

/* ---- data EEPROM -------------------------------------------------------------- */

/**
 * @brief Fill an ::ota_store_t on the first CELLOTA_BOARD_SETTINGS_SIZE
 *        bytes of the data EEPROM. Writes go by word where aligned, skip the
 *        words that already hold the value, and lock the EEPROM again before
 *        returning.
 * @param[out] s Filled.
 */
void cellota_l0_eeprom_store(ota_store_t *s);

/**
 * @brief Read @p len bytes of the data EEPROM at @p off.
 * @param off Offset from the start of the data EEPROM.
 * @param buf Destination.
 * @param len Bytes.
 * @return 0, or ::CELLOTA_L0_ERR_RANGE.
 */
int cellota_l0_eeprom_read(uint32_t off, void *buf, size_t len);

/**
 * @brief Write @p len bytes of the data EEPROM at @p off (unlock, program,
 *        lock). Blocking: about 3.2 ms per word written.
 * @param off Offset from the start of the data EEPROM.
 * @param buf Source.
 * @param len Bytes.
 * @return 0, ::CELLOTA_L0_ERR_RANGE, ::CELLOTA_L0_ERR_FLASH or ::CELLOTA_L0_ERR_TIMEOUT.
 */
int cellota_l0_eeprom_write(uint32_t off, const void *buf, size_t len);

/* ---- internal flash ------------------------------------------------------------ */

/**
 * @brief Fill an ::ota_boot_iflash_t for the application area of board.h:
 *        128-byte pages, 64-byte write unit (half-page programming, run from
 *        RAM with interrupts off), erased value 0x00.
 * @param[out] f Filled.
 */
void cellota_l0_iflash(ota_boot_iflash_t *f);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_STM32L0_H */
