/*
 * at_engine.c - byte-level AT engine of the Quectel driver. See at_engine.h.
 */
#include "at_engine.h"

#include <string.h>

#include "../ota_fmt.h"

#define LINE_CAP ((uint16_t)QUECTEL_CFG_LINE_MAX)
#define PAY_CAP ((uint32_t)QUECTEL_CFG_PAYLOAD_MAX)
#define AT_RX_GAP_MS 1000u /* longest silence inside a payload or a skipped line */

static bool due(uint32_t now, uint32_t t)
{
    return (int32_t)(now - t) >= 0;
}

bool quectel_at_busy(const quectel_at_t *e)
{
    return (unsigned)e->state - AT_SEND < (unsigned)(AT_DONE - AT_SEND);
}

void quectel_at_abort(quectel_at_t *e)
{
    e->state = AT_IDLE;
}

/* The command ended: tell the driver at once, so that the lines after a
 * final result (an asynchronous result right behind OK) find it ready. */
static void finish(quectel_at_t *e, uint8_t result)
{
    e->result = result;
    e->state = AT_DONE;
    quectel_on_done(e->owner);
}

int32_t quectel_at_num(const char **p, bool *ok)
{
    const char *s = *p;
    uint32_t v = 0;
    bool neg = false;
    *ok = false;
    while (*s == ' ') {
        s++;
    }
    if (*s == '"') {
        s++;
    }
    if (*s == '-') {
        neg = true;
        s++;
    }
    while (*s >= '0' && *s <= '9') {
        if (v < 100000000u) {
            v = v * 10u + (uint32_t)(*s - '0');
        }
        *ok = true;
        s++;
    }
    *p = s;
    return neg ? -(int32_t)v : (int32_t)v;
}

/* ------------------------------------------------------------------------ */
/* Receive                                                                  */
/* ------------------------------------------------------------------------ */

const char *quectel_at_prefix(const char *s, const char *w)
{
    while (*w != '\0' && *s == *w) {
        s++;
        w++;
    }
    return (*w == '\0') ? s : NULL;
}

unsigned quectel_at_match(const char *s, const char *list, const char **end)
{
    unsigned i = 0;
    size_t n;
    const char *p = NULL;
    while ((n = strlen(list)) != 0u && (p = quectel_at_prefix(s, list)) == NULL) {
        list += n + 1u;
        i++;
    }
    *end = (p != NULL) ? p : s;
    return i;
}

/* OK / ERROR / SEND FAIL / +CME ERROR: n / +CMS ERROR: n -> result, or -1.
 * The first three are whole lines, the last two prefixes. */
static int final_result(quectel_at_t *e, const char *l)
{
    static const char k_final[] = "OK\0ERROR\0SEND FAIL\0+CME ERROR:\0+CMS ERROR:\0";
    const char *p;
    bool ok;
    unsigned i = quectel_at_match(l, k_final, &p);
    if (i >= 5u || (i < 3u && *p != '\0')) {
        return -1;
    }
    e->cme = (i == 0u) ? 0 : ((i < 3u) ? -1 : quectel_at_num(&p, &ok));
    return (i == 0u) ? AT_OK : AT_ERROR;
}

static void line_end(quectel_at_t *e)
{
    size_t n = e->line_len;
    e->line[n] = '\0';
    e->line_len = 0;
    if (n >= 2u && e->line[0] == 'A' && e->line[1] == 'T') {
        return; /* echo of a command */
    }
    if (quectel_at_busy(e)) {
        int r = final_result(e, e->line);
        if (r >= 0) {
            finish(e, (uint8_t)r);
            return;
        }
    }
    quectel_on_line(e->owner, e->line, n);
}

static void line_byte(quectel_at_t *e, uint8_t b)
{
    if (b == '\r' || b == '\n') {
        if (e->line_len != 0u) {
            line_end(e);
        }
        return;
    }
    if (b == 0u || (e->line_len == 0u && b == ' ')) {
        return;
    }
    if (e->line_len == 0u && b == '>' && e->state == AT_PROMPT) {
        /* the data goes out once the delay (which may be 0) is over */
        e->state = AT_DELAY;
        e->deadline = e->now + e->prompt_delay_ms;
        return;
    }
    if (e->line_len >= LINE_CAP - 1u) {
        e->st->rx_overflows++;
        e->rx_mode = AT_RX_SKIP;
        e->line_len = 0;
        return;
    }
    e->line[e->line_len++] = (char)b;
    if (b == ',' && e->line[0] == '+') {
        e->line[e->line_len] = '\0';
        quectel_on_field(e->owner, e->line, e->line_len);
    }
}

