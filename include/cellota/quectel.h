/**
 * @file quectel.h
 * @brief Driver for Quectel BG95-M2 (LTE-M) and BC660K-GL (NB-IoT) modules:
 *        the module's built-in MQTT client, driven by AT commands over a
 *        UART, as the client's ::ota_transport_t, and the module itself as
 *        an ::ota_modem_t.
 *
 * The driver is platform-neutral: it needs the UART byte stream and the
 * control pins of quectel_port.h, and the time passed to quectel_poll().
 * It never allocates, never blocks, never prints, and every wait it makes
 * has a deadline, so a module that stops answering cannot hang the caller.
 *
 * Usage:
 * @code
 *   static quectel_t modem;               // caller-owned, no malloc
 *   quectel_config_t qc;                  // must outlive the driver
 *   quectel_config_defaults(&qc);
 *   qc.uart = my_uart; qc.gpio = my_pins; qc.dialect = QUECTEL_AUTO;
 *   quectel_init(&modem, &qc);
 *   quectel_transport(&modem, &ota_cfg.transport);   // MQTT for the OTA client
 *   quectel_modem(&modem, &my_modem);                // power, IMEI, sleep
 *   for (;;) {
 *       ota_client_poll(&ota, now_ms());  // polls the transport, i.e. quectel_poll()
 *       quectel_poll(&modem, now_ms());   // harmless when already polled
 *       ...
 *   }
 * @endcode
 *
 * How it works (the model is described at the top of src/modem/quectel.c):
 * - An AT engine reads the UART byte by byte: complete lines, the bare `>`
 *   data prompt, and raw reads of exactly N bytes when a `+QMTRECV:` header
 *   announces a payload length (binary payloads containing CR, LF, NUL, `"`,
 *   0x1A, `OK` or `+QMTRECV:` arrive intact). One command is in flight at a
 *   time, each with its own timeout; the asynchronous MQTT results
 *   (`+QMTOPEN:`, `+QMTCONN:`, `+QMTSUB:`, `+QMTPUB:`) are matched by client
 *   index and message id; unsolicited result codes are handled whenever they
 *   arrive, also in the middle of a command. A line longer than the line
 *   buffer is counted and dropped up to its end (resynchronisation); a
 *   payload or a dropped line that stops for 1 s is abandoned the same way.
 * - After every module start (`RDY`, `APP RDY`) the driver sends `ATE0`,
 *   `AT+CMEE=1`, sets the URC port (BG95), reads the IMEI, probes features
 *   (`AT+QMTCFG=?`, `AT+QMTPUBEX=?`), and re-applies all volatile
 *   configuration before the network and MQTT are brought up again.
 * - BG95 dialect: messages are buffered in the module (`"recv/mode"` 1,1,
 *   read with `AT+QMTRECV=<id>,<slot>`), published with a fixed-length form
 *   and the `>` prompt (never Ctrl-Z for binary data).
 *   BC660K dialect: hex data format with `"showrecvlen"`, publish in the
 *   non-data-mode form with the payload in hex, `AT+QSCLK` handling (an
 *   `AT` is sent to wake the UART before a command while sleep is enabled;
 *   sleep is disabled while MQTT is in use).
 * - Failures climb a recovery ladder with back-off: retry the command →
 *   `AT` probe → reopen MQTT → `AT+CFUN` cycle → power-key (or reset pin)
 *   cycle. `+QMTSTAT` codes jump directly to the rung they call for. The
 *   ladder goes back to the bottom when MQTT connects, a publish or
 *   subscription is confirmed, or a message arrives.
 * - Firmware differences are probed or tolerated rather than assumed: an
 *   `AT+QMTPUBEX` without a length falls back to the `AT+QMTPUB` fixed-length
 *   form; a firmware without `"recv/mode"` gets `"recv/mode",<id>,0,1`, or
 *   text payloads read from the URC line; a `+QMTRECV` payload may be quoted
 *   or not; a hex length may count bytes or digits; `+QMTPUBEX:` and
 *   `+QMTPUB:` results are both accepted; `+CEREG` is read in both its read
 *   and URC forms with empty optional fields.
 *
 * Threading: not thread-safe; call every function from one context, never
 * from an interrupt. The message callback given to connect is only called
 * from inside quectel_poll() (which is also the transport's poll).
 */
