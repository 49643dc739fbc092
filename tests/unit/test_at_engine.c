/*
 * The byte-level AT engine on its own: lines, final results, echo, the '>'
 * prompt and its delay, inline hex, partial writes, timeouts, overflow and
 * resynchronisation, raw payload reads (quoted / unquoted / binary) and hex
 * payloads, every receive case delivered in 1- to 8-byte fragments.
 *
 * The driver hooks are implemented here: they record what the engine hands
 * over, and quectel_on_field switches to RAW / HEX the way the driver does
 * for "+QMTRECV: <id>,<msgid>,"<topic>",<len>," (text) or after the topic
 * (hex mode).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_uart.h"
#include "modem/at_engine.h"

typedef struct {
    fake_uart_t fu;
    quectel_stats_t st;
    quectel_at_t e;
    char lines[64][QUECTEL_CFG_LINE_MAX];
    int nlines;
    uint8_t pay[8][QUECTEL_CFG_PAYLOAD_MAX];
    size_t pay_len[8];
    bool pay_ok[8];
    char pay_hdr[8][QUECTEL_CFG_LINE_MAX];
    int npay;
    bool hex_mode;  /* hook: switch to HEX after the topic */
    int fields;     /* hook calls */
} env_t;

static env_t *g_env;

/* ---- hooks -------------------------------------------------------------- */

void quectel_on_done(void *owner)
{
    env_t *e = owner;
    assert_int_equal(e->e.state, AT_DONE); /* left DONE for the tests to see */
}

void quectel_on_line(void *owner, const char *line, size_t len)
{
    env_t *e = owner;
    assert_int_equal(strlen(line), len);
    assert_true(e->nlines < 64);
    strcpy(e->lines[e->nlines++], line);
}

void quectel_on_field(void *owner, const char *line, size_t len)
{
    env_t *e = owner;
    unsigned commas = 0, quotes = 0;
    const char *f4 = NULL;
    e->fields++;
    if (strncmp(line, "+QMTRECV:", 9) != 0) {
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '"') {
            quotes++;
        } else if (line[i] == ',' && (quotes & 1u) == 0) {
            commas++;
            if (commas == 3) {
                f4 = line + i + 1;
            }
        }
    }
    if (quotes != 2) {
        return;
    }
    if (e->hex_mode && commas == 3) {
        quectel_at_hex(&e->e);
    } else if (!e->hex_mode && commas == 4) {
        quectel_at_raw(&e->e, (uint32_t)strtoul(f4, NULL, 10));
    }
}

void quectel_on_payload(void *owner, const char *hdr, size_t hlen, const uint8_t *pay, size_t len,
                        bool ok)
{
    env_t *e = owner;
    assert_true(e->npay < 8);
    assert_int_equal(strlen(hdr), hlen);
    strcpy(e->pay_hdr[e->npay], hdr);
    if (ok) {
        assert_true(len <= QUECTEL_CFG_PAYLOAD_MAX);
        memcpy(e->pay[e->npay], pay, len);
    }
    e->pay_len[e->npay] = len;
    e->pay_ok[e->npay] = ok;
    e->npay++;
}

/* ---- harness ------------------------------------------------------------ */

static void env_reset(env_t *e, unsigned frag)
{
    memset(e, 0, sizeof *e);
    fake_uart_init(&e->fu);
    e->fu.frag_min = frag;
    e->fu.frag_max = frag;
    e->e.uart = fake_uart_port(&e->fu);
    e->e.owner = e;
    e->e.st = &e->st;
    e->e.now = 1000;
    e->fu.now = 1000;
}

