/*
 * The Quectel driver in the BG95 dialect, against scripted module
 * transcripts delivered in 1- to 8-byte fragments: bring-up, feature probes,
 * buffered receive of binary payloads, fixed-length publish, URC
 * interleaving, every timeout on a fake clock, each +QMTSTAT code, the
 * recovery ladder up to the power-key cycle, module restarts, and the real
 * OTA client running over the driver over an emulated module.
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

static const char CFGTEST_RECV[] = "\r\n+QMTCFG: \"version\",(0-5),(3,4)\r\n"
                                   "+QMTCFG: \"recv/mode\",(0-5),(0,1),(0,1)\r\n\r\nOK\r\n";
static const char PUBEX_LEN[] = "\r\n+QMTPUBEX: (0-5),(0-65535),(0-2),(0,1),\"topic\",(1-4096)\r\n"
                                "\r\nOK\r\n";

static void script_init(qenv_t *e)
{
    fake_uart_expect(&e->fu, "ATE0\r", "ATE0\r\r\nOK\r\n"); /* echo still on */
    fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
    fake_uart_expect(&e->fu, "AT+QURCCFG=\"urcport\",\"uart1\"\r", OK);
    fake_uart_expect(&e->fu, "AT+GSN\r", "\r\n866425031234567\r\n\r\nOK\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCFG=?\r", CFGTEST_RECV);
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=?\r", PUBEX_LEN);
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
}

static void script_attach(qenv_t *e, bool searching_first)
{
    fake_uart_expect(&e->fu, "AT+CFUN=1\r", OK);
    if (searching_first) {
        fake_uart_expect(&e->fu, "AT+CEREG?\r", "\r\n+CEREG: 0,2\r\n\r\nOK\r\n");
    }
    fake_uart_expect(&e->fu, "AT+CEREG?\r",
                     "\r\n+CEREG: 4,5,\"0001\",\"0000ABCD\",7,,,\"00100011\",\"00101010\"\r\n" OK);
    fake_uart_expect(&e->fu, "AT+CSQ\r", "\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
}

static void script_mqtt_cfg(qenv_t *e)
{
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"version\",0,4\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"keepalive\",0,120\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"session\",0,1\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"recv/mode\",0,1,1\r", OK);
}

/* Everything before AT+QMTOPEN: probe, init, attach, MQTT configuration. */
static void script_to_open(qenv_t *e)
{
    fake_uart_expect(&e->fu, "AT\r", OK);
    script_init(e);
    script_attach(e, false);
    script_mqtt_cfg(e);
}

/* Connect through the full scripted bring-up. */
static void bring_up(qenv_t *e)
{
    script_to_open(e);
    qenv_script_open_conn(e);
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, qenv_on_msg, e), 0);
    assert_int_equal(qenv_link_state(e), OTA_LINK_CONNECTING);
    assert_true(qenv_run_until_link(e, OTA_LINK_UP, 5000));
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

/* ---- bring-up --------------------------------------------------------------- */

static void test_bringup_all_fragments(void **state)
{
    qenv_t *e = *state;
    for (unsigned frag = 1; frag <= 8; frag++) {
        char imei[20];
        qenv_init(e, QUECTEL_BG95, frag);
        fake_uart_expect(&e->fu, "AT\r", OK);
        script_init(e);
        script_attach(e, true); /* searching once: polled again 2 s later */
        script_mqtt_cfg(e);
        fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
        /* URCs between OK and the asynchronous result */
        fake_uart_urc(&e->fu, "\r\n+CEREG: 1,\"00C3\",\"0012ABCD\",7\r\n+QIND: PB DONE\r\n", 10);
        fake_uart_urc(&e->fu, "\r\n+QMTOPEN: 0,0\r\n", 30);
        fake_uart_expect(&e->fu, "AT+QMTCONN=0,\"dev1\",\"token1\"\r", OK);
        fake_uart_urc(&e->fu, "\r\n+QMTCONN: 0,0,0\r\n", 40);
        assert_int_equal(quectel_state(&e->q), QUECTEL_ST_OFF);
        qenv_connect_up(e, 5000);
        assert_true(fake_uart_done(&e->fu));
        assert_int_equal(quectel_state(&e->q), QUECTEL_ST_CONNECTED);
        assert_int_equal(quectel_dialect(&e->q), QUECTEL_BG95);
        assert_int_equal(e->md.imei(e->md.ctx, imei, sizeof imei), 0);
        assert_string_equal(imei, "866425031234567");
        assert_int_equal(e->md.signal_dbm(e->md.ctx), -73);
        assert_int_equal(e->md.network(e->md.ctx), OTA_NET_REGISTERED);
        assert_int_equal(qenv_stats(e).ignored, 1); /* +QIND */
        assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE);
    }
}

static void test_cereg_polled_every_2s(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 0);
    fake_uart_expect(&e->fu, "AT\r", OK);
    script_init(e);
    fake_uart_expect(&e->fu, "AT+CFUN=1\r", OK);
    fake_uart_expect(&e->fu, "AT+CEREG?\r", "\r\n+CEREG: 0,2\r\n\r\nOK\r\n");
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 100);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(e->md.network(e->md.ctx), OTA_NET_SEARCHING);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_ATTACHING);
    int sent = fake_uart_sent(&e->fu, "AT+CEREG?");
    fake_uart_expect(&e->fu, "AT+CEREG?\r", "\r\n+CEREG: 0,3\r\n\r\nOK\r\n");
    qenv_run_ms(e, 1850);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+CEREG?"), sent);
    qenv_run_ms(e, 200);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+CEREG?"), sent + 1);
    assert_int_equal(e->md.network(e->md.ctx), OTA_NET_DENIED);
    fake_uart_expect(&e->fu, "AT+CEREG?\r", "\r\n+CEREG: 0,5\r\n\r\nOK\r\n");
    fake_uart_expect(&e->fu, "AT+CSQ\r", "\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
    qenv_run_ms(e, 2100);
    qenv_assert_script_ok(e);
    assert_int_equal(e->md.network(e->md.ctx), OTA_NET_REGISTERED);
    assert_int_equal(e->md.signal_dbm(e->md.ctx), 0); /* 99: unknown */
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_READY);
    uint32_t at;
    assert_false(quectel_next_deadline(&e->q, &at)); /* nothing to do */
}

/* Dialect AUTO: the bring-up with ATI answered by `ati`, up to the BG95's
 * AT+QURCCFG (what follows is not scripted). */
static void script_auto_dialect(qenv_t *e, const char *ati)
{
    qenv_init(e, QUECTEL_AUTO, 3);
    e->fu.lenient = true;
    fake_uart_expect(&e->fu, "AT\r", OK);
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    fake_uart_expect(&e->fu, "ATI\r", ati);
    fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
    fake_uart_expect(&e->fu, "AT+QURCCFG=\"urcport\",\"uart1\"\r", OK);
}

static void test_auto_dialect_from_ati(void **state)
{
    qenv_t *e = *state;
    script_auto_dialect(e, "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n" OK);
    assert_int_equal(quectel_dialect(&e->q), QUECTEL_AUTO);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 50);
    qenv_assert_script_ok(e);
    assert_int_equal(quectel_dialect(&e->q), QUECTEL_BG95);
}

static void test_auto_dialect_unknown_defaults_to_bg95(void **state)
{
    qenv_t *e = *state;
    script_auto_dialect(e, "\r\nERROR\r\n");
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 50);
    qenv_assert_script_ok(e);
    assert_int_equal(quectel_dialect(&e->q), QUECTEL_BG95);
}

static void test_apn_configured(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 4);
    e->fu.lenient = true;
    e->cfg.apn = "iot.example";
    assert_int_equal(quectel_init(&e->q, &e->cfg), OTA_OK);
    fake_uart_expect(&e->fu, "AT\r", OK);
    script_init(e);
    fake_uart_expect(&e->fu, "AT+QICSGP=1,1,\"iot.example\"\r", OK);
    fake_uart_expect(&e->fu, "AT+CFUN=1\r", OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 50);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

/* ---- messages --------------------------------------------------------------- */

/* The header of a +QMTRECV read answer with its payload, in a static buffer. */
static size_t recv_answer(uint8_t *out, int msgid, const char *topic, const uint8_t *p, size_t n)
{
    int h = sprintf((char *)out, "\r\n+QMTRECV: 0,%d,\"%s\",%zu,\"", msgid, topic, n);
    memcpy(out + h, p, n);
    memcpy(out + h + n, "\"\r\n\r\nOK\r\n", 9);
    return (size_t)h + n + 9;
}

