/**
 * @file ota_port.h
 * @brief The seams between the platform-neutral core and the hardware.
 *
 * Each interface is a struct of function pointers plus an opaque `ctx` that
 * the port defines and that is passed back as the first argument of every
 * call. The port fills the struct; the core checks at init that every
 * required function is present and returns ::OTA_ERR_PARAM otherwise.
 *
 * Return convention of port functions that return `int`: 0 is success, any
 * negative value is a failure. The core never interprets a negative value;
 * it keeps it as the "raw" code in the failure reason so that the cause is
 * not lost.
 *
 * Threading: the core is not thread-safe and none of its port functions are
 * called from an interrupt. A port must not call back into the core except
 * as documented (the message callback, from inside ota_transport_t::poll).
 */
#ifndef CELLOTA_OTA_PORT_H
#define CELLOTA_OTA_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* MQTT-shaped message transport                                            */
/* ------------------------------------------------------------------------ */

/** @brief State of the transport's connection to the broker. */
typedef enum {
    OTA_LINK_DOWN = 0,       /**< Not connected, nothing in progress. */
    OTA_LINK_CONNECTING = 1, /**< ota_transport_t::connect was accepted; waiting for the broker. */
    OTA_LINK_UP = 2,         /**< Connected: publish and subscribe may be used. */
    OTA_LINK_FAILED = 3      /**< The last connect failed or the connection was lost. */
} ota_link_state_t;

/** @brief Parameters of an MQTT 3.1.1 connection. Strings are NUL-terminated. */
typedef struct {
    const char *host;      /**< Broker host name or address. */
    uint16_t port;         /**< Broker TCP port (1..65535). */
    const char *client_id; /**< MQTT client id. */
    const char *username;  /**< MQTT user name (ThingsBoard: the device access token); NULL or "" for none. */
    const char *password;  /**< MQTT password; NULL or "" for none. */
    uint16_t keepalive_s;  /**< MQTT keep-alive in seconds. */
} ota_mqtt_conn_t;

/**
 * @brief Called by the transport for every message that arrives.
 *
 * Only ever called from inside ota_transport_t::poll. The buffers are valid
 * only for the duration of the call. Neither @p topic nor @p payload is
 * NUL-terminated.
 *
 * @param arg       The `arg` given to ota_transport_t::connect.
 * @param topic     Topic bytes.
 * @param topic_len Number of topic bytes.
 * @param payload   Payload bytes (may be NULL when @p len is 0).
 * @param len       Number of payload bytes.
 */
typedef void (*ota_msg_cb_t)(void *arg, const char *topic, size_t topic_len,
                             const uint8_t *payload, size_t len);

/** @brief An MQTT-shaped, non-blocking message transport. All functions required. */
typedef struct {
    void *ctx; /**< Port context, passed back to every function. */
    /**
     * @brief Start connecting. Must not block on the network.
     * @return 0 if the attempt started (state becomes CONNECTING or UP), negative raw error otherwise.
     */
    int (*connect)(void *ctx, const ota_mqtt_conn_t *conn, ota_msg_cb_t on_msg, void *arg);
    /** @brief Current connection state. */
    ota_link_state_t (*state)(void *ctx);
    /** @brief Subscribe to a topic filter. @return 0 if queued or done, negative raw error otherwise. */
    int (*subscribe)(void *ctx, const char *filter, uint8_t qos);
    /**
     * @brief Publish a message; the transport copies what it needs before returning.
     * @return 0 if queued or sent, negative raw error otherwise.
     */
    int (*publish)(void *ctx, const char *topic, const uint8_t *payload, size_t len, uint8_t qos);
    /**
     * @brief Close the connection (state becomes DOWN). Never fails. Messages
     *        already accepted by publish are sent first, within a bounded time
     *        (the client reports its final fw_state right before closing).
     */
    void (*disconnect)(void *ctx);
    /**
     * @brief Do pending I/O without blocking; deliver arrived messages through the callback.
     * @return 0, or a negative raw error (the state then tells whether the link survived).
     */
    int (*poll)(void *ctx, uint32_t now_ms);
} ota_transport_t;

/* ------------------------------------------------------------------------ */
/* NOR flash                                                                */
/* ------------------------------------------------------------------------ */

/**
 * @brief External NOR flash. All functions required.
 *
 * Rules the core relies on: erase sets every byte of a sector to 0xFF; a
 * write can only clear bits; the port splits writes at page boundaries
 * itself and returns only when the data is programmed (or failed). The core
 * programs a byte again to clear more of its bits (the download journal's
 * maps), always with a value whose 1-bits are a subset of what the byte
 * holds: NOR flash allows that; a part with ECC per write unit does not.
 */
