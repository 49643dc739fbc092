/*
 * cellota-quectel-sim: a Quectel BG95-M2 or BC660K-GL module behind a
 * pseudo-terminal, for the simulated device and the integration tests.
 *
 * It answers the AT commands a driver sends over the module's main UART in
 * the formats of Quectel's manuals, as collected in the project's notes
 * (shared/reference/quectel-at.md): boot URCs, ATE/ATI/CMEE, IMEI, CFUN,
 * CEREG, CSQ, QSCLK and the MQTT command set (QMTCFG, QMTOPEN, QMTCONN,
 * QMTSUB/UNS, QMTPUB[EX], QMTRECV, QMTDISC, QMTCLOSE) with their two-phase
 * results and URCs. The module's MQTT client is bridged to a real broker
 * with libmosquitto: one connection per client id, to the host and port
 * given in AT+QMTOPEN.
 *
 * The slave side of the pseudo-terminal is the module's UART: its path is
 * printed on stdout as the first line ("pty /dev/pts/7") and optionally
 * linked from --pty-link. Control pins: SIGUSR1 = a PWRKEY cycle or a
 * RESET_N pulse (the module reboots: RDY again, volatile settings and MQTT
 * connections gone); SIGUSR2 = a PSM_EINT pulse (wakes the UART of a
 * sleeping BC660K). SIGTERM/SIGINT end the program cleanly.
 *
 * Sources: the BC660K MQTT application note V1.2 and AT manual V1.4
 * (formats of ATI, AT+CGMI, AT+CGSN, AT+QMTCFG queries without the option
 * name, the three AT+QMTPUB forms, data mode 500 ms after '>' and URCs lost
 * in data mode, +QMTRECV push), a real BC660K transcript (AT+QSCLK? = 1 after
 * boot, the first command after an idle period answered with "\r\n" only,
 * multi-line answers as "\r\nA\r\nB\r\n\r\nOK\r\n"), the BG96 MQTT application
 * note and the BG95 notes of the reference (recv/mode, AT+QMTRECV slots,
 * fixed-length AT+QMTPUB). Choices the sources leave open (UNVERIFIED):
 * - the BG95 texts of ATI/AT+CGMR and of AT+QMTCFG=?; its AT+QMTCFG queries
 *   repeat the option name ("+QMTCFG: "keepalive",120");
 * - the data prompt is "\r\n> " (a space after '>');
 * - BG95 AT+QMTPUBEX=? shows the inline form ("topic","msg");
 * - reading an empty slot with AT+QMTRECV answers just OK; a sixth buffered
 *   message waits unannounced until a slot is read;
 * - BG95 URCs that come during a data phase are held back until it ends;
 * - BC660K hex receive: <payload_len> counts payload bytes
 *   (--recvlen-hex-chars: hex characters);
 * - BC660K light sleep starts 2 s after the last UART byte (--sleep-after-ms);
 * - AT+CMEE after boot: 1 on the BG95, 0 on the BC660K;
 * - after +QMTDISC the client is closed (AT+QMTCLOSE then answers an error);
 *   after +QMTSTAT its buffered messages are gone.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <mosquitto.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 6
#define SLOTS 5
#define LINE_CAP 4096
#define HOST_CAP 101
#define STR_CAP 257
#define MAX_PEND 32
#define MAX_EVENTS 16
#define MAX_IGNORE 8
#define DATA_CAP 4096
#define DATA_TIMEOUT_MS 60000u
#define BC660K_PROMPT_GUARD_MS 500u
#define OPEN_TIMEOUT_MS 10000u
#define HUP_RETRY_MS 100
#define MAX_POLL_MS 50
#define OUT_BURST_US 4000u

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum {
    MODEL_BG95 = 0,
    MODEL_BC660K = 1
} model_t;

typedef struct {
    model_t model;
    const char *pty_link;
    const char *imei;
    long boot_ms;
    long slow_rdy_ms;
    long attach_ms;
    long sleep_after_ms;
    long byte_delay_us;
    bool one_byte;
    bool urc_between;
    long drop_recv;
    long qmtstat_after;
    bool garbage;
    const char *ignore[MAX_IGNORE];
    int n_ignore;
    bool urcport_usb;
    bool recvlen_chars;
    int csq;
    unsigned seed;
    bool quiet;
    bool verbose;
    bool exit_on_hangup;
    long latency_ms;
    long burst_ms;
} opts_t;

/* ------------------------------------------------------------------------ */
/* State                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct msg {
    struct msg *next;
    char *topic;
    uint8_t *payload;
    size_t len;
    int mid;
} msg_t;

typedef enum {
    CL_CLOSED,
    CL_OPENING,
    CL_OPENED,
    CL_CONNECTING,
    CL_CONNECTED,
    CL_DISCONNECTING
} cl_state_t;

typedef enum {
    P_SUB,
    P_UNS,
    P_PUB,
    P_PUBEX
} pend_kind_t;

typedef struct {
    bool used;
    pend_kind_t kind;
    int mid;
    int msgid;
    uint64_t deadline;
} pend_t;

/* AT+QMTCFG values of one client id (volatile: lost at every reboot). */
typedef struct {
    int version;
    int pdpcid;
    int ssl;
    int keepalive;
    int clean;
    int pkt_timeout;
    int retries;
    // cppcheck-suppress unusedStructMember ; set and shown through CFG_OPTS (offsetof)
    int timeout_notice;
    int will_fg;
    int will_qos;
    int will_retain;
    char will_topic[STR_CAP];
    char will_msg[STR_CAP];
    int recv_mode;   /* BG95 "recv/mode": 1 = buffered in slots */
    int recv_len;    /* BG95 "recv/mode" msg_len_enable */
    int send_hex;    /* BC660K "dataformat" */
    int recv_hex;    /* BC660K "dataformat" */
    int showrecvlen; /* BC660K */
    int echomode;    /* BC660K */
} mcfg_t;

typedef struct {
    int id;
    cl_state_t state;
    mcfg_t cfg;
    char host[HOST_CAP];
    int port;
    int probe_fd;
    uint64_t open_deadline;
    struct mosquitto *m;
    bool kill; /* destroy the libmosquitto object from the main loop */
    uint64_t conn_deadline;
    pend_t pend[MAX_PEND];
    msg_t *slot[SLOTS];
    msg_t *backlog;
} client_t;

/* Something from the network side, held back by --latency-ms. */
typedef enum {
    NET_TEXT,
    NET_MSG,
    NET_LOST
} net_kind_t;

typedef struct net_ev {
    struct net_ev *next;
    net_kind_t kind;
    uint64_t due;
    client_t *c;
    msg_t *msg;
    int code;
    char text[96];
} net_ev_t;

typedef enum {
    IN_CMD,
    IN_DATA
} in_state_t;

typedef enum {
    EV_NONE,
    EV_RDY,
    EV_BOOT_URCS,
    EV_APP_RDY,
    EV_ATTACH,
    EV_GARBAGE,
    EV_REBOOT
} ev_kind_t;

typedef struct {
    ev_kind_t kind;
    uint64_t at;
} event_t;

/* A publish waiting for its data after the '>' prompt. */
typedef struct {
    client_t *c;
    int msgid;
    int qos;
    int retain;
    bool pubex;
    char topic[STR_CAP];
    long expect; /* -1: until Ctrl-Z */
    size_t got;
    uint8_t buf[DATA_CAP];
    uint64_t prompt_at;
    size_t lost;
} data_t;

typedef struct {
    opts_t o;
    int master;
    char slave[128];
    /* power and boot */
    bool powered; /* false while switched off or booting */
    bool booted;
    uint32_t boots;
    /* volatile module settings */
    bool echo;
    int cmee;
    int cereg_n;
    int qsclk;
    int cfun;
    bool urc_uart; /* BG95 AT+QURCCFG="urcport" (kept across reboots) */
    /* network */
    int reg; /* 3GPP stat */
    /* UART input */
    in_state_t in;
    char line[LINE_CAP + 1];
    size_t line_len;
    bool line_overflow;
    data_t data;
    uint8_t *deferred;
    size_t deferred_len;
    size_t deferred_cap;
    bool asleep;
    bool lose_line;
    uint64_t last_activity;
    /* UART output */
    uint8_t *out;
    size_t out_len;
    size_t out_head;
    size_t out_cap;
    uint64_t next_byte_us;
    uint64_t next_burst;
    bool hup;
    uint64_t hup_retry;
    bool had_peer;
    bool reboot_when_drained;
    bool in_resp; /* an information response of the current command is open */
    /* MQTT */
    client_t cl[MAX_CLIENTS];
    net_ev_t *net_head;
    net_ev_t *net_tail;
    /* events */
    event_t ev[MAX_EVENTS];
    /* fault injection bookkeeping */
    long received;
    bool qmtstat_done;
    bool ignore_used[MAX_IGNORE];
    uint32_t rnd;
} sim_t;

