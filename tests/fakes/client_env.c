/*
 * client_env.c - the test environment shared by the OTA client's unit tests
 * (see client_env.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellota/ota_bootreq.h"
#include "cellota/ota_crc32.h"
#include "cellota/ota_package.h"
#include "client_env.h"

#define TITLE "s31-nb"

/* Room for the package of an image of n bytes (Dragino adds 4 per 1024). */
static size_t pkg_room(size_t n)
{
    return n + n / 256u + 8u;
}

static void log_quiet(void *ctx, ota_log_level_t lvl, const char *line)
{
    (void)ctx;
    if (getenv("CELLOTA_TEST_LOG") != NULL) {
        (void)fprintf(stderr, "  [%d] %s\n", (int)lvl, line);
    }
}

/* Keep the buffers of an earlier setup, or allocate them. */
static void zero_keep_buffers(client_env_t *e, size_t image_max)
{
    uint8_t *image = e->image;
    if (e->ff.mem != NULL) {
        fake_flash_free(&e->ff);
    }
    if (image == NULL) {
        image = malloc(image_max + pkg_room(image_max));
        assert_non_null(image);
    } else {
        assert_true(image_max <= e->image_max);
        image_max = e->image_max;
    }
    memset(e, 0, sizeof *e);
    e->image = image;
    e->image_max = image_max;
    e->pkg = image + image_max;
}

static void settings(ota_settings_t *set)
{
    ota_settings_defaults(set, TITLE, "v1.5.0");
    strcpy(set->host, "127.0.0.1");
    set->port = 1883;
    strcpy(set->client_id, "dev1");
    strcpy(set->username, "token1");
}

static void config(client_env_t *e, const client_env_profile_t *p, ota_pkg_format_t fmt,
                   uint8_t window)
{
    ota_config_t *cfg = &e->cfg;
    ota_config_defaults(cfg);
    cfg->transport = fake_tb_transport(&e->tb);
    fake_flash_port(&e->ff, &cfg->flash);
    cfg->clock = fake_clock(&e->clk);
    cfg->uplink = fake_uplink(&e->up);
    cfg->reboot = fake_reboot(&e->up);
    cfg->log.write = log_quiet;
    cfg->settings = &e->set;
    cfg->imei = "860000000000001";
    cfg->meta_addr = CLIENT_ENV_META_ADDR;
    cfg->slot_addr = CLIENT_ENV_SLOT_ADDR;
    cfg->slot_size = p->slot_size;
    cfg->format = fmt;
    cfg->raw_chunk_size = 512u;
    cfg->window = window;
    cfg->answer_timeout_ms = p->answer_timeout_ms;
    cfg->connect_timeout_ms = p->connect_timeout_ms;
    cfg->backoff_ms = p->backoff_ms;
}

void client_env_setup(client_env_t *e, const client_env_profile_t *p, size_t image,
                      ota_pkg_format_t fmt, uint8_t window)
{
    zero_keep_buffers(e, p->image_max);
    assert_int_equal(
        fake_flash_init(&e->ff, p->flash_size, CLIENT_ENV_SECTOR, CLIENT_ENV_PAGE), 0);
    client_env_build(e, image, 7u, fmt);
    fake_tb_init(&e->tb, e->pkg, e->pkg_len, TITLE, "v1.6.0");
    e->clk.now = p->start_ms;
    settings(&e->set);
    config(e, p, fmt, window);
    e->max_polls = p->max_polls;
}

void client_env_free(client_env_t *e)
{
    fake_flash_free(&e->ff);
    free(e->image);
    e->image = NULL;
    e->pkg = NULL;
}

void *client_env_alloc(size_t size)
{
    void *e;
    assert_true(size >= sizeof(client_env_t));
    e = calloc(1, size);
    assert_non_null(e);
    return e;
}

int client_env_teardown(void **state)
{
    client_env_free(*state);
    free(*state);
    return 0;
}

void client_env_image(uint8_t *out, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (uint8_t)x;
    }
}

