/*
 * The Quectel driver in the BC660K dialect, against scripted module
 * transcripts delivered in 1- to 8-byte fragments: bring-up with ATI
 * detection and AT+CGSN, hex data format with "showrecvlen", the
 * non-data-mode publish with the payload in hex, the data-mode fallback
 * with its 500 ms wait after '>', AT+QSCLK sleep with wake-up ATs that may
 * be lost, restarts without APP RDY, and the real OTA client over the
 * driver over an emulated BC660K.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellota/ota_client.h"
#include "cellota/ota_crc32.h"
#include "cellota/quectel.h"
#include "fake_flash.h"
#include "fake_tb.h"
#include "fake_uart.h"

#define OK "\r\nOK\r\n"
#define INJECT(e, lit) fake_uart_inject(&(e)->fu, (lit), sizeof(lit) - 1u)

typedef struct {
    fake_uart_t fu;
    fake_gpio_t gp;
    quectel_config_t cfg;
    quectel_t q;
    ota_transport_t tp;
    ota_modem_t md;
    ota_mqtt_conn_t conn;
    uint32_t now;
    uint32_t rung_at; /* when the recovery rung last changed */
    uint8_t rung;
    int msgs;
    char topic[16][128];
    uint8_t pay[16][1200];
    size_t len[16];
} env_t;

static void on_msg(void *arg, const char *topic, size_t tlen, const uint8_t *p, size_t n)
{
    env_t *e = arg;
    assert_true(e->msgs < 16);
    assert_true(tlen < 128);
    assert_true(n <= 1200);
    memcpy(e->topic[e->msgs], topic, tlen);
    e->topic[e->msgs][tlen] = '\0';
    if (n > 0) {
        memcpy(e->pay[e->msgs], p, n);
    }
    e->len[e->msgs] = n;
    e->msgs++;
}

static void env_init(env_t *e, quectel_dialect_t d, unsigned frag)
{
    memset(e, 0, sizeof *e);
    fake_uart_init(&e->fu);
    e->fu.frag_min = frag != 0 ? frag : 1;
    e->fu.frag_max = frag != 0 ? frag : 8;
    e->now = 1000;
    e->fu.now = e->now;
    quectel_config_defaults(&e->cfg);
    e->cfg.uart = fake_uart_port(&e->fu);
    e->cfg.gpio = fake_gpio_port(&e->gp, &e->now, true, false, true);
    e->cfg.dialect = d;
    e->cfg.cmd_timeout_ms = 300;
    e->cfg.cfun_timeout_ms = 1000;
    e->cfg.boot_timeout_ms = 3000;
    e->cfg.attach_timeout_ms = 10000;
    e->cfg.open_timeout_ms = 2000;
    e->cfg.mqtt_timeout_ms = 2000;
    e->cfg.backoff_ms = 100;
    e->cfg.backoff_max_ms = 5000;
    assert_int_equal(quectel_init(&e->q, &e->cfg), OTA_OK);
    quectel_transport(&e->q, &e->tp);
    quectel_modem(&e->q, &e->md);
    e->conn.host = "broker.local";
    e->conn.port = 1883;
    e->conn.client_id = "dev1";
    e->conn.username = "token1";
    e->conn.password = NULL;
    e->conn.keepalive_s = 120;
}

static env_t *g;

