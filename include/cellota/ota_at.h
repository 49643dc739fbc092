/**
 * @file ota_at.h
 * @brief Dragino-compatible configuration and reporting: the `AT+OTA*`
 *        console commands, the JSON `Config` and `F9` downlinks, and the
 *        status messages of the data uplink (PROTOCOL.md section 3).
 *
 * The module edits the application's ::ota_settings_t (the same object the
 * client's ota_config_t::settings points at) and saves every accepted
 * change with ota_settings_save() (two copies, sequence number, CRC: a
 * power cut leaves the old or the new settings). It never allocates: the
 * caller owns the context, the settings and every buffer. Not thread-safe;
 * call it from the same task as the client, between two ota_client_poll().
 *
 * @par Console commands (UART, one line per call to ota_at_exec())
 * | command                    | effect                                          |
 * |----------------------------|-------------------------------------------------|
 * | `AT+OTASER=<host>,<port>`  | OTA server, e.g. `thingseye.io,1885`            |
 * | `AT+OTACLT=<client id>`    | MQTT client id                                  |
 * | `AT+OTAUNAME=<user>`       | MQTT user name (the device access token)        |
 * | `AT+OTAPWD=<password>`     | MQTT password; `NULL` = none                    |
 * | `AT+OTATITLE=<title>`      | firmware title (compared exactly with fw_title) |
 * | `AT+OTAVER=<version>`      | current firmware version                        |
 * | `AT+UPGRADE`               | request an update (ota_at_upgrade_pending())    |
 * | `AT`                       | answers `OK`                                    |
 *
 * Every command also has a query form, `AT+X?` (PROTOCOL.md) or `AT+X=?`
 * (what Dragino's own console uses); both answer the value. Command names
 * are matched without regard to case; values are kept as given. A change
 * that leaves the settings as they were writes nothing to the store.
 *
 * @par Replies
 * Every line of a reply ends with CR LF, as on Dragino's UART console.
 * - A query: the value on one line, then `OK`. Values print as Dragino
 *   prints them: `thingseye.io,1885` for AT+OTASER; the text for the other
 *   strings; `NULL` for a value that is not set (AT+OTASER: no host);
 *   AT+UPGRADE? answers `1` (requested, not ended) or `0`.
 *   **The password is never echoed**: AT+OTAPWD? answers `********` when
 *   one is set (whatever its length) and `NULL` when none is.
 * - An accepted set command, or `AT+UPGRADE`: `OK`.
 * - A refused line: one line with the specific reason, then Dragino's
 *   error word: `AT_ERROR` (not one of these commands, or no `=`/`?`),
 *   `AT_PARAM_ERROR` (a bad value), `AT_BUSY_ERROR` (an update is running)
 *   or `AT_ERROR` after "settings not saved" (the store failed). A refused
 *   command changes nothing, in RAM or in the store.
 *
 * Example session (`>` marks what was typed):
 * @code
 *   > AT+OTASER=thingseye.io,1885      OK
 *   > AT+OTASER?                       thingseye.io,1885
 *                                      OK
 *   > AT+OTAPWD=s3cret                 OK
 *   > AT+OTAPWD?                       ********
 *                                      OK
 *   > AT+OTASER=thingseye.io,70000     AT+OTASER: port 70000 is not in 1..65535
 *                                      AT_PARAM_ERROR
 * @endcode
 *
 * @par Values accepted
 * Blanks (space, tab) around the value and around the comma of AT+OTASER
 * are ignored; a value must not be empty and must fit its array in
 * ::ota_settings_t (::OTA_CFG_HOST_MAX, ::OTA_CFG_CRED_MAX,
 * ::OTA_CFG_TITLE_MAX, ::OTA_CFG_VERSION_MAX characters).
 * - host: letters, digits and `. - _ :` (a name, an IPv4 or an IPv6 address);
 * - port: decimal digits only, 1..65535;
 * - client id, user name, password, title, version: printable ASCII
 *   (0x21..0x7E) except double quote, semicolon and backslash. No blanks or
 *   control characters; the semicolon separates downlink commands, and a
 *   double quote or a backslash would break the modem's
 *   quoted AT strings and the JSON that carries them.
 * - AT+OTAPWD=NULL clears the password (Dragino's convention).
 * A refused password is never quoted in the reason, not even one character.
 *
 * @par Downlinks (ota_at_downlink())
 * - `{"Config":"[AT+...;AT+...;AT+UPGRADE]"}`: read with the bounded JSON
 *   reader; the brackets are required, empty items between `;` are skipped.
 *   Every command is checked before anything is applied, then all of them
 *   are applied together with one save, or none is. Only the set commands
 *   above, `AT` and `AT+UPGRADE` are allowed (a query or any other command
 *   refuses the whole downlink), and `AT+UPGRADE` only as the last one.
 * - The two bytes `F9 01`: request an update. Any other `F9 xx` (or a
 *   length other than 2) is refused.
 * - Anything else (another first byte, a JSON object without `Config`) is
 *   not for this module: ::OTA_ERR_NOT_FOUND, nothing done.
 * A refused downlink is answered by the application with code 3 on the
 * data uplink: ota_at_status_msg(buf, cap, imei, OTA_CODE_FORMAT, reason).
 *
 * @par The upgrade flag
 * AT+UPGRADE, `F9 01` and a Config ending in AT+UPGRADE set
 * ota_settings_t::upgrade_pending and save it, so a request made before a
 * reset still starts the update after it. The application starts the
 * client when the modem is idle and the flag is set, marks the module busy
 * while the client runs, and clears the flag when the update ends:
 * @code
 *   if (!running && ota_at_upgrade_pending(&at) && ota_client_start(&ota) == OTA_OK) {
 *       running = true;
 *       ota_at_set_busy(&at, true);       // settings must not change under the client
 *   }
 *   ...
 *   if (running && (info.state == OTA_STATE_IDLE || info.state == OTA_STATE_DONE)) {
 *       running = false;
 *       ota_at_set_busy(&at, false);
 *       (void)ota_at_upgrade_done(&at);   // clears and saves the flag
 *   }
 * @endcode
 *
 * @par Status messages
 * Codes 1-7 and 100 are sent by the client itself through its
 * ota_uplink_t. ota_at_status_msg() builds the same message for the
 * application (code 3 after a refused downlink), and ota_at_update_ok_msg()
 * builds `OTA Update OK, Firmware Title: <t> Ver: <v>`, which the
 * application sends after the reboot into the new firmware.
 */
