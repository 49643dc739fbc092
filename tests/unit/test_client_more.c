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
#include "client_env.h"

#define FLASH_SIZE (128u * 1024u)
#define SECTOR CLIENT_ENV_SECTOR
#define SLOT_ADDR CLIENT_ENV_SLOT_ADDR
#define SLOT_SIZE (64u * 1024u)
#define MAX_IMAGE (16u * 1024u)

typedef struct {
    client_env_t c; /* first: client_env_teardown frees the whole */
    /* flash wrapper: damage the n-th read of an area (0 = off) */
    uint32_t spoil_read_at;  /* counts reads inside [spoil_from, spoil_to) */
    uint32_t spoil_from;
    uint32_t spoil_to;
    uint32_t spoil_reads;
    int uplink_rc;
} env_t;

static const client_env_profile_t profile = {
    .flash_size = FLASH_SIZE,
    .slot_size = SLOT_SIZE,
    .image_max = MAX_IMAGE,
    .start_ms = 5000u,
    .answer_timeout_ms = 3000u,
    .connect_timeout_ms = 4000u,
    .backoff_ms = 500u,
    .max_polls = 500000,
};

static int spoil_probe(void *ctx)
{
    return fake_flash_probe(&((env_t *)ctx)->c.ff);
}

static int spoil_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    env_t *e = ctx;
    int rc = fake_flash_read(&e->c.ff, addr, buf, len);
    if (rc == 0 && len > 0u && addr >= e->spoil_from && addr < e->spoil_to &&
        ++e->spoil_reads == e->spoil_read_at) {
        ((uint8_t *)buf)[len - 1u] ^= 0x01u; /* this read returns a flipped bit */
    }
    return rc;
}

static int spoil_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    return fake_flash_write(&((env_t *)ctx)->c.ff, addr, buf, len);
}

static int spoil_erase(void *ctx, uint32_t addr)
{
    return fake_flash_erase(&((env_t *)ctx)->c.ff, addr);
}

static int failing_send(void *ctx, const char *msg, size_t len)
{
    env_t *e = ctx;
    (void)msg;
    (void)len;
    e->c.up.count++;
    return e->uplink_rc;
}

/* The shared environment, on the flash wrapper, with one retry. */
static void env_setup(env_t *e, size_t image, ota_pkg_format_t fmt, uint8_t window)
{
    client_env_setup(&e->c, &profile, image, fmt, window);
    e->spoil_read_at = 0;
    e->spoil_from = 0;
    e->spoil_to = 0;
    e->spoil_reads = 0;
    e->uplink_rc = 0;
    e->c.cfg.flash = (ota_flash_t){e, FLASH_SIZE, SECTOR, CLIENT_ENV_PAGE, spoil_probe,
                                   spoil_read, spoil_write, spoil_erase};
    e->c.cfg.attempt_retries = 1;
}

static int setup(void **state)
{
    env_t *e = client_env_alloc(sizeof *e);
    env_setup(e, 5000u, OTA_PKG_DRAGINO, 1u);
    *state = e;
    return 0;
}

static ota_client_info_t info_of(const env_t *e)
{
    return client_env_info(&e->c);
}

/* Drive an initialised, started client to its end. */
static ota_code_t drive(env_t *e)
{
    return client_env_drive(&e->c);
}

static ota_code_t run(env_t *e)
{
    return client_env_run(&e->c);
}

/* A boot request, if there is one, describes exactly the image in the slot. */
static bool request_ok(env_t *e)
{
    ota_bootreq_t req;
    if (ota_bootreq_read(&e->c.cfg.flash, 0, &req) != OTA_OK) {
        return false;
    }
    assert_int_equal(req.image_size, e->c.image_len);
    assert_int_equal(req.image_crc, ota_crc32(0, e->c.image, e->c.image_len));
    assert_memory_equal(e->c.ff.mem + SLOT_ADDR, e->c.image, e->c.image_len);
    return true;
}

