/**
 * @file cellota_posix.h
 * @brief The POSIX port: every cellota port interface implemented on a PC,
 *        so the unchanged core runs as a simulated device.
 *
 * | piece                     | fills           | backed by                               |
 * |---------------------------|-----------------|-----------------------------------------|
 * | cellota_flash_file_t      | ::ota_flash_t   | a file, with NOR rules and power cuts   |
 * | cellota_posix_clock()     | ::ota_clock_t   | CLOCK_MONOTONIC                         |
 * | cellota_store_file_t      | ::ota_store_t   | a small file (blank = 0xFF)             |
 * | cellota_log_stderr_t      | ::ota_log_t     | stderr, with a level filter and prefix  |
 * | cellota_mqtt_t            | ::ota_transport_t | libmosquitto, single-threaded         |
 * | cellota_uplink_mqtt_t     | ::ota_uplink_t  | a second libmosquitto connection        |
 * | cellota_reboot_flag_t     | ::ota_reboot_t  | a flag ("reboot requested")             |
 *
 * Every object is owned by the caller (static or on the stack); the port
 * functions receive it as their `ctx`. Nothing here is thread-safe, and
 * nothing starts a thread: the MQTT pieces do their I/O only when called.
 *
 * Raw error codes: the port functions return 0 or one of the negative
 * `CELLOTA_POSIX_E*` values below (libmosquitto failures as
 * CELLOTA_POSIX_EMQTT(rc)); cellota_posix_strerror() names them.
 *
 * @par Flash map of the simulated device (4 MiB NOR, 4 KiB sectors)
 * @code
 *   0x000000 .. 0x001FFF   metadata area: 2 sectors (boot request in the first)
 *   0x002000 .. 0x200FFF   staging slot: the downloaded image   (0x1FF000 bytes)
 *   0x201000 .. 0x3FFFFF   backup slot: reserved for the bootloader (0x1FF000 bytes)
 * @endcode
 * For another flash size cellota_posix_layout() keeps the two metadata
 * sectors and splits the rest into two equal, sector-aligned slots.
 */
#ifndef CELLOTA_POSIX_H
#define CELLOTA_POSIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Raw error codes                                                          */
/* ------------------------------------------------------------------------ */

/** @brief A NULL pointer or an invalid argument. */
#define CELLOTA_POSIX_EPARAM (-10)
/** @brief An address or length outside the flash or store. */
#define CELLOTA_POSIX_ERANGE (-11)
/** @brief A flash erase address that is not sector-aligned. */
#define CELLOTA_POSIX_EALIGN (-12)
/** @brief A flash write that would need a bit to go from 0 to 1 (erase first). */
#define CELLOTA_POSIX_ENOR (-13)
/** @brief The flash chip is switched off as "not fitted". */
#define CELLOTA_POSIX_EABSENT (-14)
/** @brief The simulated power is cut: the operation was not performed. */
#define CELLOTA_POSIX_EPOWER (-15)
/** @brief A file operation failed (the object keeps errno in `last_errno`). */
#define CELLOTA_POSIX_EIO (-16)
/** @brief An existing file does not have the size that was asked for. */
#define CELLOTA_POSIX_ESIZE (-17)
/** @brief The call is not allowed now (not connected, or called from inside a callback). */
#define CELLOTA_POSIX_ESTATE (-18)
/** @brief A topic (with its namespace prefix) or a string does not fit its buffer. */
#define CELLOTA_POSIX_ETOOLONG (-19)
/** @brief The broker did not answer in time. */
#define CELLOTA_POSIX_ETIMEOUT (-20)
/** @brief The broker refused the connection (CONNACK return code in `connack_rc`). */
#define CELLOTA_POSIX_EREFUSED (-21)
/**
 * @brief A libmosquitto failure: `rc` is the positive MOSQ_ERR_* value.
 * @param rc MOSQ_ERR_* code (1..99).
 */
#define CELLOTA_POSIX_EMQTT(rc) (-100 - (int)(rc))

/**
 * @brief Describe a raw error code of this port.
 * @param rc 0, a CELLOTA_POSIX_E* value or CELLOTA_POSIX_EMQTT(rc).
 * @return A static English phrase; never NULL ("unknown error" for other values).
 */
const char *cellota_posix_strerror(int rc);