static int setup(void **state)
{
    g = calloc(1, sizeof *g);
    assert_non_null(g);
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* One poll at the current time, then more while bytes are waiting. */
static void poll_now(env_t *e)
{
    int guard = 0;
    quectel_stats_t st;
    do {
        fake_uart_set_time(&e->fu, e->now);
        assert_int_equal(quectel_poll(&e->q, e->now), OTA_OK);
        assert_true(++guard < 100000);
    } while (fake_uart_pending(&e->fu) > 0);
    quectel_stats(&e->q, &st);
    if (st.recovery != e->rung) {
        e->rung = st.recovery;
        e->rung_at = e->now;
    }
}

static void run_ms(env_t *e, uint32_t ms)
{
    uint32_t end = e->now + ms;
    poll_now(e);
    while ((int32_t)(e->now - end) < 0) {
        e->now++;
        poll_now(e);
    }
}

static void assert_script_ok(env_t *e)
{
    if (e->fu.errors != 0) {
        fail_msg("fake module: %s\nlog: %s", e->fu.err, e->fu.log);
    }
}

static ota_link_state_t link_state(env_t *e)
{
    return e->tp.state(e->tp.ctx);
}

static bool run_until_link(env_t *e, ota_link_state_t want, uint32_t max_ms)
{
    uint32_t end = e->now + max_ms;
    poll_now(e);
    while (link_state(e) != want) {
        if ((int32_t)(e->now - end) >= 0) {
            return false;
        }
        e->now++;
        poll_now(e);
    }
    return true;
}

/* ---- scripts -------------------------------------------------------------- */

static const char CFGTEST_BC[] = "\r\n+QMTCFG: \"version\",(0-4),(0,1)\r\n"
                                 "+QMTCFG: \"dataformat\",(0-4),(0,1),(0,1)\r\n"
                                 "+QMTCFG: \"showrecvlen\",(0-4),(0,1)\r\n\r\nOK\r\n";

static void script_init(env_t *e)
{
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
    fake_uart_expect(&e->fu, "AT+GSN\r", "\r\n+CME ERROR: 50\r\n");
    fake_uart_expect(&e->fu, "AT+CGSN=1\r", "\r\n+CGSN: \"866425031234567\"\r\n\r\nOK\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCFG=?\r", CFGTEST_BC);
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
}

static void script_attach(env_t *e)
{
    fake_uart_expect(&e->fu, "AT+CFUN=1\r", OK);
    fake_uart_expect(&e->fu, "AT+CEREG?\r",
                     "\r\n+CEREG: 4,5,\"0001\",\"0000ABCD\",9,,,\"00100011\",\"00101010\"\r\n" OK);
    fake_uart_expect(&e->fu, "AT+CSQ\r", "\r\n+CSQ: 25,99\r\n\r\nOK\r\n");
}

static void script_mqtt_cfg(env_t *e, bool hex)
{
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"version\",0,1\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"keepalive\",0,120\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"session\",0,1\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"dataformat\",0,1,1\r", hex ? OK : "\r\n+CME ERROR: 8507\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"showrecvlen\",0,1\r", OK);
}

static void script_open_conn(env_t *e)
{
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTOPEN: 0,0\r\n", 40);
    fake_uart_expect(&e->fu, "AT+QMTCONN=0,\"dev1\",\"token1\"\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTCONN: 0,0,0\r\n", 40);
}

static void bring_up_hex(env_t *e, bool hex)
{
    fake_uart_expect(&e->fu, "AT\r", OK);
    script_init(e);
    script_attach(e);
    script_mqtt_cfg(e, hex);
    script_open_conn(e);
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, on_msg, e), 0);
    assert_true(run_until_link(e, OTA_LINK_UP, 5000));
    assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

static void bring_up(env_t *e)
{
    bring_up_hex(e, true);
}

static quectel_stats_t stats(env_t *e)
{
    quectel_stats_t s;
    quectel_stats(&e->q, &s);
    return s;
}

static void hexs(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02X", p[i]);
    }
}

/* ---- bring-up --------------------------------------------------------------- */

