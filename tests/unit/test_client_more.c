/*
 * test_client_more.c - the client's less travelled paths, for branch
 * coverage of src/ota_client.c, without repeating test_client.c:
 *   - every flash read, write and erase of an update failing once (fresh
 *     and resumed downloads): each failure gets code 7 and a reason naming
 *     the operation, the retry completes, and no boot request ever points
 *     at a wrong image;
 *   - a read-back that differs from what was written (chunk and boot
 *     request), a boot request that reads back wrong;
 *   - configuration checks of init one by one, API calls on a client that
 *     was never initialised;
 *   - uplink failures, a status message too long to build, a reboot delay
 *     without a reboot port, the back-off cap, look-alike server errors,
 *     stale attribute answers, connection timeouts and a link that goes
 *     down while negotiating.
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
#include "cellota/ota_client.h"
#include "cellota/ota_crc32.h"
#include "fake_flash.h"
#include "fake_tb.h"

#define FLASH_SIZE (128u * 1024u)
#define SECTOR 4096u
#define SLOT_ADDR 0x2000u
#define SLOT_SIZE (64u * 1024u)
#define MAX_IMAGE (16u * 1024u)

typedef struct {
    fake_flash_t ff;
    fake_tb_t tb;
    fake_clock_t clk;
    fake_uplink_t up;
    ota_settings_t set;
    ota_config_t cfg;
    ota_client_t cli;
    /* flash wrapper: damage the n-th read of an area (0 = off) */
    uint32_t spoil_read_at;  /* counts reads inside [spoil_from, spoil_to) */
    uint32_t spoil_from;
    uint32_t spoil_to;
    uint32_t spoil_reads;
    int uplink_rc;
    uint8_t image[MAX_IMAGE];
    size_t image_len;
    uint8_t pkg[MAX_IMAGE + MAX_IMAGE / 256u + 8u];
    size_t pkg_len;
} env_t;


static void log_quiet(void *ctx, ota_log_level_t lvl, const char *line)
{
    (void)ctx;
    if (getenv("CELLOTA_TEST_LOG") != NULL) {
        fprintf(stderr, "  [%d] %s\n", (int)lvl, line);
    }
}

static int spoil_probe(void *ctx)
{
    return fake_flash_probe(&((env_t *)ctx)->ff);
}

static int spoil_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    env_t *e = ctx;
    int rc = fake_flash_read(&e->ff, addr, buf, len);
    if (rc == 0 && len > 0u && addr >= e->spoil_from && addr < e->spoil_to &&
        ++e->spoil_reads == e->spoil_read_at) {
        ((uint8_t *)buf)[len - 1u] ^= 0x01u; /* this read returns a flipped bit */
    }
    return rc;
}

static int spoil_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    return fake_flash_write(&((env_t *)ctx)->ff, addr, buf, len);
}

static int spoil_erase(void *ctx, uint32_t addr)
{
    return fake_flash_erase(&((env_t *)ctx)->ff, addr);
}

static int failing_send(void *ctx, const char *msg, size_t len)
{
    env_t *e = ctx;
    (void)msg;
    (void)len;
    e->up.count++;
    return e->uplink_rc;
}