typedef struct {
    void *ctx;            /**< Port context. */
    uint32_t size;        /**< Total size in bytes. */
    uint32_t sector_size; /**< Erase unit in bytes (a power of two, e.g. 4096). */
    uint32_t page_size;   /**< Program page in bytes (e.g. 256). */
    /** @brief Check that the chip is there and answers (JEDEC ID). @return 0 present, negative absent or failing. */
    int (*probe)(void *ctx);
    /** @brief Read @p len bytes at @p addr. @return 0 or negative raw error. */
    int (*read)(void *ctx, uint32_t addr, void *buf, size_t len);
    /** @brief Program @p len bytes at @p addr (may span pages). @return 0 or negative raw error. */
    int (*write)(void *ctx, uint32_t addr, const void *buf, size_t len);
    /** @brief Erase the sector that starts at @p addr (sector-aligned). @return 0 or negative raw error. */
    int (*erase)(void *ctx, uint32_t addr);
} ota_flash_t;

/* ------------------------------------------------------------------------ */
/* Clock, settings store, data uplink, reboot, log                          */
/* ------------------------------------------------------------------------ */

/** @brief Millisecond clock. Wraps at 2^32; the core only uses differences. */
typedef struct {
    void *ctx; /**< Port context. */
    /** @brief Milliseconds since an arbitrary origin. Required. */
    uint32_t (*now_ms)(void *ctx);
} ota_clock_t;

/**
 * @brief Small byte-addressable non-volatile store for the settings record
 *        (data EEPROM on the STM32L0, a file on POSIX). All functions required.
 */
typedef struct {
    void *ctx;     /**< Port context. */
    uint32_t size; /**< Usable bytes. */
    /** @brief Read @p len bytes at @p off. @return 0 or negative raw error. */
    int (*read)(void *ctx, uint32_t off, void *buf, size_t len);
    /** @brief Write @p len bytes at @p off; may be cut by a power loss at any byte. @return 0 or negative raw error. */
    int (*write)(void *ctx, uint32_t off, const void *buf, size_t len);
} ota_store_t;

/** @brief Data uplink: where status messages `{"IMEI":…,"Message":…}` go. */
typedef struct {
    void *ctx; /**< Port context. */
    /** @brief Send one status message (JSON text, not NUL-terminated). NULL disables status messages. @return 0 or negative. */
    int (*send)(void *ctx, const char *msg, size_t len);
} ota_uplink_t;

/** @brief Reboot request. */
typedef struct {
    void *ctx; /**< Port context. */
    /** @brief Reboot into the bootloader now. NULL: the application reboots when it chooses. */
    void (*reboot)(void *ctx);
} ota_reboot_t;

/** @brief Log levels. */
typedef enum {
    OTA_LOG_ERROR = 0, /**< A failure. */
    OTA_LOG_WARN = 1,  /**< Something retried or refused. */
    OTA_LOG_INFO = 2,  /**< A step of the update. */
    OTA_LOG_DEBUG = 3  /**< Per-chunk detail. */
} ota_log_level_t;

/** @brief Log hook. */
typedef struct {
    void *ctx; /**< Port context. */
    /** @brief Write one NUL-terminated line (no newline). NULL disables logging. */
    void (*write)(void *ctx, ota_log_level_t level, const char *line);
} ota_log_t;

/* ------------------------------------------------------------------------ */
/* Modem                                                                    */
/* ------------------------------------------------------------------------ */

/** @brief Network registration as the modem reports it (3GPP +CEREG stat). */
typedef enum {
    OTA_NET_UNKNOWN = 0,    /**< Not asked yet, or the modem did not answer. */
    OTA_NET_SEARCHING = 1,  /**< Not registered, searching (stat 0 or 2). */
    OTA_NET_REGISTERED = 2, /**< Registered, home or roaming (stat 1 or 5). */
    OTA_NET_DENIED = 3      /**< Registration denied (stat 3). */
} ota_net_state_t;

/**
 * @brief The cellular modem, as the application sees it: power, network,
 *        identity, sleep. The client itself does not need it (its transport
 *        brings the network up); the application uses it for the IMEI in
 *        status messages and to sleep between updates. All functions required
 *        when the struct is used. None blocks: they start an action or return
 *        what the driver already knows.
 */
typedef struct {
    void *ctx; /**< Port context. */
    /** @brief Start powering the module up and attaching to the network. @return 0 or negative. */
    int (*power_up)(void *ctx);
    /** @brief Start an orderly power-down. @return 0 or negative. */
    int (*power_down)(void *ctx);
    /** @brief Network registration as last seen. */
    ota_net_state_t (*network)(void *ctx);
    /** @brief Last signal strength in dBm (e.g. -85); 0 when unknown. */
    int (*signal_dbm)(void *ctx);
    /**
     * @brief The module's IMEI as a NUL-terminated string of digits.
     * @return 0 when known and copied; negative when not read yet or @p cap too small.
     */
    int (*imei)(void *ctx, char *buf, size_t cap);
    /** @brief Allow the module to sleep (refused while a transfer runs). @return 0 or negative. */
    int (*sleep)(void *ctx);
    /** @brief Wake the module up for commands. @return 0 or negative. */
    int (*wake)(void *ctx);
} ota_modem_t;

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_OTA_PORT_H */
