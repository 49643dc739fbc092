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
#include <string.h>

#include "quectel_env.h"

/* ---- scripts -------------------------------------------------------------- */

static const char CFGTEST_BC[] = "\r\n+QMTCFG: \"version\",(0-4),(0,1)\r\n"
                                 "+QMTCFG: \"dataformat\",(0-4),(0,1),(0,1)\r\n"
                                 "+QMTCFG: \"showrecvlen\",(0-4),(0,1)\r\n\r\nOK\r\n";

/* The init steps; `ati`: the answer to ATI (dialect AUTO), or NULL for no ATI. */
static void script_init(qenv_t *e, const char *ati)
{
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    if (ati != NULL) {
        fake_uart_expect(&e->fu, "ATI\r", ati);
    }
    fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
    fake_uart_expect(&e->fu, "AT+GSN\r", "\r\n+CME ERROR: 50\r\n");
    fake_uart_expect(&e->fu, "AT+CGSN=1\r", "\r\n+CGSN: \"866425031234567\"\r\n\r\nOK\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCFG=?\r", CFGTEST_BC);
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
}

static void script_attach(qenv_t *e)
{
    fake_uart_expect(&e->fu, "AT+CFUN=1\r", OK);
    fake_uart_expect(&e->fu, "AT+CEREG?\r",
                     "\r\n+CEREG: 4,5,\"0001\",\"0000ABCD\",9,,,\"00100011\",\"00101010\"\r\n" OK);
    fake_uart_expect(&e->fu, "AT+CSQ\r", "\r\n+CSQ: 25,99\r\n\r\nOK\r\n");
}

static void script_mqtt_cfg(qenv_t *e, bool hex)
{
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"version\",0,1\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"keepalive\",0,120\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"session\",0,1\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"dataformat\",0,1,1\r", hex ? OK : "\r\n+CME ERROR: 8507\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"showrecvlen\",0,1\r", OK);
}

/* Everything before the MQTT configuration: probe, init, attach. */
static void script_to_mqtt(qenv_t *e)
{
    fake_uart_expect(&e->fu, "AT\r", OK);
    script_init(e, NULL);
    script_attach(e);
}

static void bring_up_hex(qenv_t *e, bool hex)
{
    script_to_mqtt(e);
    script_mqtt_cfg(e, hex);
    qenv_script_open_conn(e);
    qenv_connect_up(e, 5000);
    assert_true(fake_uart_done(&e->fu));
}

static void bring_up(qenv_t *e)
{
    bring_up_hex(e, true);
}

/* Powered up, attached, no MQTT. */
static void power_up_ready(qenv_t *e, unsigned frag)
{
    qenv_init(e, QUECTEL_BC660K, frag);
    script_to_mqtt(e);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 100);
}

/* Asked to sleep: AT+QSCLK=1. */
static void go_to_sleep(qenv_t *e)
{
    fake_uart_expect(&e->fu, "AT+QSCLK=1\r", OK);
    assert_int_equal(e->md.sleep(e->md.ctx), 0);
    qenv_run_ms(e, 50);
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
    qenv_t *e = *state;
    for (unsigned frag = 1; frag <= 8; frag++) {
        char imei[20];
        qenv_init(e, QUECTEL_AUTO, frag);
        fake_uart_expect(&e->fu, "AT\r", "\r\n\r\n"); /* a sleeping UART: first AT lost */
        fake_uart_expect(&e->fu, "AT\r", OK);
        /* Odd fragment sizes get the manual's form of the answer, even ones the short form. */
        script_init(e, (frag % 2u) ? "\r\nQuectel_Ltd\r\nQuectel_BC660K-GL\r\n"
                                     "Revision: BC660KGLAAR01A05\r\n" OK
                                   : "\r\nQuectel\r\nBC660K-GL\r\n"
                                     "Revision: BC660KGLAAR01A03\r\n" OK);
        script_attach(e);
        script_mqtt_cfg(e, true);
        fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
        fake_uart_urc(&e->fu, "\r\n+IP: 10.0.0.7\r\n", 10); /* between OK and the result */
        fake_uart_urc(&e->fu, "\r\n+QMTOPEN: 0,0\r\n", 30);
        fake_uart_expect(&e->fu, "AT+QMTCONN=0,\"dev1\",\"token1\"\r", OK);
        fake_uart_urc(&e->fu, "\r\n+QMTCONN: 0,0,0\r\n", 40);
        qenv_connect_up(e, 5000);
        assert_true(fake_uart_done(&e->fu));
        assert_int_equal(quectel_dialect(&e->q), QUECTEL_BC660K);
        assert_int_equal(e->md.imei(e->md.ctx, imei, sizeof imei), 0);
        assert_string_equal(imei, "866425031234567");
        assert_int_equal(e->md.signal_dbm(e->md.ctx), -63);
        assert_int_equal(e->md.network(e->md.ctx), OTA_NET_REGISTERED);
        assert_int_equal(qenv_stats(e).timeouts, 1); /* the lost AT */
    }
}