static void env_setup(env_t *e, size_t image, ota_pkg_format_t fmt, uint8_t window)
{
    uint32_t x = 12345u;
    size_t o = 0;
    if (e->ff.mem != NULL) {
        fake_flash_free(&e->ff);
    }
    memset(e, 0, offsetof(env_t, image));
    assert_int_equal(fake_flash_init(&e->ff, FLASH_SIZE, SECTOR, 256u), 0);
    for (size_t i = 0; i < image; i++) {
        x = x * 1103515245u + 12345u;
        e->image[i] = (uint8_t)(x >> 23);
    }
    e->image_len = image;
    if (fmt == OTA_PKG_RAW) {
        memcpy(e->pkg, e->image, image);
        o = image;
    } else {
        for (size_t i = 0; i < image; i += 1024u) {
            size_t n = image - i < 1024u ? image - i : 1024u;
            uint32_t crc = ota_crc32(0, &e->image[i], n);
            memcpy(&e->pkg[o], &e->image[i], n);
            o += n;
            for (int b = 0; b < 4; b++) {
                e->pkg[o++] = (uint8_t)(crc >> (8 * b));
            }
        }
    }
    e->pkg_len = o;
    fake_tb_init(&e->tb, e->pkg, e->pkg_len, "s31-nb", "v1.6.0");
    e->clk.now = 5000u;
    ota_settings_defaults(&e->set, "s31-nb", "v1.5.0");
    strcpy(e->set.host, "127.0.0.1");
    e->set.port = 1883;
    strcpy(e->set.client_id, "dev1");

    ota_config_defaults(&e->cfg);
    e->cfg.transport = fake_tb_transport(&e->tb);
    e->cfg.flash = (ota_flash_t){e, FLASH_SIZE, SECTOR, 256u, spoil_probe, spoil_read, spoil_write,
                                 spoil_erase};
    e->cfg.clock = fake_clock(&e->clk);
    e->cfg.uplink = fake_uplink(&e->up);
    e->cfg.reboot = fake_reboot(&e->up);
    e->cfg.log.write = log_quiet;
    e->cfg.settings = &e->set;
    e->cfg.imei = "860000000000001";
    e->cfg.meta_addr = 0;
    e->cfg.slot_addr = SLOT_ADDR;
    e->cfg.slot_size = SLOT_SIZE;
    e->cfg.format = fmt;
    e->cfg.raw_chunk_size = 512u;
    e->cfg.window = window;
    e->cfg.answer_timeout_ms = 3000u;
    e->cfg.connect_timeout_ms = 4000u;
    e->cfg.backoff_ms = 500u;
    e->cfg.attempt_retries = 1;
}

static int setup(void **state)
{
    env_t *e = calloc(1, sizeof *e);
    assert_non_null(e);
    env_setup(e, 5000u, OTA_PKG_DRAGINO, 1u);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env_t *e = *state;
    fake_flash_free(&e->ff);
    free(e);
    return 0;
}

static ota_client_info_t info_of(const env_t *e)
{
    ota_client_info_t info;
    assert_int_equal(ota_client_info(&e->cli, &info), OTA_OK);
    return info;
}

/* Drive an initialised, started client to its end. */
static ota_code_t drive(env_t *e)
{
    for (int polls = 0; polls < 500000; polls++) {
        uint32_t at;
        ota_client_info_t info;
        assert_int_equal(ota_client_poll(&e->cli, e->clk.now), OTA_OK);
        info = info_of(e);
        if (info.state == OTA_STATE_IDLE || info.state == OTA_STATE_DONE) {
            return info.code;
        }
        assert_true(ota_client_next_deadline(&e->cli, &at));
        if (fake_tb_pending(&e->tb) == 0 && (int32_t)(at - e->clk.now) > 0) {
            e->clk.now += (at - e->clk.now > 100u) ? 100u : at - e->clk.now;
        }
    }
    fail_msg("client never finished");
    return OTA_CODE_NONE;
}

static ota_code_t run(env_t *e)
{
    assert_int_equal(ota_client_init(&e->cli, &e->cfg), OTA_OK);
    assert_int_equal(ota_client_start(&e->cli), OTA_OK);
    return drive(e);
}

/* A boot request, if there is one, describes exactly the image in the slot. */
static bool request_ok(env_t *e)
{
    ota_bootreq_t req;
    if (ota_bootreq_read(&e->cfg.flash, 0, &req) != OTA_OK) {
        return false;
    }
    assert_int_equal(req.image_size, e->image_len);
    assert_int_equal(req.image_crc, ota_crc32(0, e->image, e->image_len));
    assert_memory_equal(e->ff.mem + SLOT_ADDR, e->image, e->image_len);
    return true;
}