static void test_bringup_all_fragments(void **state)
{
    env_t *e = *state;
    for (unsigned frag = 1; frag <= 8; frag++) {
        char imei[20];
        env_init(e, QUECTEL_AUTO, frag);
        fake_uart_expect(&e->fu, "AT\r", "\r\n\r\n"); /* a sleeping UART: first AT lost */
        fake_uart_expect(&e->fu, "AT\r", OK);
        fake_uart_expect(&e->fu, "ATE0\r", OK);
        /* Odd fragment sizes get the manual's form of the answer, even ones the short form. */
        fake_uart_expect(&e->fu, "ATI\r",
                         (frag % 2u) ? "\r\nQuectel_Ltd\r\nQuectel_BC660K-GL\r\nRevision: BC660KGLAAR01A05\r\n" OK
                                     : "\r\nQuectel\r\nBC660K-GL\r\nRevision: BC660KGLAAR01A03\r\n" OK);
        fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
        fake_uart_expect(&e->fu, "AT+GSN\r", "\r\n+CME ERROR: 50\r\n");
        fake_uart_expect(&e->fu, "AT+CGSN=1\r", "\r\n+CGSN: \"866425031234567\"\r\n\r\nOK\r\n");
        fake_uart_expect(&e->fu, "AT+QMTCFG=?\r", CFGTEST_BC);
        fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
        script_attach(e);
        script_mqtt_cfg(e, true);
        fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
        fake_uart_urc(&e->fu, "\r\n+IP: 10.0.0.7\r\n", 10); /* between OK and the result */
        fake_uart_urc(&e->fu, "\r\n+QMTOPEN: 0,0\r\n", 30);
        fake_uart_expect(&e->fu, "AT+QMTCONN=0,\"dev1\",\"token1\"\r", OK);
        fake_uart_urc(&e->fu, "\r\n+QMTCONN: 0,0,0\r\n", 40);
        assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, on_msg, e), 0);
        assert_true(run_until_link(e, OTA_LINK_UP, 5000));
        assert_script_ok(e);
        assert_true(fake_uart_done(&e->fu));
        assert_int_equal(quectel_dialect(&e->q), QUECTEL_BC660K);
        assert_int_equal(e->md.imei(e->md.ctx, imei, sizeof imei), 0);
        assert_string_equal(imei, "866425031234567");
        assert_int_equal(e->md.signal_dbm(e->md.ctx), -63);
        assert_int_equal(e->md.network(e->md.ctx), OTA_NET_REGISTERED);
        assert_int_equal(stats(e).timeouts, 1); /* the lost AT */
    }
}

static void test_apn_and_no_dataformat_in_probe(void **state)
{
    env_t *e = *state;
    env_init(e, QUECTEL_BC660K, 4);
    e->cfg.apn = "nb.example";
    assert_int_equal(quectel_init(&e->q, &e->cfg), OTA_OK);
    fake_uart_expect(&e->fu, "AT\r", OK);
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
    fake_uart_expect(&e->fu, "AT+GSN\r", "\r\n866425031234567\r\n" OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=?\r", "\r\n+QMTCFG: \"version\",(0-4),(0,1)\r\n" OK);
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
    fake_uart_expect(&e->fu, "AT+QCGDEFCONT=\"IP\",\"nb.example\"\r", OK);
    script_attach(e);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"version\",0,1\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"keepalive\",0,120\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"session\",0,1\r", OK);
    /* no dataformat: not in the probe's list */
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"showrecvlen\",0,1\r", OK);
    script_open_conn(e);
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, on_msg, e), 0);
    assert_true(run_until_link(e, OTA_LINK_UP, 5000));
    assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

/* ---- publish ------------------------------------------------------------------ */

