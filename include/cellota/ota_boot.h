/**
 * @file ota_boot.h
 * @brief The boot core: installs a staged image into the internal flash,
 *        boots it as a trial and restores the previous firmware when the
 *        new one never confirms. Platform-neutral; the jump is the port's job.
 *
 * Two programs use this header. The **bootloader** calls ota_boot_run() once
 * at every reset and then starts the application (or not) as the returned
 * decision says. The **application** calls ota_boot_result() to learn what
 * happened, ota_boot_confirm() once the new firmware has reached its server,
 * and ota_boot_mark_reported() once it has told the server. Both programs
 * see the same records in the external flash; that layout (below) is the
 * contract between them and does not depend on the compiler.
 *
 * ## Where things live
 *
 * - Metadata sector 0 (`meta_addr`, the client's ota_config_t::meta_addr):
 *   the 92-byte boot request written by the client (ota_bootreq.h) at
 *   offset 0, then the boot journal from offset ::OTA_BOOT_JOURNAL_OFFSET to
 *   the end of the sector. Metadata sector 1 belongs to the client.
 * - The staging slot: where the request's image_addr / image_size point.
 * - The backup slot (`backup_addr`, `backup_size`): the part of the running
 *   application that the update overwrites, copied there before the
 *   internal flash changes.
 * - The application area of the internal flash (ota_boot_iflash_t).
 *
 * ## The journal
 *
 * Records of ::OTA_BOOT_REC_SIZE bytes are appended one after the other into
 * erased flash; nothing is ever rewritten or erased by the boot core (the
 * client erases the whole sector when it starts the next download). Each
 * record, little-endian:
 *
 * | offset | size | field                                                   |
 * |-------:|-----:|---------------------------------------------------------|
 * |      0 |    1 | type (OTA_BOOT_REC_...)                                 |
 * |      1 |    1 | aux: a reason (::ota_boot_reason_t) or the trial limit  |
 * |      2 |    2 | index: block number, or trial boot number               |
 * |      4 |    4 | value: a CRC-32 where the type has one, else 0          |
 * |      8 |    4 | magic 0x524A4243 ("CBJR")                               |
 * |     12 |    4 | CRC-32 of bytes 0..11, continued from the CRC-32 stored |
 * |        |      | in the boot request (its bytes 88..91)                  |
 *
 * The CRC binds every record to the request it belongs to. The journal is
 * read from its start up to the first slot that is entirely 0xFF; a slot
 * that is neither erased nor valid (a write torn by a power cut) is skipped,
 * and the next record goes after it. Progress records are only accepted in
 * order (block k after block k-1), so a lost record can only make the boot
 * core redo work, never skip it.
 *
 * ## The algorithm (one call of ota_boot_run())
 *
 * The application area is handled in **blocks**: the larger of the NOR
 * sector and the internal page, doubled until the worst-case number of
 * records fits the journal (4 KB on the reference board: 46 blocks for
 * 184 KB). Only the blocks the new image covers are backed up and written.
 *
 * 1. No valid request (erased, torn, foreign): start the application; no
 *    flash is written.
 * 2. Check the request (image inside the NOR and outside the metadata and
 *    backup areas, not empty, not larger than the application area) and the
 *    CRC-32 of the staged image. A bad one is recorded as REJECTED and never
 *    copied: the running application was not touched.
 * 3. Back up: per block, erase the backup sectors, copy the internal flash
 *    there, read it back and compare, then append BACKUP(k). When all are
 *    done, append BACKUP_CRC with the CRC-32 of the whole backup.
 * 4. Copy: per block, for each internal page that does not already hold its
 *    target bytes, erase it and program it (write units that are entirely
 *    the erased value are skipped), then append COPY(k). After a power cut
 *    the block without a record is redone; pages already right are skipped.
 * 5. Verify the CRC-32 of the first image_size bytes of the application
 *    area against the request. Good: append INSTALLED. Bad: append
 *    ROLLBACK(COPY_VERIFY) and restore (step 7). A copy that does not verify
 *    is never started.
 * 6. Trial: if the new image is installed and not confirmed, count the BOOT
 *    records. Fewer than the limit: append BOOT(n+1) and start it. Otherwise
 *    append ROLLBACK(NOT_CONFIRMED) and restore.
 * 7. Restore: per block, the same page copy from the backup slot, then
 *    RESTORE(k); verify the CRC-32 of the restored blocks against
 *    BACKUP_CRC; append ROLLED_BACK(reason) and start the old application.
 *
 * A power cut at any instant leaves a journal from which the next call
 * continues; the application area is only ever started when it holds the
 * old image intact or the new image verified.
 *
 * ## Resources
 *
 * No allocation, no recursion, no library calls beyond memset/memcpy/memcmp.
 * RAM: the caller's work buffer (one internal page on the STM32L0: 128
 * bytes) and a bounded stack frame (a few hundred bytes, the largest being
 * the decoded request). All calls are blocking and run to completion; none
 * may be called from an interrupt.
 */
