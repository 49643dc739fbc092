/**
 * @file ota_settings.h
 * @brief The device's OTA settings and their power-cut-safe persistence.
 *
 * The settings are kept as one record with a layout version, a sequence
 * number and a CRC-32, in two copies (A at offset 0, B right after it) in
 * the settings store. A save writes the copy that is not the newest valid
 * one, so a power cut during a save leaves the previous settings intact;
 * a load takes the valid copy with the higher sequence number.
 *
 * Layout versions: 1 (the first release) and 2 (adds the persistent
 * "upgrade requested" flag, ota_settings_t::upgrade_pending, in a byte
 * that layout 1 reserved as zero). Both have the same size and offsets,
 * so a store written by layout 1 is read as it is (the new flag then
 * reads as false) and the next save writes layout 2 into the other copy
 * with the usual power-cut safety. A record of a newer layout than this
 * code knows is not read (it counts as corrupted).
 *
 * Typical start-up:
 * @code
 *   ota_status_t st = ota_settings_load(&store, &settings);
 *   if (st != OTA_OK) {
 *       ota_settings_defaults(&settings, MY_FW_TITLE, MY_FW_VERSION);
 *       // OTA_ERR_NOT_FOUND: first start; OTA_ERR_CHECKSUM: log "settings
 *       // corrupted, defaults used"; OTA_ERR_PORT: the store failed.
 *   }
 * @endcode
 */
#ifndef CELLOTA_OTA_SETTINGS_H
#define CELLOTA_OTA_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "cellota/ota_config.h"
#include "cellota/ota_port.h"
#include "cellota/ota_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief OTA settings (Dragino AT+OTA* equivalents). Strings are NUL-terminated. */
typedef struct {
    char host[OTA_CFG_HOST_MAX + 1];         /**< AT+OTASER host. */
    uint16_t port;                           /**< AT+OTASER port (1..65535). */
    char client_id[OTA_CFG_CRED_MAX + 1];    /**< AT+OTACLT. */
    char username[OTA_CFG_CRED_MAX + 1];     /**< AT+OTAUNAME (device access token). */
    char password[OTA_CFG_CRED_MAX + 1];     /**< AT+OTAPWD; empty for none. */
    char title[OTA_CFG_TITLE_MAX + 1];       /**< AT+OTATITLE. */
    char version[OTA_CFG_VERSION_MAX + 1];   /**< AT+OTAVER. */
    /**
     * @brief An update was requested (AT+UPGRADE, downlink F9 01) and has not
     *        ended yet. Kept across a reset so that the update still starts
     *        after it; the application clears it when the update ends
     *        (layout 2; a layout-1 record reads as false).
     */
    bool upgrade_pending;
} ota_settings_t;

/**
 * @brief Bytes of store one settings copy takes; the store must hold two.
 */
#define OTA_SETTINGS_RECORD_SIZE                                                          \
    (12u + (OTA_CFG_HOST_MAX + 1u) + 2u + 3u * (OTA_CFG_CRED_MAX + 1u) + (OTA_CFG_TITLE_MAX + 1u) + \
     (OTA_CFG_VERSION_MAX + 1u) + 4u)

/**
 * @brief Fill defaults: empty strings, port 1883, no upgrade pending, and
 *        @p fw_title / @p fw_version (the running firmware's own) as title and version.
 * @param s          Settings; not NULL.
 * @param fw_title   Running firmware's title (NULL or too long: empty).
 * @param fw_version Running firmware's version (NULL or too long: empty).
 */
void ota_settings_defaults(ota_settings_t *s, const char *fw_title, const char *fw_version);

/**
 * @brief Load the newest valid copy.
 * @param store Store port (needs 2 * ::OTA_SETTINGS_RECORD_SIZE bytes).
 * @param[out] s Loaded settings; untouched unless OTA_OK.
 * @retval OTA_OK            Loaded (a layout-1 record is converted: upgrade_pending false).
 * @retval OTA_ERR_PARAM     NULL pointer, missing function or store too small.
 * @retval OTA_ERR_PORT      A store read failed.
 * @retval OTA_ERR_NOT_FOUND Blank store: both copies are all 0x00 or all 0xFF
 *                           (nothing was ever saved). Use the defaults.
 * @retval OTA_ERR_CHECKSUM  The store holds data but no valid copy: corrupted,
 *                           a first save cut by a power loss, or a newer layout.
 *                           Use the defaults, and say so.
 */
ota_status_t ota_settings_load(const ota_store_t *store, ota_settings_t *s);

/**
 * @brief Save settings into the older copy (old settings survive a cut),
 *        always in the current layout (2).
 * @param store Store port.
 * @param s     Settings; strings must be NUL-terminated within their arrays.
 * @retval OTA_OK        Saved and read back.
 * @retval OTA_ERR_PARAM NULL pointer, unterminated string, port 0, or store too small.
 * @retval OTA_ERR_PORT  A store read or write failed, or the read-back differed.
 */
ota_status_t ota_settings_save(const ota_store_t *store, const ota_settings_t *s);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_OTA_SETTINGS_H */