static sim_t g;
static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_pwr;
static volatile sig_atomic_t g_eint;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static uint64_t now_us(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_ms(void)
{
    return now_us() / 1000u;
}

static bool is_bg95(void)
{
    return g.o.model == MODEL_BG95;
}

static int max_clients(void)
{
    return is_bg95() ? 6 : 5;
}

static uint32_t rnd(void)
{
    g.rnd = g.rnd * 1664525u + 1013904223u;
    return g.rnd >> 8;
}

static void logf_(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void logf_(const char *fmt, ...)
{
    va_list ap;
    if (g.o.quiet) {
        return;
    }
    static uint64_t t0;
    uint64_t t = now_ms();
    if (t0 == 0u) {
        t0 = t;
    }
    (void)fprintf(stderr, "quectel-sim: %4u.%03u ", (unsigned)((t - t0) / 1000u),
                  (unsigned)((t - t0) % 1000u));
    va_start(ap, fmt);
    (void)vfprintf(stderr, fmt, ap);
    va_end(ap);
    (void)fputc('\n', stderr);
}

/* A printable copy of up to 120 bytes, for the log. */
static const char *shown(const uint8_t *p, size_t n)
{
    static char buf[512];
    size_t o = 0u;
    for (size_t i = 0u; i < n && o + 8u < sizeof(buf); i++) {
        if (i == 120u) {
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "...(%zu bytes)", n);
            break;
        }
        unsigned char ch = p[i];
        if (ch >= 0x20u && ch < 0x7Fu) {
            buf[o++] = (char)ch;
        } else if (ch == '\r') {
            buf[o++] = '\\';
            buf[o++] = 'r';
        } else if (ch == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else {
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", (unsigned)ch);
        }
    }
    buf[o] = '\0';
    return buf;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n == 0u ? 1u : n);
    if (p == NULL) {
        (void)fputs("quectel-sim: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

static void ev_add(ev_kind_t kind, uint64_t at)
{
    for (int i = 0; i < MAX_EVENTS; i++) {
        if (g.ev[i].kind == EV_NONE) {
            g.ev[i].kind = kind;
            g.ev[i].at = at;
            return;
        }
    }
    logf_("event table full (kind %d dropped)", (int)kind);
}

static void ev_clear_all(void)
{
    for (int i = 0; i < MAX_EVENTS; i++) {
        if (g.ev[i].kind != EV_GARBAGE) {
            g.ev[i].kind = EV_NONE;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* UART output                                                              */
/* ------------------------------------------------------------------------ */

static void out_put_to(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n > *cap) {
        size_t nc = (*cap == 0u) ? 65536u : *cap;
        while (nc < *len + n) {
            nc *= 2u;
        }
        uint8_t *nb = realloc(*buf, nc);
        if (nb == NULL) {
            (void)fputs("quectel-sim: out of memory\n", stderr);
            exit(1);
        }
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
}

static void out_put(const void *p, size_t n)
{
    if (!g.powered && !g.booted) {
        return;
    }
    if (g.out_head == g.out_len) {
        g.out_head = 0u;
        g.out_len = 0u;
    }
    out_put_to(&g.out, &g.out_len, &g.out_cap, p, n);
}

static bool out_pending(void)
{
    return g.out_head < g.out_len;
}

static void out_lines(const char *text)
{
    size_t n = strlen(text);
    out_put("\r\n", 2u);
    out_put(text, n);
    out_put("\r\n", 2u);
}

/* Information response lines: "\r\n<line1>\r\n<line2>\r\n" (as the real
 * BC660K transcript shows for ATI and AT+QENG), then the final result. */
static void resp_open(void)
{
    if (!g.in_resp) {
        out_put("\r\n", 2u);
        g.in_resp = true;
    }
}

static void resp(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void resp(const char *fmt, ...)
{
    char buf[LINE_CAP];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    resp_open();
    out_put(buf, strlen(buf));
    out_put("\r\n", 2u);
    logf_("-> %s", buf);
}

static void final(const char *text)
{
    g.in_resp = false;
    out_lines(text);
    logf_("-> %s", text);
}

static void ok(void)
{
    final("OK");
}

static void error_plain(void)
{
    final("ERROR");
}

/* A command failed: ERROR or +CME ERROR: <code>, after AT+CMEE. */
static void cme(int code)
{
    if (g.cmee == 0) {
        error_plain();
        return;
    }
    char text[64];
    if (g.cmee == 2) {
        (void)snprintf(text, sizeof(text), "+CME ERROR: %s",
                       code == 3 ? "operation not allowed" : "incorrect parameters");
    } else {
        (void)snprintf(text, sizeof(text), "+CME ERROR: %d", code);
    }
    final(text);
}

/* Parameter error / state error codes of each dialect (BC660K MQTT AN table 2). */
static void err_param(bool mqtt)
{
    cme((mqtt && !is_bg95()) ? 8507 : 50);
}

static void err_state(bool mqtt)
{
    cme((mqtt && !is_bg95()) ? 8503 : 3);
}

/* A URC: where it goes depends on the URC port (BG95) and on data mode. */
static void urc_bytes(const uint8_t *p, size_t n, const char *what)
{
    if (!g.booted) {
        return;
    }
    if (!g.urc_uart) {
        logf_("URC not sent to the UART (URC port is USB): %s", what);
        return;
    }
    if (g.in == IN_DATA) {
        if (!is_bg95()) {
            logf_("URC lost in data mode (BC660K manual): %s", what);
            return;
        }
        out_put_to(&g.deferred, &g.deferred_len, &g.deferred_cap, p, n);
        return;
    }
    g.in_resp = false;
    out_put(p, n);
    logf_("-> %s", what);
}

static void urc(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void urc(const char *fmt, ...)
{
    char buf[LINE_CAP];
    char framed[LINE_CAP + 4];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    int n = snprintf(framed, sizeof(framed), "\r\n%s\r\n", buf);
    urc_bytes((const uint8_t *)framed, (size_t)n, buf);
}

static void deferred_flush(void)
{
    if (g.deferred_len == 0u) {
        return;
    }
    out_put(g.deferred, g.deferred_len);
    logf_("-> (%zu bytes of URCs held back during data mode)", g.deferred_len);
    free(g.deferred);
    g.deferred = NULL;
    g.deferred_len = 0u;
    g.deferred_cap = 0u;
}

/* Write what is due to the master side, paced by the delivery switches. */
static void out_flush(void)
{
    if (g.hup || !out_pending()) {
        return;
    }
    if (g.o.burst_ms > 0) {
        uint64_t t = now_ms();
        if (t < g.next_burst) {
            return; /* everything written meanwhile goes out together */
        }
        g.next_burst = t + (uint64_t)g.o.burst_ms;
    }
    bool paced = g.o.one_byte || g.o.byte_delay_us > 0;
    if (!paced) {
        ssize_t w = write(g.master, g.out + g.out_head, g.out_len - g.out_head);
        if (w > 0) {
            g.out_head += (size_t)w;
            g.last_activity = now_ms();
        }
        return;
    }
    uint64_t start = now_us();
    while (out_pending()) {
        uint64_t t = now_us();
        if (t < g.next_byte_us) {
            if (g.next_byte_us - t > 200u || t - start > OUT_BURST_US) {
                return; /* come back from poll() */
            }
            continue;
        }
        if (t - start > OUT_BURST_US) {
            return;
        }
        size_t n = g.o.one_byte ? 1u : g.out_len - g.out_head;
        if (!g.o.one_byte && g.o.byte_delay_us > 0) {
            n = 1u;
        }
        ssize_t w = write(g.master, g.out + g.out_head, n);
        if (w <= 0) {
            return;
        }
        g.out_head += (size_t)w;
        g.next_byte_us = now_us() + (uint64_t)g.o.byte_delay_us;
        g.last_activity = now_ms();
    }
}

/* ------------------------------------------------------------------------ */
/* Messages and MQTT clients                                                */
/* ------------------------------------------------------------------------ */

static void msg_free(msg_t *m)
{
    if (m == NULL) {
        return;
    }
    free(m->topic);
    free(m->payload);
    free(m);
}

static void cfg_defaults(mcfg_t *c)
{
    memset(c, 0, sizeof(*c));
    c->version = is_bg95() ? 4 : 1;
    c->pdpcid = 1;
    c->keepalive = 120;
    c->clean = 1;
    c->pkt_timeout = is_bg95() ? 5 : 30;
    c->retries = is_bg95() ? 3 : 0;
}

static void client_drop_messages(client_t *c)
{
    for (int s = 0; s < SLOTS; s++) {
        msg_free(c->slot[s]);
        c->slot[s] = NULL;
    }
    while (c->backlog != NULL) {
        msg_t *n = c->backlog->next;
        msg_free(c->backlog);
        c->backlog = n;
    }
}

/* Close everything of a client at once (no URC). */
static void client_reset(client_t *c)
{
    if (c->probe_fd >= 0) {
        (void)close(c->probe_fd);
        c->probe_fd = -1;
    }
    if (c->m != NULL) {
        c->kill = true;
    }
    c->state = CL_CLOSED;
    memset(c->pend, 0, sizeof(c->pend));
    client_drop_messages(c);
}

static void client_reap(client_t *c)
{
    if (c->kill && c->m != NULL) {
        mosquitto_destroy(c->m);
        c->m = NULL;
    }
    c->kill = false;
}

static pend_t *pend_new(client_t *c, pend_kind_t kind, int msgid)
{
    for (int i = 0; i < MAX_PEND; i++) {
        if (!c->pend[i].used) {
            pend_t *p = &c->pend[i];
            memset(p, 0, sizeof(*p));
            p->used = true;
            p->kind = kind;
            p->msgid = msgid;
            p->mid = -1;
            p->deadline =
                now_ms() + (uint64_t)c->cfg.pkt_timeout * 1000u * (uint64_t)(c->cfg.retries + 1);
            return p;
        }
    }
    return NULL;
}

static pend_t *pend_find(client_t *c, int mid, pend_kind_t k1, pend_kind_t k2)
{
    for (int i = 0; i < MAX_PEND; i++) {
        pend_t *p = &c->pend[i];
        if (p->used && p->mid == mid && (p->kind == k1 || p->kind == k2)) {
            return p;
        }
    }
    return NULL;
}

static const char *pend_name(pend_kind_t k)
{
    switch (k) {
    case P_SUB:
        return "+QMTSUB";
    case P_UNS:
        return "+QMTUNS";
    case P_PUBEX:
        return "+QMTPUBEX";
    case P_PUB:
    default:
        return "+QMTPUB";
    }
}

/* Lost link: +QMTSTAT and the client is closed (BC660K MQTT AN 5.1). */
static void client_lost(client_t *c, int code)
{
    urc("+QMTSTAT: %d,%d", c->id, code);
    client_reset(c);
}

/* -- the network side, with its latency ------------------------------------- */

static void deliver(client_t *c, msg_t *m);

static net_ev_t *net_new(net_kind_t kind, client_t *c)
{
    net_ev_t *e = xmalloc(sizeof(*e));
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->c = c;
    e->due = now_ms() + (uint64_t)g.o.latency_ms;
    if (g.net_tail != NULL) {
        g.net_tail->next = e;
    } else {
        g.net_head = e;
    }
    g.net_tail = e;
    return e;
}

/* An asynchronous result that comes from the broker: after the latency. */
static void net_urc(client_t *c, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void net_urc(client_t *c, const char *fmt, ...)
{
    char buf[96];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (g.o.latency_ms <= 0) {
        urc("%s", buf);
        return;
    }
    net_ev_t *e = net_new(NET_TEXT, c);
    memcpy(e->text, buf, sizeof(buf));
}

static void net_msg(client_t *c, msg_t *m)
{
    if (g.o.latency_ms <= 0) {
        deliver(c, m);
        return;
    }
    net_new(NET_MSG, c)->msg = m;
}

/* The broker connection is gone: +QMTSTAT once everything before it arrived. */
static void net_lost(client_t *c, int code)
{
    if (g.o.latency_ms <= 0) {
        client_lost(c, code);
        return;
    }
    net_new(NET_LOST, c)->code = code;
}

static void net_run(uint64_t t)
{
    while (g.net_head != NULL && g.net_head->due <= t) {
        net_ev_t *e = g.net_head;
        g.net_head = e->next;
        if (g.net_head == NULL) {
            g.net_tail = NULL;
        }
        if (e->kind == NET_TEXT) {
            urc("%s", e->text);
        } else if (e->kind == NET_MSG && e->c->state == CL_CONNECTED) {
            deliver(e->c, e->msg);
            e->msg = NULL;
        } else if (e->kind == NET_LOST && e->c->state != CL_CLOSED) {
            client_lost(e->c, e->code);
        }
        msg_free(e->msg);
        free(e);
    }
}

/* Power cycle: what was on its way is gone. */
static void net_clear(void)
{
    while (g.net_head != NULL) {
        net_ev_t *e = g.net_head;
        g.net_head = e->next;
        msg_free(e->msg);
        free(e);
    }
    g.net_tail = NULL;
}

/* -- incoming messages ------------------------------------------------------ */

static const char HEXD[] = "0123456789ABCDEF";

/* "+QMTRECV: id,msgid,"topic"[,len],"payload"" with payload as raw bytes or hex. */
static void recv_line(client_t *c, const msg_t *m, bool show_len, bool hex, bool as_urc)
{
    size_t plen = hex ? m->len * 2u : m->len;
    size_t cap = strlen(m->topic) + plen + 96u;
    uint8_t *buf = xmalloc(cap);
    bool framed = as_urc || !g.in_resp;
    int h = snprintf((char *)buf, cap, "%s+QMTRECV: %d,%d,\"%s\"", framed ? "\r\n" : "", c->id,
                     m->mid, m->topic);
    size_t n = (size_t)h;
    size_t shown_len = (hex && !g.o.recvlen_chars) ? m->len : plen;
    char lenf[24] = "";
    if (show_len) {
        (void)snprintf(lenf, sizeof(lenf), ",%zu", shown_len);
        n += (size_t)snprintf((char *)buf + n, cap - n, "%s", lenf);
    }
    buf[n++] = ',';
    buf[n++] = '"';
    for (size_t i = 0u; i < m->len; i++) {
        if (hex) {
            buf[n++] = (uint8_t)HEXD[m->payload[i] >> 4];
            buf[n++] = (uint8_t)HEXD[m->payload[i] & 0x0Fu];
        } else {
            buf[n++] = m->payload[i];
        }
    }
    buf[n++] = '"';
    buf[n++] = '\r';
    buf[n++] = '\n';
    char what[STR_CAP + 96];
    (void)snprintf(what, sizeof(what), "+QMTRECV: %d,%d,\"%s\"%s,\"<%zu %s>\"", c->id, m->mid,
                   m->topic, lenf, m->len, hex ? "bytes as hex" : "raw bytes");
    if (as_urc) {
        urc_bytes(buf, n, what);
    } else {
        out_put(buf, n);
        g.in_resp = true;
        logf_("-> %s", what);
    }
    free(buf);
}

/* BG95 buffered mode: move backlog messages into free slots and announce them. */
static void slots_fill(client_t *c)
{
    for (int s = 0; s < SLOTS && c->backlog != NULL; s++) {
        if (c->slot[s] != NULL) {
            continue;
        }
        msg_t *m = c->backlog;
        c->backlog = m->next;
        m->next = NULL;
        c->slot[s] = m;
        urc("+QMTRECV: %d,%d", c->id, s);
    }
    if (c->backlog != NULL) {
        logf_("all %d receive slots of client %d are full: holding further messages back", SLOTS,
              c->id);
    }
}

static void deliver(client_t *c, msg_t *m)
{
    if (is_bg95() && c->cfg.recv_mode == 1) {
        msg_t **tail = &c->backlog;
        while (*tail != NULL) {
            tail = &(*tail)->next;
        }
        *tail = m;
        slots_fill(c);
        return;
    }
    bool show = is_bg95() ? c->cfg.recv_len != 0 : c->cfg.showrecvlen != 0;
    bool hex = !is_bg95() && c->cfg.recv_hex != 0;
    recv_line(c, m, show, hex, true);
    msg_free(m);
}

/* -- libmosquitto callbacks ------------------------------------------------- */

static client_t *cb_client(void *obj, const struct mosquitto *m)
{
    client_t *c = obj;
    if (c == NULL || c->m != m || c->kill) {
        return NULL;
    }
    return c;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    client_t *c = cb_client(obj, m);
    if (c == NULL || c->state != CL_CONNECTING) {
        return;
    }
    if (rc == 0) {
        c->state = CL_CONNECTED;
        net_urc(c, "+QMTCONN: %d,0,0", c->id);
        return;
    }
    net_urc(c, "+QMTCONN: %d,0,%d", c->id, rc);
    client_reset(c);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    client_t *c = cb_client(obj, m);
    if (c == NULL || c->state == CL_CLOSED) {
        return;
    }
    if (c->state == CL_DISCONNECTING) {
        net_urc(c, "+QMTDISC: %d,0", c->id);
        client_reset(c);
        return;
    }
    if (c->state == CL_CONNECTING) {
        net_urc(c, "+QMTCONN: %d,2", c->id);
        client_reset(c);
        return;
    }
    net_lost(c, rc == MOSQ_ERR_KEEPALIVE ? 2 : 1);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
    client_t *c = cb_client(obj, m);
    if (c == NULL) {
        return;
    }
    pend_t *p = pend_find(c, mid, P_SUB, P_SUB);
    if (p == NULL) {
        return;
    }
    char vals[128];
    size_t o = 0u;
    vals[0] = '\0';
    for (int i = 0; i < n && o + 8u < sizeof(vals); i++) {
        o += (size_t)snprintf(vals + o, sizeof(vals) - o, ",%d", granted[i] > 2 ? 128 : granted[i]);
    }
    net_urc(c, "+QMTSUB: %d,%d,0%s", c->id, p->msgid, vals);
    p->used = false;
}

static void on_unsubscribe(struct mosquitto *m, void *obj, int mid)
{
    client_t *c = cb_client(obj, m);
    pend_t *p = (c != NULL) ? pend_find(c, mid, P_UNS, P_UNS) : NULL;
    if (p == NULL) {
        return;
    }
    net_urc(c, "+QMTUNS: %d,%d,0", c->id, p->msgid);
    p->used = false;
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    client_t *c = cb_client(obj, m);
    pend_t *p = (c != NULL) ? pend_find(c, mid, P_PUB, P_PUBEX) : NULL;
    if (p == NULL) {
        return;
    }
    net_urc(c, "%s: %d,%d,0", pend_name(p->kind), c->id, p->msgid);
    p->used = false;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *mm)
{
    client_t *c = cb_client(obj, m);
    if (c == NULL || c->state != CL_CONNECTED || mm->topic == NULL || mm->payloadlen < 0) {
        return;
    }
    g.received++;
    if (g.o.drop_recv > 0 && g.received % g.o.drop_recv == 0) {
        logf_("fault: message %ld on \"%s\" (%d bytes) dropped on purpose (--drop-recv %ld)",
              g.received, mm->topic, mm->payloadlen, g.o.drop_recv);
        return;
    }
    msg_t *msg = xmalloc(sizeof(*msg));
    memset(msg, 0, sizeof(*msg));
    msg->topic = strdup(mm->topic);
    msg->len = (size_t)mm->payloadlen;
    msg->payload = xmalloc(msg->len);
    if (msg->len != 0u) {
        memcpy(msg->payload, mm->payload, msg->len);
    }
    msg->mid = mm->qos > 0 ? mm->mid : 0;
    if (msg->topic == NULL) {
        msg_free(msg);
        return;
    }
    net_msg(c, msg);
    if (g.o.qmtstat_after > 0 && !g.qmtstat_done && g.received >= g.o.qmtstat_after) {
        g.qmtstat_done = true;
        logf_(
            "fault: dropping the MQTT connection of client %d after %ld messages (--qmtstat-after)",
            c->id, g.received);
        net_lost(c, 1);
    }
}

/* Timeouts of connects and pending packets (result 2 = failed to send). */
static void clients_timeouts(uint64_t t)
{
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client_t *c = &g.cl[i];
        if (c->state == CL_CONNECTING && t >= c->conn_deadline) {
            urc("+QMTCONN: %d,2", c->id);
            client_reset(c);
            continue;
        }
        for (int k = 0; k < MAX_PEND; k++) {
            pend_t *p = &c->pend[k];
            if (p->used && t >= p->deadline) {
                urc("%s: %d,%d,2", pend_name(p->kind), c->id, p->msgid);
                p->used = false;
            }
        }
    }
}

/* -- the TCP connection of AT+QMTOPEN ------------------------------------------ */

static int tcp_start(const char *host, int port, int *fd_out)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    char ps[16];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    (void)snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || res == NULL) {
        return 4; /* failed to parse the domain name */
    }
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd < 0) {
        freeaddrinfo(res);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL, 0);
    (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0 && errno != EINPROGRESS) {
        (void)close(fd);
        return -1;
    }
    *fd_out = fd;
    return 0;
}

static void probe_event(client_t *c, short revents)
{
    if (c->state == CL_OPENING) {
        int err = 0;
        socklen_t len = sizeof(err);
        if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) {
            return;
        }
        (void)getsockopt(c->probe_fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (revents & (POLLERR | POLLHUP)) != 0) {
            logf_("client %d: TCP connect to %s:%d failed: %s", c->id, c->host, c->port,
                  strerror(err));
            net_urc(c, "+QMTOPEN: %d,-1", c->id);
            client_reset(c);
            return;
        }
        c->state = CL_OPENED;
        net_urc(c, "+QMTOPEN: %d,0", c->id);
        return;
    }
    if (c->state == CL_OPENED && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char tmp[64];
        ssize_t r = read(c->probe_fd, tmp, sizeof(tmp));
        if (r <= 0) {
            logf_("client %d: the broker closed the TCP connection before AT+QMTCONN", c->id);
            (void)close(c->probe_fd);
            c->probe_fd = -1;
            net_lost(c, 1);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Power, boot, network                                                     */
/* ------------------------------------------------------------------------ */

static void volatile_defaults(void)
{
    g.echo = true;
    g.cmee = is_bg95() ? 1 : 0;
    g.cereg_n = 0;
    g.qsclk = is_bg95() ? 0 : 1;
    g.cfun = 1;
    g.reg = 0;
    g.in = IN_CMD;
    g.line_len = 0u;
    g.line_overflow = false;
    g.asleep = false;
    g.lose_line = false;
    free(g.deferred);
    g.deferred = NULL;
    g.deferred_len = 0u;
    g.deferred_cap = 0u;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client_reset(&g.cl[i]);
        cfg_defaults(&g.cl[i].cfg);
    }
}

/* Switch the module off (pending output is lost) and start a boot. */
static void power_cycle(const char *why)
{
    logf_("power cycle (%s): the module restarts", why);
    g.powered = false;
    g.booted = false;
    g.out_head = g.out_len = 0u;
    ev_clear_all();
    net_clear();
    volatile_defaults();
    uint64_t t = now_ms();
    ev_add(EV_RDY, t + (uint64_t)g.o.boot_ms + (uint64_t)g.o.slow_rdy_ms);
}

static void power_off(void)
{
    logf_("module switched off (AT+QPOWD); a PWRKEY cycle (SIGUSR1) switches it on again");
    g.powered = false;
    g.booted = false;
    ev_clear_all();
    volatile_defaults();
}

static void set_reg(int stat)
{
    if (stat == g.reg) {
        return;
    }
    g.reg = stat;
    if (g.cereg_n == 0) {
        return;
    }
    if (g.cereg_n >= 2 && (stat == 1 || stat == 5)) {
        if (g.cereg_n >= 4) {
            urc("+CEREG: %d,\"0001\",\"0000ABCD\",%d,,,\"00100011\",\"00101010\"", stat,
                is_bg95() ? 7 : 9);
        } else {
            urc("+CEREG: %d,\"0001\",\"0000ABCD\",%d", stat, is_bg95() ? 7 : 9);
        }
        return;
    }
    urc("+CEREG: %d", stat);
}

static bool registered(void)
{
    return g.reg == 1 || g.reg == 5;
}

static void network_start(void)
{
    if (g.cfun != 1) {
        return;
    }
    set_reg(2);
    ev_add(EV_ATTACH, now_ms() + (uint64_t)g.o.attach_ms);
}

static void network_stop(void)
{
    set_reg(0);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (g.cl[i].state != CL_CLOSED) {
            client_lost(&g.cl[i], 1);
        }
    }
}

static void event_run(ev_kind_t k)
{
    switch (k) {
    case EV_RDY:
        g.powered = true;
        g.booted = true;
        g.boots++;
        g.last_activity = now_ms();
        urc("RDY");
        if (is_bg95()) {
            ev_add(EV_BOOT_URCS, now_ms() + 30u);
            ev_add(EV_APP_RDY, now_ms() + 80u);
        }
        network_start();
        break;
    case EV_BOOT_URCS:
        urc("+CFUN: 1");
        urc("+CPIN: READY");
        urc("+QUSIM: 1");
        urc("+QIND: SMS DONE");
        break;
    case EV_APP_RDY:
        urc("APP RDY");
        break;
    case EV_ATTACH:
        if (g.cfun == 1 && g.booted) {
            set_reg(1);
            if (!is_bg95()) {
                urc("+IP: 10.0.0.7");
            }
        }
        break;
    case EV_GARBAGE: {
        static const char *const junk[] = {
            "\r\n+QIND: \"csq\",24,99\r\n",
            "\r\n\x01\xfe\x7f noise \x80\x81\r\n",
            "\r\n\r\n",
            "\n",
            "\r\n+QXYZ: 1,\"unexpected\"\r\n",
            "\r\nRING?\r\n",
            "\r\n\xff\xff\xff\r\n",
        };
        if (g.booted && g.in == IN_CMD) {
            uint32_t pick = rnd() % 9u;
            if (pick < 7u) {
                out_put(junk[pick], strlen(junk[pick]));
                logf_("fault: garbage line %s",
                      shown((const uint8_t *)junk[pick], strlen(junk[pick])));
            } else {
                char big[700];
                memset(big, 'Z', sizeof(big));
                big[0] = '\r';
                big[1] = '\n';
                big[sizeof(big) - 2u] = '\r';
                big[sizeof(big) - 1u] = '\n';
                out_put(big, sizeof(big));
                logf_("fault: garbage line of %zu bytes", sizeof(big) - 4u);
            }
        }
        ev_add(EV_GARBAGE, now_ms() + 300u + rnd() % 1200u);
        break;
    }
    case EV_REBOOT:
        g.reboot_when_drained = true;
        break;
    case EV_NONE:
    default:
        break;
    }
}

static void events_run(uint64_t t)
{
    for (int i = 0; i < MAX_EVENTS; i++) {
        if (g.ev[i].kind != EV_NONE && t >= g.ev[i].at) {
            ev_kind_t k = g.ev[i].kind;
            g.ev[i].kind = EV_NONE;
            event_run(k);
        }
    }
}

static uint64_t events_next(void)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < MAX_EVENTS; i++) {
        if (g.ev[i].kind != EV_NONE && g.ev[i].at < best) {
            best = g.ev[i].at;
        }
    }
    return best;
}

/* ------------------------------------------------------------------------ */
/* Parameter parsing                                                        */
/* ------------------------------------------------------------------------ */

static void skip_sp(const char **s)
{
    while (**s == ' ') {
        (*s)++;
    }
}

static bool p_int(const char **s, long *out)
{
    char *end = NULL;
    skip_sp(s);
    if (!(isdigit((unsigned char)**s) || **s == '-')) {
        return false;
    }
    errno = 0;
    long v = strtol(*s, &end, 10);
    if (errno != 0 || end == *s) {
        return false;
    }
    *s = end;
    skip_sp(s);
    *out = v;
    return true;
}

/* A string parameter: "quoted" (no escapes) or bare up to the next comma. */
static bool p_str(const char **s, char *buf, size_t cap)
{
    size_t n = 0u;
    skip_sp(s);
    if (**s == '"') {
        const char *e = strchr(*s + 1, '"');
        if (e == NULL) {
            return false;
        }
        n = (size_t)(e - (*s + 1));
        if (n >= cap) {
            return false;
        }
        memcpy(buf, *s + 1, n);
        buf[n] = '\0';
        *s = e + 1;
        skip_sp(s);
        return true;
    }
    while ((*s)[n] != '\0' && (*s)[n] != ',') {
        n++;
    }
    if (n >= cap) {
        return false;
    }
    memcpy(buf, *s, n);
    buf[n] = '\0';
    *s += n;
    return true;
}

static bool p_comma(const char **s)
{
    skip_sp(s);
    if (**s != ',') {
        return false;
    }
    (*s)++;
    return true;
}

static bool p_end(const char **s)
{
    skip_sp(s);
    return **s == '\0';
}

/* The client id of an MQTT command, checked against the model's range. */
static client_t *p_client(const char **s)
{
    long id = -1;
    if (!p_int(s, &id) || id < 0 || id >= max_clients()) {
        return NULL;
    }
    return &g.cl[id];
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                 */
/* ------------------------------------------------------------------------ */

typedef enum {
    K_EXEC,
    K_SET,
    K_READ,
    K_TEST
} kind_t;

typedef void (*handler_t)(kind_t k, const char *a);

static void cmd_cmee(kind_t k, const char *a)
{
    long n = 0;
    if (k == K_READ) {
        resp("+CMEE: %d", g.cmee);
    } else if (k == K_TEST) {
        resp("+CMEE: (0-2)");
    } else if (k == K_SET && p_int(&a, &n) && p_end(&a) && n >= 0 && n <= 2) {
        g.cmee = (int)n;
    } else {
        err_param(false);
        return;
    }
    ok();
}

static void cmd_gsn(kind_t k, const char *a)
{
    (void)a;
    if (k == K_EXEC) {
        resp("%s", g.o.imei);
    }
    ok();
}

/* BG95: AT+CGSN is the IMEI (like AT+GSN). BC660K (AT manual 2.5): AT+CGSN and
 * AT+CGSN=0 give the serial number <SN>; only AT+CGSN=1 gives "+CGSN: <IMEI>". */
static void cmd_cgsn(kind_t k, const char *a)
{
    long n = 0;
    const char *sn = is_bg95() ? g.o.imei : "BC660KGL0A1B2C3D";
    if (k == K_EXEC) {
        resp("%s", sn);
    } else if (k == K_TEST) {
        resp("+CGSN: (0-3)");
    } else if (k == K_SET && p_int(&a, &n) && p_end(&a) && n >= 0 && n <= 3) {
        if (n == 1) {
            resp("+CGSN: %s", g.o.imei);
        } else if (n == 0) {
            resp("%s", sn);
        } else {
            resp("+CGSN: %s", n == 2 ? "8600000000000101" : "01");
        }
    } else {
        err_param(false);
        return;
    }
    ok();
}

static void cmd_text(const char *text)
{
    resp("%s", text);
    ok();
}

static void cmd_cgmi(kind_t k, const char *a)
{
    (void)a;
    if (k == K_TEST) {
        ok();
    } else if (is_bg95()) {
        cmd_text("Quectel");
    } else { /* BC660K AT manual 2.2 */
        resp("Quectel_Ltd");
        resp("Quectel_BC660K-GL");
        resp("Revision: QCX");
        ok();
    }
}

static void cmd_cgmm(kind_t k, const char *a)
{
    (void)k;
    (void)a;
    cmd_text(is_bg95() ? "BG95-M2" : "Quectel_BC660K-GL");
}

static void cmd_cgmr(kind_t k, const char *a)
{
    (void)k;
    (void)a;
    cmd_text(is_bg95() ? "BG95M2LAR02A03" : "Revision: BC660KGLAAR01A05");
}

static void cmd_cpin(kind_t k, const char *a)
{
    (void)a;
    if (k == K_READ) {
        resp("+CPIN: READY");
    }
    ok();
}

static void cmd_cimi(kind_t k, const char *a)
{
    (void)k;
    (void)a;
    cmd_text("001010000000001");
}

static void cmd_qccid(kind_t k, const char *a)
{
    (void)k;
    (void)a;
    cmd_text("+QCCID: 89000000000000000001");
}

static void cmd_cfun(kind_t k, const char *a)
{
    long fun = 0;
    long rst = 0;
    if (k == K_READ) {
        resp("+CFUN: %d", g.cfun);
        ok();
        return;
    }
    if (k == K_TEST) {
        resp("+CFUN: (0,1,4),(0,1)");
        ok();
        return;
    }
    if (k != K_SET || !p_int(&a, &fun) || (fun != 0 && fun != 1 && fun != 4) ||
        (p_comma(&a) && (!p_int(&a, &rst) || rst < 0 || rst > 1)) || !p_end(&a)) {
        err_param(false);
        return;
    }
    ok();
    if (rst == 1) {
        ev_add(EV_REBOOT, now_ms());
        return;
    }
    if ((int)fun == g.cfun) {
        return;
    }
    g.cfun = (int)fun;
    if (fun == 1) {
        network_start();
    } else {
        network_stop();
    }
}

static void cmd_cereg(kind_t k, const char *a)
{
    long n = 0;
    int act = is_bg95() ? 7 : 9;
    if (k == K_TEST) {
        resp("+CEREG: (0-5)");
    } else if (k == K_READ) {
        if (g.cereg_n >= 4 && registered()) {
            resp("+CEREG: %d,%d,\"0001\",\"0000ABCD\",%d,,,\"00100011\",\"00101010\"", g.cereg_n,
                 g.reg, act);
        } else if (g.cereg_n >= 2 && registered()) {
            resp("+CEREG: %d,%d,\"0001\",\"0000ABCD\",%d", g.cereg_n, g.reg, act);
        } else {
            resp("+CEREG: %d,%d", g.cereg_n, g.reg);
        }
    } else if (k == K_SET && p_int(&a, &n) && p_end(&a) && n >= 0 && n <= 5) {
        g.cereg_n = (int)n;
    } else {
        err_param(false);
        return;
    }
    ok();
}

static void cmd_cgreg(kind_t k, const char *a)
{
    (void)a;
    if (k == K_READ) {
        resp("+CGREG: 0,%d", g.reg);
    }
    ok();
}

static void cmd_csq(kind_t k, const char *a)
{
    (void)a;
    if (k == K_TEST) {
        resp("+CSQ: (0-31,99),(0-7,99)");
    } else if (registered()) {
        resp("+CSQ: %d,%d", g.o.csq, is_bg95() ? 99 : 0);
    } else {
        resp("+CSQ: 99,99");
    }
    ok();
}

static void cmd_cesq(kind_t k, const char *a)
{
    (void)k;
    (void)a;
    cmd_text(registered() ? "+CESQ: 99,99,255,255,26,81" : "+CESQ: 99,99,255,255,255,255");
}

static void cmd_cgatt(kind_t k, const char *a)
{
    (void)a;
    if (k == K_READ) {
        resp("+CGATT: %d", registered() ? 1 : 0);
    }
    ok();
}

static void cmd_cops(kind_t k, const char *a)
{
    (void)a;
    if (k == K_READ) {
        if (registered()) {
            resp("+COPS: 0,2,\"00101\",%d", is_bg95() ? 8 : 9);
        } else {
            resp("+COPS: 0");
        }
    }
    ok();
}

static void cmd_qiact(kind_t k, const char *a)
{
    (void)a;
    if (k == K_READ && registered()) {
        resp("+QIACT: 1,1,1,\"10.0.0.7\"");
    }
    ok();
}

static void cmd_cgpaddr(kind_t k, const char *a)
{
    (void)a;
    if (k != K_TEST && registered()) {
        resp("+CGPADDR: %d,\"10.0.0.7\"", is_bg95() ? 1 : 0);
    }
    ok();
}

static void cmd_qsclk(kind_t k, const char *a)
{
    long n = 0;
    long top = is_bg95() ? 1 : 2;
    if (k == K_READ) {
        resp("+QSCLK: %d", g.qsclk);
    } else if (k == K_TEST) {
        resp("+QSCLK: (0-%ld)", top);
    } else if (k == K_SET && p_int(&a, &n) && p_end(&a) && n >= 0 && n <= top) {
        g.qsclk = (int)n;
    } else {
        err_param(false);
        return;
    }
    ok();
}

static void cmd_qurccfg(kind_t k, const char *a)
{
    char what[32];
    char port[32];
    if (k == K_TEST) {
        resp("+QURCCFG: \"urcport\",(\"usbat\",\"usbmodem\",\"uart1\")");
        ok();
        return;
    }
    if (k != K_SET || !p_str(&a, what, sizeof(what)) || strcmp(what, "urcport") != 0) {
        err_param(false);
        return;
    }
    if (p_end(&a)) {
        resp("+QURCCFG: \"urcport\",\"%s\"", g.urc_uart ? "uart1" : "usbat");
        ok();
        return;
    }
    if (!p_comma(&a) || !p_str(&a, port, sizeof(port)) || !p_end(&a) ||
        (strcmp(port, "uart1") != 0 && strcmp(port, "usbat") != 0 &&
         strcmp(port, "usbmodem") != 0)) {
        err_param(false);
        return;
    }
    g.urc_uart = strcmp(port, "uart1") == 0;
    ok();
}

static void cmd_qpowd(kind_t k, const char *a)
{
    (void)k;
    (void)a;
    ok();
    resp("POWERED DOWN");
    g.reboot_when_drained = false;
    power_off();
}

static void cmd_qrst(kind_t k, const char *a)
{
    long n = 0;
    if (k != K_SET || !p_int(&a, &n) || n != 1) {
        err_param(false);
        return;
    }
    ok();
    ev_add(EV_REBOOT, now_ms());
}

/* Accepted and ignored (settings the simulation has no use for). */
static void cmd_accept(kind_t k, const char *a)
{
    (void)k;
    (void)a;
    ok();
}

/* -- MQTT: AT+QMTCFG ---------------------------------------------------------- */

static void qmtcfg_test(void)
{
    if (is_bg95()) {
        resp("+QMTCFG: \"version\",(0-5),(3,4)");
        resp("+QMTCFG: \"pdpcid\",(0-5),(1-16)");
        resp("+QMTCFG: \"ssl\",(0-5),(0,1),(0-5)");
        resp("+QMTCFG: \"keepalive\",(0-5),(0-3600)");
        resp("+QMTCFG: \"session\",(0-5),(0,1)");
        resp("+QMTCFG: \"timeout\",(0-5),(1-60),(0-10),(0,1)");
        resp("+QMTCFG: \"will\",(0-5),(0,1),(0-2),(0,1),\"will_topic\",\"will_msg\"");
        resp("+QMTCFG: \"recv/mode\",(0-5),(0,1),(0,1)");
        resp("+QMTCFG: \"aliauth\",(0-5),\"product_key\",\"device_name\",\"device_secret\"");
    } else {
        resp("+QMTCFG: \"will\",(0-4),(0,1),(0-2),(0,1),<will_topic>,<will_msg>");
        resp("+QMTCFG: \"timeout\",(0-4),(1-60),(0-10),(0,1)");
        resp("+QMTCFG: \"session\",(0-4),(0,1)");
        resp("+QMTCFG: \"keepalive\",(0-4),(0-3600)");
        resp("+QMTCFG: \"aliauth\",(0-4),<product_key>,<device_name>,<device_secret>");
        resp("+QMTCFG: \"version\",(0-4),(0,1)");
        resp("+QMTCFG: \"showrecvlen\",(0-4),(0,1)");
        resp("+QMTCFG: \"echo_mode\",(0-4),(0,1)");
        resp("+QMTCFG: \"dataformat\",(0-4),(0,1),(0,1)");
        resp("+QMTCFG: \"ssl\",(0-4),(0,1),(0),(0)");
    }
    ok();
}

/* A query answer: BG95 repeats the option name, BC660K does not (its MQTT AN 3.3.1). */
static void qmtcfg_show(const char *name, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void qmtcfg_show(const char *name, const char *fmt, ...)
{
    char vals[STR_CAP * 2 + 32];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(vals, sizeof(vals), fmt, ap);
    va_end(ap);
    if (is_bg95()) {
        resp("+QMTCFG: \"%s\",%s", name, vals);
    } else {
        resp("+QMTCFG: %s", vals);
    }
    ok();
}

/* Up to 3 integers after the client id; returns how many, -1 on a syntax error. */
static int p_ints(const char **a, long *v, int max)
{
    int n = 0;
    while (n < max && p_comma(a)) {
        if (!p_int(a, &v[n])) {
            return -1;
        }
        n++;
    }
    return p_end(a) ? n : -1;
}

static bool in_range(long v, long lo, long hi)
{
    return v >= lo && v <= hi;
}

typedef struct {
    const char *name;
    int nmin; /* values needed to set (0: query only when none) */
    int nmax;
    long lo[3];
    long hi[3];
    int off[3]; /* offsetof in mcfg_t, -1 unused */
    int models; /* bit 0 BG95, bit 1 BC660K */
} cfgopt_t;

#define OFF(f) ((int)offsetof(mcfg_t, f))
static const cfgopt_t CFG_OPTS[] = {
    { "version", 1, 1, { 3, 0, 0 }, { 4, 0, 0 }, { OFF(version), -1, -1 }, 1 },
    { "version", 1, 1, { 0, 0, 0 }, { 1, 0, 0 }, { OFF(version), -1, -1 }, 2 },
    { "pdpcid", 1, 1, { 1, 0, 0 }, { 16, 0, 0 }, { OFF(pdpcid), -1, -1 }, 1 },
    { "keepalive", 1, 1, { 0, 0, 0 }, { 3600, 0, 0 }, { OFF(keepalive), -1, -1 }, 3 },
    { "session", 1, 1, { 0, 0, 0 }, { 1, 0, 0 }, { OFF(clean), -1, -1 }, 3 },
    { "timeout",
      1,
      3,
      { 1, 0, 0 },
      { 60, 10, 1 },
      { OFF(pkt_timeout), OFF(retries), OFF(timeout_notice) },
      3 },
    { "recv/mode", 1, 2, { 0, 0, 0 }, { 1, 1, 0 }, { OFF(recv_mode), OFF(recv_len), -1 }, 1 },
    { "dataformat", 2, 2, { 0, 0, 0 }, { 1, 1, 0 }, { OFF(send_hex), OFF(recv_hex), -1 }, 2 },
    { "showrecvlen", 1, 1, { 0, 0, 0 }, { 1, 0, 0 }, { OFF(showrecvlen), -1, -1 }, 2 },
    { "echomode", 1, 1, { 0, 0, 0 }, { 1, 0, 0 }, { OFF(echomode), -1, -1 }, 2 },
    { "echo_mode", 1, 1, { 0, 0, 0 }, { 1, 0, 0 }, { OFF(echomode), -1, -1 }, 2 },
};

static int *cfg_field(mcfg_t *c, int off)
{
    return (int *)(void *)((char *)c + off);
}

static void qmtcfg_numeric(const cfgopt_t *op, client_t *c, const char *a)
{
    long v[3] = { 0, 0, 0 };
    int n = p_ints(&a, v, 3);
    if (n < 0 || n > op->nmax || (n > 0 && n < op->nmin)) {
        err_param(true);
        return;
    }
    if (n == 0) {
        char vals[64];
        size_t o = 0u;
        vals[0] = '\0';
        for (int i = 0; i < 3 && op->off[i] >= 0; i++) {
            o += (size_t)snprintf(vals + o, sizeof(vals) - o, "%s%d", i ? "," : "",
                                  *cfg_field(&c->cfg, op->off[i]));
        }
        qmtcfg_show(op->name, "%s", vals);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (op->off[i] < 0 || !in_range(v[i], op->lo[i], op->hi[i])) {
            err_param(true);
            return;
        }
    }
    for (int i = 0; i < n; i++) {
        *cfg_field(&c->cfg, op->off[i]) = (int)v[i];
    }
    ok();
}

static void qmtcfg_will(client_t *c, const char *a)
{
    long fg = 0;
    long qos = 0;
    long retain = 0;
    char topic[STR_CAP];
    char msg[STR_CAP];
    if (p_end(&a)) {
        if (c->cfg.will_fg == 0) {
            qmtcfg_show("will", "0");
        } else {
            qmtcfg_show("will", "1,%d,%d,\"%s\",\"%s\"", c->cfg.will_qos, c->cfg.will_retain,
                        c->cfg.will_topic, c->cfg.will_msg);
        }
        return;
    }
    if (!p_comma(&a) || !p_int(&a, &fg) || !in_range(fg, 0, 1)) {
        err_param(true);
        return;
    }
    if (fg == 0 && p_end(&a)) {
        c->cfg.will_fg = 0;
        ok();
        return;
    }
    if (!p_comma(&a) || !p_int(&a, &qos) || !in_range(qos, 0, 2) || !p_comma(&a) ||
        !p_int(&a, &retain) || !in_range(retain, 0, 1) || !p_comma(&a) ||
        !p_str(&a, topic, sizeof(topic)) || !p_comma(&a) || !p_str(&a, msg, sizeof(msg)) ||
        !p_end(&a)) {
        err_param(true);
        return;
    }
    c->cfg.will_fg = (int)fg;
    c->cfg.will_qos = (int)qos;
    c->cfg.will_retain = (int)retain;
    memcpy(c->cfg.will_topic, topic, sizeof(topic));
    memcpy(c->cfg.will_msg, msg, sizeof(msg));
    ok();
}

static void qmtcfg_ssl(client_t *c, const char *a)
{
    long v[3] = { 0, 0, 0 };
    int n = p_ints(&a, v, 3);
    if (n < 0) {
        err_param(true);
        return;
    }
    if (n == 0) {
        qmtcfg_show("ssl", "%d,0%s", c->cfg.ssl, is_bg95() ? "" : ",0");
        return;
    }
    if (!in_range(v[0], 0, 1)) {
        err_param(true);
        return;
    }
    if (v[0] == 1) {
        logf_("note: TLS is accepted but not simulated; the broker connection stays plain TCP");
    }
    c->cfg.ssl = (int)v[0];
    ok();
}

static void cmd_qmtcfg(kind_t k, const char *a)
{
    char name[32];
    if (k == K_TEST) {
        qmtcfg_test();
        return;
    }
    if (k != K_SET || !p_str(&a, name, sizeof(name)) || !p_comma(&a)) {
        err_param(true);
        return;
    }
    client_t *c = p_client(&a);
    if (c == NULL) {
        err_param(true);
        return;
    }
    int bit = is_bg95() ? 1 : 2;
    if (strcmp(name, "will") == 0) {
        qmtcfg_will(c, a);
        return;
    }
    if (strcmp(name, "ssl") == 0) {
        qmtcfg_ssl(c, a);
        return;
    }
    if (strcmp(name, "aliauth") == 0) {
        if (p_end(&a)) {
            ok();
        } else {
            cmd_accept(k, a);
        }
        return;
    }
    for (size_t i = 0u; i < sizeof(CFG_OPTS) / sizeof(CFG_OPTS[0]); i++) {
        if (strcmp(CFG_OPTS[i].name, name) == 0 && (CFG_OPTS[i].models & bit) != 0) {
            qmtcfg_numeric(&CFG_OPTS[i], c, a);
            return;
        }
    }
    logf_("AT+QMTCFG option \"%s\" is not supported by the %s", name,
          is_bg95() ? "BG95" : "BC660K");
    err_param(true);
}

/* -- MQTT: open, close, connect, disconnect ------------------------------------ */

static void urc_between(void)
{
    if (!g.o.urc_between) {
        return;
    }
    logf_("fault: URC injected between OK and the result (--urc-between)");
    int stat = g.reg;
    if (g.cereg_n >= 2 && registered()) {
        urc("+CEREG: %d,\"0001\",\"0000ABCD\",%d", stat, is_bg95() ? 7 : 9);
    } else {
        urc("+CEREG: %d", stat);
    }
}

static void cmd_qmtopen(kind_t k, const char *a)
{
    long port = 0;
    char host[HOST_CAP];
    if (k == K_TEST) {
        resp("+QMTOPEN: (0-%d),\"<host_name>\",(1-65535)", max_clients() - 1);
        ok();
        return;
    }
    if (k == K_READ) {
        for (int i = 0; i < max_clients(); i++) {
            if (g.cl[i].state != CL_CLOSED) {
                resp("+QMTOPEN: %d,\"%s\",%d", i, g.cl[i].host, g.cl[i].port);
            }
        }
        ok();
        return;
    }
    client_t *c = (k == K_SET) ? p_client(&a) : NULL;
    if (c == NULL || !p_comma(&a) || !p_str(&a, host, sizeof(host)) || !p_comma(&a) ||
        !p_int(&a, &port) || !p_end(&a) || !in_range(port, 1, 65535) || host[0] == '\0') {
        err_param(true);
        return;
    }
    ok();
    urc_between();
    if (c->state != CL_CLOSED) {
        urc("+QMTOPEN: %d,2", c->id);
        return;
    }
    if (!registered()) {
        urc("+QMTOPEN: %d,3", c->id);
        return;
    }
    memcpy(c->host, host, sizeof(host));
    c->port = (int)port;
    int rc = tcp_start(host, (int)port, &c->probe_fd);
    if (rc != 0) {
        urc("+QMTOPEN: %d,%d", c->id, rc);
        return;
    }
    c->state = CL_OPENING;
    c->open_deadline = now_ms() + OPEN_TIMEOUT_MS;
}

static void cmd_qmtclose(kind_t k, const char *a)
{
    if (k == K_TEST) {
        resp("+QMTCLOSE: (0-%d)", max_clients() - 1);
        ok();
        return;
    }
    client_t *c = (k == K_SET) ? p_client(&a) : NULL;
    if (c == NULL || !p_end(&a)) {
        err_param(true);
        return;
    }
    if (c->state == CL_CLOSED) {
        err_state(true);
        return;
    }
    ok();
    urc_between();
    bool connected = c->m != NULL && c->state == CL_CONNECTED;
    client_reset(c); /* marks the libmosquitto object dead: its callbacks are ignored */
    if (connected) {
        (void)mosquitto_disconnect(c->m);
    }
    urc("+QMTCLOSE: %d,0", c->id);
}

static void conn_state_lines(void)
{
    static const int st[] = { 1, 1, 1, 2, 3, 4 };
    for (int i = 0; i < max_clients(); i++) {
        if (g.cl[i].state != CL_CLOSED) {
            resp("+QMTCONN: %d,%d", i, st[g.cl[i].state]);
        }
    }
}

static bool mosq_setup(client_t *c, const char *cid, const char *user, const char *pass)
{
    c->m = mosquitto_new(cid, c->cfg.clean != 0, c);
    if (c->m == NULL) {
        return false;
    }
    bool v311 = is_bg95() ? c->cfg.version == 4 : c->cfg.version == 1;
    (void)mosquitto_int_option(c->m, MOSQ_OPT_PROTOCOL_VERSION,
                               v311 ? MQTT_PROTOCOL_V311 : MQTT_PROTOCOL_V31);
    mosquitto_connect_callback_set(c->m, on_connect);
    mosquitto_disconnect_callback_set(c->m, on_disconnect);
    mosquitto_subscribe_callback_set(c->m, on_subscribe);
    mosquitto_unsubscribe_callback_set(c->m, on_unsubscribe);
    mosquitto_publish_callback_set(c->m, on_publish);
    mosquitto_message_callback_set(c->m, on_message);
    if (user[0] != '\0' || pass[0] != '\0') {
        (void)mosquitto_username_pw_set(c->m, user[0] ? user : NULL, pass[0] ? pass : NULL);
    }
    if (c->cfg.will_fg == 1) {
        (void)mosquitto_will_set(c->m, c->cfg.will_topic, (int)strlen(c->cfg.will_msg),
                                 c->cfg.will_msg, c->cfg.will_qos, c->cfg.will_retain != 0);
    }
    return true;
}

static void cmd_qmtconn(kind_t k, const char *a)
{
    char cid[130];
    char user[STR_CAP] = "";
    char pass[STR_CAP] = "";
    if (k == K_TEST) {
        resp("+QMTCONN: (0-%d),\"<clientID>\",\"<username>\",\"<password>\"", max_clients() - 1);
        ok();
        return;
    }
    if (k == K_READ) {
        conn_state_lines();
        ok();
        return;
    }
    client_t *c = (k == K_SET) ? p_client(&a) : NULL;
    if (c == NULL || !p_comma(&a) || !p_str(&a, cid, sizeof(cid)) ||
        (p_comma(&a) &&
         (!p_str(&a, user, sizeof(user)) || (p_comma(&a) && !p_str(&a, pass, sizeof(pass))))) ||
        !p_end(&a)) {
        err_param(true);
        return;
    }
    if (c->state != CL_OPENED) {
        logf_("AT+QMTCONN on client %d, which is not opened (state %d)", c->id, (int)c->state);
        err_state(true);
        return;
    }
    ok();
    urc_between();
    (void)close(c->probe_fd);
    c->probe_fd = -1;
    client_reap(c);
    int keep = c->cfg.keepalive;
    if (keep != 0 && keep < 5) {
        keep = 5;
    }
    if (!mosq_setup(c, cid, user, pass) ||
        mosquitto_connect_async(c->m, c->host, c->port, keep) != MOSQ_ERR_SUCCESS) {
        logf_("client %d: libmosquitto could not connect to %s:%d", c->id, c->host, c->port);
        urc("+QMTCONN: %d,2", c->id);
        client_reset(c);
        return;
    }
    c->state = CL_CONNECTING;
    c->conn_deadline =
        now_ms() + (uint64_t)c->cfg.pkt_timeout * 1000u * (uint64_t)(c->cfg.retries + 1);
}

static void cmd_qmtdisc(kind_t k, const char *a)
{
    if (k == K_TEST) {
        resp("+QMTDISC: (0-%d)", max_clients() - 1);
        ok();
        return;
    }
    client_t *c = (k == K_SET) ? p_client(&a) : NULL;
    if (c == NULL || !p_end(&a)) {
        err_param(true);
        return;
    }
    if (c->state == CL_CLOSED) {
        err_state(true);
        return;
    }
    ok();
    urc_between();
    if (c->state == CL_CONNECTED && c->m != NULL) {
        /* libmosquitto reports the disconnect (on_disconnect -> +QMTDISC) from
         * inside mosquitto_disconnect when the DISCONNECT packet goes out at once */
        c->state = CL_DISCONNECTING;
        if (mosquitto_disconnect(c->m) == MOSQ_ERR_SUCCESS) {
            return;
        }
    }
    if (c->state == CL_CLOSED) {
        return; /* already reported */
    }
    client_reset(c);
    urc("+QMTDISC: %d,0", c->id);
}

/* -- MQTT: subscribe ------------------------------------------------------------ */

static void cmd_qmtsub(kind_t k, const char *a, bool unsub)
{
    long msgid = 0;
    char *topics[8];
    int qos[8];
    int n = 0;
    char store[8][STR_CAP];
    if (k == K_TEST) {
        if (unsub) {
            resp("+QMTUNS: (0-%d),(1-65535),\"<topic>\"", max_clients() - 1);
        } else {
            resp("+QMTSUB: (0-%d),(1-65535),\"<topic>\",(0-2)", max_clients() - 1);
        }
        ok();
        return;
    }
    client_t *c = (k == K_SET) ? p_client(&a) : NULL;
    if (c == NULL || !p_comma(&a) || !p_int(&a, &msgid) || !in_range(msgid, 1, 65535)) {
        err_param(true);
        return;
    }
    while (n < 8 && p_comma(&a)) {
        long q = 0;
        if (!p_str(&a, store[n], sizeof(store[n])) || store[n][0] == '\0' ||
            (!unsub && (!p_comma(&a) || !p_int(&a, &q) || !in_range(q, 0, 2)))) {
            err_param(true);
            return;
        }
        topics[n] = store[n];
        qos[n] = (int)q;
        n++;
    }
    if (n == 0 || !p_end(&a)) {
        err_param(true);
        return;
    }
    if (c->state != CL_CONNECTED) {
        err_state(true);
        return;
    }
    pend_t *p = pend_new(c, unsub ? P_UNS : P_SUB, (int)msgid);
    if (p == NULL) {
        cme(is_bg95() ? 3 : 8509);
        return;
    }
    ok();
    urc_between();
    int rc;
    if (unsub) {
        rc = mosquitto_unsubscribe_multiple(c->m, &p->mid, n, topics, NULL);
    } else {
        /* one call subscribes all topics with one QoS: the first topic's */
        rc = mosquitto_subscribe_multiple(c->m, &p->mid, n, topics, qos[0], 0, NULL);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        urc("%s: %d,%d,2", pend_name(p->kind), c->id, p->msgid);
        p->used = false;
    }
}

/* -- MQTT: publish ----------------------------------------------------------------- */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

static void publish_now(client_t *c, int msgid, int qos, int retain, const char *topic,
                        const uint8_t *p, size_t n, bool pubex)
{
    pend_t *pd = pend_new(c, pubex ? P_PUBEX : P_PUB, msgid);
    if (pd == NULL) {
        urc("%s: %d,%d,2", pubex ? "+QMTPUBEX" : "+QMTPUB", c->id, msgid);
        return;
    }
    logf_("client %d publishes %zu bytes on \"%s\" (QoS %d, msgID %d): %s", c->id, n, topic, qos,
          msgid, shown(p, n));
    int rc = mosquitto_publish(c->m, &pd->mid, topic, (int)n, p, qos, retain != 0);
    if (rc != MOSQ_ERR_SUCCESS) {
        if (pd->used) {
            urc("%s: %d,%d,2", pend_name(pd->kind), c->id, msgid);
        }
        pd->used = false;
    }
}

/* Decode the inline message of the BC660K non-data-mode form. */
static bool inline_payload(const client_t *c, const char *rest, long len, uint8_t *out, int *err)
{
    size_t rl = strlen(rest);
    const char *p = rest;
    if (c->cfg.send_hex) {
        if (rl >= 2u && rest[0] == '"' && rest[rl - 1u] == '"') {
            p++;
            rl -= 2u;
        }
        if (rl != (size_t)len * 2u) {
            *err = 8507;
            return false;
        }
        for (long i = 0; i < len; i++) {
            int hi = hexval(p[2 * i]);
            int lo = hexval(p[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                *err = 8505;
                return false;
            }
            out[i] = (uint8_t)(hi * 16 + lo);
        }
        return true;
    }
    if (rl == (size_t)len + 2u && rest[0] == '"' && rest[rl - 1u] == '"') {
        p++;
        rl -= 2u;
    }
    if (rl != (size_t)len) {
        *err = 8507;
        return false;
    }
    memcpy(out, p, rl);
    return true;
}

static void data_done(bool cancelled);

static void enter_data(client_t *c, int msgid, int qos, int retain, const char *topic, long expect,
                       bool pubex)
{
    data_t *d = &g.data;
    memset(d, 0, sizeof(*d));
    d->c = c;
    d->msgid = msgid;
    d->qos = qos;
    d->retain = retain;
    d->pubex = pubex;
    (void)snprintf(d->topic, sizeof(d->topic), "%s", topic);
    d->expect = expect;
    d->prompt_at = now_ms();
    out_put("\r\n> ", 4u);
    logf_("-> > (waiting for %s)",
          expect >= 0 ? "the announced number of bytes" : "data ended by Ctrl-Z");
    g.in = IN_DATA;
    if (expect == 0) {
        data_done(false);
    }
}

static void cmd_qmtpub(kind_t k, const char *a, bool pubex)
{
    long msgid = 0;
    long qos = 0;
    long retain = 0;
    long len = -1;
    char topic[STR_CAP];
    const char *name = pubex ? "+QMTPUBEX" : "+QMTPUB";
    if (k == K_TEST) {
        if (pubex) {
            resp("+QMTPUBEX: (0-%d),(0-65535),(0-2),(0,1),\"topic\",\"msg\"", max_clients() - 1);
        } else if (is_bg95()) {
            resp("+QMTPUB: (0-5),(0-65535),(0-2),(0,1),\"topic\",(1-4096)");
        } else {
            resp("+QMTPUB: (0-4),(0-65535),(0-2),(0,1),<topic>,(0-1460),<msg>");
        }
        ok();
        return;
    }
    client_t *c = (k == K_SET) ? p_client(&a) : NULL;
    if (c == NULL || !p_comma(&a) || !p_int(&a, &msgid) || !in_range(msgid, 0, 65535) ||
        !p_comma(&a) || !p_int(&a, &qos) || !in_range(qos, 0, 2) || !p_comma(&a) ||
        !p_int(&a, &retain) || !in_range(retain, 0, 1) || !p_comma(&a) ||
        !p_str(&a, topic, sizeof(topic)) || topic[0] == '\0' || (qos == 0) != (msgid == 0)) {
        err_param(true);
        return;
    }
    if (pubex) {
        /* BG95 inline form: AT+QMTPUBEX=<id>,<msgid>,<qos>,<retain>,"<topic>","<msg>",
         * at most 560 bytes */
        char msg[600];
        if (!p_comma(&a) || !p_str(&a, msg, sizeof(msg)) || !p_end(&a) || strlen(msg) > 560u) {
            err_param(true);
            return;
        }
        if (c->state != CL_CONNECTED) {
            err_state(true);
            return;
        }
        ok();
        urc_between();
        publish_now(c, (int)msgid, (int)qos, (int)retain, topic, (const uint8_t *)msg, strlen(msg),
                    true);
        return;
    }
    long max_fixed = is_bg95() ? 4096 : (c->cfg.send_hex ? 730 : 1460);
    if (p_comma(&a) && (!p_int(&a, &len) || !in_range(len, is_bg95() ? 1 : 0, max_fixed))) {
        err_param(true);
        return;
    }
    bool inline_form = len >= 0 && p_comma(&a);
    if (inline_form && is_bg95()) {
        logf_("%s with an inline message is a BC660K form; the BG95 refuses it", name);
        err_param(true);
        return;
    }
    if (!inline_form && !p_end(&a)) {
        err_param(true);
        return;
    }
    if (c->state != CL_CONNECTED) {
        err_state(true);
        return;
    }
    if (!inline_form) {
        enter_data(c, (int)msgid, (int)qos, (int)retain, topic, len, false);
        return;
    }
    uint8_t payload[1460];
    int err = 0;
    if (!inline_payload(c, a, len, payload, &err)) {
        logf_("inline message does not match its length %ld (%s)", len,
              c->cfg.send_hex ? "hex" : "text");
        cme(err);
        return;
    }
    ok();
    urc_between();
    publish_now(c, (int)msgid, (int)qos, (int)retain, topic, payload, (size_t)len, false);
}

/* The publish data phase is over: OK, the packet, then held-back URCs. */
static void data_done(bool cancelled)
{
    data_t *d = &g.data;
    g.in = IN_CMD;
    if (cancelled) {
        logf_("data mode cancelled (ESC)");
        ok();
        deferred_flush();
        return;
    }
    if (d->c->state != CL_CONNECTED) {
        error_plain();
        deferred_flush();
        return;
    }
    ok();
    urc_between();
    publish_now(d->c, d->msgid, d->qos, d->retain, d->topic, d->buf, d->got, d->pubex);
    deferred_flush();
}

static void data_byte(uint8_t ch)
{
    data_t *d = &g.data;
    if (!is_bg95() && now_ms() < d->prompt_at + BC660K_PROMPT_GUARD_MS) {
        if (d->lost == 0u) {
            logf_("byte received before the BC660K entered data mode (500 ms after '>'): lost");
        }
        d->lost++;
        return;
    }
    if (!is_bg95() && d->c->cfg.echomode) {
        out_put(&ch, 1u);
    }
    if (d->expect < 0) {
        if (ch == 0x1Au) {
            data_done(false);
            return;
        }
        if (ch == 0x1Bu) {
            data_done(true);
            return;
        }
        if (d->got < (is_bg95() ? 1548u : 1460u)) {
            d->buf[d->got++] = ch;
        }
        return;
    }
    d->buf[d->got++] = ch;
    if (d->got == (size_t)d->expect) {
        data_done(false);
    }
}

/* -- BG95 buffered receive: AT+QMTRECV ---------------------------------------------- */

static void recv_slot(client_t *c, int s)
{
    msg_t *m = c->slot[s];
    if (m == NULL) {
        return;
    }
    recv_line(c, m, c->cfg.recv_len != 0, false, false);
    msg_free(m);
    c->slot[s] = NULL;
}

static void cmd_qmtrecv(kind_t k, const char *a)
{
    long slot = -1;
    if (k == K_TEST) {
        resp("+QMTRECV: (0-5),(0-4)");
        ok();
        return;
    }
    if (k == K_READ) {
        for (int i = 0; i < MAX_CLIENTS; i++) {
            client_t *c = &g.cl[i];
            if (c->state == CL_CONNECTED) {
                resp("+QMTRECV: %d,%d,%d,%d,%d,%d", i, c->slot[0] != NULL, c->slot[1] != NULL,
                     c->slot[2] != NULL, c->slot[3] != NULL, c->slot[4] != NULL);
            }
        }
        ok();
        return;
    }
    client_t *c = (k == K_SET) ? p_client(&a) : NULL;
    if (c == NULL || (p_comma(&a) && (!p_int(&a, &slot) || !in_range(slot, 0, SLOTS - 1))) ||
        !p_end(&a)) {
        err_param(true);
        return;
    }
    if (slot >= 0) {
        recv_slot(c, (int)slot);
    } else {
        for (int s = 0; s < SLOTS; s++) {
            recv_slot(c, s);
        }
    }
    ok();
    slots_fill(c);
}

static void h_qmtsub(kind_t k, const char *a)
{
    cmd_qmtsub(k, a, false);
}

static void h_qmtuns(kind_t k, const char *a)
{
    cmd_qmtsub(k, a, true);
}

static void h_qmtpub(kind_t k, const char *a)
{
    cmd_qmtpub(k, a, false);
}

static void h_qmtpubex(kind_t k, const char *a)
{
    cmd_qmtpub(k, a, true);
}

/* -- dispatch -------------------------------------------------------------------- */

typedef struct {
    const char *name;
    handler_t fn;
    int models; /* bit 0 BG95, bit 1 BC660K */
} cmd_t;

static const cmd_t CMDS[] = {
    { "+CMEE", cmd_cmee, 3 },          { "+GSN", cmd_gsn, 1 },
    { "+CGSN", cmd_cgsn, 3 },          { "+CGMI", cmd_cgmi, 3 },
    { "+CGMM", cmd_cgmm, 3 },          { "+CGMR", cmd_cgmr, 3 },
    { "+GMR", cmd_cgmr, 3 },           { "+QGMR", cmd_cgmr, 1 },
    { "+CPIN", cmd_cpin, 3 },          { "+CIMI", cmd_cimi, 3 },
    { "+QCCID", cmd_qccid, 3 },        { "+CFUN", cmd_cfun, 3 },
    { "+CEREG", cmd_cereg, 3 },        { "+CGREG", cmd_cgreg, 1 },
    { "+CREG", cmd_cgreg, 1 },         { "+CSQ", cmd_csq, 3 },
    { "+CESQ", cmd_cesq, 2 },          { "+CGATT", cmd_cgatt, 3 },
    { "+COPS", cmd_cops, 3 },          { "+QIACT", cmd_qiact, 1 },
    { "+CGPADDR", cmd_cgpaddr, 3 },    { "+QSCLK", cmd_qsclk, 3 },
    { "+QURCCFG", cmd_qurccfg, 1 },    { "+QPOWD", cmd_qpowd, 1 },
    { "+QRST", cmd_qrst, 2 },          { "+QICSGP", cmd_accept, 1 },
    { "+QIDEACT", cmd_accept, 1 },     { "+CGDCONT", cmd_accept, 3 },
    { "+QCGDEFCONT", cmd_accept, 2 },  { "+CPSMS", cmd_accept, 3 },
    { "+CEDRXS", cmd_accept, 3 },      { "+QCFG", cmd_accept, 3 },
    { "+QNBIOTEVENT", cmd_accept, 2 }, { "+IFC", cmd_accept, 1 },
    { "+CSCON", cmd_accept, 2 },       { "+QMTCFG", cmd_qmtcfg, 3 },
    { "+QMTOPEN", cmd_qmtopen, 3 },    { "+QMTCLOSE", cmd_qmtclose, 3 },
    { "+QMTCONN", cmd_qmtconn, 3 },    { "+QMTDISC", cmd_qmtdisc, 3 },
    { "+QMTSUB", h_qmtsub, 3 },        { "+QMTUNS", h_qmtuns, 3 },
    { "+QMTPUB", h_qmtpub, 3 },        { "+QMTPUBEX", h_qmtpubex, 1 },
    { "+QMTRECV", cmd_qmtrecv, 1 },
};

/* Basic (V.25ter) commands: E, I, V, Q, Z, &F, &W, &D. */
static bool cmd_basic(const char *s)
{
    char c0 = (char)toupper((unsigned char)s[0]);
    if (c0 == 'E' && (s[1] == '\0' || ((s[1] == '0' || s[1] == '1') && s[2] == '\0'))) {
        g.echo = s[1] == '1';
        ok();
        return true;
    }
    if (c0 == 'I' && (s[1] == '\0' || (s[1] == '0' && s[2] == '\0'))) {
        if (is_bg95()) {
            resp("Quectel");
            resp("BG95-M2");
            resp("Revision: BG95M2LAR02A03");
        } else {
            resp("Quectel_Ltd");
            resp("Quectel_BC660K-GL");
            resp("Revision: BC660KGLAAR01A05");
        }
        ok();
        return true;
    }
    if ((c0 == 'V' || c0 == 'Q' || c0 == 'Z') &&
        (s[1] == '\0' || (isdigit((unsigned char)s[1]) && s[2] == '\0'))) {
        ok();
        return true;
    }
    if (c0 == '&' && s[1] != '\0' && strchr("FfWwDd", s[1]) != NULL) {
        ok();
        return true;
    }
    return false;
}

/* --ignore: swallow the first use of a command, without any answer. */
static bool ignored_once(const char *name)
{
    for (int i = 0; i < g.o.n_ignore; i++) {
        const char *want = g.o.ignore[i];
        size_t wl = strcspn(want, "=?");
        if (wl >= 2u && strncasecmp(want, "AT", 2) == 0) {
            want += 2;
            wl -= 2u;
        }
        if (!g.ignore_used[i] && strlen(name) == wl && strncasecmp(name, want, wl) == 0) {
            g.ignore_used[i] = true;
            logf_("fault: AT%s not answered on purpose (--ignore)", name);
            return true;
        }
    }
    return false;
}

static void command(const char *line)
{
    logf_("<- %s", line);
    g.in_resp = false;
    if (strncasecmp(line, "AT", 2) != 0) {
        return; /* not a command: modules stay silent */
    }
    const char *s = line + 2;
    if (*s == '\0') {
        ok();
        return;
    }
    char name[24];
    size_t n = 0u;
    if (*s == '+') {
        n = 1u + strspn(s + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    } else {
        n = (*s == '&') ? 2u : 1u;
    }
    if (n >= sizeof(name)) {
        error_plain();
        return;
    }
    memcpy(name, s, n);
    name[n] = '\0';
    for (size_t i = 0u; i < n; i++) {
        name[i] = (char)toupper((unsigned char)name[i]);
    }
    if (ignored_once(name)) {
        return;
    }
    if (*s != '+') {
        if (!cmd_basic(s)) {
            error_plain();
        }
        return;
    }
    const char *rest = s + n;
    kind_t k = K_EXEC;
    if (strcmp(rest, "=?") == 0) {
        k = K_TEST;
    } else if (strcmp(rest, "?") == 0) {
        k = K_READ;
    } else if (rest[0] == '=') {
        k = K_SET;
        rest++;
    } else if (rest[0] != '\0') {
        error_plain();
        return;
    }
    int bit = is_bg95() ? 1 : 2;
    for (size_t i = 0u; i < sizeof(CMDS) / sizeof(CMDS[0]); i++) {
        if (strcmp(CMDS[i].name, name) == 0 && (CMDS[i].models & bit) != 0) {
            CMDS[i].fn(k, rest);
            return;
        }
    }
    logf_("AT%s is not supported by the %s simulation", name, is_bg95() ? "BG95" : "BC660K");
    error_plain();
}

/* ------------------------------------------------------------------------ */
/* UART input                                                               */
/* ------------------------------------------------------------------------ */

/* BC660K with AT+QSCLK=1/2: the UART sleeps when idle; the first command
 * that wakes it is lost (a real module answered only "\r\n"). */
static void sleep_check(uint64_t t)
{
    if (is_bg95() || !g.booted || g.qsclk == 0 || g.in != IN_CMD || g.asleep ||
        g.o.sleep_after_ms <= 0 || out_pending()) {
        return;
    }
    if (t - g.last_activity >= (uint64_t)g.o.sleep_after_ms && g.line_len == 0u) {
        g.asleep = true;
        logf_("UART asleep (AT+QSCLK=%d, idle %ld ms): the next command wakes it and is lost",
              g.qsclk, g.o.sleep_after_ms);
    }
}

static void line_byte(uint8_t ch)
{
    if (g.asleep) {
        g.asleep = false;
        g.lose_line = true;
    }
    if (g.echo && !g.lose_line) {
        out_put(&ch, 1u);
    }
    if (ch == '\r') {
        g.line[g.line_len] = '\0';
        bool lose = g.lose_line;
        bool over = g.line_overflow;
        size_t len = g.line_len;
        g.line_len = 0u;
        g.line_overflow = false;
        g.lose_line = false;
        if (lose) {
            logf_("<- %s (lost: it woke the sleeping UART)", g.line);
            out_put("\r\n", 2u);
            return;
        }
        if (over) {
            logf_("<- command line longer than %d bytes", LINE_CAP);
            error_plain();
            return;
        }
        if (len != 0u) {
            command(g.line);
        }
        return;
    }
    if (ch == '\n' && g.line_len == 0u) {
        return;
    }
    if (ch == 0x08u) {
        if (g.line_len > 0u) {
            g.line_len--;
        }
        return;
    }
    if (g.line_len < LINE_CAP) {
        g.line[g.line_len++] = (char)ch;
    } else {
        g.line_overflow = true;
    }
}

static void input(const uint8_t *p, size_t n)
{
    if (g.o.verbose) {
        logf_("<< %s", shown(p, n));
    }
    g.last_activity = now_ms();
    for (size_t i = 0u; i < n; i++) {
        if (!g.booted || !g.powered) {
            continue; /* switched off or still booting: bytes go nowhere */
        }
        if (g.reboot_when_drained) {
            continue;
        }
        if (g.in == IN_DATA) {
            data_byte(p[i]);
        } else {
            line_byte(p[i]);
        }
    }
}

static void data_timeout(uint64_t t)
{
    if (g.in == IN_DATA && t >= g.data.prompt_at + DATA_TIMEOUT_MS) {
        logf_("no data for 60 s after '>': leaving data mode");
        g.in = IN_CMD;
        error_plain();
        deferred_flush();
    }
}

/* ------------------------------------------------------------------------ */
/* Pseudo-terminal                                                          */
/* ------------------------------------------------------------------------ */

static void raw_mode(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        return;
    }
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_oflag &= ~(tcflag_t)OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    (void)tcsetattr(fd, TCSANOW, &t);
}

static int pty_open(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
        return -1;
    }
    const char *name = ptsname(m);
    if (name == NULL || strlen(name) >= sizeof(g.slave)) {
        return -1;
    }
    (void)snprintf(g.slave, sizeof(g.slave), "%s", name);
    raw_mode(m); /* on Linux this sets the slave's line discipline */
    int fl = fcntl(m, F_GETFL, 0);
    (void)fcntl(m, F_SETFL, fl | O_NONBLOCK);
    return m;
}

/* The host closed the UART: stop reading and writing; look again later. */
static void hangup(void)
{
    g.hup = true;
    g.hup_retry = now_ms() + HUP_RETRY_MS;
}

static void master_read(void)
{
    uint8_t buf[4096];
    for (;;) {
        ssize_t r = read(g.master, buf, sizeof(buf));
        if (r > 0) {
            g.had_peer = true;
            input(buf, (size_t)r);
            continue;
        }
        if (r < 0 && errno == EIO) {
            hangup(); /* the UART side is closed */
        }
        return;
    }
}

/* ------------------------------------------------------------------------ */
/* Main loop                                                                */
/* ------------------------------------------------------------------------ */

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        g_pwr = 1;
    } else if (sig == SIGUSR2) {
        g_eint = 1;
    } else {
        g_stop = 1;
    }
}

static void signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGUSR1, &sa, NULL);
    (void)sigaction(SIGUSR2, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
}

typedef struct {
    struct pollfd pfd[1 + 2 * MAX_CLIENTS];
    client_t *who[1 + 2 * MAX_CLIENTS];
    bool is_probe[1 + 2 * MAX_CLIENTS];
    nfds_t n;
} pollset_t;

static void pollset_build(pollset_t *ps, uint64_t t)
{
    ps->n = 0;
    if (g.hup && t >= g.hup_retry) {
        g.hup = false; /* look again: POLLHUP tells whether the UART is still closed */
    }
    if (!g.hup) {
        ps->pfd[0].fd = g.master;
        ps->pfd[0].events = (short)(POLLIN | (out_pending() ? POLLOUT : 0));
        ps->who[0] = NULL;
        ps->n = 1;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client_t *c = &g.cl[i];
        if (c->probe_fd >= 0) {
            ps->pfd[ps->n].fd = c->probe_fd;
            ps->pfd[ps->n].events = (short)(c->state == CL_OPENING ? POLLOUT : POLLIN);
            ps->who[ps->n] = c;
            ps->is_probe[ps->n] = true;
            ps->n++;
        }
        if (c->m != NULL && !c->kill && mosquitto_socket(c->m) >= 0) {
            ps->pfd[ps->n].fd = mosquitto_socket(c->m);
            ps->pfd[ps->n].events = (short)(POLLIN | (mosquitto_want_write(c->m) ? POLLOUT : 0));
            ps->who[ps->n] = c;
            ps->is_probe[ps->n] = false;
            ps->n++;
        }
    }
}

static int poll_timeout(uint64_t t)
{
    int wait = MAX_POLL_MS;
    uint64_t next = events_next();
    if (g.net_head != NULL && g.net_head->due < next) {
        next = g.net_head->due;
    }
    if (next != UINT64_MAX) {
        wait = next <= t ? 0 : (next - t < (uint64_t)wait ? (int)(next - t) : wait);
    }
    if (out_pending() && !g.hup && g.o.burst_ms > 0) {
        int ms = g.next_burst > t ? (int)(g.next_burst - t) : 0;
        if (ms < wait) {
            wait = ms;
        }
    }
    if (out_pending() && !g.hup && (g.o.one_byte || g.o.byte_delay_us > 0)) {
        uint64_t u = now_us();
        int ms = g.next_byte_us > u ? (int)((g.next_byte_us - u) / 1000u) : 0;
        if (ms < wait) {
            wait = ms;
        }
    }
    return wait;
}

static void mosq_service(client_t *c, short revents)
{
    if (c->m == NULL || c->kill) {
        return;
    }
    if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        (void)mosquitto_loop_read(c->m, 64);
    }
    if (c->m != NULL && !c->kill && (revents & POLLOUT) != 0) {
        (void)mosquitto_loop_write(c->m, 64);
    }
}

static void housekeeping(uint64_t t)
{
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client_t *c = &g.cl[i];
        if (c->m != NULL && !c->kill) {
            (void)mosquitto_loop_misc(c->m);
            if (c->m != NULL && !c->kill && mosquitto_want_write(c->m)) {
                (void)mosquitto_loop_write(c->m, 1);
            }
        }
        if (c->state == CL_OPENING && t >= c->open_deadline) {
            urc("+QMTOPEN: %d,-1", c->id);
            client_reset(c);
        }
        client_reap(c);
    }
    net_run(t);
    clients_timeouts(t);
    data_timeout(t);
    sleep_check(t);
    if (g.reboot_when_drained && !out_pending()) {
        g.reboot_when_drained = false;
        power_cycle("reset command");
    }
}

static void loop_once(void)
{
    pollset_t ps;
    uint64_t t = now_ms();
    if (g_pwr) {
        g_pwr = 0;
        power_cycle("PWRKEY/RESET_N (SIGUSR1)");
    }
    if (g_eint) {
        g_eint = 0;
        g.asleep = false;
        g.last_activity = t;
        logf_("PSM_EINT pulse (SIGUSR2): UART awake");
    }
    events_run(t);
    pollset_build(&ps, t);
    int wait = poll_timeout(t);
    int rc = poll(ps.pfd, ps.n, wait);
    if (rc < 0) {
        return;
    }
    for (nfds_t i = 0; i < ps.n; i++) {
        short re = ps.pfd[i].revents;
        if (re == 0) {
            continue;
        }
        if (ps.pfd[i].fd == g.master && i == 0 && !g.hup) {
            if ((re & POLLIN) != 0) {
                master_read();
            }
            if ((re & POLLHUP) != 0 && (re & POLLIN) == 0) {
                hangup();
            }
            continue;
        }
        if (ps.is_probe[i]) {
            probe_event(ps.who[i], re);
        } else {
            mosq_service(ps.who[i], re);
        }
    }
    if (g.hup && g.o.exit_on_hangup && g.had_peer) {
        logf_("the UART was closed by the host: exiting (--exit-on-hangup)");
        g_stop = 1;
    }
    housekeeping(now_ms());
    out_flush();
}

/* ------------------------------------------------------------------------ */
/* Command line                                                             */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    (void)fprintf(
        f,
        "usage: cellota-quectel-sim [options]\n"
        "Plays a Quectel BG95-M2 or BC660K-GL behind a pseudo-terminal: the slave side is the\n"
        "module's main UART (its path is the first line on stdout: \"pty /dev/pts/N\"). The\n"
        "module's MQTT client is bridged to the broker given in AT+QMTOPEN with libmosquitto.\n"
        "\n"
        "  --model bg95|bc660k    the module to play (default bg95)\n"
        "  --pty-link PATH        also make PATH a symlink to the UART (removed at exit)\n"
        "  --imei N               IMEI for AT+GSN/AT+CGSN (default 866000000000001)\n"
        "  --boot-ms MS           power-on to RDY (default 150)\n"
        "  --attach-ms MS         RDY to network registration (default 200)\n"
        "  --csq N                AT+CSQ rssi while registered (default 24)\n"
        "  --latency-ms MS        radio round trip: results and messages from the broker arrive\n"
        "                         MS later (default 0: as soon as the local broker answers, so an\n"
        "                         asynchronous result can follow its OK in the same burst)\n"
        "  --sleep-after-ms MS    BC660K: idle time before the UART sleeps when AT+QSCLK=1/2\n"
        "                         (default 2000; 0 = never)\n"
        "  --recvlen-hex-chars    BC660K hex receive: <payload_len> counts hex characters\n"
        "                         (default: payload bytes; the manual does not say)\n"
        "  --urcport-usb          BG95: URCs go to USB until AT+QURCCFG=\"urcport\",\"uart1\"\n"
        "  --exit-on-hangup       exit when the host closes the UART after using it\n"
        "Faults:\n"
        "  --slow-rdy MS          RDY only MS later than normal\n"
        "  --byte-delay-us N      send every byte on its own, N us apart\n"
        "  --one-byte             send one byte per write (50 us apart unless --byte-delay-us)\n"
        "  --burst-ms MS          send the output in bursts every MS ms, as a host that drains "
        "its\n"
        "                         UART buffer periodically sees it (an OK and the result that\n"
        "                         follows it closely arrive in one read)\n"
        "  --urc-between          a +CEREG URC between OK and each asynchronous result\n"
        "  --drop-recv N          drop every Nth message from the broker\n"
        "  --qmtstat-after N      after N messages: +QMTSTAT: <id>,1 and the connection is gone\n"
        "  --garbage              garbage lines now and then (noise, unknown URCs, a long line)\n"
        "  --ignore CMD           never answer the first CMD (e.g. AT+QMTSUB); repeatable\n"
        "Output:\n"
        "  --quiet                no log on stderr\n"
        "  --verbose              also log the raw bytes received\n"
        "  --seed N               random seed for --garbage\n"
        "\n"
        "Signals: SIGUSR1 = PWRKEY cycle / RESET_N pulse (reboot: RDY again, volatile settings\n"
        "and MQTT connections lost); SIGUSR2 = PSM_EINT pulse (wakes a sleeping UART);\n"
        "SIGTERM/SIGINT = exit.\n");
}