static void test_subscribe_publish_receive_all_fragments(void **state)
{
    qenv_t *e = *state;
    static uint8_t chunk[1028];
    static uint8_t ans[1200];
    size_t alen;
    for (size_t i = 0; i < sizeof chunk; i++) {
        chunk[i] = (uint8_t)(i * 131u + 7u);
    }
    memcpy(chunk + 100, "\r\nOK\r\n+QMTRECV: 0,4\r\n\"\x1a\x00", 25);
    alen = recv_answer(ans, 3, "v2/fw/response/7/chunk/0", chunk, sizeof chunk);
    for (unsigned frag = 1; frag <= 8; frag++) {
        qenv_init(e, QUECTEL_BG95, frag);
        bring_up(e);
        fake_uart_expect(&e->fu, "AT+QMTSUB=0,1,\"v2/fw/response/+/chunk/+\",1\r", OK);
        fake_uart_urc(&e->fu, "\r\n+QIND: \"csq\",20\r\n", 5); /* between OK and result */
        fake_uart_urc(&e->fu, "\r\n+QMTSUB: 0,1,0,1\r\n", 20);
        fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,2,1,0,\"v2/fw/request/7/chunk/0\",4\r", "\r\n> ");
        fake_uart_expect(&e->fu, "1028", OK);
        fake_uart_urc(&e->fu, "\r\n+QMTRECV: 0,0\r\n", 5); /* the answer, before the PUB result */
        fake_uart_urc(&e->fu, "\r\n+QMTPUBEX: 0,2,0\r\n", 30);
        fake_uart_expect_n(&e->fu, "AT+QMTRECV=0,0\r", 15, ans, alen, 0);
        assert_int_equal(e->tp.subscribe(e->tp.ctx, "v2/fw/response/+/chunk/+", 1), 0);
        assert_int_equal(
            e->tp.publish(e->tp.ctx, "v2/fw/request/7/chunk/0", (const uint8_t *)"1028", 4, 1), 0);
        qenv_run_ms(e, 300);
        qenv_assert_script_ok(e);
        assert_true(fake_uart_done(&e->fu));
        assert_int_equal(e->msgs, 1);
        assert_string_equal(e->topic[0], "v2/fw/response/7/chunk/0");
        assert_int_equal(e->len[0], sizeof chunk);
        assert_memory_equal(e->pay[0], chunk, sizeof chunk);
        assert_int_equal(qenv_stats(e).tx_msgs, 1);
        assert_int_equal(qenv_stats(e).rx_msgs, 1);
        assert_int_equal(qenv_stats(e).tx_failed, 0);
        assert_int_equal(qenv_link_state(e), OTA_LINK_UP);
    }
}

/* Each hostile payload alone, through the buffered read. */
static void test_binary_payload_cases(void **state)
{
    static const struct {
        const char *p;
        size_t n;
    } cases[] = {
        {"\x00", 1},        {"\r", 1},      {"\n", 1},          {"\"", 1},
        {"\x1a", 1},        {"OK", 2},      {"\r\nOK\r\n", 6},  {"+QMTRECV: 0,1", 13},
        {"\r\n+QMTSTAT: 0,1\r\n", 17},      {"\"\r\n", 3},       {"", 0},
        {"\r\nERROR\r\n", 9},               {">", 1},            {"a\x00\r\n\"\x1a" "b", 7},
    };
    qenv_t *e = *state;
    static uint8_t ans[256];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned frag = (unsigned)(c % 8u) + 1u;
        size_t alen = recv_answer(ans, 9, "t/x", (const uint8_t *)cases[c].p, cases[c].n);
        qenv_init(e, QUECTEL_BG95, frag);
        bring_up(e);
        INJECT(e, "\r\n+QMTRECV: 0,3\r\n");
        fake_uart_expect_n(&e->fu, "AT+QMTRECV=0,3\r", 15, ans, alen, 0);
        qenv_run_ms(e, 50);
        qenv_assert_script_ok(e);
        assert_int_equal(e->msgs, 1);
        assert_string_equal(e->topic[0], "t/x");
        assert_int_equal(e->len[0], cases[c].n);
        assert_memory_equal(e->pay[0], cases[c].p, cases[c].n);
        assert_int_equal(qenv_link_state(e), OTA_LINK_UP);
        assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE);
    }
}

/* A module that pushes the payload in the URC (recv/mode 0 with length). */
static void test_pushed_payload_with_length(void **state)
{
    qenv_t *e = *state;
    static const uint8_t p[] = {'O', 'K', '\r', '\n', 0, '"', 0x1a};
    static uint8_t urc[128];
    for (unsigned frag = 1; frag <= 8; frag++) {
        int h;
        qenv_init(e, QUECTEL_BG95, frag);
        fake_uart_expect(&e->fu, "AT\r", OK);
        script_init(e);
        script_attach(e, false);
        fake_uart_expect(&e->fu, "AT+QMTCFG=\"version\",0,4\r", OK);
        fake_uart_expect(&e->fu, "AT+QMTCFG=\"keepalive\",0,120\r", OK);
        fake_uart_expect(&e->fu, "AT+QMTCFG=\"session\",0,1\r", OK);
        fake_uart_expect(&e->fu, "AT+QMTCFG=\"recv/mode\",0,1,1\r", "\r\n+CME ERROR: 50\r\n");
        fake_uart_expect(&e->fu, "AT+QMTCFG=\"recv/mode\",0,0,1\r", OK);
        qenv_script_open_conn(e);
        h = sprintf((char *)urc, "\r\n+QMTRECV: 0,5,\"a/b\",%zu,\"", sizeof p);
        memcpy(urc + h, p, sizeof p);
        memcpy(urc + h + sizeof p, "\"\r\n", 3);
        fake_uart_urc_n(&e->fu, urc, (size_t)h + sizeof p + 3, 20);
        assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, qenv_on_msg, e), 0);
        assert_true(qenv_run_until_link(e, OTA_LINK_UP, 5000));
        qenv_run_ms(e, 50);
        qenv_assert_script_ok(e);
        assert_int_equal(e->msgs, 1);
        assert_int_equal(e->len[0], sizeof p);
        assert_memory_equal(e->pay[0], p, sizeof p);
        assert_int_equal(qenv_stats(e).last_cme, 50);
        assert_int_equal(qenv_stats(e).errors, 0); /* optional command */
    }
}

/* Firmware without recv/mode in its AT+QMTCFG=? list: text payloads still work. */
static void test_no_recv_mode_text_fallback(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 5);
    fake_uart_expect(&e->fu, "AT\r", OK);
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
    fake_uart_expect(&e->fu, "AT+QURCCFG=\"urcport\",\"uart1\"\r", "\r\nERROR\r\n");
    fake_uart_expect(&e->fu, "AT+GSN\r", "\r\n866425031234567\r\n\r\nOK\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCFG=?\r", "\r\n+QMTCFG: \"version\",(0-5),(3,4)\r\n" OK);
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=?\r", "\r\nERROR\r\n");
    fake_uart_expect(&e->fu, "AT+QSCLK=0\r", OK);
    script_attach(e, false);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"version\",0,4\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"keepalive\",0,120\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCFG=\"session\",0,1\r", OK);
    qenv_script_open_conn(e);
    fake_uart_urc(&e->fu, "\r\n+QMTRECV: 0,1,\"v1/devices/me/attributes/response/1\",\"{\"a\":1}\"\r\n"
                          "+QMTRECV: 0,2,\"x\",This is test data, hello MQTT.\r\n", 10);
    /* and publish falls back to AT+QMTPUB with a length */
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,1,1,0,\"t\",2\r", "\r\n>");
    fake_uart_expect(&e->fu, "hi", "\r\nOK\r\n\r\n+QMTPUB: 0,1,0\r\n");
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, qenv_on_msg, e), 0);
    assert_true(qenv_run_until_link(e, OTA_LINK_UP, 5000));
    qenv_run_ms(e, 30);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"hi", 2, 1), 0);
    qenv_run_ms(e, 50);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(e->msgs, 2);
    assert_string_equal(e->topic[0], "v1/devices/me/attributes/response/1");
    assert_int_equal(e->len[0], 7);
    assert_memory_equal(e->pay[0], "{\"a\":1}", 7);
    assert_int_equal(e->len[1], 30);
    assert_memory_equal(e->pay[1], "This is test data, hello MQTT.", 30);
    assert_int_equal(qenv_stats(e).tx_msgs, 1);
}

static void test_publish_binary_exact_bytes_no_ctrl_z(void **state)
{
    qenv_t *e = *state;
    static const uint8_t p[] = {0x1a, 0x1b, '\r', '\n', 0, '"', 'O', 'K'};
    for (unsigned frag = 1; frag <= 8; frag++) {
        qenv_init(e, QUECTEL_BG95, frag);
        bring_up(e);
        e->fu.write_max = frag;
        fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,0,0,0,\"bin\",8\r", "\r\n> "); /* QoS 0: id 0 */
        fake_uart_expect_n(&e->fu, p, sizeof p, "\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n", 26, 0);
        assert_int_equal(e->tp.publish(e->tp.ctx, "bin", p, sizeof p, 0), 0);
        qenv_run_ms(e, 50);
        qenv_assert_script_ok(e);
        assert_true(fake_uart_done(&e->fu));
        assert_int_equal(qenv_stats(e).tx_msgs, 1);
        /* the log ends with the payload: no CR, no Ctrl-Z after it */
        assert_memory_equal(e->fu.log + e->fu.log_len - sizeof p, p, sizeof p);
    }
}