/* ---- every flash operation failing once ---------------------------------- */

typedef enum { FAIL_READ, FAIL_WRITE, FAIL_ERASE } fail_kind_t;

static uint32_t count_of(const env_t *e, fail_kind_t k)
{
    return k == FAIL_READ ? e->c.ff.reads : k == FAIL_WRITE ? e->c.ff.writes : e->c.ff.erases;
}

static void arm(env_t *e, fail_kind_t k, uint32_t at)
{
    if (k == FAIL_READ) {
        e->c.ff.fail_read_at = at;
    } else if (k == FAIL_WRITE) {
        e->c.ff.fail_write_at = at;
    } else {
        e->c.ff.fail_erase_at = at;
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
    e->c.tb.drop_link_after = 3;
    e->c.cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    e->c.tb.drop_link_after = 0;
    e->c.cfg.attempt_retries = 1;
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
    e->c.cfg.attempt_retries = 0;
    env_setup(e, 5000u, OTA_PKG_DRAGINO, 1u);
    e->c.cfg.attempt_retries = 0;
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
    e->c.cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_CHECKSUM);
    /* The reason names the check and the boot request's address. */
    assert_non_null(strstr(info_of(e).reason, "flash read-back mismatch at 0x00000000"));
    assert_false(request_ok(e)); /* withdrawn */
}

/* ---- configuration and API guards ----------------------------------------- */

static void test_init_checks_each_field(void **state)
{
    env_t *e = *state;
    ota_config_t good = e->c.cfg;
    ota_client_t *c = &e->c.cli;
#define BAD(stmt)                                                     \
    do {                                                              \
        e->c.cfg = good;                                                \
        stmt;                                                         \
        assert_int_equal(ota_client_init(c, &e->c.cfg), OTA_ERR_PARAM); \
    } while (0)
    BAD(e->c.cfg.transport.connect = NULL);
    BAD(e->c.cfg.transport.state = NULL);
    BAD(e->c.cfg.transport.subscribe = NULL);
    BAD(e->c.cfg.transport.disconnect = NULL);
    BAD(e->c.cfg.flash.read = NULL);
    BAD(e->c.cfg.flash.write = NULL);
    BAD(e->c.cfg.flash.sector_size = 0u);
    BAD(e->c.cfg.flash.page_size = 0u);
    BAD(e->c.cfg.flash.sector_size = 64u);          /* smaller than a boot request */
    BAD(e->c.cfg.flash.sector_size = 0x80000000u);  /* absurdly large */
    BAD(e->c.cfg.meta_addr = 0x1000u);              /* unaligned */
    BAD(e->c.cfg.slot_size = 0x1800u);              /* not whole sectors */
    BAD(e->c.cfg.chunk_retries = 101u);
    BAD(e->c.cfg.attempt_retries = 101u);
    BAD(e->c.cfg.connect_timeout_ms = 0u);
    BAD(e->c.cfg.answer_timeout_ms = 0x80000000u);
    BAD(e->c.cfg.connect_timeout_ms = 0x80000000u);
    BAD(e->c.cfg.backoff_ms = 0x01000000u);
    BAD(e->c.cfg.reboot_delay_ms = 0x80000000u);
#undef BAD
    /* The metadata area after the slot is fine too. */
    e->c.cfg = good;
    e->c.cfg.slot_addr = 0;
    e->c.cfg.slot_size = 0x10000u;
    e->c.cfg.meta_addr = 0x10000u;
    assert_int_equal(ota_client_init(c, &e->c.cfg), OTA_OK);
    e->c.cfg = good;
    ota_config_defaults(NULL); /* ignored */
}

