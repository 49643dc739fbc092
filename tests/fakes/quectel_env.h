/*
 * quectel_env.h - the test environment of the Quectel driver's unit tests
 * (test_quectel_bg95.c, test_quectel_bc660k.c): the driver over the scripted
 * fake module of fake_uart.h, on a fake millisecond clock, with its transport
 * and modem ports and a record of the MQTT messages it delivered; and the
 * real OTA client over the driver over an emulated module.
 *
 * The helpers assert with CMocka: call them from inside a test. Include this
 * after <cmocka.h>. Link the driver (cellota_quectel) into a test that uses it.
 */
#ifndef CELLOTA_TESTS_QUECTEL_ENV_H
#define CELLOTA_TESTS_QUECTEL_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_client.h"
#include "cellota/quectel.h"
#include "fake_flash.h"
#include "fake_tb.h"
#include "fake_uart.h"

/* A module's final result code. */
#define OK "\r\nOK\r\n"
/* Queue a string literal for the driver now (outside the script). */
#define INJECT(e, lit) fake_uart_inject(&(e)->fu, (lit), sizeof(lit) - 1u)

/* A test case that gets a fresh qenv_t (from qenv_setup) as its state. */
#define QENV_TEST(f) cmocka_unit_test_setup_teardown(f, qenv_setup, qenv_teardown)

#define QENV_MSGS 16      /* messages recorded */
#define QENV_TOPIC 128    /* bytes of a recorded topic, its NUL included */
#define QENV_PAYLOAD 1200 /* bytes of a recorded payload */

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
    char topic[QENV_MSGS][QENV_TOPIC];
    uint8_t pay[QENV_MSGS][QENV_PAYLOAD];
    size_t len[QENV_MSGS];
} qenv_t;

/* CMocka group setup/teardown: a zeroed qenv_t on the heap as the state. */
int qenv_setup(void **state);
int qenv_teardown(void **state);

/* The message callback given to connect (arg: the qenv_t): records topic and payload. */
void qenv_on_msg(void *arg, const char *topic, size_t tlen, const uint8_t *p, size_t n);

/* A fresh environment: the fake module (fragments of `frag` bytes, or 1..8
 * when 0) at time 1000, PWRKEY and PSM_EINT pins, short test timeouts, the
 * driver initialised for dialect `d`, and the connection to broker.local:1883
 * as dev1/token1. */
void qenv_init(qenv_t *e, quectel_dialect_t d, unsigned frag);

/* One poll at the current time, then more while bytes are waiting; notes
 * when the recovery rung changes (rung, rung_at). */
void qenv_poll_now(qenv_t *e);
/* Poll every millisecond for `ms` ms. */
void qenv_run_ms(qenv_t *e, uint32_t ms);
/* Fails the test with the fake's error and log if the script was not followed. */
void qenv_assert_script_ok(qenv_t *e);
/* The transport's link state. */
ota_link_state_t qenv_link_state(qenv_t *e);
/* Poll every millisecond until the link is `want`; false after max_ms. */
bool qenv_run_until_link(qenv_t *e, ota_link_state_t want, uint32_t max_ms);
/* The driver's counters now. */
quectel_stats_t qenv_stats(qenv_t *e);

/* Script AT+QMTOPEN and AT+QMTCONN with their successful results (both dialects). */
void qenv_script_open_conn(qenv_t *e);
/* Connect (asserts 0), run until the link is up (asserts it is within
 * max_ms) and assert the script was followed. */
void qenv_connect_up(qenv_t *e, uint32_t max_ms);

/* ---- the OTA client over the driver over an emulated module ---- */

#define QENV_IMAGE_MAX 20000u
#define QENV_PKG_MAX 21000u

typedef struct {
    qenv_t env;
    fake_tb_t tb;
    fake_module_t mod;
    fake_flash_t ff;
    fake_clock_t clk;
    ota_settings_t set;
    ota_config_t ocfg;
    ota_client_t cli;
    uint8_t image[QENV_IMAGE_MAX];
    size_t image_len;
    uint8_t pkg[QENV_PKG_MAX];
    size_t pkg_len;
} qenv_ota_t;

/* A zeroed environment on the heap for an image of image_len bytes
 * (<= QENV_IMAGE_MAX), which the test then writes into image[]. */
qenv_ota_t *qenv_ota_new(size_t image_len);
/* The Dragino package of the image; qenv_init(dialect, random fragments); a
 * fake ThingsBoard serving the package as s31-nb v1.6.0 behind an emulated
 * module (a BC660K if bc, else a BG95); a 256 KB fake NOR; and the client's
 * configuration for s31-nb v1.5.0 over the driver, slot at 0x2000. The test
 * then sets what is its own (window, faults...). */
void qenv_ota_prepare(qenv_ota_t *o, quectel_dialect_t dialect, bool bc);
/* Start the client and run it to its end; asserts the script was followed,
 * the update DONE with SUCCESS and the image in the slot. */
void qenv_ota_run(qenv_ota_t *o);
/* Free the environment and its fake NOR. */
void qenv_ota_free(qenv_ota_t *o);

#endif /* CELLOTA_TESTS_QUECTEL_ENV_H */