/* ---- every flash operation failing once ---------------------------------- */

typedef enum { FAIL_READ, FAIL_WRITE, FAIL_ERASE } fail_kind_t;

static uint32_t count_of(const env_t *e, fail_kind_t k)
{
    return k == FAIL_READ ? e->ff.reads : k == FAIL_WRITE ? e->ff.writes : e->ff.erases;
}

static void arm(env_t *e, fail_kind_t k, uint32_t at)
{
    if (k == FAIL_READ) {
        e->ff.fail_read_at = at;
    } else if (k == FAIL_WRITE) {
        e->ff.fail_write_at = at;
    } else {
        e->ff.fail_erase_at = at;
    }
}

/* `prepare` leaves the flash in the state the update starts from. */
static void sweep(env_t *e, fail_kind_t kind, ota_pkg_format_t fmt, uint8_t window,
                  void (*prepare)(env_t *e))
{
    static const char *const what[] = {"read", "write", "erase"};
    uint32_t total;
    uint32_t base;
    unsigned ok = 0;
    unsigned failed = 0;
    env_setup(e, 5000u, fmt, window);
    if (prepare != NULL) {
        prepare(e);
    }
    base = count_of(e, kind);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    total = count_of(e, kind) - base;
    assert_true(total > 0u);
    for (uint32_t i = 1; i <= total; i++) {
        env_setup(e, 5000u, fmt, window);
        if (prepare != NULL) {
            prepare(e);
        }
        arm(e, kind, count_of(e, kind) + i);
        ota_code_t code = run(e);
        ota_client_info_t info = info_of(e);
        if (code == OTA_CODE_SUCCESS) {
            assert_true(request_ok(e));
            ok++;
            if (info.attempt == 2u) {
                failed++; /* the failure ended attempt 1: the retry completed */
            }
        } else {
            /* A flash failure is a checksum-class (7) failure with its reason. */
            assert_int_equal(code, OTA_CODE_CHECKSUM);
            assert_non_null(strstr(info.reason, "port -104"));
            assert_false(request_ok(e));
        }
    }
    print_message("    %s failing once, %s W=%u%s: %u points, %u completed (%u after a retry)\n",
                  what[kind], fmt == OTA_PKG_RAW ? "raw" : "Dragino", window,
                  prepare != NULL ? ", resumed" : "", total, ok, failed);
    assert_true(failed > 0u);
}

/* Leave a half-done journal behind: the update resumes from it. */
static void half_done(env_t *e)
{
    e->tb.drop_link_after = 3;
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    e->tb.drop_link_after = 0;
    e->cfg.attempt_retries = 1;
}

static void test_flash_read_fails_once(void **state)
{
    sweep(*state, FAIL_READ, OTA_PKG_DRAGINO, 1u, NULL);
    sweep(*state, FAIL_READ, OTA_PKG_DRAGINO, 2u, half_done);
}

static void test_flash_write_fails_once(void **state)
{
    sweep(*state, FAIL_WRITE, OTA_PKG_RAW, 3u, NULL);
    sweep(*state, FAIL_WRITE, OTA_PKG_DRAGINO, 1u, half_done);
}

static void test_flash_erase_fails_once(void **state)
{
    sweep(*state, FAIL_ERASE, OTA_PKG_DRAGINO, 2u, NULL);
    sweep(*state, FAIL_ERASE, OTA_PKG_RAW, 1u, half_done);
}

/* ---- read-backs that differ ----------------------------------------------- */

