/*
 * client_env.h - the test environment of the OTA client's unit tests
 * (test_client.c, test_client_more.c, test_hostile.c): the real client over
 * the fake ThingsBoard server of fake_tb.h, a RAM NOR flash (fake_flash.h)
 * and a fake millisecond clock; the image and package it serves; the loop
 * that drives the client to its end; and the checks of the slot and the
 * boot request it leaves.
 *
 * The device is "s31-nb" running v1.5.0 (IMEI 860000000000001, MQTT
 * 127.0.0.1:1883 as dev1/token1); the server offers v1.6.0 of s31-nb. The
 * boot request sector is at CLIENT_ENV_META_ADDR, the slot at
 * CLIENT_ENV_SLOT_ADDR. What differs from one test file to the next (flash
 * and slot size, timeouts, start time) is a client_env_profile_t; a test
 * file wraps its own ports (a flash or transport in between) around the
 * environment after client_env_setup.
 *
 * The helpers assert with CMocka: call them from inside a test. Include this
 * after <cmocka.h>.
 */
#ifndef CELLOTA_TESTS_CLIENT_ENV_H
#define CELLOTA_TESTS_CLIENT_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_client.h"
#include "fake_flash.h"
#include "fake_tb.h"

#define CLIENT_ENV_SECTOR 4096u    /* the fake NOR's sector */
#define CLIENT_ENV_PAGE 256u       /* the fake NOR's page */
#define CLIENT_ENV_META_ADDR 0u    /* the metadata (boot request, journal): two sectors */
#define CLIENT_ENV_SLOT_ADDR 0x2000u

/* What a test file's environment is made of. */
typedef struct {
    uint32_t flash_size;         /* the fake NOR, blank after setup */
    uint32_t slot_size;          /* the slot at CLIENT_ENV_SLOT_ADDR */
    size_t image_max;            /* the largest image a test builds */
    uint32_t start_ms;           /* the clock after setup */
    uint32_t answer_timeout_ms;  /* the client's configuration */
    uint32_t connect_timeout_ms;
    uint32_t backoff_ms;
    int max_polls;               /* client_env_drive fails the test after this many polls */
} client_env_profile_t;

typedef struct {
    fake_flash_t ff;
    fake_tb_t tb;
    fake_clock_t clk;
    fake_uplink_t up;
    ota_settings_t set;
    ota_config_t cfg;
    ota_client_t cli;
    /* Additions to client_env_drive's loop, with hook_ctx (NULL: none). */
    void (*before_poll)(void *ctx);  /* called before every poll */
    bool (*holds)(void *ctx);        /* true: a transport in between holds messages back,
                                      * and time runs 10 ms at a time while nothing else
                                      * waits and no deadline is ahead */
    void *hook_ctx;
    int max_polls; /* from the profile */
    /* The image and the package the server serves (heap buffers kept from
     * one setup to the next, for images of up to image_max bytes). */
    uint8_t *image;
    size_t image_len;
    size_t image_max;
    uint8_t *pkg;
    size_t pkg_len;
} client_env_t;

/* A fresh environment in *e (zeroed the first time, by the caller; set up
 * again any number of times): the flash blank and its counters zero; an
 * image of `image` bytes (client_env_build, seed 7) served by a well-behaved
 * server as s31-nb v1.6.0 with a CRC32 checksum; the clock at p->start_ms;
 * the settings and the client's configuration (format `fmt`, `window`
 * chunks in flight, raw chunks of 512 bytes, the profile's timeouts, the
 * fake NOR, clock, uplink and reboot, logging quiet unless the environment
 * variable CELLOTA_TEST_LOG is set). */
void client_env_setup(client_env_t *e, const client_env_profile_t *p, size_t image,
                      ota_pkg_format_t fmt, uint8_t window);

/* Free the flash and the buffers (not e itself). */
void client_env_free(client_env_t *e);

/* For a test's CMocka setup: a zeroed environment of `size` bytes on the
 * heap, a client_env_t or a struct whose first member is one. */
void *client_env_alloc(size_t size);

/* CMocka teardown for client_env_alloc's environments: client_env_free,
 * then free the environment. */
int client_env_teardown(void **state);

/* Fill out[0..n) with the test image of `seed` (xorshift). */
void client_env_image(uint8_t *out, size_t n, uint32_t seed);

/* The package of an image in `fmt`: a raw copy, or Dragino's records (each
 * 1024-byte block, the last one shorter, followed by its CRC-32,
 * little-endian). out must hold n + 4 * ceil(n / 1024) bytes. Returns the
 * package's length. */
size_t client_env_package(const uint8_t *img, size_t n, ota_pkg_format_t fmt, uint8_t *out);

/* e->image: n bytes of `seed`; e->pkg: its package in `fmt`. The server is
 * not told (fake_tb_init does that). */
void client_env_build(client_env_t *e, size_t n, uint32_t seed, ota_pkg_format_t fmt);

/* True when the client is IDLE or DONE. */
bool client_env_finished(const client_env_t *e);

/* The client's info (asserts that it is given). */
ota_client_info_t client_env_info(const client_env_t *e);

/* The detailed text of the client's last result. */
const char *client_env_reason(const client_env_t *e);

/* Poll an initialised, started client until it is IDLE or DONE; returns its
 * result code. Time jumps towards the next deadline, at most 100 ms at a
 * time, when nothing waits for delivery (a real transport also wakes the
 * loop when data arrives). */
ota_code_t client_env_drive(client_env_t *e);

/* Initialise and start the client with e->cfg, then client_env_drive. */
ota_code_t client_env_run(client_env_t *e);

/* The slot starts with img[0..n). */
void client_env_assert_slot(const client_env_t *e, const uint8_t *img, size_t n);

/* The boot request (read through e->cfg.flash) is valid and describes
 * img[0..n) in the slot, as s31-nb `version`. */
void client_env_assert_bootreq(const client_env_t *e, const uint8_t *img, size_t n,
                               const char *version);

#endif /* CELLOTA_TESTS_CLIENT_ENV_H */
