/**
 * @file cellota_iflash.h
 * @brief The simulated MCU's internal flash (the application area), in a
 *        file, with the STM32L0's rules and power cuts.
 *
 * Rules enforced, as on an STM32L072: the area is erased per 128-byte page,
 * and an erased byte reads **0x00**; programming goes by 64-byte half-pages,
 * aligned, and only into a half-page that is entirely erased (anything else
 * fails with ::CELLOTA_POSIX_ENOR and changes nothing). A new file is fully
 * erased. Addresses are absolute, as the CPU sees them.
 *
 * Power cuts work like the external flash's
 * (cellota_flash_file_cut_power_before()): the n-th program or erase from
 * arming is not performed (or, with cellota_iflash_file_tear(), only its first
 * bytes land) and every later call fails with ::CELLOTA_POSIX_EPOWER until
 * cellota_iflash_file_power_restore().
 */
#ifndef CELLOTA_POSIX_IFLASH_H
#define CELLOTA_POSIX_IFLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "cellota/ota_boot.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Start of the application area of the reference board (after an 8 KB bootloader). */
#define CELLOTA_IFLASH_BASE 0x08002000u
/** @brief Size of that area: 192 KB of flash less the 8 KB bootloader. */
#define CELLOTA_IFLASH_SIZE (184u * 1024u)
/** @brief Erase unit: one STM32L0 page. */
#define CELLOTA_IFLASH_PAGE 128u
/** @brief Program unit: one STM32L0 half-page. */
#define CELLOTA_IFLASH_WRITE_UNIT 64u

/** @brief The internal flash file. Fields are private except the counters. */
typedef struct {
    /** @cond PRIVATE */
    int fd;
    uint32_t base;
    uint32_t size;
    bool powered;
    uint32_t cut_at;
    uint32_t tear;
    int last_errno;
    /** @endcond */
    uint32_t ops;      /**< Read-only: program and erase operations attempted. */
    uint32_t programs; /**< Read-only: half-pages programmed. */
    uint32_t erases;   /**< Read-only: pages erased. */
} cellota_iflash_file_t;

/**
 * @brief Open (or create, fully erased) the file behind the internal flash.
 * @param f    Object.
 * @param path File path.
 * @param base Absolute address of the first byte (a multiple of the page).
 * @param size Bytes (a non-zero multiple of the page); an existing file must have this size.
 * @retval 0                    Open.
 * @retval CELLOTA_POSIX_EPARAM NULL pointer or bad base/size.
 * @retval CELLOTA_POSIX_ESIZE  The existing file has another size.
 * @retval CELLOTA_POSIX_EIO    The file could not be opened or filled.
 */
int cellota_iflash_file_open(cellota_iflash_file_t *f, const char *path, uint32_t base, uint32_t size);

/** @brief Close the file. @param f Object (NULL is ignored). */
void cellota_iflash_file_close(cellota_iflash_file_t *f);

/**
 * @brief The boot core's view of this flash (page 128, write unit 64, erased 0x00).
 * @param f Object that outlives the returned interface.
 * @return The filled interface.
 */
ota_boot_iflash_t cellota_iflash_file_port(cellota_iflash_file_t *f);

/**
 * @brief Arm a power cut before the @p n-th program or erase from now (0 disarms).
 * @param f Object.
 * @param n 1 = the next operation.
 */
void cellota_iflash_file_cut_power_before(cellota_iflash_file_t *f, uint32_t n);

/**
 * @brief Let the first @p bytes of the operation the cut falls on land (0: a clean cut).
 * @param f     Object.
 * @param bytes Bytes that land.
 */
void cellota_iflash_file_tear(cellota_iflash_file_t *f, uint32_t bytes);

/** @brief Power back on after a cut (disarms any pending cut). @param f Object. */
void cellota_iflash_file_power_restore(cellota_iflash_file_t *f);

/**
 * @brief Factory programming: write @p len bytes at @p addr, erasing the pages
 *        first, bypassing power cuts and counters (what a programmer probe does).
 * @param f    Object.
 * @param addr Absolute address (page-aligned).
 * @param data Bytes.
 * @param len  Byte count; the rest of the last page is left erased.
 * @return 0, ::CELLOTA_POSIX_EPARAM (range), or ::CELLOTA_POSIX_EIO.
 */
int cellota_iflash_file_program_raw(cellota_iflash_file_t *f, uint32_t addr, const void *data,
                                    uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_POSIX_IFLASH_H */