#ifndef CELLOTA_OTA_BOOT_H
#define CELLOTA_OTA_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_bootreq.h"
#include "cellota/ota_port.h"
#include "cellota/ota_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Trial boots allowed before an unconfirmed image is rolled back (when ota_boot_config_t::max_boots is 0). */
#define OTA_BOOT_DEFAULT_MAX_BOOTS 3u
/** @brief Offset of the first journal record in metadata sector 0 (after the 92-byte boot request). */
#define OTA_BOOT_JOURNAL_OFFSET 128u
/** @brief Size of one journal record in bytes. */
#define OTA_BOOT_REC_SIZE 16u
/** @brief Magic in bytes 8..11 of every journal record ("CBJR" little-endian). */
#define OTA_BOOT_REC_MAGIC 0x524A4243u

/** @brief Record type: block `index` of the running application is in the backup slot. */
#define OTA_BOOT_REC_BACKUP 0x01u
/** @brief Record type: the backup is complete; `index` blocks, `value` = CRC-32 of the backup. */
#define OTA_BOOT_REC_BACKUP_CRC 0x02u
/** @brief Record type: block `index` of the new image is in the internal flash. */
#define OTA_BOOT_REC_COPY 0x03u
/** @brief Record type: the copy verified; `value` = its CRC-32. The request is done. */
#define OTA_BOOT_REC_INSTALLED 0x04u
/** @brief Record type: trial boot number `index` (1-based) started; `aux` = the trial limit. */
#define OTA_BOOT_REC_BOOT 0x05u
/** @brief Record type: the new firmware confirmed itself (written by the application). */
#define OTA_BOOT_REC_CONFIRMED 0x06u
/** @brief Record type: the restore of the backup begins; `aux` = the reason. */
#define OTA_BOOT_REC_ROLLBACK 0x07u
/** @brief Record type: block `index` of the backup is back in the internal flash. */
#define OTA_BOOT_REC_RESTORE 0x08u
/** @brief Record type: the restore verified; `aux` = the reason of the rollback. */
#define OTA_BOOT_REC_ROLLED_BACK 0x09u
/** @brief Record type: the request was refused before anything changed; `aux` = the reason. */
#define OTA_BOOT_REC_REJECTED 0x0Au
/** @brief Record type: the application reported the outcome to its server. */
#define OTA_BOOT_REC_REPORTED 0x0Bu

/**
 * @brief The internal flash that holds the application, as the boot core
 *        needs it. All functions required.
 *
 * Addresses are absolute (as the CPU sees them). The boot core erases only
 * whole pages inside [base, base + size) and programs only @ref write_unit
 * bytes at a time, at addresses aligned to @ref write_unit, into a location it
 * erased before. On the STM32L0: 128-byte pages, @ref write_unit 64 (half-page
 * programming, which the port runs from RAM) or 4 (word programming), and
 * @ref erased_value 0x00.
 */
typedef struct {
    void *ctx;            /**< Port context, passed back to every function. */
    uint32_t base;        /**< First address of the application area; a multiple of @ref page_size. */
    uint32_t size;        /**< Bytes of the application area; a non-zero multiple of @ref page_size. */
    uint32_t page_size;   /**< Erase unit in bytes, a power of two (STM32L0: 128). */
    uint32_t write_unit;  /**< Program unit in bytes, a power of two, at most the page (STM32L0: 64 or 4). */
    uint8_t erased_value; /**< What an erased byte reads (STM32L0: 0x00; most other parts: 0xFF). */
    /** @brief Read @p len bytes at @p addr. @return 0 or a negative raw error. */
    int (*read)(void *ctx, uint32_t addr, void *buf, size_t len);
    /**
     * @brief Program @ref write_unit bytes at @p addr (aligned, erased before).
     * @return 0 when programmed, or a negative raw error.
     */
    int (*program)(void *ctx, uint32_t addr, const void *buf, size_t len);
    /** @brief Erase the page that starts at @p addr. @return 0 or a negative raw error. */
    int (*erase_page)(void *ctx, uint32_t addr);
} ota_boot_iflash_t;