/* ------------------------------------------------------------------------ */
/* Process-wide set-up                                                      */
/* ------------------------------------------------------------------------ */

/**
 * @brief Initialise libmosquitto for this process (counted: nested calls are fine).
 * @return 0, or CELLOTA_POSIX_EMQTT(rc) if libmosquitto failed.
 */
int cellota_posix_init(void);

/** @brief Undo one cellota_posix_init(); the last one cleans libmosquitto up. */
void cellota_posix_cleanup(void);

/* ------------------------------------------------------------------------ */
/* Flash layout                                                             */
/* ------------------------------------------------------------------------ */

/** @brief Default simulated flash size: 4 MiB. */
#define CELLOTA_FLASH_DEFAULT_SIZE (4u * 1024u * 1024u)
/** @brief Erase unit of the simulated flash. */
#define CELLOTA_FLASH_SECTOR_SIZE 4096u
/** @brief Program page of the simulated flash (writes are split at page boundaries). */
#define CELLOTA_FLASH_PAGE_SIZE 256u

/** @brief Where the client's areas sit in the simulated flash (see the file's map). */
typedef struct {
    uint32_t meta_addr;   /**< Metadata area (two sectors), always 0. */
    uint32_t slot_addr;   /**< Staging slot start (after the metadata area). */
    uint32_t slot_size;   /**< Staging slot size. */
    uint32_t backup_addr; /**< Backup slot start (right after the staging slot). */
    uint32_t backup_size; /**< Backup slot size (equal to the staging slot). */
} cellota_flash_layout_t;

/**
 * @brief Compute the flash map for a flash of @p flash_size bytes.
 * @param flash_size Flash size; a multiple of ::CELLOTA_FLASH_SECTOR_SIZE, at least 4 sectors.
 * @param[out] out   Filled on success.
 * @retval 0                    Done.
 * @retval CELLOTA_POSIX_EPARAM NULL @p out, or a size that is unaligned or too small.
 */
int cellota_posix_layout(uint32_t flash_size, cellota_flash_layout_t *out);

/* ------------------------------------------------------------------------ */
/* NOR flash in a file                                                      */
/* ------------------------------------------------------------------------ */

/** @brief Operation counters of a simulated flash. */
typedef struct {
    uint32_t reads;    /**< read calls that were performed. */
    uint32_t writes;   /**< write calls that were performed (fully or, when cut, partly). */
    uint32_t programs; /**< Page programs performed (a write spanning pages counts one per page). */
    uint32_t erases;   /**< Sector erases performed. */
    uint32_t ops;      /**< Program and erase operations attempted: the numbering the power cut uses. */
} cellota_flash_stats_t;

/**
 * @brief A NOR flash simulated in a file. Fields are private; use the functions.
 *
 * Rules enforced: a new file is fully erased (0xFF); erase sets one whole
 * sector to 0xFF; a write can only clear bits — a write whose bytes would
 * need any bit to go from 0 to 1 is refused as a whole (::CELLOTA_POSIX_ENOR,
 * nothing written); writing the same value again or clearing more bits is
 * allowed. Writes may span pages; they are programmed page by page.
 */
typedef struct {
    /** @cond PRIVATE */
    int fd;
    uint32_t size;
    bool present;
    bool powered;
    uint32_t cut_at;
    uint32_t tear;
    int last_errno;
    cellota_flash_stats_t stats;
    /** @endcond */
} cellota_flash_file_t;

/**
 * @brief Open (or create) a flash file.
 *
 * A missing or empty file is created with @p size bytes of 0xFF. An existing
 * file keeps its content and must have exactly @p size bytes.
 *
 * @param f    Object to initialise.
 * @param path File name.
 * @param size Flash size: a non-zero multiple of ::CELLOTA_FLASH_SECTOR_SIZE,
 *             or 0 for the existing file's size (::CELLOTA_FLASH_DEFAULT_SIZE for a new file).
 * @retval 0                    Open: the chip is present and powered, counters zero.
 * @retval CELLOTA_POSIX_EPARAM NULL pointer or a bad size.
 * @retval CELLOTA_POSIX_ESIZE  The existing file has another (or an unaligned) size.
 * @retval CELLOTA_POSIX_EIO    The file could not be opened, created or filled (errno in f).
 */