static void test_apn_and_no_dataformat_in_probe(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BC660K, 4);
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
    qenv_script_open_conn(e);
    qenv_connect_up(e, 5000);
    assert_true(fake_uart_done(&e->fu));
}

/* ---- publish ------------------------------------------------------------------ */

static void test_publish_inline_hex_all_fragments(void **state)
{
    static const uint8_t p[] = {0x00, 0x0D, 0x0A, '"', 0x1A, 'O', 'K', 0xFF};
    qenv_t *e = *state;
    for (unsigned frag = 1; frag <= 8; frag++) {
        qenv_init(e, QUECTEL_BC660K, frag);
        bring_up(e);
        e->fu.write_max = frag;
        fake_uart_expect(&e->fu, "AT+QMTPUB=0,1,1,0,\"v2/fw/request/3/chunk/0\",8,\"000D0A221A4F4BFF\"\r",
                         OK);
        fake_uart_urc(&e->fu, "\r\n+CEREG: 5\r\n", 5); /* between OK and the result */
        fake_uart_urc(&e->fu, "\r\n+QMTPUB: 0,1,0\r\n", 20);
        assert_int_equal(e->tp.publish(e->tp.ctx, "v2/fw/request/3/chunk/0", p, sizeof p, 1), 0);
        qenv_run_ms(e, 100);
        qenv_assert_script_ok(e);
        assert_true(fake_uart_done(&e->fu));
        assert_int_equal(qenv_stats(e).tx_msgs, 1);
        assert_int_equal(e->md.network(e->md.ctx), OTA_NET_REGISTERED);
    }
}

static void test_publish_hex_length_other_reading(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BC660K, 3);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,1,1,0,\"t\",2,\"6869\"\r", "\r\n+CME ERROR: 8507\r\n");
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,2,1,0,\"t\",4,\"6869\"\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTPUB: 0,2,0\r\n", 10);
    /* the next publish keeps the reading that worked */
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,3,1,0,\"t\",6,\"414243\"\r",
                     "\r\nOK\r\n\r\n+QMTPUB: 0,3,0\r\n");
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"hi", 2, 1), 0);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"ABC", 3, 1), 0);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_stats(e).tx_msgs, 2);
    assert_int_equal(qenv_stats(e).tx_failed, 0);
}

static void test_publish_too_long_refused(void **state)
{
    static uint8_t big[731];
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BC660K, 3);
    bring_up(e);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", big, 731, 1), OTA_ERR_RANGE);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", big, 500, 1), 0);
}

/* dataformat refused: text with lengths, and the data-mode publish with its
 * 500 ms wait after '>'. */