NOINLINE static void payload_end(quectel_at_t *e, const uint8_t *p, size_t len, bool ok)
{
    e->rx_mode = AT_RX_LINE;
    quectel_on_payload(e->owner, e->line, e->line_len, p, len, ok);
    e->line_len = 0;
}

void quectel_at_raw(quectel_at_t *e, uint32_t n)
{
    e->rx_mode = AT_RX_RAW;
    /* Room for the two quotes of a quoted payload: raw_need + 2 never wraps
     * (such a length is far beyond the payload buffer: read and dropped). */
    e->raw_need = (n > UINT32_MAX - 2u) ? UINT32_MAX - 2u : n;
    e->raw_got = 0;
    e->rx_quote = 0;
}

static void raw_end(quectel_at_t *e)
{
    uint32_t n = e->raw_need;
    uint32_t off = 0;
    if (e->rx_quote != 0u) {
        n -= 2u;
        /* Quoted: '"' payload '"'. Unquoted payload that starts with '"':
         * payload CR LF, so the last byte read is not a quote. */
        off = (e->raw_last == '"') ? 1u : 0u;
    }
    payload_end(e, e->pay + off, n, e->raw_need <= PAY_CAP);
}

static void raw_byte(quectel_at_t *e, uint8_t b)
{
    if (e->raw_got == 0u) { /* the first byte: a quote, or an empty payload */
        if (b == '"') {
            e->rx_quote = 1;
            e->raw_need += 2u;
        } else if (e->raw_need == 0u) {
            raw_end(e);
            line_byte(e, b);
            return;
        }
    }
    if (e->raw_got < PAY_CAP) {
        e->pay[e->raw_got] = b;
    }
    e->raw_got++;
    e->raw_last = b;
    if (e->raw_got == e->raw_need) {
        raw_end(e);
    }
}

void quectel_at_hex(quectel_at_t *e)
{
    e->rx_mode = AT_RX_HEX;
    e->raw_got = 0;  /* hex digits decoded */
    e->raw_need = 0; /* length field (0: none seen) */
    e->hex_dec = 0;
    e->hex_bad = 0;
}

static void hex_end(quectel_at_t *e)
{
    uint32_t n = e->raw_got / 2u;
    uint32_t want = e->raw_need;
    bool ok = e->hex_bad == 0u && (e->raw_got & 1u) == 0u && n <= PAY_CAP;
    /* The length field may count bytes or hex digits: accept either. */
    if (want != 0u && want != n && want != 2u * n) {
        ok = false;
    }
    payload_end(e, e->pay, ok ? n : 0u, ok);
}

static void hex_byte(quectel_at_t *e, uint8_t b)
{
    uint32_t i = e->raw_got / 2u;
    int v;
    if (b == '\r' || b == '\n') {
        hex_end(e);
        return;
    }
    if (b == '"') {
        return;
    }
    if (b == ',') { /* what came before was the length field */
        e->raw_need = e->hex_dec;
        e->raw_got = 0;
        e->hex_bad = 0;
        return;
    }
    if (b >= '0' && b <= '9' && e->hex_dec < 1000000u) {
        e->hex_dec = e->hex_dec * 10u + (uint32_t)(b - '0');
    }
    v = ota_hex_value((char)b);
    if (v < 0) {
        e->hex_bad = 1;
        return;
    }
    if (i < PAY_CAP) { /* the second digit of a byte shifts the first one up */
        e->pay[i] = (uint8_t)(((uint32_t)e->pay[i] << 4) | (uint32_t)v);
    }
    e->raw_got++;
}