static int setup(void **state)
{
    g_env = calloc(1, sizeof *g_env);
    assert_non_null(g_env);
    *state = g_env;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* Read everything the fake has for us, in its fragments. */
static void drain(env_t *e)
{
    uint8_t buf[64];
    int n, guard = 0;
    while ((n = e->e.uart.read(e->e.uart.ctx, buf, sizeof buf)) > 0) {
        quectel_at_rx(&e->e, buf, (size_t)n);
        assert_true(++guard < 1000000);
    }
}

static void set_time(env_t *e, uint32_t t)
{
    e->e.now = t;
    fake_uart_set_time(&e->fu, t);
}

static void cmd(env_t *e, const char *text, uint32_t timeout, uint8_t mode, const void *data,
                uint16_t len, const char *tail)
{
    e->e.cmd_len = (uint16_t)strlen(text);
    memcpy(e->e.cmd, text, e->e.cmd_len);
    quectel_at_start(&e->e, timeout, mode, data, len, tail);
}

/* Pump, read, until the command is done or `ms` of fake time passed. */
static void run(env_t *e, uint32_t ms)
{
    uint32_t end = e->e.now + ms;
    for (;;) {
        assert_int_equal(quectel_at_pump(&e->e), 0);
        drain(e);
        assert_int_equal(quectel_at_pump(&e->e), 0);
        if (e->e.state == AT_DONE || (int32_t)(e->e.now - end) >= 0) {
            return;
        }
        set_time(e, e->e.now + 1);
    }
}

static void feed(env_t *e, const void *d, size_t n)
{
    fake_uart_inject(&e->fu, d, n);
    drain(e);
}

#define FEED(e, s) feed((e), (s), sizeof(s) - 1u)

/* ---- lines and final results ------------------------------------------- */

static void test_lines_urcs_echo_and_ok(void **state)
{
    env_t *e = *state;
    for (unsigned frag = 1; frag <= 8; frag++) {
        env_reset(e, frag);
        static const char reply[] =
            "AT+CSQ\r\r\n+QIND: SMS DONE\r\n\r\n+CSQ: 20,99\r\n\n\r\n\0\r\nOK\r\n";
        fake_uart_expect_n(&e->fu, "AT+CSQ\r", 7, reply, sizeof reply - 1, 0);
        cmd(e, "AT+CSQ\r", 1000, AT_DATA_NONE, NULL, 0, "");
        run(e, 100);
        assert_int_equal(e->e.state, AT_DONE);
        assert_int_equal(e->e.result, AT_OK);
        assert_int_equal(e->nlines, 2); /* echo, empty lines and NUL dropped */
        assert_string_equal(e->lines[0], "+QIND: SMS DONE");
        assert_string_equal(e->lines[1], "+CSQ: 20,99");
        assert_int_equal(e->fu.errors, 0);
    }
}

static void test_final_results(void **state)
{
    static const struct {
        const char *reply;
        int result;
        int32_t cme;
    } cases[] = {
        {"\r\nOK\r\n", AT_OK, 0},
        {"\r\nERROR\r\n", AT_ERROR, -1},
        {"\r\n+CME ERROR: 8503\r\n", AT_ERROR, 8503},
        {"\r\n+CMS ERROR: 500\r\n", AT_ERROR, 500},
        {"\r\nSEND FAIL\r\n", AT_ERROR, -1},
        {"\r\nOK \r\n", -1, 0},     /* not a final result: a line */
        {"\r\nOKAY\r\n", -1, 0},
    };
    env_t *e = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        env_reset(e, 3);
        fake_uart_expect(&e->fu, "AT\r", cases[i].reply);
        cmd(e, "AT\r", 500, AT_DATA_NONE, NULL, 0, "");
        run(e, 600);
        if (cases[i].result < 0) {
            assert_int_equal(e->e.result, AT_TIMEOUT);
            assert_int_equal(e->nlines, 1);
            continue;
        }
        assert_int_equal(e->e.state, AT_DONE);
        assert_int_equal(e->e.result, cases[i].result);
        assert_int_equal(e->e.cme, cases[i].cme);
        assert_int_equal(e->nlines, 0);
    }
}

static void test_final_words_when_idle_are_lines(void **state)
{
    env_t *e = *state;
    env_reset(e, 2);
    FEED(e, "\r\nOK\r\n\r\nERROR\r\nRDY\r\n");
    assert_int_equal(e->nlines, 3);
    assert_string_equal(e->lines[0], "OK");
    assert_string_equal(e->lines[1], "ERROR");
    assert_string_equal(e->lines[2], "RDY");
    assert_int_equal(e->e.state, AT_IDLE);
}

static void test_bare_cr_and_bare_lf_end_lines(void **state)
{
    env_t *e = *state;
    env_reset(e, 1);
    FEED(e, "A\rB\nC\r\n   D\r\n");
    assert_int_equal(e->nlines, 4);
    assert_string_equal(e->lines[0], "A");
    assert_string_equal(e->lines[1], "B");
    assert_string_equal(e->lines[2], "C");
    assert_string_equal(e->lines[3], "D"); /* leading blanks dropped */
}