enum {
    O_MODEL = 256,
    O_LINK,
    O_IMEI,
    O_BOOT,
    O_SLOWRDY,
    O_ATTACH,
    O_SLEEP,
    O_BDELAY,
    O_ONEBYTE,
    O_URCB,
    O_DROP,
    O_QMTSTAT,
    O_GARBAGE,
    O_IGNORE,
    O_URCUSB,
    O_RLCHARS,
    O_CSQ,
    O_SEED,
    O_QUIET,
    O_VERBOSE,
    O_HANGUP,
    O_LATENCY,
    O_BURST,
    O_HELP
};

static const struct option LONG_OPTS[] = {
    { "model", required_argument, NULL, O_MODEL },
    { "pty-link", required_argument, NULL, O_LINK },
    { "imei", required_argument, NULL, O_IMEI },
    { "boot-ms", required_argument, NULL, O_BOOT },
    { "slow-rdy", required_argument, NULL, O_SLOWRDY },
    { "attach-ms", required_argument, NULL, O_ATTACH },
    { "sleep-after-ms", required_argument, NULL, O_SLEEP },
    { "byte-delay-us", required_argument, NULL, O_BDELAY },
    { "one-byte", no_argument, NULL, O_ONEBYTE },
    { "urc-between", no_argument, NULL, O_URCB },
    { "drop-recv", required_argument, NULL, O_DROP },
    { "qmtstat-after", required_argument, NULL, O_QMTSTAT },
    { "garbage", no_argument, NULL, O_GARBAGE },
    { "ignore", required_argument, NULL, O_IGNORE },
    { "urcport-usb", no_argument, NULL, O_URCUSB },
    { "recvlen-hex-chars", no_argument, NULL, O_RLCHARS },
    { "csq", required_argument, NULL, O_CSQ },
    { "seed", required_argument, NULL, O_SEED },
    { "quiet", no_argument, NULL, O_QUIET },
    { "verbose", no_argument, NULL, O_VERBOSE },
    { "exit-on-hangup", no_argument, NULL, O_HANGUP },
    { "latency-ms", required_argument, NULL, O_LATENCY },
    { "burst-ms", required_argument, NULL, O_BURST },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

static bool num(const char *name, const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        (void)fprintf(stderr, "quectel-sim: bad value for --%s: '%s' (%ld..%ld)\n", name, s, lo,
                      hi);
        return false;
    }
    *out = v;
    return true;
}

