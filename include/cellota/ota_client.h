/**
 * @file ota_client.h
 * @brief The OTA client: a non-blocking state machine that updates the
 *        device from a ThingsBoard-compatible server.
 *
 * Usage:
 * @code
 *   static ota_client_t ota;              // caller-owned, no malloc
 *   ota_config_t cfg;                     // must outlive the client
 *   ota_config_defaults(&cfg);
 *   cfg.transport = my_transport; ...     // ports, settings, slot layout
 *   ota_client_init(&ota, &cfg);
 *   ota_client_start(&ota);               // AT+UPGRADE, F9 01, or the API
 *   for (;;) {
 *       ota_client_poll(&ota, now_ms());
 *       uint32_t at;
 *       if (ota_client_next_deadline(&ota, &at)) sleep_until(at);  // or a UART/radio event
 *       else sleep_until_event();
 *   }
 * @endcode
 *
 * The update (DESIGN.md, "The update, end to end", steps 2-8 and 10):
 * probe flash (absent: code 2) → connect (no link in time: 4) → publish the
 * current title/version and request the shared attributes → decide (no
 * title: 5, other title: 1, same version: 6, size or algorithm refused) →
 * erase only the sectors the image needs, progressively → request chunks on
 * `v2/fw/request/<rid>/chunk/<k>` with up to `window` outstanding; each
 * answer is checked, written and read back → verify the whole image in
 * flash against `fw_checksum` (CRC32 or SHA256) → read the offer again and
 * stage only if it is unchanged → write the boot request → report code 100.
 * An interrupted download resumes from the download journal (metadata
 * sector 1) after a reset or a lost link. A failed attempt is retried with back-off, up to
 * `attempt_retries` more times, when the failure can be transient (code 4;
 * code 7 from a chunk or the whole image, not from the offer's checksum
 * fields; flash errors); then the client goes idle with the old firmware
 * untouched.
 */
#ifndef CELLOTA_OTA_CLIENT_H
#define CELLOTA_OTA_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "cellota/ota_config.h"
#include "cellota/ota_package.h"
#include "cellota/ota_port.h"
#include "cellota/ota_settings.h"
#include "cellota/ota_sha256.h"
#include "cellota/ota_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Checksum algorithm of the whole package. */
typedef enum {
    OTA_ALGO_NONE = 0,  /**< Not given or not supported. */
    OTA_ALGO_CRC32 = 1, /**< zlib CRC-32, ThingsBoard's little-endian hex. */
    OTA_ALGO_SHA256 = 2 /**< SHA-256, lower- or upper-case hex. */
} ota_algo_t;

/** @brief Where the client is. */
typedef enum {
    OTA_STATE_IDLE = 0,     /**< Nothing to do; see ota_client_info() for the last result. */
    OTA_STATE_CONNECTING,   /**< Probing flash and opening MQTT. */
    OTA_STATE_NEGOTIATING,  /**< Announcing the version and waiting for the shared attributes. */
    OTA_STATE_DOWNLOADING,  /**< Erasing, requesting, checking and writing chunks. */
    OTA_STATE_VERIFYING,    /**< Checking the whole image in flash. */
    OTA_STATE_STAGING,      /**< Writing the boot request and reporting. */
    OTA_STATE_BACKOFF,      /**< Waiting before the next attempt. */
    OTA_STATE_DONE          /**< Image staged, code 100 reported; waiting for the reboot. */
} ota_state_t;