#ifndef CELLOTA_OTA_AT_H
#define CELLOTA_OTA_AT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_config.h"
#include "cellota/ota_port.h"
#include "cellota/ota_settings.h"
#include "cellota/ota_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Longest unescaped `Config` text of a JSON downlink, without the
 *        NUL. The context holds a buffer of this size + 1. The default fits
 *        all seven commands with every value at its maximum length.
 */
#ifndef OTA_CFG_AT_CONFIG_MAX
#define OTA_CFG_AT_CONFIG_MAX 480u
#endif

/** @brief Smallest reply buffer ota_at_exec() accepts (any reply fits in it). */
#define OTA_AT_REPLY_MAX 160u

/** @brief Longest reason text the module writes, without the NUL. */
#define OTA_AT_REASON_MAX 112u

/**
 * @brief A buffer size for ota_at_status_msg() and ota_at_update_ok_msg()
 *        that holds any message whose strings need no JSON escaping and
 *        are within the configured maxima (a 15-digit IMEI, a reason of
 *        ::OTA_AT_REASON_MAX characters). ::OTA_ERR_NOSPACE tells otherwise.
 */
#define OTA_AT_MSG_MAX 256u

#if OTA_CFG_AT_CONFIG_MAX < 64u
#error "OTA_CFG_AT_CONFIG_MAX must be at least 64"
#endif

/**
 * @brief The module's context. Allocate it yourself (static); its fields
 *        are private. Size: about sizeof(ota_settings_t) + OTA_CFG_AT_CONFIG_MAX.
 */
typedef struct {
    /** @cond PRIVATE */
    ota_settings_t *settings;
    const ota_store_t *store;
    bool busy;
    ota_settings_t work;                    /* the staged change */
    char text[OTA_CFG_AT_CONFIG_MAX + 1u];  /* unescaped Config of a downlink */
    /** @endcond */
} ota_at_t;