/** @brief Everything ota_boot_run() needs. Read only; must stay valid during the call. */
typedef struct {
    ota_flash_t flash;       /**< External NOR; read, write and erase required (probe not used); sector_size a power of two, at least 256. */
    uint32_t meta_addr;      /**< Metadata area (two sectors, as the client's); sector-aligned. */
    uint32_t backup_addr;    /**< Backup slot; sector-aligned, outside the metadata area. */
    uint32_t backup_size;    /**< Backup slot bytes; at least the application area rounded up to whole blocks. */
    ota_boot_iflash_t iflash; /**< The internal application area. */
    uint8_t max_boots;       /**< Trial boots before a rollback; 0 means ::OTA_BOOT_DEFAULT_MAX_BOOTS. */
    uint8_t *buf;            /**< Work buffer; on the STM32L0 one page (128 bytes) is right. */
    size_t buf_size;         /**< Bytes of @ref buf; at least ota_boot_iflash_t::write_unit. */
} ota_boot_config_t;

/** @brief Where the last update stands, as read from the journal. */
typedef enum {
    OTA_BOOT_ST_NONE = 0,        /**< No valid boot request: nothing pending, nothing to report. */
    OTA_BOOT_ST_PENDING = 1,     /**< A request waits, or its install or restore is not finished. */
    OTA_BOOT_ST_TRIAL = 2,       /**< The new image runs on trial; see ota_boot_info_t::boots_left. */
    OTA_BOOT_ST_UPDATED = 3,     /**< The new image is installed and confirmed. */
    OTA_BOOT_ST_ROLLED_BACK = 4, /**< The previous image was restored; see ota_boot_info_t::reason. */
    OTA_BOOT_ST_REJECTED = 5     /**< The staged image was refused; nothing was changed. */
} ota_boot_state_t;

/** @brief Why an update was rolled back or rejected. */
typedef enum {
    OTA_BOOT_REASON_NONE = 0,          /**< No failure. */
    OTA_BOOT_REASON_NOT_CONFIRMED = 1, /**< The new firmware did not confirm within its trial boots. */
    OTA_BOOT_REASON_COPY_VERIFY = 2,   /**< The copy in the internal flash failed its CRC-32 check. */
    OTA_BOOT_REASON_STAGED_CRC = 3,    /**< The staged image failed its CRC-32 check. */
    OTA_BOOT_REASON_TOO_LARGE = 4,     /**< The image is larger than the application area. */
    OTA_BOOT_REASON_BAD_REQUEST = 5    /**< The request points outside the staging area (or is empty). */
} ota_boot_reason_t;

/** @brief What happened to the last update (ota_boot_result(), ota_boot_run()). */
typedef struct {
    ota_boot_state_t state;    /**< Where it stands. */
    ota_boot_reason_t reason;  /**< For ROLLED_BACK and REJECTED (and a restore in progress). */
    uint8_t boots;             /**< Trial boots started so far. */
    uint8_t boots_left;        /**< TRIAL: boots still allowed after this one before the rollback. */
    bool reported;             /**< ota_boot_mark_reported() was called for this outcome. */
    char title[OTA_BOOTREQ_STR_MAX + 1];   /**< Title of the requested image ("" for NONE). */
    char version[OTA_BOOTREQ_STR_MAX + 1]; /**< Version of the requested image ("" for NONE). */
} ota_boot_info_t;

/** @brief What the bootloader must do after ota_boot_run(). */
typedef enum {
    /** Start the application: it is intact (the old image, the new one verified, or the old one restored). */
    OTA_BOOT_START = 0,
    /**
     * The external flash could not be read (or the configuration is wrong):
     * the journal is unknown and the application area is as the last run left
     * it. Recommended: reset and retry a few times, then start the
     * application anyway, since without the external flash nothing better can
     * be done.
     */
    OTA_BOOT_START_UNCHECKED = 1,
    /**
     * A failure interrupted a step that changes the application area, which
     * may now be incomplete: do not start it. Reset (the next run resumes
     * from the journal) or wait for a watchdog reset.
     */
    OTA_BOOT_RETRY = 2
} ota_boot_action_t;

/** @brief The result of ota_boot_run(). */
typedef struct {
    ota_boot_action_t action; /**< What to do now. */
    int port_error;           /**< Raw return of the port call that failed; 0 if none failed. */
    ota_boot_info_t info;     /**< Where the update stands after this run. */
} ota_boot_decision_t;