/** @brief Client configuration. Must stay valid and unchanged while the client lives. */
typedef struct {
    ota_transport_t transport; /**< MQTT to the OTA server. Required. */
    ota_flash_t flash;         /**< External NOR flash. Required. */
    ota_clock_t clock;         /**< Millisecond clock. Required. */
    ota_uplink_t uplink;       /**< Status messages; send may be NULL. */
    ota_reboot_t reboot;       /**< Reboot; may be NULL (the application reboots). */
    ota_log_t log;             /**< Log; write may be NULL. */
    const ota_settings_t *settings; /**< Server, credentials, title, version. Required. */
    const char *imei;          /**< Device identity in status messages. Required (may be ""). */

    uint32_t meta_addr;  /**< Metadata area: two sectors, boot request in the first. Sector-aligned. */
    uint32_t slot_addr;  /**< Staging slot start. Sector-aligned. */
    uint32_t slot_size;  /**< Staging slot size in bytes. Must not overlap the metadata area. */

    ota_pkg_format_t format;   /**< Package layout on the server (default Dragino). */
    uint32_t raw_chunk_size;   /**< Chunk size for raw packages, 1..OTA_CFG_CHUNK_BUF_SIZE (default 1024). */
    uint8_t window;            /**< Outstanding chunk requests, 1..OTA_CFG_MAX_WINDOW (default 1). */
    uint8_t chunk_retries;     /**< Re-requests of one chunk before the attempt fails (default 3). */
    uint8_t attempt_retries;   /**< Extra attempts after a transient failure (default 3). */
    uint16_t keepalive_s;      /**< MQTT keep-alive (default 120). */
    uint32_t connect_timeout_ms; /**< Time allowed to reach OTA_LINK_UP (default 60 000). */
    uint32_t answer_timeout_ms;  /**< Time allowed for an attribute or chunk answer (default 20 000). */
    uint32_t backoff_ms;         /**< Wait before the first retry; doubles each time (default 10 000). */
    uint32_t reboot_delay_ms;    /**< After code 100, reboot after this delay; 0 = never (default 0). */
    /**
     * A version this device must not install again, typically one the boot
     * core rolled back (ota_boot_result()); NULL or "" for none. An offer of
     * exactly this version ends with code 2 and a reason that says why.
     */
    const char *refused_version;
} ota_config_t;

/** @brief What the application can read about the client (ota_client_info()). */
typedef struct {
    ota_state_t state;      /**< Current state. */
    uint8_t attempt;        /**< 1-based number of the current or last attempt (0 before any). */
    uint32_t done;          /**< Image bytes written and checked (or verified, in VERIFYING). */
    uint32_t resumed;       /**< Of those, bytes found already in the slot and checked when this download resumed (0: fresh). */
    uint32_t total;         /**< Image bytes in all (0 before the offer is known). */
    ota_code_t code;        /**< Result of the last finished update (OTA_CODE_NONE before). */
    const char *reason;     /**< Detailed text of that result; "" when none. Valid until the next poll. */
    const char *fw_title;   /**< Offered title ("" before the offer). */
    const char *fw_version; /**< Offered version ("" before the offer). */
} ota_client_info_t;

/** @cond PRIVATE */
typedef struct {
    uint32_t k;        /* chunk index */
    uint32_t rid;      /* request id it was asked under */
    uint32_t sent_at;  /* when it was (re)sent */
    uint8_t tries;     /* times sent */
    uint8_t bad;       /* answers that failed their check */
    uint8_t state;     /* 0 free, 1 to send, 2 outstanding */
} ota_req_slot_t;
/** @endcond */

/**
 * @brief The client context. Allocate it yourself (static or on a task's
 *        stack); its fields are private and may change between versions.
 */
typedef struct {
    /** @cond PRIVATE */
    const ota_config_t *cfg;
    ota_state_t state;
    uint8_t phase;
    uint8_t attempt;
    uint8_t flags;
    uint8_t attr_tries;
    uint8_t boot_report;
    const char *boot_error;
    ota_code_t code;
    ota_code_t pend_code;
    uint32_t now;
    uint32_t deadline;
    uint32_t rid;
    uint32_t attr_id;
    ota_pkg_geom_t geom;
    uint32_t next_k;
    uint32_t done_bytes;
    uint32_t resumed;
    uint32_t erased_to;
    uint32_t jnl_emap; /* download journal: erase map address */
    uint32_t jnl_cmap; /* ... and chunk map address */
    uint32_t verify_pos;
    uint32_t image_crc;
    uint32_t pkg_crc;
    struct {
        char title[OTA_CFG_TITLE_MAX + 1];
        char version[OTA_CFG_VERSION_MAX + 1];
        uint32_t size;
        ota_algo_t algo;
        uint8_t checksum[32];
    } offer; /* as the server offers it; laid out as ota_tb_offer_t (src/ota_tb.h) */
    union {
        ota_req_slot_t req[OTA_CFG_MAX_WINDOW]; /* while DOWNLOADING */
#if OTA_CFG_SHA256
        ota_sha256_t sha; /* while VERIFYING */
#endif
    } u;
    char reason[OTA_CFG_REASON_MAX + 1];
    uint8_t buf[OTA_CFG_CHUNK_BUF_SIZE];
    /** @endcond */
} ota_client_t;

