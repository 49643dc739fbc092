/*
 * ota_package.c - package geometry and per-chunk checks.
 *
 * Every product and sum is guarded: pkg_size may be anything up to
 * UINT32_MAX and a geometry may be handed in by the caller.
 */
#include <stdbool.h>

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

static ota_status_t dragino_geometry(uint32_t pkg_size, ota_pkg_geom_t *geom)
{
    uint32_t full = pkg_size / OTA_DRAGINO_RECORD;
    uint32_t rest = pkg_size % OTA_DRAGINO_RECORD;

    if (rest != 0u && rest <= DRAGINO_CRC_LEN) {
        return OTA_ERR_FORMAT;
    }
    geom->chunk_size = OTA_DRAGINO_RECORD;
    geom->chunks = full + ((rest != 0u) ? 1u : 0u);
    /* full * 1024 < pkg_size, so neither term overflows. */
    geom->image_size = full * OTA_DRAGINO_DATA + ((rest != 0u) ? rest - DRAGINO_CRC_LEN : 0u);
    return OTA_OK;
}

ota_status_t ota_pkg_geometry(ota_pkg_format_t format, uint32_t pkg_size, uint32_t chunk_size,
                              ota_pkg_geom_t *geom)
{
    ota_pkg_geom_t g;
    ota_status_t st = OTA_OK;

    if (geom == NULL || (format != OTA_PKG_DRAGINO && format != OTA_PKG_RAW)) {
        return OTA_ERR_PARAM;
    }
    if (format == OTA_PKG_RAW && (chunk_size == 0u || chunk_size > RAW_CHUNK_MAX)) {
        return OTA_ERR_PARAM;
    }
    if (pkg_size == 0u) {
        return OTA_ERR_RANGE;
    }
    g.format = format;
    g.pkg_size = pkg_size;
    if (format == OTA_PKG_DRAGINO) {
        st = dragino_geometry(pkg_size, &g);
    } else {
        g.chunk_size = chunk_size;
        g.chunks = pkg_size / chunk_size + ((pkg_size % chunk_size != 0u) ? 1u : 0u);
        g.image_size = pkg_size;
    }
    if (st == OTA_OK) {
        *geom = g;
    }
    return st;
}

/* Package offset of chunk k, or false if it lies at or past the end. */
static bool chunk_start(const ota_pkg_geom_t *geom, uint32_t k, uint32_t *start)
{
    if (geom->chunk_size == 0u || k >= geom->chunks || k > UINT32_MAX / geom->chunk_size) {
        return false;
    }
    *start = k * geom->chunk_size;
    return *start < geom->pkg_size;
}

uint32_t ota_pkg_chunk_len(const ota_pkg_geom_t *geom, uint32_t k)
{
    uint32_t start = 0u;
    uint32_t left;

    if (geom == NULL || !chunk_start(geom, k, &start)) {
        return 0u;
    }
    left = geom->pkg_size - start;
    return (left < geom->chunk_size) ? left : geom->chunk_size;
}

static ota_status_t check_dragino(const ota_pkg_geom_t *geom, uint32_t k, const uint8_t *chunk,
                                  uint32_t len, uint32_t *offset, uint32_t *data_len)
{
    uint32_t n;

    if (geom->chunk_size != OTA_DRAGINO_RECORD || len <= DRAGINO_CRC_LEN) {
        return OTA_ERR_RANGE;
    }
    n = len - DRAGINO_CRC_LEN;
    if (ota_crc32(0u, chunk, n) != load_le32(&chunk[n])) {
        return OTA_ERR_CHECKSUM;
    }
    *offset = k * OTA_DRAGINO_DATA; /* k * 1028 fits, so k * 1024 does */
    *data_len = n;
    return OTA_OK;
}

ota_status_t ota_pkg_check_chunk(const ota_pkg_geom_t *geom, uint32_t k, const uint8_t *chunk,
                                 size_t len, uint32_t *offset, uint32_t *data_len)
{
    uint32_t expect;

    if (geom == NULL || chunk == NULL || offset == NULL || data_len == NULL || k >= geom->chunks ||
        (geom->format != OTA_PKG_DRAGINO && geom->format != OTA_PKG_RAW)) {
        return OTA_ERR_PARAM;
    }
    expect = ota_pkg_chunk_len(geom, k);
    if (expect == 0u) {
        return OTA_ERR_PARAM; /* inconsistent geometry */
    }
    if (len != (size_t)expect) {
        return OTA_ERR_RANGE;
    }
    if (geom->format == OTA_PKG_DRAGINO) {
        return check_dragino(geom, k, chunk, expect, offset, data_len);
    }
    *offset = k * geom->chunk_size; /* guarded by ota_pkg_chunk_len() */
    *data_len = expect;
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
