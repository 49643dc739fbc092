/**
 * @file quectel_port.h
 * @brief What the Quectel driver needs from the board: a UART byte stream
 *        and the module's control pins.
 *
 * On the STM32L0 the UART is a USART/LPUART with an interrupt-driven receive
 * ring buffer; on POSIX it is a pseudo-terminal connected to the module
 * simulator. Neither function may block.
 */
#ifndef CELLOTA_QUECTEL_PORT_H
#define CELLOTA_QUECTEL_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief UART byte stream to the module. Both functions required. */
typedef struct {
    void *ctx; /**< Port context. */
    /**
     * @brief Queue bytes for sending without blocking.
     * @return Bytes accepted (0..len; fewer than len when the transmit
     *         buffer is full), or a negative raw error.
     */
    int (*write)(void *ctx, const uint8_t *data, size_t len);
    /**
     * @brief Take bytes that have arrived, without blocking.
     * @return Bytes copied into @p buf (0 when nothing arrived), or a negative raw error.
     */
    int (*read)(void *ctx, uint8_t *buf, size_t cap);
} quectel_uart_t;

/** @brief The module's control pins. Every function may be NULL when the pin is not wired. */
typedef struct {
    void *ctx; /**< Port context. */
    /** @brief Drive PWRKEY (true = asserted, i.e. the key is "pressed"). */
    void (*pwrkey)(void *ctx, bool asserted);
    /** @brief Drive RESET_N (true = asserted). */
    void (*reset)(void *ctx, bool asserted);
    /** @brief Drive PSM_EINT (true = asserted) to wake the module from PSM. */
    void (*psm_eint)(void *ctx, bool asserted);
} quectel_gpio_t;

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_QUECTEL_PORT_H */