static void test_pubex_error_falls_back_to_qmtpub(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,1,1,0,\"t\",3\r", "\r\nERROR\r\n");
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,2,1,0,\"t\",3\r", "\r\n> ");
    fake_uart_expect(&e->fu, "abc", "\r\nOK\r\n\r\n+QMTPUB: 0,2,0\r\n");
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"abc", 3, 1), 0);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_stats(e).tx_msgs, 1);
    assert_int_equal(qenv_stats(e).tx_failed, 0);
}

static void test_publish_refused_twice_dropped(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,1,1,0,\"t\",3\r", "\r\nERROR\r\n");
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,2,1,0,\"t\",3\r", "\r\n+CME ERROR: 601\r\n");
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,3,1,0,\"t\",3\r", "\r\nERROR\r\n");
    fake_uart_expect(&e->fu, "AT+QMTPUB=0,4,1,0,\"u\",1\r", "\r\n> ");
    fake_uart_expect(&e->fu, "z", "\r\nOK\r\n\r\n+QMTPUB: 0,4,1,1\r\n"); /* 1: retransmitted */
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"abc", 3, 1), 0);
    assert_int_equal(e->tp.publish(e->tp.ctx, "u", (const uint8_t *)"z", 1, 1), 0);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_int_equal(qenv_stats(e).tx_failed, 1);
    assert_int_equal(qenv_stats(e).tx_msgs, 1);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE);
}

static void test_publish_result_failed_counted(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 6);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,1,1,0,\"t\",1\r", "\r\n> ");
    fake_uart_expect(&e->fu, "x", "\r\nOK\r\n\r\n+QMTPUBEX: 0,1,2\r\n");
    fake_uart_expect(&e->fu, "AT+QMTSUB=0,2,\"s\",1\r", "\r\nOK\r\n\r\n+QMTSUB: 0,2,2,128\r\n");
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"x", 1, 1), 0);
    assert_int_equal(e->tp.subscribe(e->tp.ctx, "s", 1), 0);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_int_equal(qenv_stats(e).tx_failed, 2);
    assert_int_equal(qenv_stats(e).tx_msgs, 0);
    assert_int_equal(qenv_link_state(e), OTA_LINK_UP);
}

static void test_stale_async_results_ignored(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 1);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,1,1,0,\"t\",1\r", "\r\n> ");
    fake_uart_expect(&e->fu, "x", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTPUBEX: 1,1,0\r\n+QMTPUBEX: 0,9,0\r\n+QMTPUB: 0,1,0\r\n", 10);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"x", 1, 1), 0);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_int_equal(qenv_stats(e).tx_msgs, 1); /* only the one for client 0, msg id 1 */
    assert_int_equal(qenv_stats(e).ignored, 2);
}

static void test_lost_recv_urc_found_by_slot_check(void **state)
{
    qenv_t *e = *state;
    static uint8_t ans[128];
    size_t alen = recv_answer(ans, 4, "t", (const uint8_t *)"late", 4);
    qenv_init(e, QUECTEL_BG95, 4);
    bring_up(e);
    /* the module holds a message in slot 2 but its URC was lost */
    qenv_run_ms(e, 9000);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QMTRECV?"), 0);
    fake_uart_expect(&e->fu, "AT+QMTRECV?\r", "\r\n+QMTRECV: 0,0,0,1,0,0\r\n\r\nOK\r\n");
    fake_uart_expect_n(&e->fu, "AT+QMTRECV=0,2\r", 15, ans, alen, 0);
    qenv_run_ms(e, 1100);
    qenv_assert_script_ok(e);
    assert_int_equal(e->msgs, 1);
    assert_memory_equal(e->pay[0], "late", 4);
    /* firmware without the read form: asked once, never again */
    fake_uart_expect(&e->fu, "AT+QMTRECV?\r", "\r\nERROR\r\n");
    qenv_run_ms(e, 10100);
    qenv_run_ms(e, 30000);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

static void test_several_slots_read_in_order(void **state)
{
    qenv_t *e = *state;
    static uint8_t a0[64], a1[64], a4[64];
    size_t l0 = recv_answer(a0, 1, "t", (const uint8_t *)"0", 1);
    size_t l1 = recv_answer(a1, 2, "t", (const uint8_t *)"1", 1);
    size_t l4 = recv_answer(a4, 3, "t", (const uint8_t *)"4", 1);
    qenv_init(e, QUECTEL_BG95, 8);
    bring_up(e);
    INJECT(e, "\r\n+QMTRECV: 0,4\r\n+QMTRECV: 0,1\r\n+QMTRECV: 0,0\r\n"
                             "+QMTRECV: 1,3\r\n+QMTRECV: 0,7\r\n");
    fake_uart_expect_n(&e->fu, "AT+QMTRECV=0,0\r", 15, a0, l0, 0);
    fake_uart_expect_n(&e->fu, "AT+QMTRECV=0,1\r", 15, a1, l1, 0);
    fake_uart_expect_n(&e->fu, "AT+QMTRECV=0,4\r", 15, a4, l4, 0);
    qenv_run_ms(e, 50);
    qenv_assert_script_ok(e);
    assert_int_equal(e->msgs, 3);
    assert_int_equal(e->pay[0][0], '0');
    assert_int_equal(e->pay[1][0], '1');
    assert_int_equal(e->pay[2][0], '4');
}

/* ---- overflow, garbage ------------------------------------------------------ */

static void test_overflow_and_garbage_do_not_break_the_link(void **state)
{
    qenv_t *e = *state;
    char junk[600];
    static uint8_t ans[64];
    size_t alen = recv_answer(ans, 1, "t", (const uint8_t *)"ok", 2);
    qenv_init(e, QUECTEL_BG95, 7);
    bring_up(e);
    memset(junk, '#', sizeof junk);
    fake_uart_inject(&e->fu, junk, sizeof junk);
    INJECT(e, "\r\ngarbage\r\n\x01\x02\r\n+QMTRECV: 0,1\r\n");
    fake_uart_expect_n(&e->fu, "AT+QMTRECV=0,1\r", 15, ans, alen, 0);
    qenv_run_ms(e, 50);
    qenv_assert_script_ok(e);
    assert_int_equal(e->msgs, 1);
    assert_int_equal(qenv_stats(e).rx_overflows, 1);
    assert_int_equal(qenv_stats(e).resyncs, 1);
    assert_int_equal(qenv_stats(e).ignored, 2);
    assert_int_equal(qenv_link_state(e), OTA_LINK_UP);
}

static void test_message_too_big_dropped_link_survives(void **state)
{
    qenv_t *e = *state;
    static uint8_t big[QUECTEL_CFG_PAYLOAD_MAX + 50];
    static uint8_t ans[QUECTEL_CFG_PAYLOAD_MAX + 200];
    memset(big, 'O', sizeof big);
    size_t alen = recv_answer(ans, 1, "t", big, sizeof big);
    qenv_init(e, QUECTEL_BG95, 8);
    bring_up(e);
    INJECT(e, "\r\n+QMTRECV: 0,0\r\n");
    fake_uart_expect_n(&e->fu, "AT+QMTRECV=0,0\r", 15, ans, alen, 0);
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,1,1,0,\"t\",1\r", "\r\n> ");
    fake_uart_expect(&e->fu, "x", "\r\nOK\r\n\r\n+QMTPUBEX: 0,1,0\r\n");
    qenv_run_ms(e, 50);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"x", 1, 1), 0);
    qenv_run_ms(e, 50);
    qenv_assert_script_ok(e);
    assert_int_equal(e->msgs, 0);
    assert_int_equal(qenv_stats(e).rx_dropped, 1);
    assert_int_equal(qenv_stats(e).tx_msgs, 1);
}

/* ---- timeouts ----------------------------------------------------------------- */

/* Time of the last write of `cmd` in the fake's log is not kept; instead the
 * tests step the clock and look at what was sent. */

/* No timeout for quiet_ms, then within more_ms the first one, which takes the RETRY rung. */
static void assert_first_timeout(qenv_t *e, uint32_t quiet_ms, uint32_t more_ms)
{
    qenv_run_ms(e, quiet_ms);
    assert_int_equal(qenv_stats(e).timeouts, 0);
    qenv_run_ms(e, more_ms);
    assert_int_equal(qenv_stats(e).timeouts, 1);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_RETRY);
}

static void test_command_timeout_then_retry_then_probe(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 3);
    e->fu.lenient = true;
    fake_uart_expect(&e->fu, "AT\r", OK);
    fake_uart_expect(&e->fu, "ATE0\r", NULL);    /* silent */
    fake_uart_expect(&e->fu, "ATE0\r", NULL);    /* retry after 100 ms: silent */
    fake_uart_expect(&e->fu, "AT\r", OK);        /* probe after 200 ms */
    fake_uart_expect(&e->fu, "ATE0\r", OK);      /* the step again */
    fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 5);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0\r"), 1);
    assert_first_timeout(e, 290, 15); /* 300 ms: timeout, RETRY rung, waits 100 ms */
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_RECOVERING);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0\r"), 1);
    qenv_run_ms(e, 100);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0\r"), 2);
    qenv_run_ms(e, 300); /* second timeout: PROBE rung, 200 ms */
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_PROBE);
    qenv_run_ms(e, 250);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_stats(e).timeouts, 2);
    assert_int_equal(qenv_stats(e).recoveries, 2);
    assert_int_equal(qenv_stats(e).max_recovery, QUECTEL_REC_PROBE);
}