#ifndef CELLOTA_QUECTEL_H
#define CELLOTA_QUECTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_config.h"
#include "cellota/ota_port.h"
#include "cellota/ota_status.h"
#include "cellota/quectel_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Size of the receive line buffer in bytes.
 *
 * Holds one response line or URC, and the header of a `+QMTRECV:` message
 * (which includes the topic) while its payload is read. Longer lines are
 * dropped and counted in quectel_stats_t::rx_overflows. At least 64.
 */
#ifndef QUECTEL_CFG_LINE_MAX
#define QUECTEL_CFG_LINE_MAX 128u
#endif

/**
 * @brief Size of the received-payload buffer in bytes.
 *
 * The largest MQTT payload the driver can deliver is this minus 2 (room for
 * the quotes some firmware puts around the payload). Larger messages are
 * read to their end, dropped and counted in quectel_stats_t::rx_dropped.
 * The default fits one Dragino chunk (::OTA_CFG_CHUNK_BUF_SIZE).
 */
#ifndef QUECTEL_CFG_PAYLOAD_MAX
#define QUECTEL_CFG_PAYLOAD_MAX (OTA_CFG_CHUNK_BUF_SIZE + 4u)
#endif

/**
 * @brief Size of the outgoing queue in bytes.
 *
 * Subscribe and publish copy their topic and payload here (plus 4 bytes of
 * header each) and return at once; the driver sends them in order. When the
 * queue is full they return ::OTA_ERR_NOSPACE. The default holds what the
 * OTA client queues at once (three subscriptions and two publishes, or a
 * window of eight chunk requests).
 */
#ifndef QUECTEL_CFG_TXQ_SIZE
#define QUECTEL_CFG_TXQ_SIZE 640u
#endif

/**
 * @brief Size of the command buffer in bytes: the longest AT command the
 *        driver builds, without an inline payload (which is streamed from
 *        the queue). Must hold `AT+QMTCONN=...` with client id, user name
 *        and password, or a publish header with its topic.
 */
#ifndef QUECTEL_CFG_CMD_MAX
#define QUECTEL_CFG_CMD_MAX 240u
#endif

/** @brief Longest IMEI (or serial number) kept, without the NUL. */
#define QUECTEL_IMEI_MAX 17u

#if QUECTEL_CFG_LINE_MAX < 64u
#error "QUECTEL_CFG_LINE_MAX must be at least 64"
#endif
#if QUECTEL_CFG_PAYLOAD_MAX < 16u || QUECTEL_CFG_PAYLOAD_MAX > 65535u
#error "QUECTEL_CFG_PAYLOAD_MAX must be between 16 and 65535"
#endif
#if QUECTEL_CFG_TXQ_SIZE < 64u || QUECTEL_CFG_TXQ_SIZE > 65535u
#error "QUECTEL_CFG_TXQ_SIZE must be between 64 and 65535"
#endif
#if QUECTEL_CFG_CMD_MAX < 64u || QUECTEL_CFG_CMD_MAX > 255u
#error "QUECTEL_CFG_CMD_MAX must be between 64 and 255"
#endif

/** @brief Which AT dialect the module speaks. */
typedef enum {
    QUECTEL_AUTO = 0,  /**< Detect from the `ATI` answer (BG9x or BC66x); BG95 if unknown. */
    QUECTEL_BG95 = 1,  /**< BG95-M2 / BG96 / BG77 (LTE-M). */
    QUECTEL_BC660K = 2 /**< BC660K-GL / BC950K-GL (NB-IoT). */
} quectel_dialect_t;

/** @brief Rungs of the recovery ladder, in the order they are climbed. */
typedef enum {
    QUECTEL_REC_NONE = 0,   /**< Nothing failed since the last success. */
    QUECTEL_REC_RETRY = 1,  /**< Repeat the failed command. */
    QUECTEL_REC_PROBE = 2,  /**< Check that the module answers `AT`, then repeat. */
    QUECTEL_REC_REOPEN = 3, /**< Close the module's MQTT client and open it again. */
    QUECTEL_REC_CFUN = 4,   /**< `AT+CFUN=0` then `AT+CFUN=1`: radio off and on, re-attach. */
    QUECTEL_REC_POWER = 5   /**< Reset pin, power-key cycle, or `AT+CFUN=1,1`; full re-init. */
} quectel_recovery_t;

