/*
 * fake_store.h - a RAM settings store behind ota_store_t, for host tests.
 *
 * Byte-addressable like the STM32L0 data EEPROM: any byte can be rewritten,
 * and a blank store reads as the fill byte given to fake_store_init (0x00
 * for EEPROM, 0xFF for a flash-like store).
 *
 * Faults (all off after fake_store_init):
 *   - fail_read_at / fail_write_at = N: the Nth read / write call (counted by
 *     reads / writes from 1) fails with FAKE_STORE_ERR_INJECTED, nothing done;
 *   - cut_armed + cut_after_bytes = N: power cut after N more bytes have been
 *     written (counted over all writes since armed). A write that reaches the
 *     limit lands its bytes up to the limit, drops the rest, returns
 *     FAKE_STORE_ERR_POWER and sets powered_off. A write that ends exactly at
 *     the limit completes normally; the cut then hits the next write (with
 *     nothing landing). While powered_off every read and write fails with
 *     FAKE_STORE_ERR_POWER. fake_store_power_on() simulates the reboot:
 *     contents kept, cut disarmed.
 *   - out-of-range access fails with FAKE_STORE_ERR_RANGE, nothing done.
 *
 * Typical use:
 *   fake_store_t fs;
 *   ota_store_t store;
 *   fake_store_init(&fs, 1024u, 0x00u);
 *   fake_store_port(&fs, &store);
 */
#ifndef CELLOTA_TESTS_FAKE_STORE_H
#define CELLOTA_TESTS_FAKE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest store the fake holds (the STM32L072's data EEPROM). */
#define FAKE_STORE_MAX 6144u

#define FAKE_STORE_ERR_RANGE (-201)
#define FAKE_STORE_ERR_INJECTED (-202)
#define FAKE_STORE_ERR_POWER (-203)

typedef struct {
    uint8_t mem[FAKE_STORE_MAX];
    uint32_t size;

    uint32_t fail_read_at;  /* 0 = off */
    uint32_t fail_write_at; /* 0 = off */
    bool cut_armed;
    uint32_t cut_after_bytes; /* bytes still allowed to land while armed */
    bool powered_off;

    uint32_t reads;
    uint32_t writes;
    uint32_t bytes_written;
} fake_store_t;

/* Blank store of size bytes (<= FAKE_STORE_MAX) filled with fill. 0 or -1. */
int fake_store_init(fake_store_t *f, uint32_t size, uint8_t fill);

/* Fill an ota_store_t whose ctx is f. */
void fake_store_port(fake_store_t *f, ota_store_t *port);

/* Arm a power cut after n more written bytes. */
void fake_store_cut_after(fake_store_t *f, uint32_t n);

/* Reboot after a cut: clears powered_off and disarms the cut; contents kept. */
void fake_store_power_on(fake_store_t *f);

/* The port functions (ctx = fake_store_t *). */
int fake_store_read(void *ctx, uint32_t off, void *buf, size_t len);
int fake_store_write(void *ctx, uint32_t off, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_TESTS_FAKE_STORE_H */