static void test_boot_module_off_pwrkey_then_rdy(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    e->fu.lenient = true;
    fake_uart_expect(&e->fu, "AT\r", NULL); /* three probes: off */
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 2999);
    assert_int_equal(e->gp.n, 0);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_BOOTING);
    qenv_run_ms(e, 2);
    assert_int_equal(e->gp.n, 1);
    assert_int_equal(e->gp.ev[0].pin, FAKE_PIN_PWRKEY);
    assert_true(e->gp.ev[0].level);
    uint32_t pressed = e->gp.ev[0].at;
    qenv_run_ms(e, 800);
    assert_int_equal(e->gp.n, 2);
    assert_false(e->gp.ev[1].level);
    assert_int_equal(e->gp.ev[1].at - pressed, 700);
    /* RDY, then APP RDY ends the settling wait early */
    INJECT(e, "\r\nRDY\r\n");
    qenv_run_ms(e, 500);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0"), 0);
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    INJECT(e, "\r\nAPP RDY\r\n");
    qenv_run_ms(e, 5);
    qenv_assert_script_ok(e);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0"), 1);
    assert_int_equal(qenv_stats(e).restarts, 1);
    assert_int_equal(qenv_stats(e).timeouts, 3);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE);
}

static void test_boot_rdy_without_app_rdy_settles_2s(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    e->fu.lenient = true;
    fake_uart_expect(&e->fu, "AT\r", "\r\nRDY\r\n");
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 1990);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0"), 0);
    qenv_run_ms(e, 20);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0"), 1);
    qenv_assert_script_ok(e);
}

static void test_boot_timeout_goes_to_power_rung(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    for (int i = 0; i < 4; i++) {
        fake_uart_expect(&e->fu, "AT\r", NULL);
    }
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 3000 + 700 + 3000); /* probes, key, wait for RDY */
    assert_int_equal(fake_uart_sent(&e->fu, "AT\r"), 4);
    qenv_run_ms(e, 1000); /* the last probe times out */
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_POWER);
    assert_int_equal(qenv_stats(e).timeouts, 4);
    assert_int_equal(e->gp.n, 2);
    qenv_run_ms(e, 1600); /* power back-off 16 x 100 ms, then the key (off pulse) */
    assert_int_equal(e->gp.n, 3);
    assert_int_equal(e->gp.ev[2].pin, FAKE_PIN_PWRKEY);
    assert_true(e->gp.ev[2].level);
    qenv_run_ms(e, 800);
    assert_int_equal(e->gp.n, 4);
    assert_int_equal(e->gp.ev[3].at - e->gp.ev[2].at, 800);
    qenv_assert_script_ok(e);
}

static void test_attach_timeout(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    e->fu.lenient = true;
    e->cfg.attach_timeout_ms = 5000;
    assert_int_equal(quectel_init(&e->q, &e->cfg), OTA_OK);
    fake_uart_expect(&e->fu, "AT\r", OK);
    script_init(e);
    fake_uart_expect(&e->fu, "AT+CFUN=1\r", OK);
    for (int i = 0; i < 4; i++) {
        fake_uart_expect(&e->fu, "AT+CEREG?\r", "\r\n+CEREG: 0,2\r\n\r\nOK\r\n");
    }
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    assert_first_timeout(e, 4000, 2100);
    qenv_assert_script_ok(e);
}

static void test_open_result_timeout(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    script_to_open(e);
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, qenv_on_msg, e), 0);
    qenv_run_ms(e, 100);
    assert_true(fake_uart_done(&e->fu));
    uint32_t at;
    assert_true(quectel_next_deadline(&e->q, &at));
    assert_true(at - e->now <= 2000);
    assert_first_timeout(e, 1850, 100);
    assert_int_equal(qenv_link_state(e), OTA_LINK_CONNECTING);
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
    qenv_run_ms(e, 110);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

static void test_conn_result_timeout(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    script_to_open(e);
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTOPEN: 0,0\r\n", 10);
    fake_uart_expect(&e->fu, "AT+QMTCONN=0,\"dev1\",\"token1\"\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTCONN=0,\"dev1\",\"token1\"\r", OK); /* retried */
    fake_uart_urc(&e->fu, "\r\n+QMTCONN: 0,0,0\r\n", 10);
    qenv_connect_up(e, 3000);
    assert_int_equal(qenv_stats(e).timeouts, 1);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE); /* reset by the success */
    assert_int_equal(qenv_stats(e).max_recovery, QUECTEL_REC_RETRY);
}

static void test_sub_and_pub_result_timeouts(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTSUB=0,1,\"s\",1\r", OK);  /* no +QMTSUB */
    fake_uart_expect(&e->fu, "AT+QMTSUB=0,2,\"s\",1\r", "\r\nOK\r\n\r\n+QMTSUB: 0,2,0,1\r\n");
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,3,1,0,\"t\",1\r", "\r\n> ");
    fake_uart_expect(&e->fu, "x", OK);                      /* no +QMTPUBEX */
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,4,1,0,\"t\",1\r", "\r\n> ");
    fake_uart_expect(&e->fu, "x", "\r\nOK\r\n\r\n+QMTPUBEX: 0,4,0\r\n");
    assert_int_equal(e->tp.subscribe(e->tp.ctx, "s", 1), 0);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"x", 1, 1), 0);
    qenv_run_ms(e, 1990);
    assert_int_equal(qenv_stats(e).timeouts, 0);
    qenv_run_ms(e, 200); /* SUB result timeout, RETRY */
    assert_int_equal(qenv_stats(e).timeouts, 1);
    qenv_run_ms(e, 2200); /* PUB result timeout, RETRY, then success */
    assert_int_equal(qenv_stats(e).timeouts, 2);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE); /* success resets the ladder */
    assert_int_equal(qenv_stats(e).max_recovery, QUECTEL_REC_RETRY);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_stats(e).tx_msgs, 1);
    assert_int_equal(qenv_link_state(e), OTA_LINK_UP);
}

static void test_prompt_timeout(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,1,1,0,\"t\",1\r", NULL);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"x", 1, 1), 0);
    assert_first_timeout(e, 290, 20);
    qenv_assert_script_ok(e);
}

/* ---- +QMTSTAT ----------------------------------------------------------------- */

static void test_qmtstat_codes(void **state)
{
    /* code -> rung and the first command of its action */
    static const struct {
        int code;
        uint8_t rung;
        const char *action;
        uint32_t wait;
    } cases[] = {
        {1, QUECTEL_REC_REOPEN, "AT+QMTCLOSE=0\r", 400}, /* closed by peer */
        {2, QUECTEL_REC_CFUN, "AT+CFUN=0\r", 800},       /* PINGREQ failed: PDP again */
        {3, QUECTEL_REC_REOPEN, "AT+QMTCLOSE=0\r", 400}, /* CONNECT failed */
        {4, QUECTEL_REC_REOPEN, "AT+QMTCLOSE=0\r", 400}, /* CONNACK failed */
        {5, QUECTEL_REC_NONE, NULL, 0},                   /* normal disconnect */
        {6, QUECTEL_REC_REOPEN, "AT+QMTCLOSE=0\r", 400}, /* repeated send failures */
        {7, QUECTEL_REC_CFUN, "AT+CFUN=0\r", 800},       /* link not alive */
        {9, QUECTEL_REC_REOPEN, "AT+QMTCLOSE=0\r", 400}, /* reserved */
    };
    qenv_t *e = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char urc[40];
        qenv_init(e, QUECTEL_BG95, (unsigned)i % 8u + 1u);
        bring_up(e);
        e->fu.lenient = true; /* what follows the first action is not scripted */
        assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"x", 1, 1), 0);
        /* the queued publish is dropped with the connection */
        fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,1,1,0,\"t\",1\r", "\r\n> ");
        fake_uart_expect(&e->fu, "x", OK);
        qenv_run_ms(e, 20);
        snprintf(urc, sizeof urc, "\r\n+QMTSTAT: 0,%d\r\n", cases[i].code);
        fake_uart_inject(&e->fu, urc, strlen(urc));
        qenv_run_ms(e, 1);
        assert_int_equal(qenv_link_state(e), OTA_LINK_FAILED);
        assert_int_equal(qenv_stats(e).last_qmtstat, cases[i].code);
        assert_int_equal(qenv_stats(e).recovery, cases[i].rung);
        assert_int_equal(quectel_state(&e->q),
                         cases[i].rung ? QUECTEL_ST_RECOVERING : QUECTEL_ST_READY);
        if (cases[i].action == NULL) {
            qenv_run_ms(e, 5000);
            qenv_assert_script_ok(e);
            assert_true(fake_uart_done(&e->fu));
            continue;
        }
        fake_uart_expect(&e->fu, cases[i].action, OK);
        qenv_run_ms(e, cases[i].wait - 5);
        assert_int_equal(fake_uart_sent(&e->fu, cases[i].action), 0);
        qenv_run_ms(e, 10);
        assert_int_equal(fake_uart_sent(&e->fu, cases[i].action), 1);
        qenv_assert_script_ok(e);
        /* other client index: not ours */
        INJECT(e, "\r\n+QMTSTAT: 1,1\r\n");
        qenv_run_ms(e, 1);
        assert_int_equal(qenv_stats(e).last_qmtstat, cases[i].code);
    }
}