/** @brief What the driver is doing (for displays and logs). */
typedef enum {
    QUECTEL_ST_OFF = 0,      /**< Module off or not used yet. */
    QUECTEL_ST_BOOTING,      /**< Powering on, waiting for `RDY` or an answer to `AT`. */
    QUECTEL_ST_CONFIGURING,  /**< Sending the start-up configuration and probes. */
    QUECTEL_ST_ATTACHING,    /**< Radio on, waiting for network registration. */
    QUECTEL_ST_READY,        /**< Registered (or only configured), no MQTT in use. */
    QUECTEL_ST_CONNECTING,   /**< Opening the MQTT connection. */
    QUECTEL_ST_CONNECTED,    /**< MQTT connected. */
    QUECTEL_ST_CLOSING,      /**< Sending queued messages, then closing MQTT. */
    QUECTEL_ST_RECOVERING,   /**< Waiting out a back-off or running a recovery step. */
    QUECTEL_ST_POWERING_DOWN /**< Orderly power-down in progress. */
} quectel_state_t;

/** @brief Driver configuration. Must stay valid and unchanged while the driver lives. */
typedef struct {
    quectel_uart_t uart;   /**< UART to the module. Both functions required. */
    quectel_gpio_t gpio;   /**< Control pins; each function may be NULL. */
    ota_clock_t clock;     /**< Optional (now_ms may be NULL): lets calls made outside
                                quectel_poll() see the current time; otherwise the time of
                                the last poll is used. */
    quectel_dialect_t dialect; /**< Dialect, or ::QUECTEL_AUTO (default). */
    const char *apn;       /**< APN to configure, or NULL/"" to keep the module's (default NULL). */
    uint8_t client_idx;    /**< MQTT client index in the module, 0..4 (default 0). */
    uint32_t cmd_timeout_ms;    /**< Plain command, and the `>` prompt (default 5 000). */
    uint32_t cfun_timeout_ms;   /**< `AT+CFUN` (default 30 000). */
    uint32_t boot_timeout_ms;   /**< Power-on to `RDY` (default 15 000). */
    uint32_t attach_timeout_ms; /**< `AT+CFUN=1` to registration (default 120 000). */
    uint32_t open_timeout_ms;   /**< `+QMTOPEN:` result (default 75 000). */
    uint32_t mqtt_timeout_ms;   /**< `+QMTCONN:`, `+QMTSUB:`, `+QMTPUB:` results (default 30 000). */
    uint32_t backoff_ms;        /**< Back-off before the first recovery rung; doubles per rung
                                     and per repeated power cycle (default 1 000). */
    uint32_t backoff_max_ms;    /**< Longest back-off (default 600 000). */
} quectel_config_t;

/** @brief Counters and diagnostics (quectel_stats()). Counters only grow; they wrap. */
typedef struct {
    uint8_t last_qmtstat;  /**< Last `+QMTSTAT` error code (0 none). */
    uint8_t recovery;      /**< Current ::quectel_recovery_t rung. */
    uint8_t max_recovery;  /**< Highest ::quectel_recovery_t rung reached since init. */
    uint32_t rx_overflows; /**< Lines longer than ::QUECTEL_CFG_LINE_MAX. */
    uint32_t resyncs;      /**< Times the receiver found the start of a line again after an overflow. */
    uint32_t rx_dropped;   /**< Messages dropped: too long for the payload buffer, malformed, or
                                with a length that did not match. */
    uint32_t rx_msgs;      /**< Messages delivered to the callback. */
    uint32_t tx_msgs;      /**< Publishes confirmed by the module. */
    uint32_t tx_failed;    /**< Publishes or subscriptions the module reported as failed. */
    uint32_t timeouts;     /**< Commands, prompts or asynchronous results that did not come in time. */
    uint32_t errors;       /**< `ERROR` / `+CME ERROR` answers to required commands. */
    uint32_t restarts;     /**< Module starts seen (`RDY`). */
    uint32_t recoveries;   /**< Recovery rungs executed. */
    uint32_t ignored;      /**< Lines that were neither an expected answer nor a known URC. */
    int32_t last_cme;      /**< Last `+CME ERROR`/`+CMS ERROR` code, -1 for a plain `ERROR`, 0 none. */
} quectel_stats_t;

