/**
 * @file ota_crc32.h
 * @brief CRC-32/ISO-HDLC (zlib's crc32): reflected polynomial 0xEDB88320,
 *        initial value and final xor 0xFFFFFFFF. "123456789" gives 0xCBF43926.
 */
#ifndef CELLOTA_OTA_CRC32_H
#define CELLOTA_OTA_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Continue a CRC-32 over more bytes.
 *
 * Start with `crc = 0`; feed pieces in order; the value returned after the
 * last piece is the finished CRC (no separate finalisation step):
 * `ota_crc32(ota_crc32(0, a, na), b, nb) == ota_crc32(0, ab, na + nb)`.
 *
 * @param crc  CRC of the bytes before, or 0 for the first piece.
 * @param data Bytes; may be NULL only when @p len is 0.
 * @param len  Number of bytes.
 * @return The CRC-32 of everything fed so far.
 */
uint32_t ota_crc32(uint32_t crc, const void *data, size_t len);

/**
 * @brief Write a CRC-32 the way ThingsBoard's `fw_checksum` shows it: the
 *        8 lower-case hex digits of its little-endian bytes
 *        (0xCBF43926 → "2639f4cb").
 * @param crc The CRC value.
 * @param out At least 9 bytes; receives 8 digits and a NUL.
 */
void ota_crc32_to_tb_hex(uint32_t crc, char out[9]);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_OTA_CRC32_H */