static void test_publish_inline_hex_all_fragments(void **state)
{
    static const uint8_t p[] = {0x00, 0x0D, 0x0A, '"', 0x1A, 'O', 'K', 0xFF};
    env_t *e = *state;
    for (unsigned frag = 1; frag <= 8; frag++) {
        env_init(e, QUECTEL_BC660K, frag);
        bring_up(e);
        e->fu.write_max = frag;
        fake_uart_expect(&e->fu, "AT+QMTPUB=0,1,1,0,\"v2/fw/request/3/chunk/0\",8,\"000D0A221A4F4BFF\"\r",
                         OK);
        fake_uart_urc(&e->fu, "\r\n+CEREG: 5\r\n", 5); /* between OK and the result */
        fake_uart_urc(&e->fu, "\r\n+QMTPUB: 0,1,0\r\n", 20);
        assert_int_equal(e->tp.publish(e->tp.ctx, "v2/fw/request/3/chunk/0", p, sizeof p, 1), 0);
        run_ms(e, 100);
        assert_script_ok(e);
        assert_true(fake_uart_done(&e->fu));
        assert_int_equal(stats(e).tx_msgs, 1);
        assert_int_equal(e->md.network(e->md.ctx), OTA_NET_REGISTERED);
    }
}

static void test_publish_hex_length_other_reading(void **state)
{
    env_t *e = *state;
    env_init(e, QUECTEL_BC660K, 3);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,1,1,0,\"t\",2,\"6869\"\r", "\r\n+CME ERROR: 8507\r\n");
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,2,1,0,\"t\",4,\"6869\"\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTPUB: 0,2,0\r\n", 10);
    /* the next publish keeps the reading that worked */
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,3,1,0,\"t\",6,\"414243\"\r",
                     "\r\nOK\r\n\r\n+QMTPUB: 0,3,0\r\n");
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"hi", 2, 1), 0);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"ABC", 3, 1), 0);
    run_ms(e, 100);
    assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(stats(e).tx_msgs, 2);
    assert_int_equal(stats(e).tx_failed, 0);
}

static void test_publish_too_long_refused(void **state)
{
    static uint8_t big[731];
    env_t *e = *state;
    env_init(e, QUECTEL_BC660K, 3);
    bring_up(e);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", big, 731, 1), OTA_ERR_RANGE);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", big, 500, 1), 0);
}

/* dataformat refused: text with lengths, and the data-mode publish with its
 * 500 ms wait after '>'. */
static void test_text_mode_prompt_waits_500ms(void **state)
{
    static const uint8_t p[] = {'{', '"', 'a', '"', ':', '1', '}', 0x1A, '\r'};
    env_t *e = *state;
    static uint8_t urc[128];
    for (unsigned frag = 1; frag <= 8; frag++) {
        int h;
        env_init(e, QUECTEL_BC660K, frag);
        bring_up_hex(e, false);
        fake_uart_expect(&e->fu, "AT+QMTPUB=0,1,1,0,\"t\",9\r", "\r\n> ");
        fake_uart_expect_n(&e->fu, p, sizeof p, "\r\nOK\r\n\r\n+QMTPUB: 0,1,0\r\n", 24, 0);
        h = sprintf((char *)urc, "\r\n+QMTRECV: 0,1,\"r\",%zu,", sizeof p);
        memcpy(urc + h, p, sizeof p);
        memcpy(urc + h + sizeof p, "\r\n", 2);
        fake_uart_urc_n(&e->fu, urc, (size_t)h + sizeof p + 2, 10);
        assert_int_equal(e->tp.publish(e->tp.ctx, "t", p, sizeof p, 1), 0);
        run_ms(e, 20);
        size_t at_prompt = e->fu.log_len;
        run_ms(e, 470);
        assert_int_equal(e->fu.log_len, at_prompt); /* data not sent yet */
        run_ms(e, 40);
        assert_int_equal(e->fu.log_len, at_prompt + sizeof p);
        run_ms(e, 50);
        assert_script_ok(e);
        assert_true(fake_uart_done(&e->fu));
        assert_int_equal(stats(e).tx_msgs, 1);
        assert_int_equal(e->msgs, 1);
        assert_int_equal(e->len[0], sizeof p);
        assert_memory_equal(e->pay[0], p, sizeof p);
    }
}

/* ---- receive ------------------------------------------------------------------ */