/**
 * @brief Bind the module to the live settings and their store.
 *
 * The settings must already hold something valid: loaded with
 * ota_settings_load(), or ota_settings_defaults() when that failed (which
 * is how AT+OTAVER defaults to the running firmware's own version).
 *
 * @param at       Context to initialise.
 * @param settings Live settings; must outlive @p at. Only this module
 *                 should change them afterwards.
 * @param store    Settings store (2 * ::OTA_SETTINGS_RECORD_SIZE bytes,
 *                 read and write present); must outlive @p at.
 * @retval OTA_OK        Ready, not busy.
 * @retval OTA_ERR_PARAM NULL pointer, a missing store function, or a store too small.
 */
ota_status_t ota_at_init(ota_at_t *at, ota_settings_t *settings, const ota_store_t *store);

/**
 * @brief Mark whether an update is running. While busy, every command or
 *        downlink that would change the settings is refused
 *        (`AT_BUSY_ERROR`, ::OTA_ERR_STATE): the client reads them during
 *        the update. Queries still work.
 * @param at   Context; NULL is ignored.
 * @param busy true while the client runs an update.
 */
void ota_at_set_busy(ota_at_t *at, bool busy);

/**
 * @brief Execute one console line and write the console's answer.
 *
 * @param at    Context.
 * @param line  The line as received; need not be NUL-terminated; a
 *              trailing CR/LF and surrounding blanks are ignored.
 * @param len   Bytes in @p line.
 * @param reply Buffer for the answer (NUL-terminated, lines end in CR LF,
 *              see the file description). A blank line answers "".
 * @param cap   Size of @p reply; at least ::OTA_AT_REPLY_MAX.
 * @retval OTA_OK            Done (a query, an accepted change, AT+UPGRADE,
 *                           `AT`, or a blank line).
 * @retval OTA_ERR_PARAM     NULL pointer, @p cap too small, or @p at not
 *                           initialised; @p reply untouched.
 * @retval OTA_ERR_NOT_FOUND Not one of these commands (reply: reason +
 *                           `AT_ERROR`); an application with commands of
 *                           its own tries them instead.
 * @retval OTA_ERR_FORMAT    No `=`/`?`, or a malformed value (empty, a
 *                           character not allowed, a port that is not a number).
 * @retval OTA_ERR_RANGE     A value too long for its field, or a port outside 1..65535.
 * @retval OTA_ERR_STATE     A change while busy (`AT_BUSY_ERROR`).
 * @retval OTA_ERR_PORT      The store failed: nothing changed.
 */
ota_status_t ota_at_exec(ota_at_t *at, const char *line, size_t len, char *reply, size_t cap);

/**
 * @brief Handle a downlink from the data connection.
 *
 * @param at     Context.
 * @param data   Payload bytes (may be NULL when @p len is 0).
 * @param len    Number of bytes.
 * @param reason Buffer for the reason of a refusal (NUL-terminated, cut to
 *               fit; "" otherwise); may be NULL when @p cap is 0.
 * @param cap    Size of @p reason.
 * @retval OTA_OK            Applied (Config, saved once) or the upgrade
 *                           flag set (F9 01, or Config with AT+UPGRADE).
 * @retval OTA_ERR_NOT_FOUND Not for this module (empty, another first byte,
 *                           a JSON object without "Config"): nothing done.
 * @retval OTA_ERR_FORMAT    A malformed downlink: not JSON, Config not a
 *                           `[...]` string or too long, a bad command or
 *                           value, AT+UPGRADE not last, a query, another F9 value.
 * @retval OTA_ERR_RANGE     A value too long or a port out of range.
 * @retval OTA_ERR_STATE     Busy: an update is running.
 * @retval OTA_ERR_PORT      The store failed.
 * @retval OTA_ERR_PARAM     NULL @p at (or @p data with @p len > 0, or
 *                           @p reason with @p cap > 0), or not initialised.
 * On every refusal nothing changed; the application reports code 3 with @p reason.
 */
