/*
 * fuzz_quectel - the whole Quectel driver (AT engine + URC parser + the
 * BG95 / BC660K scripts) with a module that says random things.
 *
 * Whatever the driver writes to the UART is swallowed; what it reads is
 * built from the input: raw bytes, or lines from a table of the answers
 * and URCs a real module sends (OK, ERROR, RDY, +QMTOPEN, +QMTCONN,
 * +QMTRECV with a raw or hex payload, +QMTSTAT, +CEREG, the '>' prompt...)
 * with numbers and payloads from the input, cut into random-sized reads.
 * Meanwhile the input drives the transport and modem interfaces.
 *
 * Checked: no read or write outside any buffer (ASan, exact-size copies of
 * every UART read), a message callback only with sane lengths, every
 * return value one of the documented ones, and time always moving on.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellota/quectel.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static quectel_t g_q;
static quectel_config_t g_cfg;
static ota_transport_t g_t;
static ota_modem_t g_m;
static uint8_t g_rx[8192];
static size_t g_rx_len;
static size_t g_rx_pos;
static uint8_t g_piece;
static int g_write_mode; /* 0 all, 1 some, 2 none, 3 error */
static uint32_t g_now;
static uint32_t g_msgs;
static volatile uint8_t g_sink; /* reads that the compiler must keep */

static int uart_write(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        g_sink ^= d[i];
    }
    switch (g_write_mode) {
    case 1: return n > 3u ? 3 : (int)n;
    case 2: return 0;
    case 3: return -1;
    default: return (int)n;
    }
}

static int uart_read(void *ctx, uint8_t *b, size_t cap)
{
    size_t n = g_rx_len - g_rx_pos;
    (void)ctx;
    FUZZ_CHECK(b != NULL && cap > 0u);
    n = n < cap ? n : cap;
    n = n < g_piece ? n : g_piece;
    memcpy(b, &g_rx[g_rx_pos], n);
    g_rx_pos += n;
    return (int)n;
}

static uint32_t clk(void *ctx)
{
    (void)ctx;
    return g_now;
}

static void on_msg(void *arg, const char *topic, size_t tlen, const uint8_t *p, size_t len)
{
    FUZZ_CHECK(arg == &g_q);
    FUZZ_CHECK(tlen < 512u && len <= QUECTEL_CFG_PAYLOAD_MAX);
    FUZZ_CHECK(len == 0u || p != NULL);
    for (size_t i = 0; i < tlen; i++) {
        g_sink ^= (uint8_t)topic[i];
    }
    for (size_t i = 0; i < len; i++) {
        g_sink ^= p[i];
    }
    g_msgs++;
}

static void rx_add(const void *p, size_t n)
{
    if (g_rx_pos == g_rx_len) {
        g_rx_pos = g_rx_len = 0;
    }
    if (n > sizeof g_rx - g_rx_len) {
        n = sizeof g_rx - g_rx_len;
    }
    memcpy(&g_rx[g_rx_len], p, n);
    g_rx_len += n;
}

static void rx_str(const char *s)
{
    rx_add(s, strlen(s));
}