static void test_qmtstat_then_client_reconnects(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 5);
    bring_up(e);
    INJECT(e, "\r\n+QMTSTAT: 0,1\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTCLOSE: 0,0\r\n", 10);
    qenv_run_ms(e, 600);
    assert_int_equal(qenv_link_state(e), OTA_LINK_FAILED);
    e->tp.disconnect(e->tp.ctx);
    assert_int_equal(qenv_link_state(e), OTA_LINK_DOWN);
    qenv_run_ms(e, 100);
    script_mqtt_cfg(e);
    qenv_script_open_conn(e);
    qenv_connect_up(e, 2000);
}

/* ---- the recovery ladder ---------------------------------------------------- */

/* Step the clock until the driver decides the given rung. */
static void run_until_rung(qenv_t *e, uint8_t rung, uint32_t max_ms)
{
    uint32_t end = e->now + max_ms;
    while (qenv_stats(e).recovery != rung) {
        assert_true((int32_t)(e->now - end) < 0);
        e->now++;
        qenv_poll_now(e);
    }
}

/* The action `cmd` of a rung comes exactly `wait` ms after the rung was decided. */
static void check_rung_action(qenv_t *e, const char *cmd, uint32_t wait)
{
    int before = fake_uart_sent(&e->fu, cmd);
    uint32_t t = e->rung_at;
    assert_true((int32_t)(t + wait - 5u - e->now) > 0);
    qenv_run_ms(e, t + wait - 5u - e->now);
    assert_int_equal(fake_uart_sent(&e->fu, cmd), before);
    qenv_run_ms(e, 10);
    assert_int_equal(fake_uart_sent(&e->fu, cmd), before + 1);
}

static void test_recovery_ladder_to_power_key(void **state)
{
    qenv_t *e = *state;
    quectel_stats_t s;
    qenv_init(e, QUECTEL_BG95, 3);
    script_to_open(e);
    /* the broker cannot be reached */
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTOPEN: 0,3\r\n", 10);
    /* 1: retry after 100 ms */
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", "\r\nERROR\r\n");
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, qenv_on_msg, e), 0);
    run_until_rung(e, QUECTEL_REC_RETRY, 1000);
    check_rung_action(e, "AT+QMTOPEN", 100);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_PROBE);
    assert_int_equal(qenv_stats(e).errors, 1);

    /* 2: AT probe after 200 ms, then the step again */
    fake_uart_clear_log(&e->fu);
    fake_uart_expect(&e->fu, "AT\r", OK);
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", "\r\n+CME ERROR: 3\r\n");
    check_rung_action(e, "AT\r", 200);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QMTOPEN"), 1);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_REOPEN);
    assert_int_equal(qenv_stats(e).last_cme, 3);

    /* 3: reopen after 400 ms: close, configure again, open */
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTCLOSE: 0,0\r\n", 5);
    script_mqtt_cfg(e);
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", "\r\nERROR\r\n");
    check_rung_action(e, "AT+QMTCLOSE=0", 400);
    run_until_rung(e, QUECTEL_REC_CFUN, 100);
    assert_int_equal(qenv_link_state(e), OTA_LINK_CONNECTING);

    /* 4: AT+CFUN cycle after 800 ms, re-attach, configure, open */
    fake_uart_expect(&e->fu, "AT+CFUN=0\r", OK);
    script_attach(e, false);
    script_mqtt_cfg(e);
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", "\r\nERROR\r\n");
    check_rung_action(e, "AT+CFUN=0", 800);
    run_until_rung(e, QUECTEL_REC_POWER, 100);
    qenv_assert_script_ok(e);
    assert_int_equal(e->gp.n, 0);
    assert_int_equal(qenv_link_state(e), OTA_LINK_CONNECTING);

    /* 5: power-key cycle after 1600 ms: off pulse 800 ms, 2 s, probes, on pulse */
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    qenv_run_ms(e, e->rung_at + 1595u - e->now);
    assert_int_equal(e->gp.n, 0);
    qenv_run_ms(e, 10);
    assert_int_equal(e->gp.n, 1);
    assert_int_equal(e->gp.ev[0].at - e->rung_at, 1600);
    assert_int_equal(e->gp.ev[0].pin, FAKE_PIN_PWRKEY);
    assert_true(e->gp.ev[0].level);
    qenv_run_ms(e, 800 + 2000 + 3000 + 10);
    assert_int_equal(e->gp.n, 3);
    assert_int_equal(e->gp.ev[1].at - e->gp.ev[0].at, 800);
    assert_false(e->gp.ev[1].level);
    assert_true(e->gp.ev[2].level);
    assert_int_equal(e->gp.ev[2].at - e->gp.ev[1].at, 2000 + 3000);
    qenv_run_ms(e, 700);
    assert_int_equal(e->gp.n, 4);
    assert_false(e->gp.ev[3].level);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_BOOTING);
    qenv_assert_script_ok(e);

    /* the module starts: everything is configured again */
    fake_uart_clear_log(&e->fu);
    script_init(e);
    script_attach(e, false);
    script_mqtt_cfg(e);
    qenv_script_open_conn(e);
    INJECT(e, "\r\nRDY\r\n\r\nAPP RDY\r\n");
    if (!qenv_run_until_link(e, OTA_LINK_UP, 3000)) {
        fail_msg("state %d link %d err %s log %s", quectel_state(&e->q), qenv_link_state(e),
                 e->fu.err, e->fu.log);
    }
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QMTCFG=\"recv/mode\",0,1,1"), 1);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0"), 1);
    s = qenv_stats(e);
    assert_int_equal(s.recovery, QUECTEL_REC_NONE);
    assert_int_equal(s.max_recovery, QUECTEL_REC_POWER);
    assert_int_equal(s.recoveries, 5);
    assert_int_equal(s.restarts, 1);
}

static void test_power_rung_backoff_doubles_and_caps(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 8);
    e->cfg.gpio = fake_gpio_port(&e->gp, &e->now, false, true, false); /* reset pin only */
    e->cfg.backoff_max_ms = 4000;
    e->cfg.boot_timeout_ms = 1000;
    assert_int_equal(quectel_init(&e->q, &e->cfg), OTA_OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    fake_uart_set_responder(&e->fu, NULL, NULL);
    /* a dead module: every probe unanswered. Count reset pulses over time. */
    for (int i = 0; i < 40; i++) {
        fake_uart_expect(&e->fu, "AT\r", NULL);
    }
    qenv_run_ms(e, 3000 + 1000 + 1000); /* 3 probes, (no key), RDY wait, last probe */
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_POWER);
    assert_int_equal(e->gp.n, 0);
    qenv_run_ms(e, 1600); /* first back-off: 1600 */
    assert_int_equal(e->gp.n, 1);
    assert_int_equal(e->gp.ev[0].pin, FAKE_PIN_RESET);
    uint32_t first = e->gp.ev[0].at;
    qenv_run_ms(e, 300 + 2000 + 5000 + 3200 + 5); /* pulse, settle, boot again, back-off 3200 */
    assert_int_equal(e->gp.n, 3);
    assert_int_equal(e->gp.ev[1].at - first, 300);
    assert_int_equal(e->gp.ev[2].at - first, 300 + 2000 + 5000 + 3200);
    qenv_run_ms(e, 300 + 2000 + 5000 + 4000 + 5); /* capped at 4000 */
    assert_int_equal(e->gp.n, 5);
    assert_int_equal(e->gp.ev[4].at - e->gp.ev[2].at, 300 + 2000 + 5000 + 4000);
    assert_int_equal(qenv_stats(e).max_recovery, QUECTEL_REC_POWER);
    qenv_assert_script_ok(e);
}

static void test_no_pins_soft_reset(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 8);
    e->fu.lenient = true;
    memset(&e->cfg.gpio, 0, sizeof e->cfg.gpio);
    assert_int_equal(quectel_init(&e->q, &e->cfg), OTA_OK);
    for (int i = 0; i < 4; i++) {
        fake_uart_expect(&e->fu, "AT\r", NULL);
    }
    fake_uart_expect(&e->fu, "AT+CFUN=1,1\r", OK);
    fake_uart_urc(&e->fu, "\r\nRDY\r\n", 500);
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 3000 + 3000 + 1000 + 1600 + 50 + 500 + 2100);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

/* ---- restarts, disconnect, power, sleep --------------------------------------- */