/* ---- timeouts ------------------------------------------------------------ */

static void test_timeout_exactly_at_deadline(void **state)
{
    env_t *e = *state;
    env_reset(e, 1);
    fake_uart_expect(&e->fu, "AT+CFUN=1\r", NULL);
    cmd(e, "AT+CFUN=1\r", 250, AT_DATA_NONE, NULL, 0, "");
    run(e, 249);
    assert_int_equal(e->e.state, AT_WAIT);
    assert_true(quectel_at_busy(&e->e));
    set_time(e, e->e.now + 1);
    assert_int_equal(quectel_at_pump(&e->e), 0);
    assert_int_equal(e->e.state, AT_DONE);
    assert_int_equal(e->e.result, AT_TIMEOUT);
    assert_int_equal(e->e.now, 1250);
}

static void test_timeout_survives_clock_wrap(void **state)
{
    env_t *e = *state;
    env_reset(e, 1);
    set_time(e, 0xFFFFFF00u);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    cmd(e, "AT\r", 0x200, AT_DATA_NONE, NULL, 0, "");
    run(e, 0x1FF);
    assert_int_equal(e->e.state, AT_WAIT);
    run(e, 1);
    assert_int_equal(e->e.result, AT_TIMEOUT);
}

static void test_late_ok_after_timeout_is_a_line(void **state)
{
    env_t *e = *state;
    env_reset(e, 4);
    fake_uart_expect_d(&e->fu, "AT\r", "\r\nOK\r\n", 600);
    cmd(e, "AT\r", 500, AT_DATA_NONE, NULL, 0, "");
    run(e, 1000);
    assert_int_equal(e->e.result, AT_TIMEOUT);
    e->e.state = AT_IDLE;
    run(e, 200);
    assert_int_equal(e->nlines, 1);
    assert_string_equal(e->lines[0], "OK");
}

/* ---- prompt, data, hex, partial writes ---------------------------------- */

static void test_prompt_then_binary_data(void **state)
{
    static const uint8_t data[] = {0x00, 0x0D, 0x0A, '"', 0x1A, 0x1B, 'O', 'K', 0xFF};
    env_t *e = *state;
    for (unsigned frag = 1; frag <= 8; frag++) {
        env_reset(e, frag);
        e->fu.write_max = frag; /* the UART takes few bytes at a time */
        fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,1,1,0,\"t\",9\r", "\r\n> ");
        fake_uart_expect_n(&e->fu, data, sizeof data, "\r\nOK\r\n\r\n+QMTPUBEX: 0,1,0\r\n", 26, 0);
        cmd(e, "AT+QMTPUBEX=0,1,1,0,\"t\",9\r", 1000, AT_DATA_PROMPT, data, sizeof data, "");
        run(e, 100);
        assert_int_equal(e->fu.errors, 0);
        assert_int_equal(e->e.result, AT_OK);
        drain(e);
        assert_int_equal(e->nlines, 1);
        assert_string_equal(e->lines[0], "+QMTPUBEX: 0,1,0");
        /* nothing after the data: no CR, no Ctrl-Z */
        assert_int_equal(e->fu.log_len, 26u + sizeof data);
    }
}

static void test_prompt_delay_500ms(void **state)
{
    env_t *e = *state;
    env_reset(e, 8);
    e->e.prompt_delay_ms = 500;
    fake_uart_expect(&e->fu, "AT+X\r", "\r\n>");
    fake_uart_expect(&e->fu, "abc", "\r\nOK\r\n");
    cmd(e, "AT+X\r", 5000, AT_DATA_PROMPT, "abc", 3, "");
    run(e, 20);
    assert_int_equal(e->e.state, AT_DELAY);
    uint32_t prompt_at = e->e.deadline - 500;
    set_time(e, prompt_at + 499);
    assert_int_equal(quectel_at_pump(&e->e), 0);
    assert_int_equal(e->fu.log_len, 5u); /* data not sent yet */
    set_time(e, prompt_at + 500);
    assert_int_equal(quectel_at_pump(&e->e), 0);
    assert_int_equal(e->fu.log_len, 8u);
    run(e, 10);
    assert_int_equal(e->e.result, AT_OK);
    assert_int_equal(e->fu.errors, 0);
}