static void test_receive_hex_all_fragments(void **state)
{
    env_t *e = *state;
    static uint8_t chunk[1028];
    static char urc[2 * 1028 + 200];
    for (size_t i = 0; i < sizeof chunk; i++) {
        chunk[i] = (uint8_t)(i * 37u + 11u);
    }
    memcpy(chunk + 10, "\r\nOK\r\n+QMTRECV: 0,1\r\n\"\x1a\x00", 24);
    int h = sprintf(urc, "\r\n+QMTRECV: 0,4,\"v2/fw/response/3/chunk/0\",%zu,\"", sizeof chunk);
    hexs(urc + h, chunk, sizeof chunk);
    strcat(urc, "\"\r\n");
    for (unsigned frag = 1; frag <= 8; frag++) {
        env_init(e, QUECTEL_BC660K, frag);
        bring_up(e);
        fake_uart_inject(&e->fu, urc, strlen(urc));
        INJECT(e, "\r\n+QMTRECV: 0,5,\"a\",\"4F4B0D0A\"\r\n");  /* no length field */
        INJECT(e, "\r\n+QMTRECV: 0,6,\"a\",8,4f4b0d0a\r\n");    /* length in digits */
        INJECT(e, "\r\n+QMTRECV: 0,7,\"a\",3,\"4F4B0D0A\"\r\n"); /* wrong length: dropped */
        run_ms(e, 50);
        assert_int_equal(e->msgs, 3);
        assert_string_equal(e->topic[0], "v2/fw/response/3/chunk/0");
        assert_int_equal(e->len[0], sizeof chunk);
        assert_memory_equal(e->pay[0], chunk, sizeof chunk);
        assert_int_equal(e->len[1], 4);
        assert_memory_equal(e->pay[1], "OK\r\n", 4);
        assert_int_equal(e->len[2], 4);
        assert_int_equal(stats(e).rx_dropped, 1);
        assert_int_equal(stats(e).rx_msgs, 3);
        assert_int_equal(link_state(e), OTA_LINK_UP);
    }
}

/* ---- sleep -------------------------------------------------------------------- */

static void test_qsclk_sleep_and_wake(void **state)
{
    env_t *e = *state;
    env_init(e, QUECTEL_BC660K, 2);
    fake_uart_expect(&e->fu, "AT\r", OK);
    script_init(e);
    script_attach(e);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    run_ms(e, 100);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_READY);
    fake_uart_expect(&e->fu, "AT+QSCLK=1\r", OK);
    assert_int_equal(e->md.sleep(e->md.ctx), 0);
    run_ms(e, 50);
    assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));

    /* wake: PSM_EINT pulse, an AT that the sleeping UART loses, another AT, QSCLK=0 */
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", OK);
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
    int n0 = e->gp.n;
    assert_int_equal(e->md.wake(e->md.ctx), 0);
    run_ms(e, 5);
    assert_int_equal(e->gp.n, n0 + 1);
    assert_int_equal(e->gp.ev[n0].pin, FAKE_PIN_EINT);
    assert_true(e->gp.ev[n0].level);
    run_ms(e, 300);
    assert_int_equal(e->gp.n, n0 + 2);
    assert_int_equal(e->gp.ev[n0 + 1].at - e->gp.ev[n0].at, 300);
    run_ms(e, 400);
    assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(fake_uart_sent(&e->fu, "AT\r"), 3);
    assert_int_equal(stats(e).timeouts, 0);                /* a lost wake-up AT is expected */
    assert_int_equal(stats(e).recovery, QUECTEL_REC_NONE);
}