/** @cond PRIVATE */
/* AT engine state (src/modem/at_engine.h). Small fields first: Thumb-1
 * loads reach only 31 (bytes), 62 (halves) or 124 (words) bytes of offset. */
typedef struct {
    uint8_t rx_mode;
    uint8_t rx_quote;
    uint8_t raw_last;
    uint8_t hex_bad;
    uint8_t state;
    uint8_t result;
    uint8_t data_mode;
    uint16_t line_len;
    uint16_t cmd_len;
    uint16_t tx_pos;
    uint16_t tx_end;
    uint16_t data_len;
    uint32_t now;
    uint32_t deadline;        /* command in flight, or end of the prompt delay */
    uint32_t timeout;
    uint32_t prompt_delay_ms; /* wait after '>' before the data (BC660K: 500) */
    uint32_t raw_need;        /* RAW: bytes to read; HEX: length field */
    uint32_t raw_got;         /* RAW: bytes read; HEX: hex digits decoded */
    uint32_t hex_dec;
    uint32_t rx_until;        /* RAW/HEX/SKIP: give up if nothing arrives by then */
    int32_t cme;
    const uint8_t *data;
    const char *tail;
    quectel_uart_t uart;
    void *owner;              /* passed back to the driver's hooks */
    quectel_stats_t *st;
    char line[QUECTEL_CFG_LINE_MAX];
    char cmd[QUECTEL_CFG_CMD_MAX];
    uint8_t pay[QUECTEL_CFG_PAYLOAD_MAX];
} quectel_at_t;
/** @endcond */

/**
 * @brief The driver context. Allocate it yourself (static); its fields are
 *        private and may change between versions.
 */
typedef struct {
    /** @cond PRIVATE */
    uint8_t want;
    uint8_t link;
    uint8_t pc;
    uint8_t saved_pc;
    uint8_t step;
    uint8_t async;
    uint8_t rung;
    uint8_t pins;
    uint8_t tries;
    uint8_t slots;
    uint8_t slot;
    uint8_t creg;
    uint8_t cond;
    uint8_t idx;
    int8_t rssi;
    uint8_t k[9];
    uint8_t feat;
    uint8_t kick;
    uint16_t msgid;
    uint16_t txq_len;
    quectel_stats_t st;
    const quectel_config_t *cfg;
    uint32_t now;
    uint32_t wait_until;
    uint32_t async_deadline;
    uint32_t phase_deadline;
    uint32_t power_backoff;
    ota_msg_cb_t on_msg;
    void *msg_arg;
    ota_mqtt_conn_t conn;
    char imei[QUECTEL_IMEI_MAX + 1];
    quectel_at_t at;
    uint8_t txq[QUECTEL_CFG_TXQ_SIZE];
    /** @endcond */
} quectel_t;

/**
 * @brief Fill @p cfg with no ports and the documented defaults.
 * @param cfg Configuration; not NULL.
 */
void quectel_config_defaults(quectel_config_t *cfg);

/**
 * @brief Check the configuration and reset the driver. Nothing is sent to
 *        the module until something is asked of it (connect, power_up).
 * @param q   Driver context.
 * @param cfg Configuration that outlives the driver.
 * @retval OTA_OK        Ready.
 * @retval OTA_ERR_PARAM NULL pointer, a UART function missing, a dialect or
 *                       client index out of range, or a zero timeout.
 */
ota_status_t quectel_init(quectel_t *q, const quectel_config_t *cfg);

