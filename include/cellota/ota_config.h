/**
 * @file ota_config.h
 * @brief Compile-time configuration of cellota, with documented defaults.
 *
 * Every value can be overridden by the integrator, either with `-D` on the
 * compiler command line or by defining `OTA_CONFIG_FILE` as the name of a
 * header (for example `-DOTA_CONFIG_FILE=\"my_ota_config.h\"`) that is
 * included before the defaults below are applied.
 */
#ifndef CELLOTA_OTA_CONFIG_H
#define CELLOTA_OTA_CONFIG_H

#ifdef OTA_CONFIG_FILE
#include OTA_CONFIG_FILE
#endif

/**
 * @brief Size of the client's chunk buffer in bytes.
 *
 * One chunk answer is read back from flash into this buffer to check the
 * write. It bounds the largest chunk the client will request: a Dragino
 * record (1028 bytes) or a raw chunk. Must be at least 1028 when Dragino
 * packages are used.
 */
#ifndef OTA_CFG_CHUNK_BUF_SIZE
#define OTA_CFG_CHUNK_BUF_SIZE 1028u
#endif

/** @brief Longest firmware title the client stores, without the NUL. */
#ifndef OTA_CFG_TITLE_MAX
#define OTA_CFG_TITLE_MAX 32u
#endif

/** @brief Longest firmware version the client stores, without the NUL. */
#ifndef OTA_CFG_VERSION_MAX
#define OTA_CFG_VERSION_MAX 32u
#endif

/** @brief Longest failure reason text kept by the client, without the NUL. */
#ifndef OTA_CFG_REASON_MAX
#define OTA_CFG_REASON_MAX 95u
#endif

/** @brief Largest window of outstanding chunk requests that can be configured. */
#ifndef OTA_CFG_MAX_WINDOW
#define OTA_CFG_MAX_WINDOW 8u
#endif

/** @brief Bytes of flash verified per call to ota_client_poll() (keeps each poll short). */
#ifndef OTA_CFG_VERIFY_STEP
#define OTA_CFG_VERIFY_STEP 4096u
#endif

/** @brief Set to 0 to remove SHA-256 support (only CRC32 images are then accepted). */
#ifndef OTA_CFG_SHA256
#define OTA_CFG_SHA256 1
#endif

/** @brief Set to 0 to compile every log call out of the core. */
#ifndef OTA_CFG_LOG
#define OTA_CFG_LOG 1
#endif

/** @brief Deepest JSON nesting the bounded JSON reader accepts (at most 32). */
#ifndef OTA_CFG_JSON_MAX_DEPTH
#define OTA_CFG_JSON_MAX_DEPTH 8u
#endif

/** @brief Settings: longest server host name, without the NUL. */
#ifndef OTA_CFG_HOST_MAX
#define OTA_CFG_HOST_MAX 63u
#endif

/** @brief Settings: longest MQTT client id, user name or password, without the NUL. */
#ifndef OTA_CFG_CRED_MAX
#define OTA_CFG_CRED_MAX 63u
#endif

#if OTA_CFG_CHUNK_BUF_SIZE < 64u
#error "OTA_CFG_CHUNK_BUF_SIZE must be at least 64"
#endif
#if OTA_CFG_MAX_WINDOW < 1u || OTA_CFG_MAX_WINDOW > 32u
#error "OTA_CFG_MAX_WINDOW must be between 1 and 32"
#endif
#if OTA_CFG_JSON_MAX_DEPTH < 2u || OTA_CFG_JSON_MAX_DEPTH > 32u
#error "OTA_CFG_JSON_MAX_DEPTH must be between 2 and 32"
#endif

#endif /* CELLOTA_OTA_CONFIG_H */