static void test_module_restart_reapplies_config(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 4);
    bring_up(e);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"x", 1, 1), 0);
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,1,1,0,\"t\",1\r", "\r\n> ");
    fake_uart_expect(&e->fu, "x", "\r\nOK\r\n\r\nRDY\r\n"); /* restarts before the result */
    fake_uart_urc(&e->fu, "\r\nAPP RDY\r\n", 100);
    script_init(e);
    script_attach(e, false);
    qenv_run_ms(e, 400);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_link_state(e), OTA_LINK_FAILED);
    assert_int_equal(qenv_stats(e).restarts, 1);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_READY);
    e->tp.disconnect(e->tp.ctx);
    script_mqtt_cfg(e);
    qenv_script_open_conn(e);
    qenv_connect_up(e, 2000);
}

static void test_disconnect_sends_queued_then_closes(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 6);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTPUBEX=0,1,1,0,\"v1/devices/me/telemetry\",21\r", "\r\n> ");
    fake_uart_expect(&e->fu, "{\"fw_state\":\"FAILED\"}", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTPUBEX: 0,1,0\r\n", 50);
    fake_uart_expect(&e->fu, "AT+QMTDISC=0\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTDISC: 0,0\r\n", 20);
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTCLOSE: 0,0\r\n", 20);
    assert_int_equal(e->tp.publish(e->tp.ctx, "v1/devices/me/telemetry",
                                   (const uint8_t *)"{\"fw_state\":\"FAILED\"}", 21, 1),
                     0);
    e->tp.disconnect(e->tp.ctx);
    assert_int_equal(qenv_link_state(e), OTA_LINK_DOWN);
    qenv_run_ms(e, 20);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_CLOSING);
    qenv_run_ms(e, 300);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_stats(e).tx_msgs, 1);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_READY);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"x", 1, 1), OTA_ERR_STATE);
}

static void test_disconnect_results_missing_still_closes(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 3);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTDISC=0\r", OK);  /* no +QMTDISC */
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", OK); /* no +QMTCLOSE */
    e->tp.disconnect(e->tp.ctx);
    qenv_run_ms(e, 290);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QMTCLOSE"), 0);
    qenv_run_ms(e, 20); /* cmd_timeout for the result, then go on */
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QMTCLOSE"), 1);
    qenv_run_ms(e, 310);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_stats(e).timeouts, 2);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE); /* tolerated */
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_READY);
    uint32_t at;
    assert_false(quectel_next_deadline(&e->q, &at));
}

static void test_conn_refused_by_broker(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 7);
    script_to_open(e);
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTOPEN: 0,0\r\n", 10);
    fake_uart_expect(&e->fu, "AT+QMTCONN=0,\"dev1\",\"token1\"\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTCONN: 0,0,4\r\n", 10); /* bad user name or password */
    fake_uart_expect(&e->fu, "AT+QMTDISC=0\r", "\r\nERROR\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTCLOSE: 0,0\r\n", 10);
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, qenv_on_msg, e), 0);
    assert_true(qenv_run_until_link(e, OTA_LINK_FAILED, 3000));
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE); /* not a module fault */
}

static void test_open_identifier_occupied_reopens(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 7);
    script_to_open(e);
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTOPEN: 0,2\r\n", 10);
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTCLOSE: 0,0\r\n", 10);
    script_mqtt_cfg(e);
    qenv_script_open_conn(e);
    qenv_connect_up(e, 3000);
    assert_int_equal(qenv_stats(e).max_recovery, QUECTEL_REC_REOPEN);
}

static void test_power_down(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTDISC=0\r", "\r\nOK\r\n\r\n+QMTDISC: 0,0\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", "\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    fake_uart_expect(&e->fu, "AT+QPOWD=1\r", "\r\nOK\r\n\r\nPOWERED DOWN\r\n");
    assert_int_equal(e->md.power_down(e->md.ctx), 0);
    assert_int_equal(qenv_link_state(e), OTA_LINK_DOWN);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_POWERING_DOWN);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_OFF);
    uint32_t at;
    assert_false(quectel_next_deadline(&e->q, &at));
    qenv_run_ms(e, 10000); /* stays quiet */
    qenv_assert_script_ok(e);
}

static void test_sleep_refused_while_mqtt_then_allowed(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    bring_up(e);
    assert_int_equal(e->md.sleep(e->md.ctx), OTA_ERR_STATE);
    fake_uart_expect(&e->fu, "AT+QMTDISC=0\r", "\r\nOK\r\n\r\n+QMTDISC: 0,0\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", "\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    fake_uart_expect(&e->fu, "AT+QSCLK=1\r", OK);
    e->tp.disconnect(e->tp.ctx);
    qenv_run_ms(e, 50);
    assert_int_equal(e->md.sleep(e->md.ctx), 0);
    qenv_run_ms(e, 50);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
}

/* ---- more error paths --------------------------------------------------------- */

static void test_boot_without_rdy_answers_after_the_wait(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    e->fu.lenient = true;
    fake_uart_expect(&e->fu, "AT\r", NULL); /* three probes: off */
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", OK); /* on, but its RDY was missed */
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 3000 + 700 + 3000 - 10); /* probes, key, the wait for RDY */
    assert_int_equal(fake_uart_sent(&e->fu, "AT\r"), 3);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_BOOTING);
    qenv_run_ms(e, 20);
    qenv_assert_script_ok(e);
    assert_int_equal(fake_uart_sent(&e->fu, "AT\r"), 4);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0"), 1);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_CONFIGURING);
    assert_int_equal(qenv_stats(e).restarts, 0);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE);
}

static void test_rdy_while_the_key_is_pressed_releases_it(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    e->fu.lenient = true;
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "AT\r", NULL);
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 3001);
    assert_int_equal(e->gp.n, 1);
    assert_true(e->gp.ev[0].level);
    qenv_run_ms(e, 300);
    INJECT(e, "\r\nRDY\r\n"); /* the module started before the end of the pulse */
    qenv_run_ms(e, 5);
    assert_int_equal(e->gp.n, 2);
    assert_int_equal(e->gp.ev[1].pin, FAKE_PIN_PWRKEY);
    assert_false(e->gp.ev[1].level); /* released at once */
    assert_int_equal(qenv_stats(e).restarts, 1);
    qenv_run_ms(e, 1990);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0"), 0);
    qenv_run_ms(e, 20); /* configured after the 2 s a RDY without APP RDY waits */
    qenv_assert_script_ok(e);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0"), 1);
    assert_int_equal(e->gp.n, 2); /* nothing more on the pins */
}

static void test_probe_answered_with_error_means_on(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 3);
    e->fu.lenient = true;
    fake_uart_expect(&e->fu, "AT\r", "\r\n+CME ERROR: 100\r\n");
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 50);
    qenv_assert_script_ok(e);
    assert_int_equal(fake_uart_sent(&e->fu, "ATE0"), 1);
    assert_int_equal(e->gp.n, 0); /* no key pressed */
    assert_int_equal(qenv_stats(e).last_cme, 100);
    assert_int_equal(qenv_stats(e).errors, 0);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE);
}

static void test_conn_result_error_is_retried(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 5);
    script_to_open(e);
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTOPEN: 0,0\r\n", 10);
    fake_uart_expect(&e->fu, "AT+QMTCONN=0,\"dev1\",\"token1\"\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTCONN: 0,1\r\n", 10); /* packet retransmission failed */
    fake_uart_expect(&e->fu, "AT+QMTCONN=0,\"dev1\",\"token1\"\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTCONN: 0,0,0\r\n", 10);
    qenv_connect_up(e, 3000);
    assert_int_equal(qenv_stats(e).max_recovery, QUECTEL_REC_RETRY);
    assert_int_equal(qenv_stats(e).recoveries, 1);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE);
    assert_int_equal(qenv_stats(e).tx_failed, 0);
}

static void test_recovery_ends_an_established_connection(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 4);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTSUB=0,1,\"s\",1\r", NULL); /* no answer */
    fake_uart_expect(&e->fu, "AT+QMTSUB=0,2,\"s\",1\r", NULL); /* rung 1, retried: none */
    fake_uart_expect(&e->fu, "AT\r", NULL);                     /* rung 2, probe: none */
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", "\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n"); /* rung 3 */
    assert_int_equal(e->tp.subscribe(e->tp.ctx, "s", 1), 0);
    run_until_rung(e, QUECTEL_REC_PROBE, 2000);
    assert_int_equal(qenv_link_state(e), OTA_LINK_UP); /* a retry and a probe keep it */
    assert_true(qenv_run_until_link(e, OTA_LINK_FAILED, 3000));
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_REOPEN);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(e->tp.subscribe(e->tp.ctx, "s", 1), OTA_ERR_STATE);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_READY); /* no reconnect by itself */
}

