/**
 * @file ota_bootreq.h
 * @brief The boot request record: how the OTA client tells the bootloader
 *        that a verified image waits in the staging slot.
 *
 * The record is written once, in a single write into an erased area of the
 * external flash (the first sector of the metadata area), only after the
 * whole image in the slot has been verified. Its layout is fixed and
 * little-endian, independent of the compiler:
 *
 * | offset | size | field                                         |
 * |-------:|-----:|-----------------------------------------------|
 * |      0 |    4 | magic 0x51524243 ("CBRQ")                     |
 * |      4 |    2 | layout version (1)                            |
 * |      6 |    2 | reserved, 0xFFFF                              |
 * |      8 |    4 | image address in the external flash           |
 * |     12 |    4 | image size in bytes                           |
 * |     16 |    4 | CRC-32 of the raw image                       |
 * |     20 |   33 | title, NUL-padded                             |
 * |     53 |   33 | version, NUL-padded                           |
 * |     86 |    2 | reserved, 0xFFFF                              |
 * |     88 |    4 | CRC-32 of bytes 0..87                         |
 *
 * A torn write fails the record CRC and is read as "no request", so a power
 * cut while staging leaves the old firmware running.
 */
#ifndef CELLOTA_OTA_BOOTREQ_H
#define CELLOTA_OTA_BOOTREQ_H

#include <stdint.h>

#include "cellota/ota_port.h"
#include "cellota/ota_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Serialized size of the record. */
#define OTA_BOOTREQ_SIZE 92u
/** @brief Record magic ("CBRQ" little-endian). */
#define OTA_BOOTREQ_MAGIC 0x51524243u
/** @brief Layout version written by this code. */
#define OTA_BOOTREQ_VERSION 1u
/** @brief Longest title or version in the record, without the NUL. */
#define OTA_BOOTREQ_STR_MAX 32u

/** @brief A boot request, decoded. */
typedef struct {
    uint32_t image_addr;                   /**< Where the staged image starts in the external flash. */
    uint32_t image_size;                   /**< Raw image bytes. */
    uint32_t image_crc;                    /**< CRC-32 of the raw image. */
    char title[OTA_BOOTREQ_STR_MAX + 1];   /**< Firmware title. */
    char version[OTA_BOOTREQ_STR_MAX + 1]; /**< Firmware version. */
} ota_bootreq_t;

/**
 * @brief Serialize a request.
 * @param req Request; strings longer than ::OTA_BOOTREQ_STR_MAX are refused.
 * @param out Receives ::OTA_BOOTREQ_SIZE bytes.
 * @retval OTA_OK        Done.
 * @retval OTA_ERR_PARAM NULL pointer or a string too long.
 */
ota_status_t ota_bootreq_encode(const ota_bootreq_t *req, uint8_t out[OTA_BOOTREQ_SIZE]);

/**
 * @brief Decode and check a serialized request.
 * @param in  ::OTA_BOOTREQ_SIZE bytes.
 * @param[out] req Filled on success.
 * @retval OTA_OK            A valid request.
 * @retval OTA_ERR_PARAM     NULL pointer.
 * @retval OTA_ERR_NOT_FOUND Erased (all 0xFF): no request.
 * @retval OTA_ERR_CHECKSUM  Record CRC mismatch (torn or corrupted write);
 *                           the CRC is checked first, so most damage shows here.
 * @retval OTA_ERR_FORMAT    Valid CRC but wrong magic or version, or strings
 *                           unterminated or with bytes after their NUL.
 */
ota_status_t ota_bootreq_decode(const uint8_t in[OTA_BOOTREQ_SIZE], ota_bootreq_t *req);

/**
 * @brief Read and decode the request stored at @p addr.
 * @param flash Flash port.
 * @param addr  Record address.
 * @param[out] req Filled on success.
 * @return As ota_bootreq_decode(); ::OTA_ERR_PORT if the read failed;
 *         ::OTA_ERR_PARAM for a NULL pointer, a missing read function, or a
 *         record that would run past the end of the flash.
 */
ota_status_t ota_bootreq_read(const ota_flash_t *flash, uint32_t addr, ota_bootreq_t *req);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_OTA_BOOTREQ_H */