int cellota_flash_file_open(cellota_flash_file_t *f, const char *path, uint32_t size);

/**
 * @brief Make a flash object for a board without the chip: no file, probe and
 *        every access fail with ::CELLOTA_POSIX_EABSENT.
 * @param f    Object to initialise; not NULL.
 * @param size Size reported in the port struct (0: ::CELLOTA_FLASH_DEFAULT_SIZE).
 */
void cellota_flash_file_open_absent(cellota_flash_file_t *f, uint32_t size);

/**
 * @brief Close the file. The object can be opened again afterwards.
 * @param f Object; NULL is ignored.
 */
void cellota_flash_file_close(cellota_flash_file_t *f);

/**
 * @brief Fill a port struct whose functions operate on @p f.
 * @param f Open object; must outlive every use of the returned struct.
 * @return The port (size, sector and page size filled in).
 */
ota_flash_t cellota_flash_file_port(cellota_flash_file_t *f);

/**
 * @brief Switch the chip between fitted and not fitted. Not fitted: probe
 *        and every access fail with ::CELLOTA_POSIX_EABSENT (the file is kept).
 * @param f       Object.
 * @param present true = fitted.
 */
void cellota_flash_file_set_present(cellota_flash_file_t *f, bool present);

/**
 * @brief Arm a power cut before the @p n-th program or erase from now.
 *
 * Program operations are counted per page (a 600-byte write spanning three
 * pages is three operations) and erases per sector. The @p n-th operation
 * is not performed and fails with ::CELLOTA_POSIX_EPOWER; from then on every
 * call (probe, read, write, erase) fails the same way until
 * cellota_flash_file_power_restore(). A cut in the middle of a multi-page
 * write leaves the earlier pages programmed. @p n = 0 disarms.
 *
 * @param f Object.
 * @param n 1 = the next operation; 0 = no cut.
 */
void cellota_flash_file_cut_power_before(cellota_flash_file_t *f, uint32_t n);

/**
 * @brief Make the armed power cut tear its operation instead of refusing it.
 *
 * With @p bytes > 0 the operation the cut falls on is done in part before the
 * power goes: a page program lands its first @p bytes bytes (at most the
 * page's share of the write), a sector erase sets only the first @p bytes
 * bytes of the sector to 0xFF and leaves the rest as it was. The call still
 * fails with ::CELLOTA_POSIX_EPOWER. @p bytes = 0 (the default) is a clean cut.
 *
 * @param f     Object.
 * @param bytes Bytes of the torn operation that land.
 */
void cellota_flash_file_tear(cellota_flash_file_t *f, uint32_t bytes);

/**
 * @brief Power the chip up again after a cut (and disarm any pending cut).
 * @param f Object.
 */
void cellota_flash_file_power_restore(cellota_flash_file_t *f);

/**
 * @brief Whether the chip has power.
 * @param f Object.
 * @return false after a power cut happened, true otherwise.
 */
bool cellota_flash_file_powered(const cellota_flash_file_t *f);

/**
 * @brief Read the counters.
 * @param f Object.
 * @param[out] out Copy of the counters.
 */
void cellota_flash_file_stats(const cellota_flash_file_t *f, cellota_flash_stats_t *out);

/**
 * @brief Set all counters to zero (an armed cut is re-based so it still
 *        happens at the same future operation).
 * @param f Object.
 */
void cellota_flash_file_reset_stats(cellota_flash_file_t *f);

/* ------------------------------------------------------------------------ */
/* Clock                                                                    */
/* ------------------------------------------------------------------------ */

/**
 * @brief Milliseconds of CLOCK_MONOTONIC, truncated to 32 bits.
 * @return Current time in ms (wraps after about 49 days).
 */
uint32_t cellota_posix_now_ms(void);

/**
 * @brief A clock port on CLOCK_MONOTONIC (no context needed).
 * @return The port.
 */
ota_clock_t cellota_posix_clock(void);

/* ------------------------------------------------------------------------ */
/* Settings store in a file                                                 */
/* ------------------------------------------------------------------------ */

/** @brief Default size of the settings store file (holds two settings copies). */
#define CELLOTA_STORE_DEFAULT_SIZE 1024u