/**
 * @brief Fill an ::ota_transport_t that runs MQTT through the module.
 *
 * Behaviour of the functions (ctx = @p q):
 * - connect: brings the module up if needed (power, start-up configuration,
 *   network registration), then configures, opens and connects the MQTT
 *   client; state is ::OTA_LINK_CONNECTING until `+QMTCONN: <id>,0,0`.
 *   The strings of the ::ota_mqtt_conn_t are NOT copied: they must stay
 *   valid until disconnect (the OTA client passes its settings, which do).
 *   Returns 0, ::OTA_ERR_PARAM for a NULL/empty host or client id, or
 *   ::OTA_ERR_RANGE when host, client id, user name and password together
 *   do not fit ::QUECTEL_CFG_CMD_MAX (48 bytes are kept for the rest).
 * - state: ::OTA_LINK_FAILED after a refused connection (`+QMTCONN` with a
 *   non-zero return code) or a lost one (`+QMTSTAT`, a module restart, a
 *   recovery rung that closes it); the driver does not reconnect by itself:
 *   call connect again. While connecting, failures climb the recovery
 *   ladder and the state stays ::OTA_LINK_CONNECTING: the caller's own
 *   timeout decides when to give up (then call disconnect).
 * - subscribe, publish: copy into the outgoing queue and return 0;
 *   ::OTA_ERR_STATE when not connected, ::OTA_ERR_NOSPACE when the queue is
 *   full, ::OTA_ERR_RANGE for an empty topic, a topic longer than
 *   ::QUECTEL_CFG_CMD_MAX - 48, or a payload the dialect cannot send
 *   (BC660K: more than 730 bytes), ::OTA_ERR_PARAM for NULL or a QoS above
 *   2. QoS 0 publishes use message id 0.
 *   A publish or subscription that the module reports as failed is counted
 *   in quectel_stats_t::tx_failed and dropped (QoS 1 retransmission is the
 *   module's job).
 * - disconnect: state becomes ::OTA_LINK_DOWN at once; queued publishes are
 *   still sent (each within its timeout), then `AT+QMTDISC` and
 *   `AT+QMTCLOSE`. The module stays powered and registered.
 * - poll: quectel_poll(); returns 0 or a negative ::ota_status_t.
 *
 * @param q Driver context (initialised).
 * @param t Filled; ctx = @p q.
 */
void quectel_transport(quectel_t *q, ota_transport_t *t);

/**
 * @brief Fill an ::ota_modem_t for the module (ctx = @p q).
 *
 * - power_up: power on if needed, configure, register; returns 0.
 * - power_down: close MQTT, `AT+QPOWD=1`; returns 0.
 * - network: the last `+CEREG` state seen.
 * - signal_dbm: from the last `AT+CSQ` (-113 + 2 × rssi), 0 when unknown.
 * - imei: copies the IMEI read at start-up; ::OTA_ERR_NOT_FOUND before it
 *   was read, ::OTA_ERR_NOSPACE when @p cap is too small.
 * - sleep: allows the module to sleep (`AT+QSCLK=1`); ::OTA_ERR_STATE while
 *   MQTT is in use or messages are queued.
 * - wake: pulses PSM_EINT (when wired) and disables sleep (`AT+QSCLK=0`,
 *   preceded by wake-up `AT`s); returns 0.
 *
 * @param q Driver context (initialised).
 * @param m Filled; ctx = @p q.
 */
void quectel_modem(quectel_t *q, ota_modem_t *m);

/**
 * @brief Do all pending work without blocking: read what the UART has,
 *        dispatch answers and URCs, deliver messages, check deadlines,
 *        drive the pins, send the next command.
 * @param q      Driver context.
 * @param now_ms The clock's current value (wraps at 2^32).
 * @retval OTA_OK        Done.
 * @retval OTA_ERR_PARAM NULL pointer or not initialised.
 * @retval OTA_ERR_PORT  The UART read or write returned an error (the driver
 *                       treats it like a silent module and recovers).
 */
ota_status_t quectel_poll(quectel_t *q, uint32_t now_ms);

/**
 * @brief When quectel_poll() must next be called, at the latest, if no
 *        byte arrives on the UART before.
 * @param q       Driver context.
 * @param[out] at Deadline (clock value); it may already have passed.
 * @return true if there is a deadline; false when nothing is pending (only
 *         a UART byte or an API call will need the driver).
 */
bool quectel_next_deadline(const quectel_t *q, uint32_t *at);

/**
 * @brief What the driver is doing.
 * @param q Driver context.
 * @return The state; ::QUECTEL_ST_OFF for NULL.
 */
quectel_state_t quectel_state(const quectel_t *q);

/**
 * @brief The dialect in use: the configured one, or the detected one once
 *        `ATI` was answered (::QUECTEL_AUTO before that).
 * @param q Driver context.
 * @return The dialect; ::QUECTEL_AUTO for NULL.
 */
quectel_dialect_t quectel_dialect(const quectel_t *q);

/**
 * @brief Copy the counters and diagnostics.
 * @param q         Driver context.
 * @param[out] out  Filled (all zero for a NULL @p q).
 */
void quectel_stats(const quectel_t *q, quectel_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_QUECTEL_H */