static bool opt_number(opts_t *o, int id, const char *arg)
{
    long v = 0;
    switch (id) {
    case O_BOOT:
        return num("boot-ms", arg, 0, 600000, &o->boot_ms);
    case O_SLOWRDY:
        return num("slow-rdy", arg, 0, 600000, &o->slow_rdy_ms);
    case O_ATTACH:
        return num("attach-ms", arg, 0, 600000, &o->attach_ms);
    case O_LATENCY:
        return num("latency-ms", arg, 0, 600000, &o->latency_ms);
    case O_BURST:
        return num("burst-ms", arg, 0, 60000, &o->burst_ms);
    case O_SLEEP:
        return num("sleep-after-ms", arg, 0, 600000, &o->sleep_after_ms);
    case O_BDELAY:
        return num("byte-delay-us", arg, 0, 1000000, &o->byte_delay_us);
    case O_DROP:
        return num("drop-recv", arg, 1, 1000000, &o->drop_recv);
    case O_QMTSTAT:
        return num("qmtstat-after", arg, 1, 1000000, &o->qmtstat_after);
    case O_CSQ:
        if (!num("csq", arg, 0, 31, &v)) {
            return false;
        }
        o->csq = (int)v;
        return true;
    case O_SEED:
        if (!num("seed", arg, 0, 0x7FFFFFFF, &v)) {
            return false;
        }
        o->seed = (unsigned)v;
        return true;
    default:
        return false;
    }
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    int id;
    memset(o, 0, sizeof(*o));
    o->imei = "866000000000001";
    o->boot_ms = 150;
    o->attach_ms = 200;
    o->sleep_after_ms = 2000;
    o->csq = 24;
    o->byte_delay_us = -1;
    o->seed = (unsigned)getpid();
    while ((id = getopt_long(argc, argv, "", LONG_OPTS, NULL)) != -1) {
        switch (id) {
        case O_HELP:
            usage(stdout);
            return 1;
        case O_MODEL:
            if (strcasecmp(optarg, "bg95") == 0 || strcasecmp(optarg, "bg95-m2") == 0) {
                o->model = MODEL_BG95;
            } else if (strcasecmp(optarg, "bc660k") == 0 || strcasecmp(optarg, "bc660k-gl") == 0) {
                o->model = MODEL_BC660K;
            } else {
                (void)fprintf(stderr, "quectel-sim: --model bg95 or bc660k\n");
                return 2;
            }
            break;
        case O_LINK:
            o->pty_link = optarg;
            break;
        case O_IMEI:
            o->imei = optarg;
            break;
        case O_ONEBYTE:
            o->one_byte = true;
            break;
        case O_URCB:
            o->urc_between = true;
            break;
        case O_GARBAGE:
            o->garbage = true;
            break;
        case O_URCUSB:
            o->urcport_usb = true;
            break;
        case O_RLCHARS:
            o->recvlen_chars = true;
            break;
        case O_QUIET:
            o->quiet = true;
            break;
        case O_VERBOSE:
            o->verbose = true;
            break;
        case O_HANGUP:
            o->exit_on_hangup = true;
            break;
        case O_IGNORE:
            if (o->n_ignore == MAX_IGNORE) {
                (void)fprintf(stderr, "quectel-sim: at most %d --ignore\n", MAX_IGNORE);
                return 2;
            }
            o->ignore[o->n_ignore++] = optarg;
            break;
        default:
            if (!opt_number(o, id, optarg)) {
                return 2;
            }
            break;
        }
    }
    if (optind < argc) {
        (void)fprintf(stderr, "quectel-sim: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o->byte_delay_us < 0) {
        o->byte_delay_us = o->one_byte ? 50 : 0;
    }
    return 0;
}

static void describe(void)
{
    logf_("%s on %s, IMEI %s", is_bg95() ? "BG95-M2 (LTE-M)" : "BC660K-GL (NB-IoT)", g.slave,
          g.o.imei);
    if (g.o.slow_rdy_ms > 0) {
        logf_("fault: RDY %ld ms late", g.o.slow_rdy_ms);
    }
    if (g.o.one_byte || g.o.byte_delay_us > 0) {
        logf_("fault: bytes sent one at a time, %ld us apart", g.o.byte_delay_us);
    }
    if (g.o.burst_ms > 0) {
        logf_("fault: output sent in bursts every %ld ms", g.o.burst_ms);
    }
    if (g.o.drop_recv > 0) {
        logf_("fault: every %ldth message from the broker is dropped", g.o.drop_recv);
    }
    if (g.o.qmtstat_after > 0) {
        logf_("fault: +QMTSTAT after %ld messages", g.o.qmtstat_after);
    }
    for (int i = 0; i < g.o.n_ignore; i++) {
        logf_("fault: the first %s is not answered", g.o.ignore[i]);
    }
}

int main(int argc, char **argv)
{
    int rc = parse_args(argc, argv, &g.o);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    g.rnd = g.o.seed;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        g.cl[i].id = i;
        g.cl[i].probe_fd = -1;
    }
    g.urc_uart = !g.o.urcport_usb;
    signals();
    if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS) {
        (void)fputs("quectel-sim: libmosquitto could not be initialised\n", stderr);
        return 1;
    }
    g.master = pty_open();
    if (g.master < 0) {
        (void)fprintf(stderr, "quectel-sim: cannot create a pseudo-terminal: %s\n",
                      strerror(errno));
        return 1;
    }
    if (g.o.pty_link != NULL) {
        (void)unlink(g.o.pty_link);
        if (symlink(g.slave, g.o.pty_link) != 0) {
            (void)fprintf(stderr, "quectel-sim: cannot link %s: %s\n", g.o.pty_link,
                          strerror(errno));
            return 1;
        }
    }
    (void)printf("pty %s\n", g.slave);
    (void)fflush(stdout);
    describe();
    power_cycle("power on");
    if (g.o.garbage) {
        ev_add(EV_GARBAGE, now_ms() + 500u);
    }
    while (!g_stop) {
        loop_once();
    }
    logf_("stopping");
    net_clear();
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client_reset(&g.cl[i]);
        client_reap(&g.cl[i]);
    }
    if (g.o.pty_link != NULL) {
        (void)unlink(g.o.pty_link);
    }
    free(g.out);
    free(g.deferred);
    (void)close(g.master);
    (void)mosquitto_lib_cleanup();
    return 0;
}