/** @brief A small byte-addressable store kept in a file. Fields are private. */
typedef struct {
    /** @cond PRIVATE */
    int fd;
    uint32_t size;
    int last_errno;
    /** @endcond */
} cellota_store_file_t;

/**
 * @brief Open (or create) a store file. A missing or empty file is created
 *        blank (all 0xFF); an existing one must have exactly @p size bytes.
 * @param s    Object to initialise.
 * @param path File name.
 * @param size Store size in bytes (0: ::CELLOTA_STORE_DEFAULT_SIZE).
 * @retval 0                    Open.
 * @retval CELLOTA_POSIX_EPARAM NULL pointer.
 * @retval CELLOTA_POSIX_ESIZE  The existing file has another size.
 * @retval CELLOTA_POSIX_EIO    The file could not be opened, created or filled.
 */
int cellota_store_file_open(cellota_store_file_t *s, const char *path, uint32_t size);

/**
 * @brief Close the file.
 * @param s Object; NULL is ignored.
 */
void cellota_store_file_close(cellota_store_file_t *s);

/**
 * @brief Fill a store port whose functions operate on @p s.
 * @param s Open object that outlives the port.
 * @return The port (size filled in). Its read/write return 0,
 *         ::CELLOTA_POSIX_ERANGE, ::CELLOTA_POSIX_EPARAM or ::CELLOTA_POSIX_EIO.
 */
ota_store_t cellota_store_file_port(cellota_store_file_t *s);

/* ------------------------------------------------------------------------ */
/* Log to stderr                                                            */
/* ------------------------------------------------------------------------ */

/** @brief Settings of the stderr log. Fill it yourself; it must outlive the port. */
typedef struct {
    ota_log_level_t max_level; /**< Lines above this level are dropped. */
    const char *prefix;        /**< Printed before every line (e.g. "ota: "); NULL for none. */
    /** @brief Called before a line is printed (e.g. to end a progress bar); may be NULL. */
    void (*before_line)(void *arg);
    void *arg;                 /**< Argument of @ref before_line. */
} cellota_log_stderr_t;

/**
 * @brief Fill a log port that prints `<prefix><level>: <line>` to stderr
 *        (info lines carry no level word).
 * @param l Settings that outlive the port.
 * @return The port.
 */
ota_log_t cellota_log_stderr_port(cellota_log_stderr_t *l);

/**
 * @brief Parse a level name.
 * @param name "error", "warn", "info" or "debug" (or "0".."3").
 * @param[out] out Level on success.
 * @retval 0                    Parsed.
 * @retval CELLOTA_POSIX_EPARAM NULL pointer or an unknown name.
 */
int cellota_log_level_parse(const char *name, ota_log_level_t *out);

/* ------------------------------------------------------------------------ */
/* MQTT transport on libmosquitto                                           */
/* ------------------------------------------------------------------------ */

/** @brief Longest topic namespace prefix, without the NUL. */
#define CELLOTA_MQTT_NS_MAX 127u
/** @brief Longest topic the transport handles (namespace included), without the NUL. */
#define CELLOTA_MQTT_TOPIC_MAX 383u

/** @cond PRIVATE */
struct mosquitto;
/** @endcond */

/**
 * @brief An ::ota_transport_t on libmosquitto, single-threaded.
 *
 * No thread is started: network I/O happens only inside the port's `poll`
 * (one non-blocking mosquitto_loop pass per readable packet) and the
 * message callback is only ever called from there. The connection state
 * comes from libmosquitto's connect/disconnect callbacks (a CONNACK that
 * refuses gives ::OTA_LINK_FAILED).
 *
 * Optional topic namespace: with a prefix N set, every outgoing topic and
 * subscription filter becomes N + topic, and an incoming topic is delivered
 * without N; messages whose topic does not start with N are dropped. The
 * simulation uses `tb/<token>/` so that several devices can share one plain
 * broker (ThingsBoard isolates devices by their connection instead).
 *
 * Fields are private, except the read-only diagnostics documented below.
 */