size_t client_env_package(const uint8_t *img, size_t n, ota_pkg_format_t fmt, uint8_t *out)
{
    size_t o = 0;
    if (fmt == OTA_PKG_RAW) {
        memcpy(out, img, n);
        return n;
    }
    for (size_t i = 0; i < n; i += 1024u) {
        size_t m = n - i < 1024u ? n - i : 1024u;
        uint32_t crc = ota_crc32(0, &img[i], m);
        memcpy(&out[o], &img[i], m);
        o += m;
        for (int b = 0; b < 4; b++) {
            out[o++] = (uint8_t)(crc >> (8 * b));
        }
    }
    return o;
}

void client_env_build(client_env_t *e, size_t n, uint32_t seed, ota_pkg_format_t fmt)
{
    assert_true(n <= e->image_max);
    client_env_image(e->image, n, seed);
    e->image_len = n;
    e->pkg_len = client_env_package(e->image, n, fmt, e->pkg);
    if (fmt == OTA_PKG_DRAGINO) {
        assert_int_equal(e->pkg_len, ota_pkg_dragino_size((uint32_t)n));
    }
}

bool client_env_finished(const client_env_t *e)
{
    ota_client_info_t info = client_env_info(e);
    return info.state == OTA_STATE_IDLE || info.state == OTA_STATE_DONE;
}

ota_client_info_t client_env_info(const client_env_t *e)
{
    ota_client_info_t info;
    assert_int_equal(ota_client_info(&e->cli, &info), OTA_OK);
    return info;
}

const char *client_env_reason(const client_env_t *e)
{
    return client_env_info(e).reason;
}

/* Let time run after a poll that left the client busy. */
static void advance(client_env_t *e)
{
    uint32_t at;
    assert_true(ota_client_next_deadline(&e->cli, &at));
    if (fake_tb_pending(&e->tb) != 0) {
        return;
    }
    if ((int32_t)(at - e->clk.now) > 0) {
        uint32_t step = at - e->clk.now;
        e->clk.now += step > 100u ? 100u : step;
    } else if (e->holds != NULL && e->holds(e->hook_ctx)) {
        e->clk.now += 10u; /* only held messages are left: let their time come */
    }
}

ota_code_t client_env_drive(client_env_t *e)
{
    for (int polls = 0; polls < e->max_polls; polls++) {
        if (e->before_poll != NULL) {
            e->before_poll(e->hook_ctx);
        }
        assert_int_equal(ota_client_poll(&e->cli, e->clk.now), OTA_OK);
        if (client_env_finished(e)) {
            return client_env_info(e).code;
        }
        advance(e);
    }
    fail_msg("client never finished");
    return OTA_CODE_NONE;
}

ota_code_t client_env_run(client_env_t *e)
{
    assert_int_equal(ota_client_init(&e->cli, &e->cfg), OTA_OK);
    assert_int_equal(ota_client_start(&e->cli), OTA_OK);
    return client_env_drive(e);
}

void client_env_assert_slot(const client_env_t *e, const uint8_t *img, size_t n)
{
    const uint8_t *slot = e->ff.mem + CLIENT_ENV_SLOT_ADDR;
    assert_true(CLIENT_ENV_SLOT_ADDR <= e->ff.size && n <= e->ff.size - CLIENT_ENV_SLOT_ADDR);
    if (memcmp(slot, img, n) == 0) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (slot[i] != img[i]) {
            fail_msg("slot differs from the image at offset %lu", (unsigned long)i);
        }
    }
}

void client_env_assert_bootreq(const client_env_t *e, const uint8_t *img, size_t n,
                               const char *version)
{
    ota_bootreq_t req;
    assert_int_equal(ota_bootreq_read(&e->cfg.flash, CLIENT_ENV_META_ADDR, &req), OTA_OK);
    assert_int_equal(req.image_addr, CLIENT_ENV_SLOT_ADDR);
    assert_int_equal(req.image_size, n);
    assert_int_equal(req.image_crc, ota_crc32(0, img, n));
    assert_string_equal(req.title, TITLE);
    assert_string_equal(req.version, version);
}