static void test_chunk_read_back_mismatch(void **state)
{
    env_t *e = *state;
    e->spoil_from = SLOT_ADDR;
    e->spoil_to = SLOT_ADDR + SLOT_SIZE;
    e->spoil_read_at = 2; /* the read-back of the second chunk */
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(info_of(e).attempt, 2);
    assert_true(request_ok(e));
    e->cfg.attempt_retries = 0;
    env_setup(e, 5000u, OTA_PKG_DRAGINO, 1u);
    e->cfg.attempt_retries = 0;
    e->spoil_from = SLOT_ADDR;
    e->spoil_to = SLOT_ADDR + SLOT_SIZE;
    e->spoil_read_at = 1;
    assert_int_equal(run(e), OTA_CODE_CHECKSUM);
    assert_non_null(strstr(info_of(e).reason, "flash read-back mismatch at 0x00002000"));
}

static void test_boot_request_read_back_mismatch(void **state)
{
    env_t *e = *state;
    /* Reads of the boot request area: 1 = the check before the download,
     * 2 = the read-back after writing it. */
    e->spoil_from = 0;
    e->spoil_to = OTA_BOOTREQ_SIZE;
    e->spoil_read_at = 2;
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_CHECKSUM);
    assert_non_null(strstr(info_of(e).reason, "boot request read-back"));
    assert_false(request_ok(e)); /* withdrawn */
}

/* ---- configuration and API guards ----------------------------------------- */

static void test_init_checks_each_field(void **state)
{
    env_t *e = *state;
    ota_config_t good = e->cfg;
    ota_client_t *c = &e->cli;
#define BAD(stmt)                                                     \
    do {                                                              \
        e->cfg = good;                                                \
        stmt;                                                         \
        assert_int_equal(ota_client_init(c, &e->cfg), OTA_ERR_PARAM); \
    } while (0)
    BAD(e->cfg.transport.connect = NULL);
    BAD(e->cfg.transport.state = NULL);
    BAD(e->cfg.transport.subscribe = NULL);
    BAD(e->cfg.transport.disconnect = NULL);
    BAD(e->cfg.flash.read = NULL);
    BAD(e->cfg.flash.write = NULL);
    BAD(e->cfg.flash.sector_size = 0u);
    BAD(e->cfg.flash.page_size = 0u);
    BAD(e->cfg.flash.sector_size = 64u);          /* smaller than a boot request */
    BAD(e->cfg.flash.sector_size = 0x80000000u);  /* absurdly large */
    BAD(e->cfg.meta_addr = 0x1000u);              /* unaligned */
    BAD(e->cfg.slot_size = 0x1800u);              /* not whole sectors */
    BAD(e->cfg.chunk_retries = 101u);
    BAD(e->cfg.attempt_retries = 101u);
    BAD(e->cfg.connect_timeout_ms = 0u);
    BAD(e->cfg.answer_timeout_ms = 0x80000000u);
    BAD(e->cfg.connect_timeout_ms = 0x80000000u);
    BAD(e->cfg.backoff_ms = 0x01000000u);
    BAD(e->cfg.reboot_delay_ms = 0x80000000u);
#undef BAD
    /* The metadata area after the slot is fine too. */
    e->cfg = good;
    e->cfg.slot_addr = 0;
    e->cfg.slot_size = 0x10000u;
    e->cfg.meta_addr = 0x10000u;
    assert_int_equal(ota_client_init(c, &e->cfg), OTA_OK);
    e->cfg = good;
    ota_config_defaults(NULL); /* ignored */
}

