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
 *                       sector is erased (E = ceil(slot sectors / 8)); the
 *                       sectors are erased in order, so the cleared bits are
 *                       always a prefix of the map
 *   [128+E, sector)     chunk map: one byte per chunk, 0xFF until the chunk
 *                       is written and read back, then the low 7 bits of the
 *                       CRC-32 of its data (top bit 0)
 *
 * A chunk byte is written only after its data is in flash and read back, so
 * a torn chunk is never recorded; on resume every recorded chunk is checked
 * against its byte, so what is already in the slot is verified before it is
 * trusted. A torn header fails its CRC and the journal counts as absent.
 *
 * The client does the flash work itself (src/ota_client.c); this module
 * only knows the layout and builds the header.
 */
#ifndef CELLOTA_SRC_OTA_JOURNAL_H
#define CELLOTA_SRC_OTA_JOURNAL_H

#include <stdint.h>

#include "cellota/ota_client.h"

#define OTA_JNL_HDR 128u
#define OTA_JNL_NONE 0xFFu

/* The chunk byte recorded for data of CRC-32 crc. */
#define OTA_JNL_TAG(crc) ((uint8_t)((crc) & 0x7Fu))

/* Address of the erase map of the journal of a client configured with cfg;
 * the journal sector starts OTA_JNL_HDR bytes before it. */
static inline uint32_t ota_jnl_emap(const ota_config_t *cfg)
{
    return cfg->meta_addr + cfg->flash.sector_size + OTA_JNL_HDR;
}

/* Address of the chunk map: right after the erase map at emap. */
static inline uint32_t ota_jnl_cmap(const ota_config_t *cfg, uint32_t emap)
{
    return emap + (cfg->slot_size / cfg->flash.sector_size + 7u) / 8u;
}

/* Build the header for c's current offer into out[OTA_JNL_HDR]. */
void ota_jnl_header(const ota_client_t *c, uint8_t *out);

#endif /* CELLOTA_SRC_OTA_JOURNAL_H */