typedef struct {
    /** @cond PRIVATE */
    struct mosquitto *mosq;
    ota_msg_cb_t on_msg;
    void *arg;
    char ns[CELLOTA_MQTT_NS_MAX + 1];
    size_t ns_len;
    char topic[CELLOTA_MQTT_TOPIC_MAX + 1];
    bool in_poll;
    ota_msg_cb_t tap;
    void *tap_arg;
    /** @endcond */
    ota_link_state_t state; /**< Read-only: current state (same as the port's `state`). */
    int connack_rc;         /**< Read-only: last CONNACK return code (0 accepted, 1..5 refused). */
    int disconnect_rc;      /**< Read-only: reason of the last disconnection (0: asked for). */
    int last_errno;         /**< Read-only: errno of the last system call failure. */
    uint32_t received;      /**< Read-only: messages delivered to the callback. */
    uint32_t dropped;       /**< Read-only: messages dropped (outside the namespace, topic too long). */
    uint32_t published;     /**< Read-only: messages handed to libmosquitto. */
    uint32_t completed;     /**< Read-only: of those, sent (QoS 0) or acknowledged (QoS 1). */
} cellota_mqtt_t;

/**
 * @brief Initialise the object (no network activity, state DOWN, no namespace).
 *        cellota_posix_init() must have been called.
 * @param t Object; not NULL.
 */
void cellota_mqtt_init(cellota_mqtt_t *t);

/**
 * @brief Set the topic namespace prefix (applies to later publishes,
 *        subscriptions and incoming messages).
 * @param t  Object.
 * @param ns Prefix such as "tb/A1b2C3/"; NULL or "" for none.
 * @retval 0                      Set.
 * @retval CELLOTA_POSIX_EPARAM   NULL @p t.
 * @retval CELLOTA_POSIX_ETOOLONG Longer than ::CELLOTA_MQTT_NS_MAX.
 */
int cellota_mqtt_set_namespace(cellota_mqtt_t *t, const char *ns);

/**
 * @brief Watch incoming messages: @p tap sees every message that is
 *        delivered, just before the connect callback gets it (same topic,
 *        namespace removed, same payload; only from inside the port's poll).
 *        For displays and traces; it must not call the transport.
 * @param t   Object.
 * @param tap Observer; NULL removes it.
 * @param arg Passed to @p tap as its first argument.
 */
void cellota_mqtt_set_tap(cellota_mqtt_t *t, ota_msg_cb_t tap, void *arg);

/**
 * @brief Fill a transport port whose functions operate on @p t.
 *
 * Raw errors of the port functions: ::CELLOTA_POSIX_EPARAM,
 * ::CELLOTA_POSIX_ESTATE (not connected, or connect called from inside the
 * message callback), ::CELLOTA_POSIX_ETOOLONG (topic with its prefix),
 * CELLOTA_POSIX_EMQTT(rc) for libmosquitto failures.
 *
 * @param t Initialised object that outlives the port.
 * @return The port.
 */
ota_transport_t cellota_mqtt_port(cellota_mqtt_t *t);

/**
 * @brief The socket to wait on (poll()/select()) for incoming data.
 * @param t Object.
 * @return The file descriptor, or -1 when there is no socket.
 */
int cellota_mqtt_fd(const cellota_mqtt_t *t);

/**
 * @brief Whether output is waiting, so the caller should also wait for the
 *        socket to become writable.
 * @param t Object.
 * @return true if libmosquitto has data to send (or a connect is in progress).
 */
bool cellota_mqtt_want_write(const cellota_mqtt_t *t);

/**
 * @brief Disconnect if needed and free libmosquitto's resources. Must not be
 *        called from inside the message callback.
 * @param t Object; NULL is ignored. It can be used again after cellota_mqtt_init().
 */
void cellota_mqtt_close(cellota_mqtt_t *t);

/* ------------------------------------------------------------------------ */
/* Data uplink: status messages over a second MQTT connection               */
/* ------------------------------------------------------------------------ */

/** @brief printf format of the default status topic; the argument is the IMEI. */
#define CELLOTA_UPLINK_TOPIC_FMT "cellota/%s/status"
/** @brief Time allowed to connect, and again to get a publish acknowledged. */
#define CELLOTA_UPLINK_TIMEOUT_MS 2000u
/** @brief Longest host, credential or topic string the uplink copies, without the NUL. */
#define CELLOTA_UPLINK_STR_MAX 127u