static void test_api_on_a_client_never_initialised(void **state)
{
    env_t *e = *state;
    ota_client_info_t info;
    uint32_t at = 0;
    memset(&e->cli, 0, sizeof e->cli);
    assert_int_equal(ota_client_start(&e->cli), OTA_ERR_PARAM);
    assert_int_equal(ota_client_abort(&e->cli), OTA_ERR_PARAM);
    assert_int_equal(ota_client_poll(&e->cli, 0), OTA_ERR_PARAM);
    assert_false(ota_client_next_deadline(&e->cli, &at));
    assert_int_equal(ota_client_abort(NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_client_info(&e->cli, NULL), OTA_ERR_PARAM);
    assert_false(ota_client_next_deadline(&e->cli, NULL));
    /* Idle and done: abort is a no-op, poll does nothing. */
    assert_int_equal(ota_client_init(&e->cli, &e->cfg), OTA_OK);
    assert_int_equal(ota_client_abort(&e->cli), OTA_OK);
    assert_int_equal(ota_client_poll(&e->cli, 1), OTA_OK);
    info = info_of(e);
    assert_int_equal(info.state, OTA_STATE_IDLE);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(ota_client_abort(&e->cli), OTA_OK);
    assert_int_equal(info_of(e).state, OTA_STATE_DONE);
    assert_string_equal(ota_state_str(OTA_STATE_BACKOFF), "BACKOFF");
}

/* ---- uplink, status message, reboot --------------------------------------- */

static void test_uplink_failure_is_not_fatal(void **state)
{
    env_t *e = *state;
    e->cfg.uplink.ctx = e;
    e->cfg.uplink.send = failing_send;
    e->uplink_rc = -9;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->up.count, 1); /* tried once, failure only logged */
    /* No uplink at all. */
    env_setup(e, 5000u, OTA_PKG_DRAGINO, 1u);
    e->cfg.uplink.send = NULL;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->up.count, 0);
}

static void test_status_message_too_long_is_dropped(void **state)
{
    env_t *e = *state;
    static char imei[1100];
    memset(imei, '7', sizeof imei - 1u);
    imei[sizeof imei - 1u] = '\0';
    e->cfg.imei = imei; /* the message cannot fit the client's buffer */
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->up.count, 0);
    assert_true(request_ok(e));
}

static void test_reboot_delay_without_reboot_port(void **state)
{
    env_t *e = *state;
    uint32_t at;
    e->cfg.reboot.reboot = NULL;
    e->cfg.reboot_delay_ms = 1000u;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_false(ota_client_next_deadline(&e->cli, &at)); /* nothing scheduled */
    assert_int_equal(ota_client_poll(&e->cli, e->clk.now + 5000u), OTA_OK);
    assert_int_equal(e->up.reboots, 0);
}

/* ---- retries and the network ----------------------------------------------- */

static void test_backoff_doubling_is_capped(void **state)
{
    env_t *e = *state;
    uint32_t t0 = e->clk.now;
    uint32_t want = 0;
    e->tb.refuse_connect = true;
    e->cfg.attempt_retries = 11;
    e->cfg.backoff_ms = 10u;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    assert_int_equal(e->tb.connects, 12);
    for (uint32_t a = 1; a <= 11u; a++) {
        want += 10u << (a > 8u ? 8u : a - 1u); /* 10, 20, ... 1280, 2560, 2560, 2560 */
    }
    assert_int_equal(e->clk.now - t0, want);
}

static void test_server_error_look_alikes_are_failures(void **state)
{
    env_t *e = *state;
    static const char *const texts[] = {"NOT_FOUNX", "PAYLOAD_TOO_LARGX", "not_found"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        env_setup(e, 5000u, OTA_PKG_DRAGINO, 1u);
        e->tb.error_text = texts[i];
        e->cfg.attempt_retries = 0;
        assert_int_equal(run(e), OTA_CODE_TIMEOUT);
        assert_non_null(strstr(info_of(e).reason, texts[i]));
    }
}

static void test_stale_attribute_answer_ignored(void **state)
{
    env_t *e = *state;
    fake_tb_msg_t *m;
    assert_int_equal(ota_client_init(&e->cli, &e->cfg), OTA_OK);
    assert_int_equal(ota_client_start(&e->cli), OTA_OK);
    (void)ota_client_poll(&e->cli, e->clk.now); /* connect */
    (void)ota_client_poll(&e->cli, e->clk.now); /* up */
    /* Before the client even asks: an answer to another request id, then
     * the error topic in the wrong state, then a chunk for nobody. */
    m = &e->tb.queue[e->tb.queued++];
    strcpy(m->topic, "v1/devices/me/attributes/response/999999");
    strcpy((char *)m->payload, "{}");
    m->len = 2;
    m = &e->tb.queue[e->tb.queued++];
    strcpy(m->topic, "v2/fw/response/1/chunk/0");
    m->len = 0;
    assert_int_equal(drive(e), OTA_CODE_SUCCESS);
}