static void test_recovery_decided_during_a_command(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 3);
    bring_up(e);
    /* the connection drops while AT+QMTSUB is in flight; its OK comes after */
    fake_uart_expect(&e->fu, "AT+QMTSUB=0,1,\"s\",1\r", "\r\n+QMTSTAT: 0,1\r\n\r\nOK\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCLOSE=0\r", "\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    assert_int_equal(e->tp.subscribe(e->tp.ctx, "s", 1), 0);
    qenv_run_ms(e, 50);
    assert_int_equal(qenv_link_state(e), OTA_LINK_FAILED);
    assert_int_equal(qenv_stats(e).last_qmtstat, 1);
    qenv_run_ms(e, 3000); /* no +QMTSUB awaited: the reopen rung only */
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_stats(e).timeouts, 0);
    assert_int_equal(qenv_stats(e).tx_failed, 0);
    assert_int_equal(qenv_stats(e).max_recovery, QUECTEL_REC_REOPEN);
}

static void test_item_refused_after_the_connection_dropped(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 2);
    bring_up(e);
    fake_uart_expect(&e->fu, "AT+QMTSUB=0,1,\"s\",1\r", "\r\nERROR\r\n");
    /* retried; the broker ends the session (normal disconnect) before its ERROR */
    fake_uart_expect(&e->fu, "AT+QMTSUB=0,2,\"s\",1\r", "\r\n+QMTSTAT: 0,5\r\n\r\nERROR\r\n");
    assert_int_equal(e->tp.subscribe(e->tp.ctx, "s", 1), 0);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_link_state(e), OTA_LINK_FAILED);
    assert_int_equal(qenv_stats(e).tx_failed, 1);
    assert_int_equal(qenv_stats(e).recovery, QUECTEL_REC_NONE); /* code 5: not a fault */
    qenv_run_ms(e, 1000);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QMTSUB"), 2);
}

static void test_message_ids_wrap_to_1(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 3);
    bring_up(e);
    e->q.msgid = 65535; /* white box: the last id was 65535 */
    fake_uart_expect(&e->fu, "AT+QMTSUB=0,1,\"s\",1\r", "\r\nOK\r\n\r\n+QMTSUB: 0,1,0,1\r\n");
    assert_int_equal(e->tp.subscribe(e->tp.ctx, "s", 1), 0);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_true(fake_uart_done(&e->fu));
    assert_int_equal(qenv_stats(e).tx_failed, 0);
}

static void test_malformed_urcs_ignored(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 3);
    bring_up(e);
    INJECT(e, "\r\n+QMTRECV: 0,\"t\",\"x\"\r\n"); /* a message without its id fields */
    INJECT(e, "\r\n+CEREG: 0,9\r\n");           /* no such registration state */
    qenv_run_ms(e, 50);
    assert_int_equal(qenv_stats(e).rx_dropped, 1);
    assert_int_equal(e->msgs, 0);
    assert_int_equal(e->md.network(e->md.ctx), OTA_NET_REGISTERED);
    assert_int_equal(qenv_link_state(e), OTA_LINK_UP);
}

static void test_message_after_disconnect_not_delivered(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 3);
    bring_up(e);
    e->fu.lenient = true; /* the closing commands are not scripted */
    e->tp.disconnect(e->tp.ctx);
    INJECT(e, "\r\n+QMTRECV: 0,1,\"t\",\"late\"\r\n");
    qenv_run_ms(e, 20);
    assert_int_equal(e->msgs, 0);
    assert_int_equal(qenv_stats(e).rx_msgs, 0);
    assert_int_equal(qenv_stats(e).rx_dropped, 0);
}

static void test_connect_again_before_the_close_is_up_at_once(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 3);
    bring_up(e);
    e->tp.disconnect(e->tp.ctx);
    assert_int_equal(qenv_link_state(e), OTA_LINK_DOWN);
    /* the module's client is still connected: nothing to do but use it */
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, qenv_on_msg, e), 0);
    assert_int_equal(qenv_link_state(e), OTA_LINK_UP);
    qenv_run_ms(e, 100);
    qenv_assert_script_ok(e);
    assert_int_equal(fake_uart_sent(&e->fu, "AT+QMTDISC"), 0);
    assert_int_equal(quectel_state(&e->q), QUECTEL_ST_CONNECTED);
}

static void test_imei_from_cgsn_when_gsn_gives_none(void **state)
{
    qenv_t *e = *state;
    char imei[20];
    char small[15];
    qenv_init(e, QUECTEL_BG95, 3);
    e->fu.lenient = true;
    fake_uart_expect(&e->fu, "AT\r", OK);
    fake_uart_expect(&e->fu, "ATE0\r", OK);
    fake_uart_expect(&e->fu, "AT+CMEE=1\r", OK);
    fake_uart_expect(&e->fu, "AT+QURCCFG=\"urcport\",\"uart1\"\r", OK);
    fake_uart_expect(&e->fu, "AT+GSN\r", "\r\n8664250312\r\n\r\nOK\r\n"); /* too short */
    fake_uart_expect(&e->fu, "AT+CGSN=1\r", "\r\n+CGSN: \"866425031234567\"\r\n\r\nOK\r\n");
    fake_uart_expect(&e->fu, "AT+QMTCFG=?\r", CFGTEST_RECV);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    qenv_run_ms(e, 50);
    qenv_assert_script_ok(e);
    assert_int_equal(e->md.imei(e->md.ctx, imei, sizeof imei), 0);
    assert_string_equal(imei, "866425031234567");
    assert_int_equal(e->md.imei(e->md.ctx, small, sizeof small), OTA_ERR_NOSPACE);
    assert_int_equal(e->md.imei(e->md.ctx, NULL, 0), OTA_ERR_NOSPACE);
}

static void test_power_down_keeps_a_failed_link_failed(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 3);
    bring_up(e);
    e->fu.lenient = true;
    INJECT(e, "\r\n+QMTSTAT: 0,5\r\n"); /* closed by the broker */
    qenv_run_ms(e, 20);
    assert_int_equal(qenv_link_state(e), OTA_LINK_FAILED);
    assert_int_equal(e->md.power_down(e->md.ctx), 0);
    assert_int_equal(qenv_link_state(e), OTA_LINK_FAILED); /* still to be seen by the user */
}

static uint32_t clock_of(void *ctx)
{
    return *(const uint32_t *)ctx;
}

static void test_api_calls_read_the_clock(void **state)
{
    qenv_t *e = *state;
    uint32_t t = 123456;
    uint32_t at = 0;
    qenv_init(e, QUECTEL_BG95, 1);
    e->cfg.clock.now_ms = clock_of;
    e->cfg.clock.ctx = &t;
    assert_int_equal(quectel_init(&e->q, &e->cfg), OTA_OK);
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    assert_true(quectel_next_deadline(&e->q, &at));
    assert_int_equal(at, 123456); /* work to do now, by the clock, before any poll */
}

/* ---- API ---------------------------------------------------------------------- */

static int nop_write(void *c, const uint8_t *d, size_t n)
{
    (void)c;
    (void)d;
    return (int)n;
}