void quectel_at_rx(quectel_at_t *e, const uint8_t *b, size_t n)
{
    size_t i;
    e->rx_until = e->now + AT_RX_GAP_MS;
    for (i = 0; i < n; i++) {
        switch (e->rx_mode) {
        case AT_RX_SKIP:
            if (b[i] == '\r' || b[i] == '\n') {
                e->rx_mode = AT_RX_LINE;
                e->st->resyncs++;
            }
            break;
        case AT_RX_RAW:
            raw_byte(e, b[i]);
            break;
        case AT_RX_HEX:
            hex_byte(e, b[i]);
            break;
        default:
            line_byte(e, b[i]);
            break;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Transmit                                                                 */
/* ------------------------------------------------------------------------ */

void quectel_at_start(quectel_at_t *e, uint32_t timeout_ms, uint8_t data_mode, const uint8_t *data,
                      uint16_t len, const char *tail)
{
    uint32_t dl = (data_mode == AT_DATA_HEX) ? 2u * (uint32_t)len : (uint32_t)len;
    e->data_mode = data_mode;
    e->data = data;
    e->data_len = len;
    e->tail = tail;
    e->tx_pos = 0;
    e->tx_end = (uint16_t)(e->cmd_len + dl + strlen(tail));
    e->timeout = timeout_ms;
    e->deadline = e->now + timeout_ms;
    e->cme = 0;
    e->state = AT_SEND;
}

/* The byte at position p of command + data (raw or hex) + tail. */
NOINLINE static uint8_t tx_at(const quectel_at_t *e, uint32_t p)
{
    uint32_t dl;
    if (p < e->cmd_len) {
        return (uint8_t)e->cmd[p];
    }
    p -= e->cmd_len;
    if (e->data_mode == AT_DATA_HEX) {
        dl = 2u * (uint32_t)e->data_len;
        if (p < dl) {
            uint8_t v = e->data[p / 2u];
            v = ((p & 1u) != 0u) ? (uint8_t)(v & 15u) : (uint8_t)(v >> 4);
            return (uint8_t)(v + ((v < 10u) ? '0' : 'A' - 10));
        }
    } else {
        dl = e->data_len;
        if (p < dl) {
            return e->data[p];
        }
    }
    return (uint8_t)e->tail[p - dl];
}

/* Write up to 'stop'; returns -1 on a UART error. */
static int tx_until(quectel_at_t *e, uint16_t stop)
{
    uint8_t tmp[32];
    while (e->tx_pos < stop) {
        uint32_t n = 0;
        int r;
        while (n < sizeof tmp && e->tx_pos + n < stop) {
            tmp[n] = tx_at(e, e->tx_pos + n);
            n++;
        }
        r = e->uart.write(e->uart.ctx, tmp, n);
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            break;
        }
        e->tx_pos = (uint16_t)(e->tx_pos + (((uint32_t)r > n) ? n : (uint32_t)r));
    }
    return 0;
}

static int pump_send(quectel_at_t *e)
{
    bool prompt_mode = e->data_mode == AT_DATA_PROMPT;
    uint16_t stop = prompt_mode ? e->cmd_len : e->tx_end;
    if (e->state == AT_DATA) {
        stop = e->tx_end;
    }
    if (tx_until(e, stop) != 0) {
        return -1;
    }
    if (e->tx_pos == stop) {
        e->state = (e->state == AT_SEND && prompt_mode) ? AT_PROMPT : AT_WAIT;
    }
    return 0;
}

int quectel_at_pump(quectel_at_t *e)
{
    if (e->rx_mode != AT_RX_LINE && due(e->now, e->rx_until)) {
        /* a payload (or an overlong line) stopped in the middle: resync */
        if (e->rx_mode != AT_RX_SKIP) {
            e->st->rx_dropped++;
        }
        e->st->resyncs++;
        e->rx_mode = AT_RX_LINE;
        e->line_len = 0;
    }
    if (!quectel_at_busy(e)) {
        return 0;
    }
    if (e->state == AT_DELAY) {
        if (!due(e->now, e->deadline)) {
            return 0;
        }
        e->state = AT_DATA;
        e->deadline = e->now + e->timeout;
    }
    if ((e->state == AT_SEND || e->state == AT_DATA) && pump_send(e) != 0) {
        finish(e, AT_TIMEOUT);
        return -1;
    }
    if (quectel_at_busy(e) && due(e->now, e->deadline)) {
        finish(e, AT_TIMEOUT);
    }
    return 0;
}