static void test_prompt_never_comes_times_out(void **state)
{
    env_t *e = *state;
    env_reset(e, 1);
    fake_uart_expect(&e->fu, "AT+X\r", "\r\n+QMTSTAT: 0,1\r\n");
    cmd(e, "AT+X\r", 300, AT_DATA_PROMPT, "abc", 3, "");
    run(e, 299);
    assert_int_equal(e->e.state, AT_PROMPT);
    assert_int_equal(e->nlines, 1); /* the URC still got through */
    run(e, 5);
    assert_int_equal(e->e.result, AT_TIMEOUT);
    assert_int_equal(e->fu.log_len, 5u);
}

static void test_error_instead_of_prompt(void **state)
{
    env_t *e = *state;
    env_reset(e, 2);
    fake_uart_expect(&e->fu, "AT+X\r", "\r\n+CME ERROR: 601\r\n");
    cmd(e, "AT+X\r", 300, AT_DATA_PROMPT, "abc", 3, "");
    run(e, 50);
    assert_int_equal(e->e.result, AT_ERROR);
    assert_int_equal(e->e.cme, 601);
    assert_int_equal(e->fu.log_len, 5u);
}

static void test_gt_is_a_prompt_only_when_waiting(void **state)
{
    env_t *e = *state;
    env_reset(e, 1);
    FEED(e, ">x\r\n");
    assert_int_equal(e->nlines, 1);
    assert_string_equal(e->lines[0], ">x");
}

static void test_inline_hex(void **state)
{
    static const uint8_t data[] = {0x00, 0x0D, 0x22, 0xAB, 0xFF};
    env_t *e = *state;
    env_reset(e, 5);
    e->fu.write_max = 3;
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,1,1,0,\"t\",5,\"000D22ABFF\"\r", "\r\nOK\r\n");
    cmd(e, "AT+QMTPUB=0,1,1,0,\"t\",5,\"", 1000, AT_DATA_HEX, data, sizeof data, "\"\r");
    run(e, 50);
    assert_int_equal(e->fu.errors, 0);
    assert_int_equal(e->e.result, AT_OK);
}

static void test_write_error_ends_command(void **state)
{
    env_t *e = *state;
    env_reset(e, 1);
    e->fu.write_error = -5;
    cmd(e, "AT\r", 1000, AT_DATA_NONE, NULL, 0, "");
    assert_int_equal(quectel_at_pump(&e->e), -1);
    assert_int_equal(e->e.state, AT_DONE);
    assert_int_equal(e->e.result, AT_TIMEOUT);
}

static int zero_write(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)d;
    (void)n;
    return 0;
}

static void test_uart_that_takes_nothing_still_times_out(void **state)
{
    env_t *e = *state;
    env_reset(e, 1);
    e->e.uart.write = zero_write;
    cmd(e, "AT\r", 100, AT_DATA_NONE, NULL, 0, "");
    run(e, 99);
    assert_int_equal(e->e.state, AT_SEND);
    run(e, 1);
    assert_int_equal(e->e.result, AT_TIMEOUT);
}

/* ---- overflow ------------------------------------------------------------- */

static void test_overflow_resyncs_on_next_line(void **state)
{
    env_t *e = *state;
    for (unsigned frag = 1; frag <= 8; frag++) {
        char big[QUECTEL_CFG_LINE_MAX * 3];
        env_reset(e, frag);
        memset(big, 'x', sizeof big);
        big[0] = '+';
        fake_uart_expect(&e->fu, "AT\r", NULL);
        cmd(e, "AT\r", 1000, AT_DATA_NONE, NULL, 0, "");
        run(e, 1);
        fake_uart_inject(&e->fu, big, sizeof big);
        FEED(e, "OK still part of the long line\r\n+CEREG: 1\r\nOK\r\n");
        assert_int_equal(e->st.rx_overflows, 1);
        assert_int_equal(e->st.resyncs, 1);
        assert_int_equal(e->nlines, 1);
        assert_string_equal(e->lines[0], "+CEREG: 1");
        assert_int_equal(e->e.result, AT_OK);
    }
}