/**
 * @brief The bootloader's step: resume or start whatever the journal says is
 *        due (install, trial accounting, restore) and decide what to start.
 *
 * Blocking; call once per reset, before the application starts. Idempotent:
 * calling it again after it returned, or after a power cut at any point of
 * it, continues from the journal.
 *
 * @param cfg      Configuration (checked on every call).
 * @param[out] dec Decision; always filled when not NULL.
 * @retval OTA_OK           Done; @p dec says ::OTA_BOOT_START.
 * @retval OTA_ERR_PARAM    NULL pointer or an invalid configuration (a
 *                          missing function, bad geometry or alignment, a
 *                          backup slot too small, overlapping areas, a buffer
 *                          smaller than a write unit, a journal too small for
 *                          the application area); action START_UNCHECKED.
 * @retval OTA_ERR_PORT     A port call failed (raw code in
 *                          ota_boot_decision_t::port_error). Action START when
 *                          the application area was not being changed (for
 *                          example the backup failed), START_UNCHECKED when
 *                          the request or journal could not be read, RETRY
 *                          otherwise.
 * @retval OTA_ERR_CHECKSUM The backup read back different from the internal
 *                          flash (action START, nothing changed yet), or the
 *                          restored image failed its check (action RETRY).
 * @retval OTA_ERR_NOSPACE  The journal is full (only after an abnormal number
 *                          of torn records); action START or RETRY as above.
 */
ota_status_t ota_boot_run(const ota_boot_config_t *cfg, ota_boot_decision_t *dec);

/**
 * @brief Read what happened to the last update (application side).
 *
 * Reads only; nothing is written. Use it at start-up to report the outcome:
 * TRIAL or UPDATED → "OTA Update OK, Firmware Title: <title> Ver: <version>"
 * (once confirmed); ROLLED_BACK or REJECTED → ota_boot_reason_str(reason).
 *
 * @param flash     External NOR (read required).
 * @param meta_addr Metadata area, as in ota_boot_config_t::meta_addr.
 * @param[out] info Filled on success.
 * @retval OTA_OK        Done (state NONE when there is no request).
 * @retval OTA_ERR_PARAM NULL pointer, missing read function, or a metadata
 *                       sector that is unaligned, too small or outside the flash.
 * @retval OTA_ERR_PORT  A flash read failed.
 */
ota_status_t ota_boot_result(const ota_flash_t *flash, uint32_t meta_addr, ota_boot_info_t *info);

/**
 * @brief Confirm the running image (application side): stops the trial
 *        countdown for good. Call it once the new firmware has reached its
 *        server. Writes one record, at most once per update.
 *
 * @param flash     External NOR (read and write required).
 * @param meta_addr Metadata area.
 * @retval OTA_OK        Confirmed now, or already confirmed.
 * @retval OTA_ERR_STATE Nothing on trial (no request, pending, rolled back or rejected).
 * @retval OTA_ERR_PARAM As ota_boot_result(), or a missing write function.
 * @retval OTA_ERR_PORT  A flash read or the write failed (the trial goes on;
 *                       call again later).
 * @retval OTA_ERR_NOSPACE The journal is full.
 */
ota_status_t ota_boot_confirm(const ota_flash_t *flash, uint32_t meta_addr);

/**
 * @brief Record that the outcome was reported to the server (application
 *        side), so that ota_boot_info_t::reported stops a second report after
 *        the next reset. Writes one record, at most once per update.
 *
 * @param flash     External NOR (read and write required).
 * @param meta_addr Metadata area.
 * @retval OTA_OK        Recorded now, or already recorded.
 * @retval OTA_ERR_STATE No final outcome yet (state is not UPDATED,
 *                       ROLLED_BACK or REJECTED).
 * @retval OTA_ERR_PARAM As ota_boot_confirm().
 * @retval OTA_ERR_PORT  A flash read or the write failed.
 * @retval OTA_ERR_NOSPACE The journal is full.
 */
ota_status_t ota_boot_mark_reported(const ota_flash_t *flash, uint32_t meta_addr);

/**
 * @brief English text of a reason, for status messages.
 * @param reason Any value.
 * @return A static string, for example "new firmware did not confirm within
 *         its trial boots; previous firmware restored"; "" for NONE and
 *         unknown values; never NULL.
 */
const char *ota_boot_reason_str(ota_boot_reason_t reason);

/**
 * @brief Short name of a state, for logs.
 * @param state Any value.
 * @return A static string ("none", "pending", "trial", "updated",
 *         "rolled back", "rejected"); "?" for unknown values; never NULL.
 */
const char *ota_boot_state_str(ota_boot_state_t state);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_OTA_BOOT_H */