static void test_commands_while_asleep_are_preceded_by_at(void **state)
{
    env_t *e = *state;
    env_init(e, QUECTEL_BC660K, 5);
    fake_uart_expect(&e->fu, "AT\r", OK);
    script_init(e);
    script_attach(e);
    fake_uart_expect(&e->fu, "AT+QSCLK=1\r", OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    run_ms(e, 100);
    assert_int_equal(e->md.sleep(e->md.ctx), 0);
    run_ms(e, 50);
    /* power down while asleep: wake-up ATs (three lost: go on anyway), then QPOWD */
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT+QPOWD=1\r", "\r\nOK\r\n");
    assert_int_equal(e->md.power_down(e->md.ctx), 0);
    run_ms(e, 1000);
    assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(stats(e).timeouts, 0);
    assert_int_equal(stats(e).recovery, QUECTEL_REC_NONE);
}

static void test_no_sleep_during_transfer(void **state)
{
    env_t *e = *state;
    env_init(e, QUECTEL_BC660K, 5);
    bring_up(e);
    assert_int_equal(e->md.sleep(e->md.ctx), OTA_ERR_STATE);
    run_ms(e, 100);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QSCLK=1"), 0);
}

static void test_connect_while_asleep_wakes_first(void **state)
{
    env_t *e = *state;
    env_init(e, QUECTEL_BC660K, 6);
    fake_uart_expect(&e->fu, "AT\r", OK);
    script_init(e);
    script_attach(e);
    fake_uart_expect(&e->fu, "AT+QSCLK=1\r", OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    run_ms(e, 100);
    assert_int_equal(e->md.sleep(e->md.ctx), 0);
    run_ms(e, 50);
    fake_uart_expect(&e->fu, "AT\r", OK);
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
    script_mqtt_cfg(e, true);
    script_open_conn(e);
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, on_msg, e), 0);
    assert_true(run_until_link(e, OTA_LINK_UP, 3000));
    assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

/* ---- restarts and +QMTSTAT ------------------------------------------------------ */

static void test_rdy_restart_settles_300ms_and_reconfigures(void **state)
{
    env_t *e = *state;
    env_init(e, QUECTEL_BC660K, 7);
    bring_up(e);
    INJECT(e, "\r\nRDY\r\n");
    run_ms(e, 1);
    assert_int_equal(link_state(e), OTA_LINK_FAILED);
    fake_uart_clear_log(&e->fu);
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
    fake_uart_expect(&e->fu, "AT+GSN\r", "\r\n+CME ERROR: 50\r\n"); /* IMEI known: no CGSN */
    fake_uart_expect(&e->fu, "AT+QMTCFG=?\r", CFGTEST_BC);
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
    script_attach(e);
    run_ms(e, 290);
    assert_int_equal(e->fu.log_len, 0);
    run_ms(e, 100);
    assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    e->tp.disconnect(e->tp.ctx);
    script_mqtt_cfg(e, true);
    script_open_conn(e);
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, on_msg, e), 0);
    assert_true(run_until_link(e, OTA_LINK_UP, 3000));
    assert_script_ok(e);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QMTCFG=\"dataformat\",0,1,1"), 1);
    assert_int_equal(stats(e).restarts, 1);
}

static void test_qmtstat_closed_by_peer(void **state)
{
    env_t *e = *state;
    env_init(e, QUECTEL_BC660K, 8);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", "\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    INJECT(e, "\r\n+QMTSTAT: 0,1\r\n");
    run_ms(e, 1);
    assert_int_equal(link_state(e), OTA_LINK_FAILED);
    assert_int_equal(stats(e).recovery, QUECTEL_REC_REOPEN);
    run_ms(e, 500);
    assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

/* ---- the OTA client over the driver over an emulated BC660K ----------------- */

#define FLASH_SIZE (256u * 1024u)
#define SLOT_ADDR 0x2000u
#define SLOT_SIZE (128u * 1024u)

typedef struct {
    env_t env;
    fake_tb_t tb;
    fake_module_t mod;
    fake_flash_t ff;
    fake_clock_t clk;
    ota_settings_t set;
    ota_config_t ocfg;
    ota_client_t cli;
    uint8_t image[9000];
    uint8_t pkg[10000];
    size_t pkg_len;
} ota_env_t;

static size_t dragino_pkg(const uint8_t *img, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 1024u) {
        size_t k = n - i < 1024u ? n - i : 1024u;
        uint32_t crc = ota_crc32(0, img + i, k);
        memcpy(out + o, img + i, k);
        o += k;
        for (int b = 0; b < 4; b++) {
            out[o++] = (uint8_t)(crc >> (8 * b));
        }
    }
    return o;
}

