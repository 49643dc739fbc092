/**
 * @file ota_sha256.h
 * @brief SHA-256 (FIPS 180-4), streaming, no allocation.
 */
#ifndef CELLOTA_OTA_SHA256_H
#define CELLOTA_OTA_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Size of a SHA-256 digest in bytes. */
#define OTA_SHA256_SIZE 32u

/** @brief SHA-256 state. Treat as opaque. */
typedef struct {
    uint32_t h[8];      /**< Chaining value. */
    uint64_t total;     /**< Bytes hashed so far. */
    uint8_t block[64];  /**< Partial block. */
    uint32_t used;      /**< Bytes in @ref block. */
} ota_sha256_t;

/** @brief Start a new hash. @param s State to initialise; not NULL. */
void ota_sha256_init(ota_sha256_t *s);

/**
 * @brief Hash more bytes.
 * @param s    State; not NULL.
 * @param data Bytes; may be NULL only when @p len is 0.
 * @param len  Number of bytes.
 */
void ota_sha256_update(ota_sha256_t *s, const void *data, size_t len);

/**
 * @brief Finish and write the digest. The state must be re-initialised before reuse.
 * @param s   State; not NULL.
 * @param out Receives the 32-byte digest.
 */
void ota_sha256_final(ota_sha256_t *s, uint8_t out[OTA_SHA256_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_OTA_SHA256_H */