static void test_connect_never_completes_4(void **state)
{
    env_t *e = *state;
    uint32_t t0 = e->clk.now;
    e->tb.connect_polls = 1000000;
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    assert_non_null(strstr(info_of(e).reason, "no connection to 127.0.0.1 in time"));
    assert_true(e->clk.now - t0 >= 4000u);
}

/* A transport that goes down on its own (state DOWN, not FAILED). */
static void test_link_down_while_negotiating(void **state)
{
    env_t *e = *state;
    e->tb.no_answer_attrs = true;
    e->cfg.attempt_retries = 0;
    assert_int_equal(ota_client_init(&e->cli, &e->cfg), OTA_OK);
    assert_int_equal(ota_client_start(&e->cli), OTA_OK);
    for (int i = 0; i < 4; i++) {
        (void)ota_client_poll(&e->cli, e->clk.now);
    }
    assert_int_equal(info_of(e).state, OTA_STATE_NEGOTIATING);
    e->tb.state = OTA_LINK_DOWN;
    assert_int_equal(drive(e), OTA_CODE_TIMEOUT);
    assert_non_null(strstr(info_of(e).reason, "connection to the OTA server lost"));
    /* And while connecting: DOWN right after connect. */
    env_setup(e, 5000u, OTA_PKG_DRAGINO, 1u);
    e->cfg.attempt_retries = 0;
    e->tb.connect_polls = 5;
    assert_int_equal(ota_client_init(&e->cli, &e->cfg), OTA_OK);
    assert_int_equal(ota_client_start(&e->cli), OTA_OK);
    (void)ota_client_poll(&e->cli, e->clk.now);
    e->tb.state = OTA_LINK_DOWN;
    assert_int_equal(drive(e), OTA_CODE_TIMEOUT);
    assert_non_null(strstr(info_of(e).reason, "connection refused by 127.0.0.1"));
}

static void test_deadlines_follow_the_state(void **state)
{
    env_t *e = *state;
    uint32_t at = 0;
    e->tb.no_answer_attrs = true;
    assert_int_equal(ota_client_init(&e->cli, &e->cfg), OTA_OK);
    assert_int_equal(ota_client_start(&e->cli), OTA_OK);
    assert_true(ota_client_next_deadline(&e->cli, &at));
    assert_int_equal(at, e->clk.now); /* probe now */
    (void)ota_client_poll(&e->cli, e->clk.now);
    assert_true(ota_client_next_deadline(&e->cli, &at));
    assert_int_equal(at, e->clk.now + 4000u); /* the connect timeout */
    (void)ota_client_poll(&e->cli, e->clk.now);
    (void)ota_client_poll(&e->cli, e->clk.now); /* attributes asked */
    assert_true(ota_client_next_deadline(&e->cli, &at));
    assert_int_equal(at, e->clk.now + 3000u); /* the answer timeout */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_flash_read_fails_once),
        T(test_flash_write_fails_once),
        T(test_flash_erase_fails_once),
        T(test_chunk_read_back_mismatch),
        T(test_boot_request_read_back_mismatch),
        T(test_init_checks_each_field),
        T(test_api_on_a_client_never_initialised),
        T(test_uplink_failure_is_not_fatal),
        T(test_status_message_too_long_is_dropped),
        T(test_reboot_delay_without_reboot_port),
        T(test_backoff_doubling_is_capped),
        T(test_server_error_look_alikes_are_failures),
        T(test_stale_attribute_answer_ignored),
        T(test_connect_never_completes_4),
        T(test_link_down_while_negotiating),
        T(test_deadlines_follow_the_state),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