static void test_line_of_exactly_max_fits(void **state)
{
    env_t *e = *state;
    char l[QUECTEL_CFG_LINE_MAX + 2];
    env_reset(e, 7);
    memset(l, 'a', QUECTEL_CFG_LINE_MAX - 1);
    l[QUECTEL_CFG_LINE_MAX - 1] = '\r';
    l[QUECTEL_CFG_LINE_MAX] = '\n';
    feed(e, l, QUECTEL_CFG_LINE_MAX + 1);
    assert_int_equal(e->st.rx_overflows, 0);
    assert_int_equal(e->nlines, 1);
    assert_int_equal(strlen(e->lines[0]), QUECTEL_CFG_LINE_MAX - 1);
    l[QUECTEL_CFG_LINE_MAX - 1] = 'a';
    l[QUECTEL_CFG_LINE_MAX] = '\r';
    l[QUECTEL_CFG_LINE_MAX + 1] = '\n';
    feed(e, l, QUECTEL_CFG_LINE_MAX + 2);
    assert_int_equal(e->st.rx_overflows, 1);
    assert_int_equal(e->nlines, 1);
}

/* ---- raw payloads --------------------------------------------------------- */

/* Payload that is hostile to line parsers. */
static size_t hostile(uint8_t *p)
{
    static const char text[] = "\r\nOK\r\n+QMTRECV: 0,1,\"x\",3,\"abc\"\r\n\"\r\n>";
    size_t n = 0;
    p[n++] = 0x00;
    p[n++] = 0x0D;
    p[n++] = 0x0A;
    p[n++] = '"';
    p[n++] = 0x1A;
    memcpy(p + n, text, sizeof text - 1);
    n += sizeof text - 1;
    p[n++] = '"';
    return n;
}

static void check_payload(env_t *e, int i, const uint8_t *want, size_t n, const char *hdr)
{
    assert_true(e->npay > i);
    assert_true(e->pay_ok[i]);
    assert_int_equal(e->pay_len[i], n);
    assert_memory_equal(e->pay[i], want, n);
    assert_string_equal(e->pay_hdr[i], hdr);
}

static void test_raw_quoted_binary_all_fragments(void **state)
{
    env_t *e = *state;
    uint8_t p[128], msg[256];
    size_t n = hostile(p);
    for (unsigned frag = 1; frag <= 8; frag++) {
        int len;
        env_reset(e, frag);
        len = snprintf((char *)msg, sizeof msg, "\r\n+QMTRECV: 0,7,\"v2/fw/response/1/chunk/0\",%zu,\"", n);
        memcpy(msg + len, p, n);
        memcpy(msg + len + n, "\"\r\n+QMTSTAT: 0,1\r\n", 18);
        feed(e, msg, (size_t)len + n + 18);
        assert_int_equal(e->npay, 1);
        msg[len - 1] = '\0'; /* the header ends before the opening quote */
        check_payload(e, 0, p, n, (const char *)msg + 2);
        assert_int_equal(e->nlines, 1); /* the trailer and the URC, nothing of the payload */
        assert_string_equal(e->lines[0], "+QMTSTAT: 0,1");
    }
}

static void test_raw_unquoted(void **state)
{
    env_t *e = *state;
    env_reset(e, 3);
    FEED(e, "+QMTRECV: 0,1,\"t\",6,ab\r\ncd\r\nOK\r\n");
    check_payload(e, 0, (const uint8_t *)"ab\r\ncd", 6, "+QMTRECV: 0,1,\"t\",6,");
    assert_int_equal(e->nlines, 1);
    assert_string_equal(e->lines[0], "OK");
}

static void test_raw_unquoted_payload_starting_with_quote(void **state)
{
    env_t *e = *state;
    for (unsigned frag = 1; frag <= 8; frag++) {
        env_reset(e, frag);
        /* payload is  "ab"  (4 bytes, quotes included), sent without quotes */
        FEED(e, "+QMTRECV: 0,1,\"t\",4,\"ab\"\r\n+CSQ: 1,2\r\n");
        check_payload(e, 0, (const uint8_t *)"\"ab\"", 4, "+QMTRECV: 0,1,\"t\",4,");
        assert_int_equal(e->nlines, 1);
        assert_string_equal(e->lines[0], "+CSQ: 1,2");
        /* the same 4 bytes, quoted by the module */
        FEED(e, "+QMTRECV: 0,1,\"t\",4,\"\"ab\"\"\r\n+CSQ: 3,4\r\n");
        check_payload(e, 1, (const uint8_t *)"\"ab\"", 4, "+QMTRECV: 0,1,\"t\",4,");
        assert_int_equal(e->nlines, 2);
        assert_string_equal(e->lines[1], "+CSQ: 3,4");
    }
}