/** @brief Where the uplink sends. Strings are copied by cellota_uplink_open(). */
typedef struct {
    const char *host;      /**< Broker host. */
    uint16_t port;         /**< Broker port. */
    const char *client_id; /**< Client id; must differ from the OTA connection's. */
    const char *username;  /**< User name; NULL or "" for none. */
    const char *password;  /**< Password; NULL or "" for none. */
    const char *topic;     /**< Topic every status message is published to. */
} cellota_uplink_cfg_t;

/**
 * @brief The device's data connection, used only for status messages.
 *
 * It connects on demand (the first send, or after the link was lost),
 * publishes with QoS 1 and runs libmosquitto until the broker acknowledged
 * the message or ::CELLOTA_UPLINK_TIMEOUT_MS passed, so a program that exits
 * right after a result has really sent it. A send therefore blocks for up
 * to about twice that time (plus a host name lookup). Fields are private.
 */
typedef struct {
    /** @cond PRIVATE */
    struct mosquitto *mosq;
    char host[CELLOTA_UPLINK_STR_MAX + 1];
    uint16_t port;
    char client_id[CELLOTA_UPLINK_STR_MAX + 1];
    char username[CELLOTA_UPLINK_STR_MAX + 1];
    char password[CELLOTA_UPLINK_STR_MAX + 1];
    char topic[CELLOTA_UPLINK_STR_MAX + 1];
    bool connected;
    bool acked;
    int connack_rc;
    int mid;
    /** @endcond */
    uint32_t sent;  /**< Read-only: messages acknowledged by the broker. */
    int last_errno; /**< Read-only: errno of the last failed system call (0: none). */
} cellota_uplink_mqtt_t;

/**
 * @brief Initialise the uplink (copies @p cfg, no network activity yet).
 *        cellota_posix_init() must have been called.
 * @param u   Object.
 * @param cfg Destination.
 * @retval 0                      Ready.
 * @retval CELLOTA_POSIX_EPARAM   NULL pointer, NULL host/client id/topic, or port 0.
 * @retval CELLOTA_POSIX_ETOOLONG A string longer than ::CELLOTA_UPLINK_STR_MAX.
 */
int cellota_uplink_open(cellota_uplink_mqtt_t *u, const cellota_uplink_cfg_t *cfg);

/**
 * @brief Send one status message now (connecting first if needed). Blocks
 *        until the broker acknowledged it or the time ran out.
 * @param u   Object.
 * @param msg Message bytes.
 * @param len Number of bytes.
 * @retval 0                      Acknowledged by the broker.
 * @retval CELLOTA_POSIX_EPARAM   NULL pointer.
 * @retval CELLOTA_POSIX_EREFUSED The broker refused the connection.
 * @retval CELLOTA_POSIX_ETIMEOUT No CONNACK or PUBACK in time.
 * @retval CELLOTA_POSIX_EMQTT(rc) libmosquitto failed (connect, publish, loop).
 */
int cellota_uplink_send(cellota_uplink_mqtt_t *u, const char *msg, size_t len);

/**
 * @brief Topic the uplink publishes to.
 * @param u Object.
 * @return NUL-terminated topic ("" for NULL @p u).
 */
const char *cellota_uplink_topic(const cellota_uplink_mqtt_t *u);

/**
 * @brief Keep an idle uplink connection alive (non-blocking; optional).
 * @param u Object; NULL is ignored.
 */
void cellota_uplink_poll(cellota_uplink_mqtt_t *u);

/**
 * @brief Disconnect and free libmosquitto's resources.
 * @param u Object; NULL is ignored.
 */
void cellota_uplink_close(cellota_uplink_mqtt_t *u);

/**
 * @brief Fill an uplink port whose send is cellota_uplink_send().
 * @param u Open object that outlives the port.
 * @return The port.
 */
ota_uplink_t cellota_uplink_port(cellota_uplink_mqtt_t *u);

/* ------------------------------------------------------------------------ */
/* Reboot                                                                   */
/* ------------------------------------------------------------------------ */

/** @brief Records reboot requests (the simulated device then exits by itself). */
typedef struct {
    bool requested; /**< true once a reboot was requested. */
    uint32_t count; /**< Number of requests. */
} cellota_reboot_flag_t;

/**
 * @brief Fill a reboot port that only sets @p r->requested.
 * @param r Flag object (zero it first) that outlives the port.
 * @return The port.
 */
ota_reboot_t cellota_reboot_flag_port(cellota_reboot_flag_t *r);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_POSIX_H */