/**
 * @brief Fill @p cfg with zeroed ports and the documented defaults.
 * @param cfg Configuration; not NULL.
 */
void ota_config_defaults(ota_config_t *cfg);

/**
 * @brief Check the configuration and make the client idle.
 * @param c   Client; not NULL.
 * @param cfg Configuration that outlives the client.
 * @retval OTA_OK        Ready.
 * @retval OTA_ERR_PARAM NULL pointer, a required port function missing,
 *                       window/chunk size/retries out of range, or a slot or
 *                       metadata area that is unaligned or overlapping.
 */
ota_status_t ota_client_init(ota_client_t *c, const ota_config_t *cfg);

/**
 * @brief Start an update (AT+UPGRADE, F9 01 or the API).
 * @param c Client.
 * @retval OTA_OK        Started; the work happens in ota_client_poll().
 * @retval OTA_ERR_PARAM NULL pointer.
 * @retval OTA_ERR_STATE An update is already running.
 */
ota_status_t ota_client_start(ota_client_t *c);

/**
 * @brief Stop a running update now: disconnect, keep the old firmware.
 *        The result becomes code 4 with reason "aborted by the application";
 *        no status message is sent.
 * @param c Client.
 * @retval OTA_OK        Stopped (or was idle).
 * @retval OTA_ERR_PARAM NULL pointer.
 */
ota_status_t ota_client_abort(ota_client_t *c);

/**
 * @brief Do all pending work. Never blocks on the network; a call costs at
 *        most one sector erase or ::OTA_CFG_VERIFY_STEP bytes of flash reads,
 *        plus the transport's poll.
 * @param c      Client.
 * @param now_ms The clock's current value.
 * @retval OTA_OK        Fine (failures of the update itself are results, see ota_client_info()).
 * @retval OTA_ERR_PARAM NULL pointer.
 */
ota_status_t ota_client_poll(ota_client_t *c, uint32_t now_ms);

/**
 * @brief When ota_client_poll() must next be called, at the latest.
 * @param c       Client.
 * @param[out] at Deadline (clock value); it may already have passed.
 * @return true if there is a deadline; false when idle, or done with no
 *         reboot scheduled (only an outside event — a command, a downlink —
 *         will need the client). Done with ota_config_t::reboot_delay_ms set:
 *         true, with the time of the reboot.
 *         While a transfer runs the transport may also need polling when
 *         data arrives (a UART or socket event).
 */
bool ota_client_next_deadline(const ota_client_t *c, uint32_t *at);

/**
 * @brief Read the state, progress and last result.
 * @param c         Client.
 * @param[out] info Filled.
 * @retval OTA_OK        Done.
 * @retval OTA_ERR_PARAM NULL pointer.
 */
ota_status_t ota_client_info(const ota_client_t *c, ota_client_info_t *info);

/**
 * @brief Have the next connection report how the last update ended, as
 *        ThingsBoard expects after a reboot: `fw_state` UPDATED, or FAILED
 *        with `fw_error`, published with the current title and version.
 *
 * Call it at start-up, after ota_client_init() and after reading the boot
 * core's result. The report goes out once, on the next connection.
 * @param c     Client.
 * @param error NULL: the new firmware runs (UPDATED). Otherwise the reason of
 *              the failure (for example why the bootloader rolled back); it
 *              must stay valid until the report has gone out.
 * @retval OTA_OK        Will be reported.
 * @retval OTA_ERR_PARAM NULL client.
 */
ota_status_t ota_client_report_boot(ota_client_t *c, const char *error);

/**
 * @brief Name of a state, for logs and displays.
 * @param st State.
 * @return Static string; "?" for an unknown value.
 */
const char *ota_state_str(ota_state_t st);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_OTA_CLIENT_H */
