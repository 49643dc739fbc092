/*
 * fake_iflash.h - a RAM model of a microcontroller's internal flash behind
 * ota_boot_iflash_t, for host tests of the boot core.
 *
 * Default geometry (fake_iflash_init_stm32l0) is the STM32L0's:
 *   - 128-byte pages; erasing a page sets every byte to 0x00 (erased flash
 *     reads 0x00 on the STM32L0, not 0xFF);
 *   - programming only by 32-bit words (4 bytes, 4-aligned) or half-pages
 *     (64 bytes, 64-aligned), and only into locations that are entirely
 *     erased; anything else is refused (FAKE_IFLASH_ERR_ALIGN or
 *     FAKE_IFLASH_ERR_NOT_ERASED), changes nothing and is counted in
 *     rule_errors;
 *   - addresses are absolute: [base, base + size).
 * fake_iflash_init takes any geometry (page size, word size, row size,
 * erased value) for other parts.
 *
 * Fault injection (all off after init):
 *   - fail_program_at / fail_erase_at = N: the Nth program / erase call fails
 *     with FAKE_IFLASH_ERR_INJECTED and changes nothing;
 *   - cut_before_op = N: power cut before mutating operation N (programs and
 *     erases, counted from 1 by `ops`). That operation and every later call
 *     (reads included) fail with FAKE_IFLASH_ERR_POWER. If op N is a program,
 *     its first cut_bytes bytes still land (a torn half-page); if it is an
 *     erase, the first cut_bytes bytes of the page are erased (a torn erase).
 *     fake_iflash_power_on() is the reboot: memory kept, cut disarmed.
 */
#ifndef CELLOTA_TESTS_FAKE_IFLASH_H
#define CELLOTA_TESTS_FAKE_IFLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_boot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FAKE_IFLASH_ERR_RANGE (-201)      /* access outside [base, base + size) */
#define FAKE_IFLASH_ERR_ALIGN (-202)      /* bad program length or alignment, unaligned erase */
#define FAKE_IFLASH_ERR_NOT_ERASED (-203) /* program into a location that is not erased */
#define FAKE_IFLASH_ERR_INJECTED (-204)   /* fail_*_at fired */
#define FAKE_IFLASH_ERR_POWER (-205)      /* after a power cut */

typedef struct {
    uint8_t *mem; /* malloc'ed by init */
    uint32_t base;
    uint32_t size;
    uint32_t page_size;
    uint32_t word_size; /* smallest program unit (STM32L0: 4) */
    uint32_t row_size;  /* largest program unit (STM32L0: 64, a half-page) */
    uint8_t erased;     /* STM32L0: 0x00 */

    uint32_t fail_program_at; /* 0 = off */
    uint32_t fail_erase_at;   /* 0 = off */
    uint32_t cut_before_op;   /* 0 = off */
    uint32_t cut_bytes;
    bool powered_off;

    uint32_t reads;
    uint32_t programs;
    uint32_t erases;
    uint32_t ops; /* programs + erases */
    uint32_t rule_errors;
} fake_iflash_t;

/* Any geometry: page_size a multiple of row_size, row_size a multiple of
 * word_size, size a multiple of page_size, base page-aligned. The memory
 * starts erased. Returns 0 or -1. */
int fake_iflash_init(fake_iflash_t *f, uint32_t base, uint32_t size, uint32_t page_size,
                     uint32_t word_size, uint32_t row_size, uint8_t erased);

/* STM32L0: 128-byte pages, 4-byte words, 64-byte half-pages, erased 0x00. */
int fake_iflash_init_stm32l0(fake_iflash_t *f, uint32_t base, uint32_t size);

void fake_iflash_free(fake_iflash_t *f);

/* Fill an ota_boot_iflash_t whose ctx is f; the boot core will program
 * write_unit bytes at a time (word_size or row_size). */
void fake_iflash_port(fake_iflash_t *f, ota_boot_iflash_t *port, uint32_t write_unit);

/* Reboot after a cut: clears powered_off and cut_before_op; memory kept. */
void fake_iflash_power_on(fake_iflash_t *f);

/* Counters to 0 (fault switches kept). */
void fake_iflash_reset_counters(fake_iflash_t *f);

/* Direct access for tests (absolute addresses), bypassing rules and faults. */
void fake_iflash_poke(fake_iflash_t *f, uint32_t addr, const void *data, size_t len);
void fake_iflash_peek(const fake_iflash_t *f, uint32_t addr, void *data, size_t len);

/* The port functions (ctx = fake_iflash_t *). */
int fake_iflash_read(void *ctx, uint32_t addr, void *buf, size_t len);
int fake_iflash_program(void *ctx, uint32_t addr, const void *buf, size_t len);
int fake_iflash_erase_page(void *ctx, uint32_t addr);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_TESTS_FAKE_IFLASH_H */
