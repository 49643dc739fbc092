/**
 * @file cellota_uart.h
 * @brief POSIX port of the Quectel driver's seam (quectel_port.h): the
 *        module's UART as a tty (the pseudo-terminal of cellota-quectel-sim
 *        or a real serial port), and its control pins wired to the simulator.
 *
 * | piece                  | fills            | backed by                                   |
 * |------------------------|------------------|---------------------------------------------|
 * | cellota_uart_pty_t     | ::quectel_uart_t | a tty in raw mode, non-blocking              |
 * | cellota_modem_pins_t   | ::quectel_gpio_t | signals to the simulator's process           |
 *
 * Pins: the simulator has no wires, so a pin edge becomes a signal to its
 * process: releasing PWRKEY after asserting it (a power-key cycle) or
 * releasing RESET_N after asserting it (a reset pulse) sends SIGUSR1, and
 * the simulated module reboots (`RDY` again, volatile settings and MQTT
 * connections gone). Asserting PSM_EINT sends SIGUSR2 (wakes a sleeping
 * BC660K UART). With no simulator process (pid 0) the pins only count
 * their pulses.
 *
 * Like the rest of the POSIX port: caller-owned objects, no threads, raw
 * error codes from cellota_posix.h (::CELLOTA_POSIX_EIO with `last_errno`).
 */
#ifndef CELLOTA_UART_H
#define CELLOTA_UART_H

#include <stdbool.h>
#include <stdint.h>

#include "cellota/quectel_port.h"
#include "cellota_posix/cellota_posix.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A tty used as the module's UART. Fields are read-only for the caller. */
typedef struct {
    int fd;            /**< File descriptor, -1 when closed (poll it for POLLIN). */
    int last_errno;    /**< errno of the last failure. */
    uint32_t rx_bytes; /**< Bytes read so far. */
    uint32_t tx_bytes; /**< Bytes written so far. */
} cellota_uart_pty_t;

/**
 * @brief Open a tty as the module's UART: raw mode (8 data bits, no parity,
 *        no echo, no line editing, no CR/LF translation, no flow control),
 *        non-blocking. Bytes already waiting in the tty are kept (a module
 *        may have sent `RDY` before the host opened it).
 * @param u    Object to initialise; not NULL.
 * @param path The tty, e.g. the slave side of the simulator's pseudo-terminal.
 * @retval 0                    Open.
 * @retval CELLOTA_POSIX_EPARAM NULL pointer.
 * @retval CELLOTA_POSIX_EIO    The tty could not be opened or configured (errno in `last_errno`).
 */
int cellota_uart_pty_open(cellota_uart_pty_t *u, const char *path);

/**
 * @brief Close the tty. The object can be opened again afterwards.
 * @param u Object; NULL is ignored.
 */
void cellota_uart_pty_close(cellota_uart_pty_t *u);

/**
 * @brief Fill the driver's UART port for @p u.
 *
 * write returns the number of bytes the tty accepted (0 when its buffer is
 * full); read returns the bytes that have arrived (0 when none). Neither
 * blocks. Both return ::CELLOTA_POSIX_EIO when the other side is gone (the
 * simulator exited) and ::CELLOTA_POSIX_ESTATE when @p u is not open.
 *
 * @param u Open object; must outlive every use of the returned struct.
 * @return The port.
 */
quectel_uart_t cellota_uart_pty_port(cellota_uart_pty_t *u);

/** @brief The module's control pins, wired to the simulator's process. Fields are read-only. */
typedef struct {
    long sim_pid;           /**< Process that gets the signals; 0 = not wired. */
    bool pwrkey;            /**< PWRKEY asserted now. */
    bool reset;             /**< RESET_N asserted now. */
    bool psm_eint;          /**< PSM_EINT asserted now. */
    uint32_t pwrkey_cycles; /**< PWRKEY press-and-release cycles. */
    uint32_t resets;        /**< RESET_N pulses. */
    uint32_t wakeups;       /**< PSM_EINT assertions. */
    int last_errno;         /**< errno of a failed kill(), 0 otherwise. */
} cellota_modem_pins_t;

/**
 * @brief Initialise the pins, all released.
 * @param p       Object; not NULL.
 * @param sim_pid Process id of cellota-quectel-sim, or 0 when nothing is wired.
 */
void cellota_modem_pins_init(cellota_modem_pins_t *p, long sim_pid);

/**
 * @brief Fill the driver's GPIO port for @p p (all three pins present).
 * @param p Initialised object; must outlive every use of the returned struct.
 * @return The port.
 */
quectel_gpio_t cellota_modem_pins_port(cellota_modem_pins_t *p);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_UART_H */
