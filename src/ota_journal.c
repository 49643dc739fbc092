/* Download journal. See ota_journal.h. */
#include "ota_journal.h"

#include <string.h>

#include "cellota/ota_crc32.h"

#define JNL_MAGIC 0x4C4E4A43u /* "CJNL" */
#define JNL_VERSION 1u

/* n words, little-endian, at p. */
static void put_le(uint8_t *p, const uint32_t *w, unsigned n)
{
    for (unsigned i = 0; i < 4u * n; i++) {
        p[i] = (uint8_t)(w[i / 4u] >> (8u * (i % 4u)));
    }
}

/* Header bytes: magic, version, format, algo, 0, slot address, slot size,
 * package size, chunk size (little-endian), the checksum (32 bytes), title
 * and version (34 bytes each, as stored: NUL-padded by the offer parser),
 * CRC-32 of all that. */
void ota_jnl_header(const ota_client_t *c, uint8_t *out)
{
    uint32_t w[6] = {JNL_MAGIC,
                     JNL_VERSION | ((uint32_t)c->geom.format << 8) |
                         ((uint32_t)c->offer.algo << 16),
                     c->cfg->slot_addr, c->cfg->slot_size, c->geom.pkg_size, c->geom.chunk_size};
    memset(out, 0xFF, OTA_JNL_HDR);
    put_le(out, w, 6u);
    memcpy(&out[24], c->offer.checksum, 32u);
    memcpy(&out[56], c->offer.title, sizeof c->offer.title < 34u ? sizeof c->offer.title : 34u);
    memcpy(&out[90], c->offer.version,
           sizeof c->offer.version < 34u ? sizeof c->offer.version : 34u);
    w[0] = ota_crc32(0, out, 124u);
    put_le(&out[124], w, 1u);
}