ota_status_t ota_at_downlink(ota_at_t *at, const uint8_t *data, size_t len, char *reason,
                             size_t cap);

/**
 * @brief Whether an update was requested and has not ended yet.
 * @param at Context.
 * @return ota_settings_t::upgrade_pending of the live settings (false for NULL).
 */
bool ota_at_upgrade_pending(const ota_at_t *at);

/**
 * @brief The requested update has ended (whatever its result): clear the
 *        flag and save the settings. Does nothing if it is not set.
 * @param at Context.
 * @retval OTA_OK        Cleared and saved (or was not set).
 * @retval OTA_ERR_PARAM NULL pointer or not initialised.
 * @retval OTA_ERR_PORT  The store failed: the flag stays set (the update
 *                       would run again after a reset).
 */
ota_status_t ota_at_upgrade_done(ota_at_t *at);

/**
 * @brief Build a status message `{"IMEI":"<imei>","Message":"OTA code <n>:
 *        <text>[: <detail>]"}`, the same the client sends for codes 1-7 and 100.
 * @param buf     Output; NUL-terminated; "" unless OTA_OK.
 * @param cap     Size of @p buf (::OTA_AT_MSG_MAX is enough for ordinary input).
 * @param imei    Device IMEI (escaped as needed).
 * @param code    Result code; its standard text comes from ota_code_str().
 * @param detail  Detail appended after ": " (NULL or "" for none; cut if very long).
 * @param[out] len Length of the message without the NUL; may be NULL.
 * @retval OTA_OK          Built.
 * @retval OTA_ERR_PARAM   NULL @p buf or @p imei, or @p cap 0.
 * @retval OTA_ERR_NOSPACE Does not fit @p cap.
 */
ota_status_t ota_at_status_msg(char *buf, size_t cap, const char *imei, ota_code_t code,
                               const char *detail, size_t *len);

/**
 * @brief Build the message sent after the reboot into new firmware:
 *        `{"IMEI":"<imei>","Message":"OTA Update OK, Firmware Title: <t> Ver: <v>"}`.
 *
 * JSON-escaped whatever the strings contain: double quote and backslash
 * are escaped, control bytes become a \\u00XX escape, valid UTF-8 is kept,
 * and a byte that is not part of a valid UTF-8 sequence becomes U+FFFD
 * (written as the escape \\ufffd), so the
 * result is always valid JSON.
 *
 * @param buf     Output; NUL-terminated; "" unless OTA_OK.
 * @param cap     Size of @p buf.
 * @param imei    Device IMEI.
 * @param title   Firmware title now running (NULL: "").
 * @param version Firmware version now running (NULL: "").
 * @param[out] len Length without the NUL; may be NULL.
 * @retval OTA_OK          Built.
 * @retval OTA_ERR_PARAM   NULL @p buf or @p imei, or @p cap 0.
 * @retval OTA_ERR_NOSPACE Does not fit @p cap.
 */
ota_status_t ota_at_update_ok_msg(char *buf, size_t cap, const char *imei, const char *title,
                                  const char *version, size_t *len);

/**
 * @brief Build the message sent after the bootloader rolled an update back
 *        (or refused it):
 *        `{"IMEI":"<imei>","Message":"OTA Update failed, rolled back, Firmware Title: <t> Ver: <v>: <reason>"}`,
 *        where title and version name the update that did not stay.
 *
 * Escaped like ota_at_update_ok_msg().
 *
 * @param buf     Output; NUL-terminated; "" unless OTA_OK.
 * @param cap     Size of @p buf.
 * @param imei    Device IMEI.
 * @param title   Title of the update that was rolled back (NULL: "").
 * @param version Its version (NULL: "").
 * @param reason  Why (NULL: ""), e.g. ota_boot_reason_str().
 * @param[out] len Length without the NUL; may be NULL.
 * @retval OTA_OK          Built.
 * @retval OTA_ERR_PARAM   NULL @p buf or @p imei, or @p cap 0.
 * @retval OTA_ERR_NOSPACE Does not fit @p cap.
 */
ota_status_t ota_at_rollback_msg(char *buf, size_t cap, const char *imei, const char *title,
                                 const char *version, const char *reason, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_OTA_AT_H */
