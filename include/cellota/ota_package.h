/**
 * @file ota_package.h
 * @brief Package formats: Dragino 1028-byte records and raw packages.
 *
 * A Dragino package is the raw image cut into records
 * `[1024 data bytes][CRC-32 of those bytes, little-endian]`, the last record
 * shorter (`[n data][CRC]`, 1 <= n <= 1024). `fw_size` on the server is the
 * package size: raw + 4 * ceil(raw / 1024). A raw package is the image
 * itself, served in chunks of a size the device chooses.
 */
#ifndef CELLOTA_OTA_PACKAGE_H
#define CELLOTA_OTA_PACKAGE_H

#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Data bytes in a full Dragino record. */
#define OTA_DRAGINO_DATA 1024u
/** @brief Bytes in a full Dragino record (data + CRC). */
#define OTA_DRAGINO_RECORD 1028u

/** @brief How a package is laid out on the server. */
typedef enum {
    OTA_PKG_DRAGINO = 0, /**< 1028-byte records with a CRC-32 each. */
    OTA_PKG_RAW = 1      /**< The raw image. */
} ota_pkg_format_t;

/** @brief The geometry of one package, derived from `fw_size`. */
typedef struct {
    ota_pkg_format_t format; /**< Layout. */
    uint32_t pkg_size;       /**< Bytes on the server (`fw_size`). */
    uint32_t chunk_size;     /**< Bytes asked per chunk request. */
    uint32_t chunks;         /**< Number of chunks that carry data. */
    uint32_t image_size;     /**< Bytes of raw image (what lands in the slot). */
} ota_pkg_geom_t;

/**
 * @brief Work out a package's geometry.
 * @param format     Layout.
 * @param pkg_size   `fw_size` from the server.
 * @param chunk_size For ::OTA_PKG_RAW the chunk size to ask (1..65536);
 *                   ignored for ::OTA_PKG_DRAGINO (always 1028).
 * @param[out] geom  Filled on success.
 * @retval OTA_OK          Valid geometry.
 * @retval OTA_ERR_PARAM   NULL @p geom, unknown format, or raw chunk size 0 or over 65536.
 * @retval OTA_ERR_RANGE   @p pkg_size is 0.
 * @retval OTA_ERR_FORMAT  Dragino: the last record would hold no data byte
 *                         (pkg_size mod 1028 is 1..4).
 */
ota_status_t ota_pkg_geometry(ota_pkg_format_t format, uint32_t pkg_size, uint32_t chunk_size,
                              ota_pkg_geom_t *geom);

/**
 * @brief Expected length of chunk @p k's answer (0 past the end).
 * @param geom Geometry from ota_pkg_geometry().
 * @param k    Chunk index.
 * @return Bytes the server sends for chunk @p k.
 */
uint32_t ota_pkg_chunk_len(const ota_pkg_geom_t *geom, uint32_t k);

/**
 * @brief Check one chunk answer and locate its image data.
 *
 * For Dragino records the trailing CRC-32 (LE) is checked against the data.
 *
 * @param geom        Geometry.
 * @param k           Chunk index (< geom->chunks).
 * @param chunk       Answer bytes.
 * @param len         Answer length; must equal ota_pkg_chunk_len().
 * @param[out] offset Image offset of the data.
 * @param[out] data_len Number of image data bytes (they start at @p chunk).
 * @retval OTA_OK           Valid.
 * @retval OTA_ERR_PARAM    NULL pointer or @p k out of range.
 * @retval OTA_ERR_RANGE    @p len is not the expected length.
 * @retval OTA_ERR_CHECKSUM The record's CRC does not match.
 */
ota_status_t ota_pkg_check_chunk(const ota_pkg_geom_t *geom, uint32_t k, const uint8_t *chunk,
                                 size_t len, uint32_t *offset, uint32_t *data_len);

/**
 * @brief Package size of a raw image in Dragino format: raw + 4 * ceil(raw/1024).
 * @param image_size Raw bytes.
 * @return Package bytes, or 0 when the result would not fit in 32 bits.
 */
uint32_t ota_pkg_dragino_size(uint32_t image_size);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_OTA_PACKAGE_H */