/* One canned module answer or URC, numbers and payloads from the input. */
static void canned(fz_in_t *in)
{
    char line[1400];
    uint8_t k = fz_u8(in);
    unsigned a = fz_u8(in) % 8u;
    unsigned b = fz_u8(in) % 8u;
    unsigned c = fz_u16(in);
    size_t n = 0;
    const uint8_t *pay;
    switch (k % 24u) {
    case 0: rx_str("\r\nOK\r\n"); return;
    case 1: rx_str("\r\nERROR\r\n"); return;
    case 2: snprintf(line, sizeof line, "\r\n+CME ERROR: %u\r\n", c); break;
    case 3: rx_str("\r\nRDY\r\n"); return;
    case 4: rx_str("\r\nAPP RDY\r\n"); return;
    case 5: snprintf(line, sizeof line, "\r\n+QMTOPEN: %u,%d\r\n", a, (int)b - 1); break;
    case 6: snprintf(line, sizeof line, "\r\n+QMTCONN: %u,%u,%u\r\n", a, b % 3u, c % 6u); break;
    case 7: snprintf(line, sizeof line, "\r\n+QMTSUB: %u,%u,%u,%u\r\n", a, c, b % 3u, c % 3u); break;
    case 8: snprintf(line, sizeof line, "\r\n+QMTPUB: %u,%u,%u\r\n", a, c, b % 3u); break;
    case 9: snprintf(line, sizeof line, "\r\n+QMTSTAT: %u,%u\r\n", a, b); break;
    case 10: snprintf(line, sizeof line, "\r\n+CEREG: %u,%u\r\n", a % 3u, b % 6u); break;
    case 11: snprintf(line, sizeof line, "\r\n+CEREG: %u\r\n", b % 6u); break;
    case 12: snprintf(line, sizeof line, "\r\n+CSQ: %u,99\r\n", c % 100u); break;
    case 13: rx_str("\r\n> "); return;
    case 14: rx_str("\r\nQuectel\r\nBG95-M2\r\nRevision: BG95M2LAR02A03\r\n\r\nOK\r\n"); return;
    case 15: rx_str("\r\nQuectel_Ltd\r\nQuectel_BC660K-GL\r\nRevision: BC660KGLAAR01A05\r\n\r\nOK\r\n"); return;
    case 16: snprintf(line, sizeof line, "\r\n86%013u\r\n\r\nOK\r\n", c); break;
    case 17: snprintf(line, sizeof line, "\r\n+QMTRECV: %u,%u\r\n", a, b % 5u); break;
    case 18: /* BG95: a message with a raw payload, length from the input */
        pay = fz_field(in, &n);
        snprintf(line, sizeof line, "\r\n+QMTRECV: %u,%u,\"v2/fw/response/%u/chunk/%u\",%u,\"", a, c,
                 b, a, (unsigned)((k & 0x20u) ? n : fz_u8(in)));
        rx_str(line);
        rx_add(pay, n);
        rx_str("\"\r\n");
        return;
    case 19: /* BC660K: hex payload with its length */
        pay = fz_field(in, &n);
        snprintf(line, sizeof line, "\r\n+QMTRECV: %u,%u,\"t/%u\",%u,\"", a, c, b,
                 (unsigned)((k & 0x20u) ? 2u * n : n));
        for (size_t i = 0; i < n; i++) {
            snprintf(&line[strlen(line)], 3, "%02X", pay[i]);
        }
        strcat(line, "\"\r\n");
        break;
    case 20: snprintf(line, sizeof line, "\r\n+QMTRECV: %u,%u,%u,%u,%u,%u\r\n", a, b & 1u, c & 1u,
                      (b >> 1) & 1u, (c >> 1) & 1u, (c >> 2) & 1u); break;
    case 21: snprintf(line, sizeof line, "\r\n+QMTCFG: \"version\",(3,4)\r\n\r\nOK\r\n"); break;
    case 22: snprintf(line, sizeof line, "\r\n+QMTPUBEX: (0-5),(0-65535),(0-2),(0,1),\"topic\",(1-4096)\r\n\r\nOK\r\n"); break;
    default: rx_str("\r\nPOWERED DOWN\r\n"); return;
    }
    rx_str(line);
}

