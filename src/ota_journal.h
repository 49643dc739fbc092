/*
 * Download journal (private to the core): lets an interrupted download
 * continue after a reset from what is already in the staging slot.
 *
 * It lives in one NOR sector (the second sector of the metadata area) and
 * only ever moves bits from 1 to 0 until the sector is erased:
 *
 *   [0, 128)            header: the update's identity (slot, package size,
 *                       format, chunk size, checksum, title, version) + CRC
 *   [128, 128+E)        erase map: one bit per slot sector, cleared once the
 *                       sector is erased (E = ceil(slot sectors / 8))
 *   [128+E, sector)     chunk map: one byte per chunk, 0xFF until the chunk
 *                       is written and read back, then the low 7 bits of the
 *                       CRC-32 of its data (top bit 0)
 *
 * A chunk byte is written only after its data is in flash and read back, so
 * a torn chunk is never recorded; on resume every recorded chunk is checked
 * against its byte, so what is already in the slot is verified before it is
 * trusted. A torn header fails its CRC and the journal counts as absent.
 */
#ifndef CELLOTA_SRC_OTA_JOURNAL_H
#define CELLOTA_SRC_OTA_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cellota/ota_client.h"

#define OTA_JNL_HDR 128u
#define OTA_JNL_NONE 0xFFu

/* Where the maps start for this slot, and whether `chunks` fit. */
typedef struct {
    uint32_t addr;     /* journal sector */
    uint32_t emap;     /* absolute address of the erase map */
    uint32_t cmap;     /* absolute address of the chunk map */
    bool fits;         /* the chunk map holds every chunk */
} ota_jnl_t;

/* Lay out the journal of client c for its current geometry. */
void ota_jnl_layout(const ota_client_t *c, ota_jnl_t *j);

/* Build the header for c's current offer into out[OTA_JNL_HDR]. */
void ota_jnl_header(const ota_client_t *c, uint8_t *out);

/* 1 if the journal in flash belongs to c's offer, 0 if not, < 0 port error.
 * Uses c->buf as scratch. */
int ota_jnl_matches(ota_client_t *c, const ota_jnl_t *j);

/* Erase the journal and write a header for c's offer. 0 or port error. */
int ota_jnl_begin(ota_client_t *c, const ota_jnl_t *j);

/* Clear bit `idx` of the map at `map` (read-modify-write of one byte). */
int ota_jnl_clear_bit(const ota_flash_t *f, uint32_t map, uint32_t idx);

/* Read bit `idx` of the map at `map` into *set (true = still 1). */
int ota_jnl_bit(const ota_flash_t *f, uint32_t map, uint32_t idx, bool *set);

/* The chunk byte recorded for data of CRC-32 crc. */
uint8_t ota_jnl_tag(uint32_t crc);

#endif /* CELLOTA_SRC_OTA_JOURNAL_H */