static void test_text_mode_prompt_waits_500ms(void **state)
{
    static const uint8_t p[] = {'{', '"', 'a', '"', ':', '1', '}', 0x1A, '\r'};
    qenv_t *e = *state;
    static uint8_t urc[128];
    for (unsigned frag = 1; frag <= 8; frag++) {
        int h;
        qenv_init(e, QUECTEL_BC660K, frag);
        bring_up_hex(e, false);
        fake_uart_expect(&e->fu, "AT+QMTPUB=0,1,1,0,\"t\",9\r", "\r\n> ");
        fake_uart_expect_n(&e->fu, p, sizeof p, "\r\nOK\r\n\r\n+QMTPUB: 0,1,0\r\n", 24, 0);
        h = sprintf((char *)urc, "\r\n+QMTRECV: 0,1,\"r\",%zu,", sizeof p);
        memcpy(urc + h, p, sizeof p);
        memcpy(urc + h + sizeof p, "\r\n", 2);
        fake_uart_urc_n(&e->fu, urc, (size_t)h + sizeof p + 2, 10);
        assert_int_equal(e->tp.publish(e->tp.ctx, "t", p, sizeof p, 1), 0);
        qenv_run_ms(e, 20);
        size_t at_prompt = e->fu.log_len;
        qenv_run_ms(e, 470);
        assert_int_equal(e->fu.log_len, at_prompt); /* data not sent yet */
        qenv_run_ms(e, 40);
        assert_int_equal(e->fu.log_len, at_prompt + sizeof p);
        qenv_run_ms(e, 50);
        qenv_assert_script_ok(e);
        assert_true(fake_uart_done(&e->fu));
        assert_int_equal(qenv_stats(e).tx_msgs, 1);
        assert_int_equal(e->msgs, 1);
        assert_int_equal(e->len[0], sizeof p);
        assert_memory_equal(e->pay[0], p, sizeof p);
    }
}

/* ---- receive ------------------------------------------------------------------ */

static void test_receive_hex_all_fragments(void **state)
{
    qenv_t *e = *state;
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
        qenv_init(e, QUECTEL_BC660K, frag);
        bring_up(e);
        fake_uart_inject(&e->fu, urc, strlen(urc));
        INJECT(e, "\r\n+QMTRECV: 0,5,\"a\",\"4F4B0D0A\"\r\n");  /* no length field */
        INJECT(e, "\r\n+QMTRECV: 0,6,\"a\",8,4f4b0d0a\r\n");    /* length in digits */
        INJECT(e, "\r\n+QMTRECV: 0,7,\"a\",3,\"4F4B0D0A\"\r\n"); /* wrong length: dropped */
        qenv_run_ms(e, 50);
        assert_int_equal(e->msgs, 3);
        assert_string_equal(e->topic[0], "v2/fw/response/3/chunk/0");
        assert_int_equal(e->len[0], sizeof chunk);
        assert_memory_equal(e->pay[0], chunk, sizeof chunk);
        assert_int_equal(e->len[1], 4);
        assert_memory_equal(e->pay[1], "OK\r\n", 4);
        assert_int_equal(e->len[2], 4);
        assert_int_equal(qenv_stats(e).rx_dropped, 1);
        assert_int_equal(qenv_stats(e).rx_msgs, 3);
        assert_int_equal(qenv_link_state(e), OTA_LINK_UP);
    }
}

/* ---- sleep -------------------------------------------------------------------- */

static void test_qsclk_sleep_and_wake(void **state)
{
    qenv_t *e = *state;
    power_up_ready(e, 2);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_READY);
    go_to_sleep(e);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));

    /* wake: PSM_EINT pulse, an AT that the sleeping UART loses, another AT, QSCLK=0 */
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", OK);
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
    int n0 = e->gp.n;
    assert_int_equal(e->md.wake(e->md.ctx), 0);
    qenv_run_ms(e, 5);
    assert_int_equal(e->gp.n, n0 + 1);
    assert_int_equal(e->gp.ev[n0].pin, FAKE_PIN_EINT);
    assert_true(e->gp.ev[n0].level);
    qenv_run_ms(e, 300);
    assert_int_equal(e->gp.n, n0 + 2);
    assert_int_equal(e->gp.ev[n0 + 1].at - e->gp.ev[n0].at, 300);
    qenv_run_ms(e, 400);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(fake_uart_sent(&e->fu, "AT\r"), 3);
    assert_int_equal(qenv_stats(e).timeouts, 0);                /* a lost wake-up AT is expected */
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE);
}