static void test_ota_client_over_driver(void **state)
{
    (void)state;
    ota_env_t *o = calloc(1, sizeof *o);
    env_t *e = &o->env;
    ota_client_info_t info;
    assert_non_null(o);
    for (size_t i = 0; i < sizeof o->image; i++) {
        o->image[i] = (uint8_t)(i * 2246822519u >> 11);
    }
    o->pkg_len = dragino_pkg(o->image, sizeof o->image, o->pkg);

    env_init(e, QUECTEL_BC660K, 0);
    fake_tb_init(&o->tb, o->pkg, o->pkg_len, "s31-nb", "v1.6.0");
    fake_module_init(&o->mod, &e->fu, fake_tb_transport(&o->tb), true);
    assert_int_equal(fake_flash_init(&o->ff, FLASH_SIZE, 4096u, 256u), 0);
    ota_settings_defaults(&o->set, "s31-nb", "v1.5.0");
    strcpy(o->set.host, "broker.local");
    o->set.port = 1883;
    strcpy(o->set.client_id, "dev1");
    strcpy(o->set.username, "token1");
    ota_config_defaults(&o->ocfg);
    o->ocfg.transport = e->tp;
    fake_flash_port(&o->ff, &o->ocfg.flash);
    o->ocfg.clock = fake_clock(&o->clk);
    o->ocfg.settings = &o->set;
    o->ocfg.imei = "866425031234567";
    o->ocfg.meta_addr = 0;
    o->ocfg.slot_addr = SLOT_ADDR;
    o->ocfg.slot_size = SLOT_SIZE;
    o->ocfg.window = 1;
    assert_int_equal(ota_client_init(&o->cli, &o->ocfg), OTA_OK);
    assert_int_equal(ota_client_start(&o->cli), OTA_OK);
    for (int i = 0; i < 2000000; i++) {
        o->clk.now = e->now;
        fake_uart_set_time(&e->fu, e->now);
        fake_module_poll(&o->mod, e->now);
        assert_int_equal(ota_client_poll(&o->cli, e->now), OTA_OK);
        ota_client_info(&o->cli, &info);
        if (info.state == OTA_STATE_IDLE || info.state == OTA_STATE_DONE) {
            break;
        }
        if (fake_uart_pending(&e->fu) == 0) {
            e->now += 5;
        }
    }
    assert_script_ok(e);
    assert_int_equal(info.state, OTA_STATE_DONE);
    assert_int_equal(info.code, OTA_CODE_SUCCESS);
    uint8_t *got = malloc(sizeof o->image);
    fake_flash_peek(&o->ff, SLOT_ADDR, got, sizeof o->image);
    assert_memory_equal(got, o->image, sizeof o->image);
    free(got);
    assert_true(o->mod.hex);
    assert_int_equal(o->mod.errors, 0);
    assert_true(o->mod.publishes >= 10);
    assert_true(stats(e).rx_msgs >= 10);
    fake_flash_free(&o->ff);
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bringup_all_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apn_and_no_dataformat_in_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_inline_hex_all_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_hex_length_other_reading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_too_long_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_mode_prompt_waits_500ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_hex_all_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qsclk_sleep_and_wake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commands_while_asleep_are_preceded_by_at, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_sleep_during_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_while_asleep_wakes_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rdy_restart_settles_300ms_and_reconfigures, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qmtstat_closed_by_peer, setup, teardown),
        cmocka_unit_test(test_ota_client_over_driver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