static void test_api_parameters(void **state)
{
    qenv_t *e = *state;
    quectel_config_t c;
    quectel_stats_t s;
    char imei[20];
    uint32_t at;
    qenv_init(e, QUECTEL_BG95, 1);
    quectel_config_defaults(&c);
    assert_int_equal(c.cmd_timeout_ms, 5000);
    assert_int_equal(c.open_timeout_ms, 75000);
    assert_int_equal(c.dialect, QUECTEL_AUTO);
    assert_int_equal(quectel_init(NULL, &c), OTA_ERR_PARAM);
    assert_int_equal(quectel_init(&e->q, NULL), OTA_ERR_PARAM);
    assert_int_equal(quectel_init(&e->q, &c), OTA_ERR_PARAM); /* no UART */
    c.uart.write = nop_write;
    c.uart.read = e->cfg.uart.read;
    assert_int_equal(quectel_init(&e->q, &c), OTA_OK);
    c.client_idx = 5;
    assert_int_equal(quectel_init(&e->q, &c), OTA_ERR_PARAM);
    c.client_idx = 0;
    c.dialect = (quectel_dialect_t)3;
    assert_int_equal(quectel_init(&e->q, &c), OTA_ERR_PARAM);
    c.dialect = QUECTEL_BG95;
    for (int i = 0; i < 7; i++) { /* each timeout 0, then a back-off above its maximum */
        quectel_config_t z = c;
        uint32_t *f[7] = {&z.cmd_timeout_ms,  &z.cfun_timeout_ms, &z.boot_timeout_ms,
                          &z.attach_timeout_ms, &z.open_timeout_ms, &z.mqtt_timeout_ms,
                          &z.backoff_ms};
        *f[i] = (i < 6) ? 0u : z.backoff_max_ms + 1u;
        assert_int_equal(quectel_init(&e->q, &z), OTA_ERR_PARAM);
    }
    c.mqtt_timeout_ms = 0;
    assert_int_equal(quectel_init(&e->q, &c), OTA_ERR_PARAM);
    assert_int_equal(quectel_poll(NULL, 0), OTA_ERR_PARAM);
    assert_false(quectel_next_deadline(NULL, &at));
    assert_int_equal(quectel_state(NULL), QUECTEL_ST_OFF);
    assert_int_equal(quectel_dialect(NULL), QUECTEL_AUTO);
    quectel_stats(NULL, &s);
    assert_int_equal(s.timeouts, 0);
    quectel_stats(&e->q, NULL);       /* NULL outputs: nothing done */
    quectel_config_defaults(NULL);
    quectel_transport(&e->q, NULL);
    quectel_modem(&e->q, NULL);

    qenv_init(e, QUECTEL_BG95, 1);
    assert_false(quectel_next_deadline(&e->q, &at)); /* idle: nothing until asked */
    qenv_run_ms(e, 1000);
    assert_int_equal(e->fu.log_len, 0);               /* nothing sent */
    assert_int_equal(e->md.imei(e->md.ctx, imei, sizeof imei), OTA_ERR_NOT_FOUND);
    assert_int_equal(e->md.network(e->md.ctx), OTA_NET_UNKNOWN);
    assert_int_equal(e->md.signal_dbm(e->md.ctx), 0);
    assert_int_equal(qenv_link_state(e), OTA_LINK_DOWN);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"x", 1, 1), OTA_ERR_STATE);
    assert_int_equal(e->tp.subscribe(e->tp.ctx, "t", 1), OTA_ERR_STATE);
    ota_mqtt_conn_t bad = e->conn;
    bad.host = "";
    assert_int_equal(e->tp.connect(e->tp.ctx, &bad, qenv_on_msg, e), OTA_ERR_PARAM);
    bad.host = NULL;
    assert_int_equal(e->tp.connect(e->tp.ctx, &bad, qenv_on_msg, e), OTA_ERR_PARAM);
    bad = e->conn;
    bad.client_id = "";
    assert_int_equal(e->tp.connect(e->tp.ctx, &bad, qenv_on_msg, e), OTA_ERR_PARAM);
    assert_int_equal(e->tp.connect(e->tp.ctx, NULL, qenv_on_msg, e), OTA_ERR_PARAM);
    char longname[300];
    memset(longname, 'h', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    bad = e->conn;
    bad.host = longname;
    assert_int_equal(e->tp.connect(e->tp.ctx, &bad, qenv_on_msg, e), OTA_ERR_RANGE);

    bring_up(e);
    assert_true(quectel_next_deadline(&e->q, &at)); /* slot check timer */
    assert_int_equal(e->md.imei(e->md.ctx, imei, 15), OTA_ERR_NOSPACE);
    assert_int_equal(e->md.imei(e->md.ctx, imei, 16), 0);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", NULL, 1, 1), OTA_ERR_PARAM);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", (const uint8_t *)"x", 1, 3), OTA_ERR_PARAM);
    assert_int_equal(e->tp.publish(e->tp.ctx, NULL, (const uint8_t *)"x", 1, 1), OTA_ERR_PARAM);
    assert_int_equal(e->tp.publish(e->tp.ctx, "", (const uint8_t *)"x", 1, 1), OTA_ERR_RANGE);
    assert_int_equal(e->tp.publish(e->tp.ctx, longname, (const uint8_t *)"x", 1, 1),
                     OTA_ERR_RANGE);
    static uint8_t big[QUECTEL_CFG_TXQ_SIZE];
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", big, sizeof big, 1), OTA_ERR_NOSPACE);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", big, QUECTEL_CFG_TXQ_SIZE - 5u, 1), 0);
    assert_int_equal(e->tp.publish(e->tp.ctx, "t", big, 1, 1), OTA_ERR_NOSPACE);
    assert_true(quectel_next_deadline(&e->q, &at));
    assert_int_equal(at, e->now); /* work to do now */
}

static int failing_read(void *c, uint8_t *b, size_t n)
{
    (void)c;
    (void)b;
    (void)n;
    return -42;
}

static void test_uart_errors_reported(void **state)
{
    qenv_t *e = *state;
    qenv_init(e, QUECTEL_BG95, 1);
    e->cfg.uart.read = failing_read;
    assert_int_equal(quectel_init(&e->q, &e->cfg), OTA_OK);
    assert_int_equal(quectel_poll(&e->q, e->now), OTA_ERR_PORT);
    qenv_init(e, QUECTEL_BG95, 1);
    e->fu.write_error = -3;
    assert_int_equal(e->md.power_up(e->md.ctx), 0);
    assert_int_equal(quectel_poll(&e->q, e->now), OTA_ERR_PORT);
    assert_int_equal(qenv_stats(e).timeouts, 1);
}

/* ---- the OTA client over the driver over an emulated module ----------------- */

static void test_ota_client_over_driver(void **state)
{
    (void)state;
    qenv_ota_t *o = qenv_ota_new(20000);
    qenv_t *e = &o->env;
    for (size_t i = 0; i < o->image_len; i++) {
        o->image[i] = (uint8_t)(i * 2654435761u >> 13);
    }
    memcpy(o->image + 500, "\r\nOK\r\n+QMTRECV: 0,1\r\n\"\x1a", 24);
    qenv_ota_prepare(o, QUECTEL_AUTO, false); /* random 1..8-byte fragments */
    o->mod.lost_recv = 1; /* the first +QMTRECV URC is lost */
    o->ocfg.window = 4;
    o->ocfg.answer_timeout_ms = 15000;
    qenv_ota_run(o);
    assert_true(o->mod.reads >= 20);       /* buffered reads, one per chunk + attrs */
    assert_true(o->mod.publishes >= 21);
    assert_int_equal(o->mod.errors, 0);
    assert_true(qenv_stats(e).rx_msgs >= 21);
    assert_int_equal(qenv_stats(e).rx_dropped, 0);
    assert_int_equal(quectel_dialect(&e->q), QUECTEL_BG95);
    qenv_ota_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        QENV_TEST(test_bringup_all_fragments),
        QENV_TEST(test_cereg_polled_every_2s),
        QENV_TEST(test_auto_dialect_from_ati),
        QENV_TEST(test_auto_dialect_unknown_defaults_to_bg95),
        QENV_TEST(test_apn_configured),
        QENV_TEST(test_subscribe_publish_receive_all_fragments),
        QENV_TEST(test_binary_payload_cases),
        QENV_TEST(test_pushed_payload_with_length),
        QENV_TEST(test_no_recv_mode_text_fallback),
        QENV_TEST(test_publish_binary_exact_bytes_no_ctrl_z),
        QENV_TEST(test_pubex_error_falls_back_to_qmtpub),
        QENV_TEST(test_publish_refused_twice_dropped),
        QENV_TEST(test_publish_result_failed_counted),
        QENV_TEST(test_stale_async_results_ignored),
        QENV_TEST(test_lost_recv_urc_found_by_slot_check),
        QENV_TEST(test_several_slots_read_in_order),
        QENV_TEST(test_overflow_and_garbage_do_not_break_the_link),
        QENV_TEST(test_message_too_big_dropped_link_survives),
        QENV_TEST(test_command_timeout_then_retry_then_probe),
        QENV_TEST(test_boot_module_off_pwrkey_then_rdy),
        QENV_TEST(test_boot_rdy_without_app_rdy_settles_2s),
        QENV_TEST(test_boot_timeout_goes_to_power_rung),
        QENV_TEST(test_attach_timeout),
        QENV_TEST(test_open_result_timeout),
        QENV_TEST(test_conn_result_timeout),
        QENV_TEST(test_sub_and_pub_result_timeouts),
        QENV_TEST(test_prompt_timeout),
        QENV_TEST(test_qmtstat_codes),
        QENV_TEST(test_qmtstat_then_client_reconnects),
        QENV_TEST(test_recovery_ladder_to_power_key),
        QENV_TEST(test_power_rung_backoff_doubles_and_caps),
        QENV_TEST(test_no_pins_soft_reset),
        QENV_TEST(test_module_restart_reapplies_config),
        QENV_TEST(test_disconnect_sends_queued_then_closes),
        QENV_TEST(test_disconnect_results_missing_still_closes),
        QENV_TEST(test_conn_refused_by_broker),
        QENV_TEST(test_open_identifier_occupied_reopens),
        QENV_TEST(test_power_down),
        QENV_TEST(test_sleep_refused_while_mqtt_then_allowed),
        QENV_TEST(test_boot_without_rdy_answers_after_the_wait),
        QENV_TEST(test_rdy_while_the_key_is_pressed_releases_it),
        QENV_TEST(test_probe_answered_with_error_means_on),
        QENV_TEST(test_conn_result_error_is_retried),
        QENV_TEST(test_recovery_ends_an_established_connection),
        QENV_TEST(test_recovery_decided_during_a_command),
        QENV_TEST(test_item_refused_after_the_connection_dropped),
        QENV_TEST(test_message_ids_wrap_to_1),
        QENV_TEST(test_malformed_urcs_ignored),
        QENV_TEST(test_message_after_disconnect_not_delivered),
        QENV_TEST(test_connect_again_before_the_close_is_up_at_once),
        QENV_TEST(test_imei_from_cgsn_when_gsn_gives_none),
        QENV_TEST(test_power_down_keeps_a_failed_link_failed),
        QENV_TEST(test_api_calls_read_the_clock),
        QENV_TEST(test_api_parameters),
        QENV_TEST(test_uart_errors_reported),
        cmocka_unit_test(test_ota_client_over_driver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
