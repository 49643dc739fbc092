/*
 * fake_uart.h - a scripted fake Quectel module behind quectel_uart_t, and
 * fake control pins behind quectel_gpio_t, for host tests of the driver.
 *
 * Script: a list of steps, consumed in order.
 *   - expect step: the driver must write exactly `expect` next; any other
 *     byte is a mismatch (recorded in errors/err, never a crash). When all
 *     of it has arrived, `reply` is queued `delay_ms` later (fake clock);
 *     reply NULL = the module stays silent.
 *   - unsolicited step (expect NULL): `reply` is queued `delay_ms` after the
 *     previous step's reply was queued (URCs, RDY, async results).
 * Replies reach the driver in fragments: every read returns between
 * frag_min and frag_max bytes (pseudo-random in that range; set both to k
 * for fixed k-byte fragments).
 *
 * When the script is used up, a responder (if set) gets each complete
 * command line the driver writes (without its CR), or the raw bytes it
 * asked for with fake_uart_want_raw(); it answers with fake_uart_reply().
 * Without a responder, bytes written after the end of the script are a
 * mismatch, unless `lenient` is set (then they are only logged).
 *
 * Everything the driver wrote is kept in log[] (NUL-terminated).
 */
#ifndef CELLOTA_TESTS_FAKE_UART_H
#define CELLOTA_TESTS_FAKE_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/quectel_port.h"

#define FAKE_UART_MAX_STEPS 512
#define FAKE_UART_RX 65536
#define FAKE_UART_LOG 262144
#define FAKE_UART_PEND 8192

typedef struct {
    const uint8_t *expect; /* NULL: unsolicited */
    size_t expect_len;
    const uint8_t *reply; /* NULL: silent */
    size_t reply_len;
    uint32_t delay_ms;
} fake_uart_step_t;

typedef struct fake_uart fake_uart_t;

/* Called with a complete command line (raw == false, without CR) or with the
 * raw bytes asked for by fake_uart_want_raw (raw == true). */
typedef void (*fake_uart_responder_t)(fake_uart_t *f, void *arg, const uint8_t *data, size_t len,
                                      bool raw);

struct fake_uart {
    uint32_t now;      /* fake clock: set it before each quectel_poll */
    unsigned frag_min; /* read fragment sizes (default 1..8) */
    unsigned frag_max;
    uint32_t seed;
    size_t write_max;  /* bytes accepted per write call; 0 = all */
    int read_error;    /* != 0: the next read returns it (once) */
    int write_error;   /* != 0: the next write returns it (once) */
    bool lenient;      /* bytes after the end of the script are ignored, not errors */

    fake_uart_step_t steps[FAKE_UART_MAX_STEPS];
    size_t nsteps;
    size_t cur;
    bool reply_pending;
    uint32_t reply_due;

    uint8_t rx[FAKE_UART_RX]; /* queued for the driver */
    size_t rx_len;
    size_t rx_pos;
    uint64_t rx_total;

    char log[FAKE_UART_LOG]; /* everything written by the driver */
    size_t log_len;
    uint8_t pend[FAKE_UART_PEND]; /* written, not yet matched */
    size_t pend_len;

    fake_uart_responder_t responder;
    void *resp_arg;
    size_t raw_need;

    int reads;
    int writes;
    int errors;
    char err[1024];
};

void fake_uart_init(fake_uart_t *f);
quectel_uart_t fake_uart_port(fake_uart_t *f);

/* Script steps (strings must outlive the fake). reply may be NULL. */
void fake_uart_expect(fake_uart_t *f, const char *cmd, const char *reply);
void fake_uart_expect_d(fake_uart_t *f, const char *cmd, const char *reply, uint32_t delay_ms);
void fake_uart_expect_n(fake_uart_t *f, const void *cmd, size_t cmd_len, const void *reply,
                        size_t reply_len, uint32_t delay_ms);
void fake_uart_urc(fake_uart_t *f, const char *reply, uint32_t delay_ms);
void fake_uart_urc_n(fake_uart_t *f, const void *reply, size_t len, uint32_t delay_ms);

/* Queue bytes for the driver now (outside the script). */
void fake_uart_inject(fake_uart_t *f, const void *data, size_t len);
void fake_uart_reply(fake_uart_t *f, const char *s);

/* Responder mode. */
void fake_uart_set_responder(fake_uart_t *f, fake_uart_responder_t fn, void *arg);
void fake_uart_want_raw(fake_uart_t *f, size_t n);

/* Move the fake clock (queues due replies). */
void fake_uart_set_time(fake_uart_t *f, uint32_t now);

/* All steps consumed and nothing left to deliver. */
bool fake_uart_done(const fake_uart_t *f);
/* Bytes queued for the driver and not read yet (due replies included). */
size_t fake_uart_pending(const fake_uart_t *f);
/* Number of times `s` occurs in the log. */
int fake_uart_sent(const fake_uart_t *f, const char *s);
/* Forget the log. */
void fake_uart_clear_log(fake_uart_t *f);

/* ---- control pins ---- */

#define FAKE_PIN_PWRKEY 1
#define FAKE_PIN_RESET 2
#define FAKE_PIN_EINT 3
#define FAKE_GPIO_MAX 64

typedef struct {
    int pin;
    bool level;
    uint32_t at;
} fake_pin_event_t;

typedef struct {
    const uint32_t *clock; /* time stamps (may be NULL) */
    fake_pin_event_t ev[FAKE_GPIO_MAX];
    int n;
    bool level[4];
} fake_gpio_t;

/* Fill a quectel_gpio_t with the pins wanted (others NULL). */
quectel_gpio_t fake_gpio_port(fake_gpio_t *g, const uint32_t *clock, bool pwrkey, bool reset,
                              bool eint);


/* ---- an emulated module over a broker --------------------------------------
 * A responder that plays a BG95 (buffered receive, QMTPUBEX with a length and
 * the '>' prompt) or a BC660K (hex data format, inline hex publish, pushed
 * +QMTRECV with length) and bridges its MQTT client to `backend` (e.g. the
 * fake ThingsBoard transport of fake_tb.h), the way the POSIX simulator
 * bridges to mosquitto. Call fake_module_poll() from the test loop. */

#include "cellota/ota_port.h"

#define FAKE_MODULE_PAY 2100

typedef struct {
    bool used;
    int msgid;
    char topic[128];
    uint8_t pay[FAKE_MODULE_PAY];
    size_t len;
} fake_module_msg_t;

typedef struct {
    fake_uart_t *fu;
    ota_transport_t be;
    bool bc;        /* BC660K dialect */
    bool buffered;  /* recv/mode 1 set */
    bool hex;       /* dataformat 1,1 set */
    bool len_shown; /* recv length shown */
    bool connected;
    int lost_recv;  /* fault: drop this many +QMTRECV URCs */
    uint32_t now;
    char pub_topic[128];
    int pub_msgid;
    bool pub_ex;
    int next_msgid;
    fake_module_msg_t slot[5];
    /* what happened */
    int commands;
    int publishes;
    int subscribes;
    int reads;
    int errors; /* commands answered with ERROR */
} fake_module_t;

void fake_module_init(fake_module_t *m, fake_uart_t *fu, ota_transport_t backend, bool bc);
void fake_module_poll(fake_module_t *m, uint32_t now);

#endif /* CELLOTA_TESTS_FAKE_UART_H */