static void test_api_on_a_client_never_initialised(void **state)
{
    env_t *e = *state;
    ota_client_info_t info;
    uint32_t at = 0;
    memset(&e->c.cli, 0, sizeof e->c.cli);
    assert_int_equal(ota_client_start(&e->c.cli), OTA_ERR_PARAM);
    assert_int_equal(ota_client_abort(&e->c.cli), OTA_ERR_PARAM);
    assert_int_equal(ota_client_poll(&e->c.cli, 0), OTA_ERR_PARAM);
    assert_false(ota_client_next_deadline(&e->c.cli, &at));
    assert_int_equal(ota_client_abort(NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_client_info(&e->c.cli, NULL), OTA_ERR_PARAM);
    assert_false(ota_client_next_deadline(&e->c.cli, NULL));
    /* Idle and done: abort is a no-op, poll does nothing. */
    assert_int_equal(ota_client_init(&e->c.cli, &e->c.cfg), OTA_OK);
    assert_int_equal(ota_client_abort(&e->c.cli), OTA_OK);
    assert_int_equal(ota_client_poll(&e->c.cli, 1), OTA_OK);
    info = info_of(e);
    assert_int_equal(info.state, OTA_STATE_IDLE);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(ota_client_abort(&e->c.cli), OTA_OK);
    assert_int_equal(info_of(e).state, OTA_STATE_DONE);
    assert_string_equal(ota_state_str(OTA_STATE_BACKOFF), "BACKOFF");
}

/* ---- uplink, status message, reboot --------------------------------------- */

static void test_uplink_failure_is_not_fatal(void **state)
{
    env_t *e = *state;
    e->c.cfg.uplink.ctx = e;
    e->c.cfg.uplink.send = failing_send;
    e->uplink_rc = -9;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->c.up.count, 1); /* tried once, failure only logged */
    /* No uplink at all. */
    env_setup(e, 5000u, OTA_PKG_DRAGINO, 1u);
    e->c.cfg.uplink.send = NULL;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->c.up.count, 0);
}

static void test_status_message_too_long_is_dropped(void **state)
{
    env_t *e = *state;
    static char imei[1100];
    memset(imei, '7', sizeof imei - 1u);
    imei[sizeof imei - 1u] = '\0';
    e->c.cfg.imei = imei; /* the message cannot fit the client's buffer */
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->c.up.count, 0);
    assert_true(request_ok(e));
}

static void test_reboot_delay_without_reboot_port(void **state)
{
    env_t *e = *state;
    uint32_t at;
    e->c.cfg.reboot.reboot = NULL;
    e->c.cfg.reboot_delay_ms = 1000u;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_false(ota_client_next_deadline(&e->c.cli, &at)); /* nothing scheduled */
    assert_int_equal(ota_client_poll(&e->c.cli, e->c.clk.now + 5000u), OTA_OK);
    assert_int_equal(e->c.up.reboots, 0);
}

/* ---- retries and the network ----------------------------------------------- */

static void test_backoff_doubling_is_capped(void **state)
{
    env_t *e = *state;
    uint32_t t0 = e->c.clk.now;
    uint32_t want = 0;
    e->c.tb.refuse_connect = true;
    e->c.cfg.attempt_retries = 11;
    e->c.cfg.backoff_ms = 10u;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    assert_int_equal(e->c.tb.connects, 12);
    for (uint32_t a = 1; a <= 11u; a++) {
        want += 10u << (a > 8u ? 8u : a - 1u); /* 10, 20, ... 1280, 2560, 2560, 2560 */
    }
    assert_int_equal(e->c.clk.now - t0, want);
}

static void test_server_error_look_alikes_are_failures(void **state)
{
    env_t *e = *state;
    static const char *const texts[] = {"NOT_FOUNX", "PAYLOAD_TOO_LARGX", "not_found"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        env_setup(e, 5000u, OTA_PKG_DRAGINO, 1u);
        e->c.tb.error_text = texts[i];
        e->c.cfg.attempt_retries = 0;
        assert_int_equal(run(e), OTA_CODE_TIMEOUT);
        assert_non_null(strstr(info_of(e).reason, texts[i]));
    }
}

