/*
 * ota_package.c - package geometry and per-chunk checks.
 *
 * Every product and sum is guarded: pkg_size may be anything up to
 * UINT32_MAX and a geometry may be handed in by the caller.
 */

#include "cellota/ota_crc32.h"
#include "cellota/ota_package.h"

/** Largest chunk a raw package may be asked in. */
#define RAW_CHUNK_MAX 65536u
/** CRC bytes at the end of a Dragino record. */
#define DRAGINO_CRC_LEN (OTA_DRAGINO_RECORD - OTA_DRAGINO_DATA)

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Both layouts are cut the same way: into chunk_size pieces, the last one
 * shorter. A Dragino chunk is a record, 4 CRC bytes more than its data. */
ota_status_t ota_pkg_geometry(ota_pkg_format_t format, uint32_t pkg_size, uint32_t chunk_size,
                              ota_pkg_geom_t *geom)
{
    uint32_t chunks;

    if (geom == NULL || (unsigned)format > (unsigned)OTA_PKG_RAW) {
        return OTA_ERR_PARAM;
    }
    if (format == OTA_PKG_DRAGINO) {
        chunk_size = OTA_DRAGINO_RECORD;
    } else if (chunk_size - 1u >= RAW_CHUNK_MAX) { /* 0 wraps round */
        return OTA_ERR_PARAM;
    }
    if (pkg_size == 0u) {
        return OTA_ERR_RANGE;
    }
    chunks = (pkg_size - 1u) / chunk_size + 1u;
    if (format == OTA_PKG_DRAGINO && pkg_size - (chunks - 1u) * chunk_size <= DRAGINO_CRC_LEN) {
        return OTA_ERR_FORMAT; /* a last record without a data byte */
    }
    geom->format = format;
    geom->pkg_size = pkg_size;
    geom->chunk_size = chunk_size;
    geom->chunks = chunks;
    /* chunks * 4 < pkg_size: no wrap */
    geom->image_size = pkg_size - ((format == OTA_PKG_DRAGINO) ? chunks * DRAGINO_CRC_LEN : 0u);
    return OTA_OK;
}

uint32_t ota_pkg_chunk_len(const ota_pkg_geom_t *geom, uint32_t k)
{
    uint64_t start;

    if (geom == NULL || k >= geom->chunks) {
        return 0u;
    }
    start = (uint64_t)k * geom->chunk_size; /* 64 bits: no wrap (a chunk_size of 0 gives 0) */
    if (start >= geom->pkg_size) {
        return 0u; /* chunk k lies at or past the end */
    }
    return (geom->pkg_size - start < geom->chunk_size) ? (uint32_t)(geom->pkg_size - start)
                                                       : geom->chunk_size;
}

ota_status_t ota_pkg_check_chunk(const ota_pkg_geom_t *geom, uint32_t k, const uint8_t *chunk,
                                 size_t len, uint32_t *offset, uint32_t *data_len)
{
    uint32_t n;
    uint32_t step;

    if (geom == NULL || chunk == NULL || offset == NULL || data_len == NULL ||
        (unsigned)geom->format > (unsigned)OTA_PKG_RAW) {
        return OTA_ERR_PARAM;
    }
    n = ota_pkg_chunk_len(geom, k);
    if (n == 0u) {
        return OTA_ERR_PARAM; /* k out of range, or an inconsistent geometry */
    }
    if (len != (size_t)n) {
        return OTA_ERR_RANGE;
    }
    step = geom->chunk_size;
    if (geom->format == OTA_PKG_DRAGINO) {
        if (step != OTA_DRAGINO_RECORD || n <= DRAGINO_CRC_LEN) {
            return OTA_ERR_RANGE;
        }
        n -= DRAGINO_CRC_LEN;
        if (ota_crc32(0u, chunk, n) != load_le32(&chunk[n])) {
            return OTA_ERR_CHECKSUM;
        }
        step = OTA_DRAGINO_DATA; /* k * 1028 fits, so k * 1024 does */
    }
    *offset = k * step; /* guarded by ota_pkg_chunk_len() */
    *data_len = n;
    return OTA_OK;
}

uint32_t ota_pkg_dragino_size(uint32_t image_size)
{
    uint32_t records =
        image_size / OTA_DRAGINO_DATA + ((image_size % OTA_DRAGINO_DATA != 0u) ? 1u : 0u);
    uint32_t extra = records * DRAGINO_CRC_LEN; /* records <= 4194304: no overflow */

    if (image_size > UINT32_MAX - extra) {
        return 0u; /* does not fit: no valid package has size 0 */
    }
    return image_size + extra;
}
