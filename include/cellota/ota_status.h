/**
 * @file ota_status.h
 * @brief The status type every cellota function returns, and the result
 *        codes an update reports to the outside world.
 */
#ifndef CELLOTA_OTA_STATUS_H
#define CELLOTA_OTA_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Status of a cellota call. Success is 0; every failure is negative.
 *
 * Each function documents exactly which of these it can return.
 */
typedef enum {
    OTA_OK = 0,              /**< Success. */
    OTA_ERR_PARAM = -1,      /**< A NULL pointer, a missing port function or a value out of range was passed. */
    OTA_ERR_STATE = -2,      /**< The call is not allowed in the current state. */
    OTA_ERR_PORT = -3,       /**< A port function reported a failure; its raw return is kept by the caller. */
    OTA_ERR_NOSPACE = -4,    /**< The result does not fit the buffer it must go into. */
    OTA_ERR_FORMAT = -5,     /**< Malformed input (JSON, topic, record, number). */
    OTA_ERR_RANGE = -6,      /**< A well-formed value outside its allowed range. */
    OTA_ERR_CHECKSUM = -7,   /**< A CRC or digest did not match. */
    OTA_ERR_NOT_FOUND = -8,  /**< A key, record or item that was looked for is not there. */
    OTA_ERR_TIMEOUT = -9     /**< A deadline passed. */
} ota_status_t;

/**
 * @brief Dragino-compatible result codes reported on the data uplink.
 *
 * These are the only codes that leave the device; the detailed reason of a
 * failure travels with them as text.
 */
typedef enum {
    OTA_CODE_NONE = 0,            /**< No result yet. */
    OTA_CODE_TITLE_MISMATCH = 1,  /**< The server's fw_title differs from the device's title. */
    OTA_CODE_NO_HARDWARE = 2,     /**< Hardware not supported: no external flash, or the image cannot fit it. */
    OTA_CODE_FORMAT = 3,          /**< Command or data format error. */
    OTA_CODE_TIMEOUT = 4,         /**< OTA server connection timeout, or the server stopped answering. */
    OTA_CODE_NO_TITLE = 5,        /**< The server offered no firmware title (nothing assigned). */
    OTA_CODE_SAME_VERSION = 6,    /**< The offered version is the running version: nothing to do. */
    OTA_CODE_CHECKSUM = 7,        /**< A chunk or the whole image failed its checksum. */
    OTA_CODE_SUCCESS = 100        /**< Update downloaded, verified and staged; waiting for reboot. */
} ota_code_t;

/**
 * @brief Short English name of a status, for logs.
 * @param st Any value; unknown values give "unknown".
 * @return A static NUL-terminated string; never NULL.
 */
const char *ota_status_str(ota_status_t st);

/**
 * @brief Standard English text of a result code, as sent in status messages
 *        (for example 7 → "firmware checksum error").
 * @param code Any value; unknown values and ::OTA_CODE_NONE give "".
 * @return A static NUL-terminated string; never NULL.
 */
const char *ota_code_str(ota_code_t code);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_OTA_STATUS_H */