static void test_raw_empty_payloads(void **state)
{
    env_t *e = *state;
    env_reset(e, 1);
    FEED(e, "+QMTRECV: 0,1,\"t\",0,\"\"\r\n+QMTRECV: 0,2,\"t\",0,\r\nOK\r\n");
    assert_int_equal(e->npay, 2);
    assert_true(e->pay_ok[0]);
    assert_int_equal(e->pay_len[0], 0);
    assert_true(e->pay_ok[1]);
    assert_int_equal(e->pay_len[1], 0);
    assert_int_equal(e->nlines, 1);
    assert_string_equal(e->lines[0], "OK");
}

static void test_raw_too_long_dropped_then_resync(void **state)
{
    env_t *e = *state;
    static uint8_t msg[QUECTEL_CFG_PAYLOAD_MAX + 200];
    size_t n = QUECTEL_CFG_PAYLOAD_MAX + 10u;
    for (unsigned frag = 1; frag <= 8; frag += 7) {
        int len;
        env_reset(e, frag);
        len = snprintf((char *)msg, sizeof msg, "+QMTRECV: 0,1,\"t\",%zu,\"", n);
        memset(msg + len, 'O', n);
        memcpy(msg + len + n, "\"\r\nOK\r\n", 7);
        feed(e, msg, (size_t)len + n + 7);
        assert_int_equal(e->npay, 1);
        assert_false(e->pay_ok[0]);
        assert_int_equal(e->nlines, 1);
        assert_string_equal(e->lines[0], "OK");
    }
}

static void test_raw_largest_payload_fits(void **state)
{
    env_t *e = *state;
    static uint8_t msg[QUECTEL_CFG_PAYLOAD_MAX + 200];
    static uint8_t p[QUECTEL_CFG_PAYLOAD_MAX];
    size_t n = QUECTEL_CFG_PAYLOAD_MAX - 2u;
    int len;
    env_reset(e, 8);
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 7u);
    }
    len = snprintf((char *)msg, sizeof msg, "+QMTRECV: 0,1,\"t\",%zu,\"", n);
    memcpy(msg + len, p, n);
    memcpy(msg + len + n, "\"\r\n", 3);
    feed(e, msg, (size_t)len + n + 3);
    assert_int_equal(e->npay, 1);
    assert_true(e->pay_ok[0]);
    assert_int_equal(e->pay_len[0], n);
    assert_memory_equal(e->pay[0], p, n);
}

static void test_raw_payload_cut_short_resyncs_after_1s(void **state)
{
    env_t *e = *state;
    env_reset(e, 4);
    FEED(e, "+QMTRECV: 0,1,\"t\",100,\"only a part");
    assert_int_equal(e->e.rx_mode, AT_RX_RAW);
    set_time(e, 1999);
    assert_int_equal(quectel_at_pump(&e->e), 0);
    assert_int_equal(e->e.rx_mode, AT_RX_RAW);
    set_time(e, 2000);
    assert_int_equal(quectel_at_pump(&e->e), 0);
    assert_int_equal(e->e.rx_mode, AT_RX_LINE);
    assert_int_equal(e->st.rx_dropped, 1);
    assert_int_equal(e->st.resyncs, 1);
    FEED(e, "\r\nRDY\r\n");
    assert_int_equal(e->nlines, 1);
    assert_string_equal(e->lines[0], "RDY");
    /* the same for an overlong line that never ends, and for hex */
    char big[QUECTEL_CFG_LINE_MAX + 10];
    memset(big, 'x', sizeof big);
    feed(e, big, sizeof big);
    assert_int_equal(e->e.rx_mode, AT_RX_SKIP);
    set_time(e, 3000);
    assert_int_equal(quectel_at_pump(&e->e), 0);
    assert_int_equal(e->e.rx_mode, AT_RX_LINE);
    assert_int_equal(e->st.resyncs, 2);
    assert_int_equal(e->st.rx_dropped, 1);
    e->hex_mode = true;
    FEED(e, "\r\n+QMTRECV: 0,1,\"t\",\"4142");
    assert_int_equal(e->e.rx_mode, AT_RX_HEX);
    set_time(e, 4000);
    assert_int_equal(quectel_at_pump(&e->e), 0);
    assert_int_equal(e->e.rx_mode, AT_RX_LINE);
    assert_int_equal(e->st.rx_dropped, 2);
}

