/*
 * fake_flash.h - a RAM NOR flash behind ota_flash_t, for host tests.
 *
 * It keeps the rules of a real NOR chip so that code which would break one
 * breaks this too:
 *   - a new chip is fully erased (every byte 0xFF);
 *   - erase works on whole sectors (address must be sector-aligned) and sets
 *     every byte of the sector to 0xFF;
 *   - a write can only clear bits. A write that would need a 0 -> 1
 *     transition programs what a chip would (old & new), returns
 *     FAKE_FLASH_ERR_BITS and is recorded in bit_errors / last_bit_error_addr;
 *   - any access outside [0, size) fails with FAKE_FLASH_ERR_RANGE and does
 *     nothing.
 *
 * Fault injection (all off after fake_flash_init):
 *   - absent:            every call (probe included) fails with FAKE_FLASH_ERR_ABSENT;
 *   - fail_read_at = N:  the Nth read call fails with FAKE_FLASH_ERR_INJECTED
 *                        (not performed); likewise fail_write_at, fail_erase_at.
 *                        N counts from 1 using the reads/writes/erases counters,
 *                        so set it relative to the current counter value
 *                        (e.g. f.fail_write_at = f.writes + 1 for "the next write");
 *   - cut_before_op = N: power cut before operation N. An "operation" is a
 *                        read, write or erase call (probe is not counted),
 *                        numbered from 1 by the ops counter. Operation N and
 *                        every later call (probe included) fail with
 *                        FAKE_FLASH_ERR_POWER and change nothing, except that
 *                        when op N is a write, its first cut_write_bytes bytes
 *                        still land (0 by default: nothing lands), to model a
 *                        torn page program. powered_off tells that the cut
 *                        happened. fake_flash_power_on() simulates the reboot:
 *                        the memory is kept, the cut is disarmed.
 *
 * Counters (reset by fake_flash_reset_counters): every call is counted,
 * failed ones included.
 *
 * Typical use:
 *   fake_flash_t ff;
 *   ota_flash_t flash;
 *   fake_flash_init(&ff, 4u * 1024u * 1024u, 4096u, 256u);
 *   fake_flash_port(&ff, &flash);
 *   ... run the code under test with &flash ...
 *   fake_flash_free(&ff);
 */
#ifndef CELLOTA_TESTS_FAKE_FLASH_H
#define CELLOTA_TESTS_FAKE_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Raw error codes the fake returns (all negative, all distinct). */
#define FAKE_FLASH_ERR_RANGE (-101)    /* access outside the chip */
#define FAKE_FLASH_ERR_ALIGN (-102)    /* erase address not sector-aligned */
#define FAKE_FLASH_ERR_BITS (-103)     /* write needed a 0 -> 1 transition */
#define FAKE_FLASH_ERR_INJECTED (-104) /* fail_*_at fired */
#define FAKE_FLASH_ERR_POWER (-105)    /* after a power cut */
#define FAKE_FLASH_ERR_ABSENT (-106)   /* chip switched to absent */

typedef struct {
    /* Geometry and contents (mem is malloc'ed by fake_flash_init). */
    uint8_t *mem;
    uint32_t size;
    uint32_t sector_size;
    uint32_t page_size;

    /* Fault switches. */
    bool absent;
    uint32_t fail_read_at;  /* 0 = off */
    uint32_t fail_write_at; /* 0 = off */
    uint32_t fail_erase_at; /* 0 = off */
    uint32_t cut_before_op; /* 0 = off */
    uint32_t cut_write_bytes;
    bool powered_off; /* set when the cut happened */

    /* Counters. */
    uint32_t probes;
    uint32_t reads;
    uint32_t writes;
    uint32_t erases;
    uint32_t ops; /* reads + writes + erases */
    uint64_t bytes_read;
    uint64_t bytes_written;

    /* NOR rule violations. */
    uint32_t bit_errors;
    uint32_t last_bit_error_addr;
} fake_flash_t;

/* Allocate an erased chip. size must be a multiple of sector_size, which must
 * be a multiple of page_size. Returns 0, or -1 (bad geometry / no memory). */
int fake_flash_init(fake_flash_t *f, uint32_t size, uint32_t sector_size, uint32_t page_size);

/* Release the memory; the struct may be initialised again. */
void fake_flash_free(fake_flash_t *f);

/* Fill an ota_flash_t whose ctx is f. */
void fake_flash_port(fake_flash_t *f, ota_flash_t *port);

/* Set every counter (and bit_errors) to 0; fault switches are kept. */
void fake_flash_reset_counters(fake_flash_t *f);

/* Reboot after a cut: clears powered_off and cut_before_op; memory kept. */
void fake_flash_power_on(fake_flash_t *f);

/* Direct access for tests, bypassing rules, counters and faults. */
void fake_flash_poke(fake_flash_t *f, uint32_t addr, const void *data, size_t len);
void fake_flash_peek(const fake_flash_t *f, uint32_t addr, void *data, size_t len);

/* The port functions themselves (ctx = fake_flash_t *). */
int fake_flash_probe(void *ctx);
int fake_flash_read(void *ctx, uint32_t addr, void *buf, size_t len);
int fake_flash_write(void *ctx, uint32_t addr, const void *buf, size_t len);
int fake_flash_erase(void *ctx, uint32_t addr);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_TESTS_FAKE_FLASH_H */