static void test_stale_attribute_answer_ignored(void **state)
{
    env_t *e = *state;
    fake_tb_msg_t *m;
    assert_int_equal(ota_client_init(&e->c.cli, &e->c.cfg), OTA_OK);
    assert_int_equal(ota_client_start(&e->c.cli), OTA_OK);
    (void)ota_client_poll(&e->c.cli, e->c.clk.now); /* connect */
    (void)ota_client_poll(&e->c.cli, e->c.clk.now); /* up */
    /* Before the client even asks: an answer to another request id, then
     * the error topic in the wrong state, then a chunk for nobody. */
    m = &e->c.tb.queue[e->c.tb.queued++];
    strcpy(m->topic, "v1/devices/me/attributes/response/999999");
    strcpy((char *)m->payload, "{}");
    m->len = 2;
    m = &e->c.tb.queue[e->c.tb.queued++];
    strcpy(m->topic, "v2/fw/response/1/chunk/0");
    m->len = 0;
    assert_int_equal(drive(e), OTA_CODE_SUCCESS);
}

static void test_connect_never_completes_4(void **state)
{
    env_t *e = *state;
    uint32_t t0 = e->c.clk.now;
    e->c.tb.connect_polls = 1000000;
    e->c.cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    assert_non_null(strstr(info_of(e).reason, "no connection to 127.0.0.1 in time"));
    assert_true(e->c.clk.now - t0 >= 4000u);
}

/* A transport that goes down on its own (state DOWN, not FAILED). */
static void test_link_down_while_negotiating(void **state)
{
    env_t *e = *state;
    e->c.tb.no_answer_attrs = true;
    e->c.cfg.attempt_retries = 0;
    assert_int_equal(ota_client_init(&e->c.cli, &e->c.cfg), OTA_OK);
    assert_int_equal(ota_client_start(&e->c.cli), OTA_OK);
    for (int i = 0; i < 4; i++) {
        (void)ota_client_poll(&e->c.cli, e->c.clk.now);
    }
    assert_int_equal(info_of(e).state, OTA_STATE_NEGOTIATING);
    e->c.tb.state = OTA_LINK_DOWN;
    assert_int_equal(drive(e), OTA_CODE_TIMEOUT);
    assert_non_null(strstr(info_of(e).reason, "connection to the OTA server lost"));
    /* And while connecting: DOWN right after connect. */
    env_setup(e, 5000u, OTA_PKG_DRAGINO, 1u);
    e->c.cfg.attempt_retries = 0;
    e->c.tb.connect_polls = 5;
    assert_int_equal(ota_client_init(&e->c.cli, &e->c.cfg), OTA_OK);
    assert_int_equal(ota_client_start(&e->c.cli), OTA_OK);
    (void)ota_client_poll(&e->c.cli, e->c.clk.now);
    e->c.tb.state = OTA_LINK_DOWN;
    assert_int_equal(drive(e), OTA_CODE_TIMEOUT);
    assert_non_null(strstr(info_of(e).reason, "connection refused by 127.0.0.1"));
}

static void test_deadlines_follow_the_state(void **state)
{
    env_t *e = *state;
    uint32_t at = 0;
    e->c.tb.no_answer_attrs = true;
    assert_int_equal(ota_client_init(&e->c.cli, &e->c.cfg), OTA_OK);
    assert_int_equal(ota_client_start(&e->c.cli), OTA_OK);
    assert_true(ota_client_next_deadline(&e->c.cli, &at));
    assert_int_equal(at, e->c.clk.now); /* probe now */
    (void)ota_client_poll(&e->c.cli, e->c.clk.now);
    assert_true(ota_client_next_deadline(&e->c.cli, &at));
    assert_int_equal(at, e->c.clk.now + 4000u); /* the connect timeout */
    (void)ota_client_poll(&e->c.cli, e->c.clk.now);
    (void)ota_client_poll(&e->c.cli, e->c.clk.now); /* attributes asked */
    assert_true(ota_client_next_deadline(&e->c.cli, &at));
    assert_int_equal(at, e->c.clk.now + 3000u); /* the answer timeout */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, client_env_teardown)
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