static void test_comma_in_topic_is_not_a_field(void **state)
{
    env_t *e = *state;
    env_reset(e, 2);
    FEED(e, "+QMTRECV: 0,1,\"a,b,c\",3,\"x,y\"\r\n");
    check_payload(e, 0, (const uint8_t *)"x,y", 3, "+QMTRECV: 0,1,\"a,b,c\",3,");
}

/* ---- hex payloads --------------------------------------------------------- */

static void test_hex_payloads(void **state)
{
    env_t *e = *state;
    static const uint8_t want[] = {0x00, 0x0D, 0x0A, 0x22, 0x1A, 0xFF};
    for (unsigned frag = 1; frag <= 8; frag++) {
        env_reset(e, frag);
        e->hex_mode = true;
        FEED(e, "+QMTRECV: 0,1,\"t\",6,\"000D0A221AFF\"\r\n"  /* length in bytes */
                "+QMTRECV: 0,2,\"t\",12,000d0a221aff\r\n"     /* in digits, unquoted */
                "+QMTRECV: 0,3,\"t\",\"000D0A221AFF\"\r\n"    /* no length field */
                "+QMTRECV: 0,4,\"t\",5,\"000D0A221AFF\"\r\n"  /* wrong length */
                "+QMTRECV: 0,5,\"t\",3,\"00G1FF\"\r\n"        /* not hex */
                "+QMTRECV: 0,6,\"t\",\"000\"\r\n"             /* odd digits */
                "OK\r\n");
        assert_int_equal(e->npay, 6);
        for (int i = 0; i < 3; i++) {
            assert_true(e->pay_ok[i]);
            assert_int_equal(e->pay_len[i], sizeof want);
            assert_memory_equal(e->pay[i], want, sizeof want);
        }
        assert_false(e->pay_ok[3]);
        assert_false(e->pay_ok[4]);
        assert_false(e->pay_ok[5]);
        assert_int_equal(e->nlines, 1);
        assert_string_equal(e->lines[0], "OK");
    }
}

static void test_hex_too_long_dropped(void **state)
{
    env_t *e = *state;
    static char msg[2 * QUECTEL_CFG_PAYLOAD_MAX + 100];
    int len;
    env_reset(e, 8);
    e->hex_mode = true;
    len = sprintf(msg, "+QMTRECV: 0,1,\"t\",\"");
    for (unsigned i = 0; i < QUECTEL_CFG_PAYLOAD_MAX + 1u; i++) {
        len += sprintf(msg + len, "41");
    }
    len += sprintf(msg + len, "\"\r\nOK\r\n");
    feed(e, msg, (size_t)len);
    assert_int_equal(e->npay, 1);
    assert_false(e->pay_ok[0]);
    assert_int_equal(e->nlines, 1);
}

/* ---- numbers -------------------------------------------------------------- */

static void test_num(void **state)
{
    const char *p;
    bool ok;
    (void)state;
    p = " 42,";
    assert_int_equal(quectel_at_num(&p, &ok), 42);
    assert_true(ok);
    assert_int_equal(*p, ',');
    p = "-1";
    assert_int_equal(quectel_at_num(&p, &ok), -1);
    assert_true(ok);
    p = "\"0001\"";
    assert_int_equal(quectel_at_num(&p, &ok), 1);
    assert_true(ok);
    assert_int_equal(*p, '"');
    p = "x";
    assert_int_equal(quectel_at_num(&p, &ok), 0);
    assert_false(ok);
    p = "99999999999999999999";
    (void)quectel_at_num(&p, &ok);
    assert_true(ok);
    assert_int_equal(*p, '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines_urcs_echo_and_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_words_when_idle_are_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bare_cr_and_bare_lf_end_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_exactly_at_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_survives_clock_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_ok_after_timeout_is_a_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prompt_then_binary_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prompt_delay_500ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prompt_never_comes_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_instead_of_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gt_is_a_prompt_only_when_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_hex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_ends_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uart_that_takes_nothing_still_times_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_overflow_resyncs_on_next_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_of_exactly_max_fits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_quoted_binary_all_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_unquoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_unquoted_payload_starting_with_quote, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_raw_empty_payloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_too_long_dropped_then_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_largest_payload_fits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_payload_cut_short_resyncs_after_1s, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_comma_in_topic_is_not_a_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hex_payloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hex_too_long_dropped, setup, teardown),
        cmocka_unit_test(test_num),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