static void test_commands_while_asleep_are_preceded_by_at(void **state)
{
    qenv_t *e = *state;
    power_up_ready(e, 5);
    go_to_sleep(e);
    /* power down while asleep: wake-up ATs (three lost: go on anyway), then QPOWD */
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT+QPOWD=1\r", "\r\nOK\r\n");
    assert_int_equal(e->md.power_down(e->md.ctx), 0);
    qenv_run_ms(e, 1000);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_stats(e).timeouts, 0);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE);
}

static void test_no_sleep_during_transfer(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BC660K, 5);
    bring_up(e);
    assert_int_equal(e->md.sleep(e->md.ctx), OTA_ERR_STATE);
    qenv_run_ms(e, 100);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QSCLK=1"), 0);
}

static void test_connect_while_asleep_wakes_first(void **state)
{
    qenv_t *e = *state;
    power_up_ready(e, 6);
    go_to_sleep(e);
    fake_uart_expect(&e->fu, "AT\r", OK);
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
    script_mqtt_cfg(e, true);
    qenv_script_open_conn(e);
    qenv_connect_up(e, 3000);
    assert_true(fake_uart_done(&e->fu));
}

/* ---- restarts and +QMTSTAT ------------------------------------------------------ */

static void test_rdy_restart_settles_300ms_and_reconfigures(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BC660K, 7);
    bring_up(e);
    INJECT(e, "\r\nRDY\r\n");
    qenv_run_ms(e, 1);
    assert_int_equal(qenv_link_state(e), OTA_LINK_FAILED);
    fake_uart_clear_log(&e->fu);
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
    fake_uart_expect(&e->fu, "AT+GSN\r", "\r\n+CME ERROR: 50\r\n"); /* IMEI known: no CGSN */
    fake_uart_expect(&e->fu, "AT+QMTCFG=?\r", CFGTEST_BC);
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
    script_attach(e);
    qenv_run_ms(e, 290);
    assert_int_equal(e->fu.log_len, 0);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    e->tp.disconnect(e->tp.ctx);
    script_mqtt_cfg(e, true);
    qenv_script_open_conn(e);
    qenv_connect_up(e, 3000);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QMTCFG=\"dataformat\",0,1,1"), 1);
    assert_int_equal(qenv_stats(e).restarts, 1);
}

static void test_qmtstat_closed_by_peer(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BC660K, 8);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", "\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    INJECT(e, "\r\n+QMTSTAT: 0,1\r\n");
    qenv_run_ms(e, 1);
    assert_int_equal(qenv_link_state(e), OTA_LINK_FAILED);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_REOPEN);
    qenv_run_ms(e, 500);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

/* ---- the OTA client over the driver over an emulated BC660K ----------------- */

static void test_ota_client_over_driver(void **state)
{
    (void)state;
    qenv_ota_t *o = qenv_ota_new(9000);
    qenv_t *e = &o->env;
    for (size_t i = 0; i < o->image_len; i++) {
        o->image[i] = (uint8_t)(i * 2246822519u >> 11);
    }
    qenv_ota_prepare(o, QUECTEL_BC660K, true);
    o->ocfg.window = 1;
    qenv_ota_run(o);
    assert_true(o->mod.hex);
    assert_int_equal(o->mod.errors, 0);
    assert_true(o->mod.publishes >= 10);
    assert_true(qenv_stats(e).rx_msgs >= 10);
    qenv_ota_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        QENV_TEST(test_bringup_all_fragments),
        QENV_TEST(test_apn_and_no_dataformat_in_probe),
        QENV_TEST(test_publish_inline_hex_all_fragments),
        QENV_TEST(test_publish_hex_length_other_reading),
        QENV_TEST(test_publish_too_long_refused),
        QENV_TEST(test_text_mode_prompt_waits_500ms),
        QENV_TEST(test_receive_hex_all_fragments),
        QENV_TEST(test_qsclk_sleep_and_wake),
        QENV_TEST(test_commands_while_asleep_are_preceded_by_at),
        QENV_TEST(test_no_sleep_during_transfer),
        QENV_TEST(test_connect_while_asleep_wakes_first),
        QENV_TEST(test_rdy_restart_settles_300ms_and_reconfigures),
        QENV_TEST(test_qmtstat_closed_by_peer),
        cmocka_unit_test(test_ota_client_over_driver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