static void transport_op(fz_in_t *in)
{
    static const ota_mqtt_conn_t conn = {"broker.example", 1883, "dev-1", "token", "", 60};
    static char topic[80];
    static uint8_t payload[1100];
    size_t n = 0;
    int rc;
    switch (fz_u8(in) % 5u) {
    case 0:
        rc = g_t.connect(g_t.ctx, &conn, on_msg, &g_q);
        FUZZ_CHECK(rc == 0);
        break;
    case 1:
        rc = g_t.subscribe(g_t.ctx, "v2/fw/response/+/chunk/+", fz_u8(in) % 3u);
        FUZZ_CHECK(rc == 0 || rc == OTA_ERR_STATE || rc == OTA_ERR_NOSPACE);
        break;
    case 2: {
        const uint8_t *p = fz_bytes(in, fz_u16(in) % sizeof payload, &n);
        memcpy(payload, p, n);
        snprintf(topic, sizeof topic, "v2/fw/request/%u/chunk/%u", fz_u8(in), fz_u8(in));
        rc = g_t.publish(g_t.ctx, topic, payload, n, fz_u8(in) % 3u);
        FUZZ_CHECK(rc == 0 || rc == OTA_ERR_STATE || rc == OTA_ERR_NOSPACE || rc == OTA_ERR_RANGE);
        break;
    }
    case 3: g_t.disconnect(g_t.ctx); break;
    default: {
        ota_link_state_t ls = g_t.state(g_t.ctx);
        FUZZ_CHECK(ls == OTA_LINK_DOWN || ls == OTA_LINK_CONNECTING || ls == OTA_LINK_UP ||
                   ls == OTA_LINK_FAILED);
        break;
    }
    }
}

static void modem_op(fz_in_t *in)
{
    char imei[24];
    size_t cap = 1u + fz_u8(in) % sizeof imei;
    switch (fz_u8(in) % 6u) {
    case 0: (void)g_m.power_up(g_m.ctx); break;
    case 1: (void)g_m.power_down(g_m.ctx); break;
    case 2: (void)g_m.sleep(g_m.ctx); break;
    case 3: (void)g_m.wake(g_m.ctx); break;
    case 4:
        if (g_m.imei(g_m.ctx, imei, cap) == 0) {
            FUZZ_CHECK(strlen(imei) < cap);
        }
        break;
    default:
        (void)g_m.network(g_m.ctx);
        (void)g_m.signal_dbm(g_m.ctx);
        break;
    }
}

static void poll_some(int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t at;
        ota_status_t st = quectel_poll(&g_q, g_now);
        FUZZ_CHECK(st == OTA_OK || st == OTA_ERR_PORT);
        if (quectel_next_deadline(&g_q, &at) && (int32_t)(at - g_now) > 0) {
            uint32_t step = at - g_now;
            g_now += step > 2000u ? 2000u : step;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    uint8_t setup = fz_u8(&in);
    quectel_stats_t st;

    g_rx_len = g_rx_pos = 0;
    g_piece = 16;
    g_write_mode = 0;
    g_now = (uint32_t)fz_u8(&in) << 24;
    quectel_config_defaults(&g_cfg);
    g_cfg.uart = (quectel_uart_t){NULL, uart_write, uart_read};
    g_cfg.clock = (ota_clock_t){NULL, (setup & 4u) ? clk : NULL};
    g_cfg.dialect = (quectel_dialect_t)(setup % 3u);
    g_cfg.apn = (setup & 8u) ? "iot.apn" : NULL;
    g_cfg.client_idx = (uint8_t)((setup >> 4) % 5u);
    FUZZ_CHECK(quectel_init(&g_q, &g_cfg) == OTA_OK);
    quectel_transport(&g_q, &g_t);
    quectel_modem(&g_q, &g_m);

    for (int steps = 0; in.n > 0u && steps < 600; steps++) {
        size_t n = 0;
        const uint8_t *b;
        switch (fz_u8(&in) % 8u) {
        case 0: canned(&in); break;
        case 1: b = fz_field(&in, &n); rx_add(b, n); break;
        case 2: transport_op(&in); break;
        case 3: modem_op(&in); break;
        case 4: g_now += (uint32_t)fz_u16(&in) * 10u; break;
        case 5: g_piece = (uint8_t)(1u + fz_u8(&in) % 80u); break;
        case 6: g_write_mode = fz_u8(&in) % 4u; break;
        default: poll_some(1 + fz_u8(&in) % 8); break;
        }
        poll_some(1);
    }
    g_write_mode = 0;
    poll_some(50);
    quectel_stats(&g_q, &st);
    FUZZ_CHECK(st.recovery <= QUECTEL_REC_POWER && st.max_recovery <= QUECTEL_REC_POWER);
    FUZZ_CHECK(quectel_state(&g_q) <= QUECTEL_ST_POWERING_DOWN);
    return 0;
}
