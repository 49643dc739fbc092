/*
 * fuzz_at_engine - the Quectel AT engine alone, fed random UART bytes.
 *
 * The driver's three hooks are implemented here: they check what the
 * engine hands over (lines NUL-terminated and inside the line buffer, a
 * payload only with its length inside the payload buffer) and, when a
 * "+...," field arrives, switch the receiver to a RAW read of a length from
 * the input or to HEX, as the driver does for +QMTRECV. Commands with and
 * without a data phase run at the same time, with a UART that accepts a
 * random number of bytes per write.
 *
 * Input: operations [opcode][arguments...]:
 *   0 feed bytes (length-prefixed) to the receiver, in random-sized pieces
 *   1 start a command (text, data mode, data)   2 pump / advance the clock
 *   3 set how many bytes the UART accepts       4 abort / reset
 *   5 the next '+...,' field switches to RAW n / HEX / nothing
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "at_engine.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static quectel_at_t g_e;
static quectel_stats_t g_st;
static uint8_t g_data[600];
static int g_accept;   /* bytes the UART accepts per write; < 0: error */
static uint8_t g_field_mode;
static uint32_t g_field_n;
static uint32_t g_lines;
static uint32_t g_payloads;
static volatile uint8_t g_sink; /* reads that the compiler must keep */

static int uart_write(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        g_sink ^= d[i];
    }
    if (g_accept < 0) {
        return -1;
    }
    return (size_t)g_accept < n ? g_accept : (int)n;
}

static int uart_read(void *ctx, uint8_t *b, size_t cap)
{
    (void)ctx;
    (void)b;
    (void)cap;
    return 0;
}

void quectel_on_done(void *owner)
{
    FUZZ_CHECK(owner == &g_e);
    FUZZ_CHECK(g_e.state == AT_DONE && g_e.result <= AT_TIMEOUT);
    g_e.state = AT_IDLE; /* the driver takes the result */
}

void quectel_on_line(void *owner, const char *line, size_t len)
{
    FUZZ_CHECK(owner == &g_e);
    FUZZ_CHECK(len > 0u && len < QUECTEL_CFG_LINE_MAX && strlen(line) == len);
    g_lines++;
}

void quectel_on_field(void *owner, const char *line, size_t len)
{
    FUZZ_CHECK(owner == &g_e);
    FUZZ_CHECK(len > 0u && len < QUECTEL_CFG_LINE_MAX && line[len] == '\0' && line[0] == '+');
    FUZZ_CHECK(line[len - 1u] == ',');
    if (g_field_mode == 1u) {
        quectel_at_raw(&g_e, g_field_n);
        g_field_mode = 0;
    } else if (g_field_mode == 2u) {
        quectel_at_hex(&g_e);
        g_field_mode = 0;
    }
}

void quectel_on_payload(void *owner, const char *hdr, size_t hlen, const uint8_t *pay, size_t len,
                        bool ok)
{
    FUZZ_CHECK(owner == &g_e);
    FUZZ_CHECK(hlen < QUECTEL_CFG_LINE_MAX);
    for (size_t i = 0; i < hlen; i++) {
        g_sink ^= (uint8_t)hdr[i];
    }
    if (ok) {
        FUZZ_CHECK(len <= QUECTEL_CFG_PAYLOAD_MAX);
        FUZZ_CHECK(pay >= g_e.pay && pay + len <= g_e.pay + QUECTEL_CFG_PAYLOAD_MAX);
        for (size_t i = 0; i < len; i++) {
            g_sink ^= pay[i];
        }
    }
    g_payloads++;
}

static void feed(fz_in_t *in)
{
    size_t n = 0;
    const uint8_t *b = fz_bytes(in, fz_u16(in) % 2048u, &n);
    while (n > 0u) {
        size_t piece = 1u + fz_u8(in) % 64u;
        piece = piece < n ? piece : n;
        /* An exact-size copy of the piece: ASan sees a read past it. */
        uint8_t *c = malloc(piece);
        memcpy(c, b, piece);
        quectel_at_rx(&g_e, c, piece);
        free(c);
        b += piece;
        n -= piece;
    }
}

static void start(fz_in_t *in)
{
    static const char *const tails[] = {"", "\r", "\x1a", "\"\r"};
    uint8_t mode = fz_u8(in) % 3u;
    size_t n = 0;
    size_t dn = 0;
    const uint8_t *t = fz_bytes(in, fz_u8(in) % (QUECTEL_CFG_CMD_MAX - 1u), &n);
    const uint8_t *d = fz_bytes(in, fz_u16(in) % sizeof g_data, &dn);
    if (quectel_at_busy(&g_e)) {
        return; /* one command at a time, as the driver does */
    }
    memcpy(g_e.cmd, t, n);
    if (mode == AT_DATA_NONE) {
        g_e.cmd[n++] = '\r';
    }
    g_e.cmd_len = (uint16_t)n;
    memcpy(g_data, d, dn);
    quectel_at_start(&g_e, 1u + fz_u16(in), mode, g_data, (uint16_t)dn, tails[fz_u8(in) % 4u]);
}

static void reset(void)
{
    uint32_t now = g_e.now;
    uint32_t delay = g_e.prompt_delay_ms;
    memset(&g_e, 0, sizeof g_e);
    g_e.now = now;
    g_e.prompt_delay_ms = delay;
    g_e.uart.ctx = NULL;
    g_e.uart.write = uart_write;
    g_e.uart.read = uart_read;
    g_e.owner = &g_e;
    g_e.st = &g_st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    memset(&g_e, 0, sizeof g_e);
    memset(&g_st, 0, sizeof g_st);
    g_accept = 64;
    g_field_mode = 0;
    reset();
    g_e.prompt_delay_ms = (fz_u8(&in) & 1u) ? 500u : 0u;
    for (int steps = 0; in.n > 0u && steps < 1000; steps++) {
        switch (fz_u8(&in) % 6u) {
        case 0: feed(&in); break;
        case 1: start(&in); break;
        case 2:
            g_e.now += (uint32_t)fz_u8(&in) * 50u;
            (void)quectel_at_pump(&g_e);
            break;
        case 3: g_accept = (int)(fz_u8(&in) % 70u) - 2; break;
        case 4:
            if (fz_u8(&in) & 1u) {
                quectel_at_abort(&g_e);
            } else {
                reset();
            }
            break;
        default:
            g_field_mode = fz_u8(&in) % 3u;
            /* Any length, up to 2^32 - 1 (the driver itself passes at
             * most 999999999: quectel_at_num saturates there). */
            g_field_n = (fz_u8(&in) & 1u) ? fz_u32(&in) : fz_u16(&in) % 1100u;
            break;
        }
        FUZZ_CHECK(g_e.line_len < QUECTEL_CFG_LINE_MAX);
        FUZZ_CHECK(g_e.tx_pos <= g_e.tx_end || !quectel_at_busy(&g_e));
        if (g_e.state == AT_DONE) {
            FUZZ_CHECK(g_e.result <= AT_TIMEOUT);
            g_e.state = AT_IDLE; /* the driver takes the result */
        }
    }
    return 0;
}
