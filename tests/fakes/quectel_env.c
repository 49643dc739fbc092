/*
 * quectel_env.c - the test environment shared by the Quectel driver's unit
 * tests (see quectel_env.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "quectel_env.h"
#include "client_env.h"

#define FLASH_SIZE (256u * 1024u)
#define SLOT_ADDR 0x2000u
#define SLOT_SIZE (128u * 1024u)

int qenv_setup(void **state)
{
    qenv_t *e = calloc(1, sizeof *e);
    assert_non_null(e);
    *state = e;
    return 0;
}

int qenv_teardown(void **state)
{
    free(*state);
    return 0;
}

void qenv_on_msg(void *arg, const char *topic, size_t tlen, const uint8_t *p, size_t n)
{
    qenv_t *e = arg;
    assert_true(e->msgs < QENV_MSGS);
    assert_true(tlen < QENV_TOPIC);
    assert_true(n <= QENV_PAYLOAD);
    memcpy(e->topic[e->msgs], topic, tlen);
    e->topic[e->msgs][tlen] = '\0';
    if (n > 0) {
        memcpy(e->pay[e->msgs], p, n);
    }
    e->len[e->msgs] = n;
    e->msgs++;
}

void qenv_init(qenv_t *e, quectel_dialect_t d, unsigned frag)
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

void qenv_poll_now(qenv_t *e)
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

void qenv_run_ms(qenv_t *e, uint32_t ms)
{
    uint32_t end = e->now + ms;
    qenv_poll_now(e);
    while ((int32_t)(e->now - end) < 0) {
        e->now++;
        qenv_poll_now(e);
    }
}

void qenv_assert_script_ok(qenv_t *e)
{
    if (e->fu.errors != 0) {
        fail_msg("fake module: %s\nlog: %s", e->fu.err, e->fu.log);
    }
}

ota_link_state_t qenv_link_state(qenv_t *e)
{
    return e->tp.state(e->tp.ctx);
}

bool qenv_run_until_link(qenv_t *e, ota_link_state_t want, uint32_t max_ms)
{
    uint32_t end = e->now + max_ms;
    qenv_poll_now(e);
    while (qenv_link_state(e) != want) {
        if ((int32_t)(e->now - end) >= 0) {
            return false;
        }
        e->now++;
        qenv_poll_now(e);
    }
    return true;
}

quectel_stats_t qenv_stats(qenv_t *e)
{
    quectel_stats_t s;
    quectel_stats(&e->q, &s);
    return s;
}

void qenv_script_open_conn(qenv_t *e)
{
    fake_uart_expect(&e->fu, "AT+QMTOPEN=0,\"broker.local\",1883\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTOPEN: 0,0\r\n", 40);
    fake_uart_expect(&e->fu, "AT+QMTCONN=0,\"dev1\",\"token1\"\r", OK);
    fake_uart_urc(&e->fu, "\r\n+QMTCONN: 0,0,0\r\n", 40);
}

void qenv_connect_up(qenv_t *e, uint32_t max_ms)
{
    assert_int_equal(e->tp.connect(e->tp.ctx, &e->conn, qenv_on_msg, e), 0);
    assert_true(qenv_run_until_link(e, OTA_LINK_UP, max_ms));
    qenv_assert_script_ok(e);
}

/* ---- the OTA client over the driver over an emulated module ---- */

qenv_ota_t *qenv_ota_new(size_t image_len)
{
    qenv_ota_t *o = calloc(1, sizeof *o);
    assert_non_null(o);
    assert_true(image_len <= sizeof o->image);
    o->image_len = image_len;
    return o;
}

void qenv_ota_prepare(qenv_ota_t *o, quectel_dialect_t dialect, bool bc)
{
    qenv_t *e = &o->env;
    o->pkg_len = client_env_package(o->image, o->image_len, OTA_PKG_DRAGINO, o->pkg);
    qenv_init(e, dialect, 0); /* random 1..8-byte fragments */
    fake_tb_init(&o->tb, o->pkg, o->pkg_len, "s31-nb", "v1.6.0");
    fake_module_init(&o->mod, &e->fu, fake_tb_transport(&o->tb), bc);
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
}

void qenv_ota_run(qenv_ota_t *o)
{
    qenv_t *e = &o->env;
    ota_client_info_t info;
    uint8_t *got;
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
    qenv_assert_script_ok(e);
    assert_int_equal(info.state, OTA_STATE_DONE);
    assert_int_equal(info.code, OTA_CODE_SUCCESS);
    got = malloc(o->image_len);
    assert_non_null(got);
    fake_flash_peek(&o->ff, SLOT_ADDR, got, o->image_len);
    assert_memory_equal(got, o->image, o->image_len);
    free(got);
}

void qenv_ota_free(qenv_ota_t *o)
{
    fake_flash_free(&o->ff);
    free(o);
}
