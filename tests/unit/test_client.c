/*
 * The client state machine, end to end against a fake ThingsBoard server,
 * a RAM NOR flash and a fake clock: every result code, retries, timeouts,
 * duplicate / out-of-order / stray / oversize / empty answers, flash errors.
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

#define FLASH_SIZE (256u * 1024u)
#define SECTOR CLIENT_ENV_SECTOR
#define SLOT_ADDR CLIENT_ENV_SLOT_ADDR
#define SLOT_SIZE (128u * 1024u)
#define MAX_IMAGE (120u * 1024u)

typedef client_env_t env_t;

static const client_env_profile_t profile = {
    .flash_size = FLASH_SIZE,
    .slot_size = SLOT_SIZE,
    .image_max = MAX_IMAGE,
    .start_ms = 1000u,
    .answer_timeout_ms = 5000u,
    .connect_timeout_ms = 10000u,
    .backoff_ms = 1000u,
    .max_polls = 2000000,
};

static void env_setup(env_t *e, size_t image, ota_pkg_format_t fmt, uint8_t window)
{
    client_env_setup(e, &profile, image, fmt, window);
}

static int setup(void **state)
{
    env_t *e = client_env_alloc(sizeof *e);
    env_setup(e, 10000u, OTA_PKG_DRAGINO, 1u);
    *state = e;
    return 0;
}

/* Start and drive the client until it is idle or done. */
static ota_code_t run(env_t *e)
{
    return client_env_run(e);
}

static const char *reason(env_t *e)
{
    return client_env_reason(e);
}

static void assert_slot_holds_image(env_t *e)
{
    client_env_assert_slot(e, e->image, e->image_len);
}

static void assert_bootreq(env_t *e, bool present)
{
    ota_bootreq_t req;
    if (present) {
        client_env_assert_bootreq(e, e->image, e->image_len, "v1.6.0");
        return;
    }
    assert_int_not_equal(ota_bootreq_read(&e->cfg.flash, 0, &req), OTA_OK);
}

/* ---- success paths ---------------------------------------------------- */

static void test_dragino_w1_success(void **state)
{
    env_t *e = *state;
    ota_client_info_t info;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_slot_holds_image(e);
    assert_bootreq(e, true);
    ota_client_info(&e->cli, &info);
    assert_int_equal(info.done, 10000);
    assert_int_equal(info.total, 10000);
    assert_string_equal(info.fw_version, "v1.6.0");
    /* 10 records of 1028 bytes, each asked once, with the Dragino size. */
    assert_int_equal(e->tb.chunk_requests, 10);
    assert_string_equal(e->tb.sizes_seen, "1028");
    assert_int_equal(e->tb.outstanding_max, 1);
    /* Only the sectors the image needs: 10000 bytes → 3 sectors, plus the
     * journal sector (the boot request sector was blank: not erased). */
    assert_int_equal(e->ff.erases, 4);
    assert_true(fake_tb_telemetry_has(&e->tb, "\"current_fw_title\":\"s31-nb\""));
    assert_true(fake_tb_telemetry_has(&e->tb, "\"current_fw_version\":\"v1.5.0\""));
    assert_true(fake_tb_telemetry_has(&e->tb, "DOWNLOADING"));
    assert_true(fake_tb_telemetry_has(&e->tb, "DOWNLOADED"));
    assert_true(fake_tb_telemetry_has(&e->tb, "VERIFIED"));
    assert_true(fake_tb_telemetry_has(&e->tb, "UPDATING"));
    assert_false(fake_tb_telemetry_has(&e->tb, "FAILED"));
    assert_int_equal(e->up.count, 1);
    assert_string_equal(e->up.last, "{\"IMEI\":\"860000000000001\",\"Message\":\"OTA code 100: OTA "
                                     "update successful, waiting for reboot\"}");
    assert_string_equal(e->tb.username, "token1");
    assert_int_equal(e->up.reboots, 0);
    assert_int_equal(e->ff.bit_errors, 0);
    uint32_t at;
    assert_false(ota_client_next_deadline(&e->cli, &at));
}

static void test_raw_w4_reorder_duplicates_strays(void **state)
{
    env_t *e = *state;
    env_setup(e, 20000u, OTA_PKG_RAW, 4u);
    e->tb.reorder = true;
    e->tb.duplicate = true;
    e->tb.stray = true;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_slot_holds_image(e);
    assert_bootreq(e, true);
    assert_string_equal(e->tb.sizes_seen, "512");
    assert_int_equal(e->tb.outstanding_max, 4);
    /* ceil(20000/512) = 40 chunks, none asked twice. */
    assert_int_equal(e->tb.chunk_requests, 40);
}

static void test_window_8_exact_multiple(void **state)
{
    env_t *e = *state;
    env_setup(e, 8192u, OTA_PKG_DRAGINO, 8u);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_slot_holds_image(e);
    assert_int_equal(e->tb.chunk_requests, 8);
    assert_int_equal(e->tb.outstanding_max, 8);
}

static void test_sha256_success(void **state)
{
    env_t *e = *state;
    fake_tb_use_sha256(&e->tb);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_bootreq(e, true);
}

static void test_sha256_wrong_digest_not_staged(void **state)
{
    env_t *e = *state;
    fake_tb_use_sha256(&e->tb);
    e->tb.checksum[10] = e->tb.checksum[10] == 'a' ? 'b' : 'a';
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_CHECKSUM);
    assert_bootreq(e, false);
    assert_true(fake_tb_telemetry_has(&e->tb, "\"fw_state\":\"FAILED\""));
    assert_true(fake_tb_telemetry_has(&e->tb, "does not match fw_checksum"));
}

static void test_crc32_wrong_checksum_retried_then_7(void **state)
{
    env_t *e = *state;
    strcpy(e->tb.checksum, "00000000");
    assert_int_equal(run(e), OTA_CODE_CHECKSUM);
    assert_bootreq(e, false);
    /* 1 attempt + 3 retries, each downloading all 10 records. */
    assert_int_equal(e->tb.connects, 4);
    assert_int_equal(e->tb.chunk_requests, 40);
    assert_int_equal(e->up.count, 1);
    assert_non_null(strstr(e->up.last, "OTA code 7"));
}

static void test_uppercase_checksum_accepted(void **state)
{
    env_t *e = *state;
    for (char *p = e->tb.checksum; *p; p++) {
        if (*p >= 'a' && *p <= 'f') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
}

static void test_one_byte_image(void **state)
{
    env_t *e = *state;
    env_setup(e, 1u, OTA_PKG_DRAGINO, 1u);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_slot_holds_image(e);
    assert_bootreq(e, true);
}

static void test_clock_wraps_during_update(void **state)
{
    env_t *e = *state;
    e->clk.now = 0xFFFFF000u;
    e->tb.drop_k = 3;
    e->tb.drop_times = 1;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_true(e->clk.now < 0x10000000u); /* it did wrap */
}

/* ---- decisions: codes 1, 5, 6, 3, 2 ------------------------------------ */

static void test_no_firmware_assigned_5(void **state)
{
    env_t *e = *state;
    strcpy(e->tb.attrs, "{}");
    assert_int_equal(run(e), OTA_CODE_NO_TITLE);
    assert_int_equal(e->tb.connects, 1); /* not retried */
    assert_int_equal(e->tb.chunk_requests, 0);
    assert_non_null(strstr(e->up.last, "OTA code 5"));
}

static void test_title_missing_5(void **state)
{
    env_t *e = *state;
    strcpy(e->tb.attrs, "{\"shared\":{\"fw_version\":\"v2\",\"fw_size\":10}}");
    assert_int_equal(run(e), OTA_CODE_NO_TITLE);
}

static void test_title_differs_1(void **state)
{
    env_t *e = *state;
    strcpy(e->tb.title, "S31-NB"); /* case differs */
    assert_int_equal(run(e), OTA_CODE_TITLE_MISMATCH);
    assert_int_equal(e->tb.chunk_requests, 0);
    assert_non_null(strstr(reason(e), "S31-NB"));
}

static void test_title_prefix_is_not_equal_1(void **state)
{
    env_t *e = *state;
    strcpy(e->tb.title, "s31-nb-v2");
    assert_int_equal(run(e), OTA_CODE_TITLE_MISMATCH);
}

static void test_title_too_long_1(void **state)
{
    env_t *e = *state;
    memset(e->tb.title, 'x', 60);
    e->tb.title[60] = '\0';
    assert_int_equal(run(e), OTA_CODE_TITLE_MISMATCH);
}

static void test_same_version_6(void **state)
{
    env_t *e = *state;
    strcpy(e->tb.version, "v1.5.0");
    assert_int_equal(run(e), OTA_CODE_SAME_VERSION);
    assert_int_equal(e->tb.chunk_requests, 0);
    assert_true(fake_tb_telemetry_has(&e->tb, "UPDATED"));
    assert_false(fake_tb_telemetry_has(&e->tb, "FAILED"));
    assert_non_null(strstr(e->up.last, "OTA code 6"));
}

static void test_version_prefix_is_an_update(void **state)
{
    env_t *e = *state;
    strcpy(e->set.version, "1.2.1");
    strcpy(e->tb.version, "1.2.10"); /* Dragino's strncmp would call this equal */
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
}

static void run_attrs(env_t *e, const char *attrs, ota_code_t want, const char *why_part)
{
    snprintf(e->tb.attrs, sizeof e->tb.attrs, "%s", attrs);
    assert_int_equal(run(e), want);
    assert_int_equal(e->tb.chunk_requests, 0);
    if (why_part != NULL) {
        assert_non_null(strstr(reason(e), why_part));
    }
}

#define ATTRS(extra) "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"v2\"" extra "}}"
#define CRC_OK ",\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"2639f4cb\""

static void test_bad_sizes_3(void **state)
{
    env_t *e = *state;
    run_attrs(e, ATTRS(",\"fw_size\":0" CRC_OK), OTA_CODE_FORMAT, "fw_size is 0");
    run_attrs(e, ATTRS(",\"fw_size\":-5" CRC_OK), OTA_CODE_FORMAT, "negative");
    run_attrs(e, ATTRS(",\"fw_size\":4294967296" CRC_OK), OTA_CODE_FORMAT, "4294967295");
    run_attrs(e, ATTRS(",\"fw_size\":\"1000\"" CRC_OK), OTA_CODE_FORMAT, "not a number");
    run_attrs(e, ATTRS(",\"fw_size\":1.5" CRC_OK), OTA_CODE_FORMAT, "whole number");
    run_attrs(e, ATTRS(CRC_OK), OTA_CODE_FORMAT, "fw_size missing");
    /* 1030 = one full record + 2 bytes: no room for a CRC → not a Dragino package */
    run_attrs(e, ATTRS(",\"fw_size\":1030" CRC_OK), OTA_CODE_FORMAT, "package size");
}

static void test_bad_json_3(void **state)
{
    env_t *e = *state;
    run_attrs(e, "{\"shared\":{\"fw_title\":\"s31-nb\"", OTA_CODE_FORMAT, "JSON");
    run_attrs(e, "[1,2]", OTA_CODE_FORMAT, "JSON");
    run_attrs(e, "{\"shared\":[]}", OTA_CODE_FORMAT, "shared");
    run_attrs(e, "{\"shared\":{\"fw_title\":7}}", OTA_CODE_FORMAT, "fw_title");
    run_attrs(e, ATTRS(",\"fw_version\":\"v3\",\"fw_size\":10" CRC_OK), OTA_CODE_FORMAT, NULL);
    run_attrs(e, "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_size\":10" CRC_OK "}}",
              OTA_CODE_FORMAT, "fw_version");
}

static void test_bad_algorithm_7(void **state)
{
    env_t *e = *state;
    run_attrs(e, ATTRS(",\"fw_size\":2008,\"fw_checksum_algorithm\":\"MD5\",\"fw_checksum\":\"00\""),
              OTA_CODE_CHECKSUM, "unsupported checksum algorithm MD5");
    run_attrs(e, ATTRS(",\"fw_size\":2008,\"fw_checksum\":\"2639f4cb\""), OTA_CODE_CHECKSUM,
              "fw_checksum_algorithm");
    run_attrs(e, ATTRS(",\"fw_size\":2008,\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"639f4cb\""),
              OTA_CODE_CHECKSUM, "malformed");
    run_attrs(e, ATTRS(",\"fw_size\":2008,\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"2639f4cg\""),
              OTA_CODE_CHECKSUM, "malformed");
}

static void test_image_larger_than_slot_2(void **state)
{
    env_t *e = *state;
    e->cfg.slot_size = 8192u;
    assert_int_equal(run(e), OTA_CODE_NO_HARDWARE);
    assert_int_equal(e->tb.chunk_requests, 0);
    assert_int_equal(e->ff.erases, 0);
    assert_non_null(strstr(reason(e), "does not fit"));
}

static void test_no_flash_2(void **state)
{
    env_t *e = *state;
    e->ff.absent = true;
    assert_int_equal(run(e), OTA_CODE_NO_HARDWARE);
    assert_int_equal(e->tb.connects, 0);
    assert_non_null(strstr(e->up.last, "OTA code 2"));
    assert_non_null(strstr(reason(e), "flash not found"));
}

/* ---- connection and silence: code 4 ----------------------------------- */

static void test_connect_refused_4_with_backoff(void **state)
{
    env_t *e = *state;
    uint32_t t0 = e->clk.now;
    e->tb.refuse_connect = true;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    assert_int_equal(e->tb.connects, 4);
    /* back-off 1 s, 2 s, 4 s between the 4 attempts */
    assert_int_equal(e->clk.now - t0, 7000u);
    assert_non_null(strstr(reason(e), "port -7"));
}

static void test_connack_failure_4(void **state)
{
    env_t *e = *state;
    e->tb.connack_fail = true;
    e->cfg.attempt_retries = 1;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    assert_int_equal(e->tb.connects, 2);
}

static void test_connect_slow_but_in_time(void **state)
{
    env_t *e = *state;
    e->tb.connect_polls = 5;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
}

static void test_no_attribute_answer_4(void **state)
{
    env_t *e = *state;
    uint32_t t0 = e->clk.now;
    e->tb.no_answer_attrs = true;
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    /* asked 4 times (1 + 3 retries), 5 s apart, after one 100 ms step to connect */
    assert_int_equal(e->clk.now - t0, 20100u);
    assert_non_null(strstr(reason(e), "attribute request"));
}

static void test_chunk_never_answered_4(void **state)
{
    env_t *e = *state;
    e->tb.drop_k = 2;
    e->tb.drop_times = -1;
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    assert_int_equal(e->tb.chunk_req_count[2], 4);
    assert_bootreq(e, false);
    assert_non_null(strstr(reason(e), "chunk 2 not answered after 4 requests"));
}

static void test_chunk_lost_once_new_rid(void **state)
{
    env_t *e = *state;
    e->tb.drop_k = 4;
    e->tb.drop_times = 1;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->tb.chunk_req_count[4], 2);
    assert_true(e->tb.distinct_rids >= 2); /* the re-request used a new rid */
    assert_slot_holds_image(e);
}

static void test_link_lost_mid_download_then_retry(void **state)
{
    env_t *e = *state;
    e->tb.drop_link_after = 5;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->tb.connects, 2);
    assert_slot_holds_image(e);
}

static void test_publish_refused_4(void **state)
{
    env_t *e = *state;
    e->tb.publish_fail_after = 3;
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    assert_non_null(strstr(reason(e), "chunk 0 request refused (port -5)"));
}

static void test_server_error_not_found_5(void **state)
{
    env_t *e = *state;
    e->tb.error_text = "NOT_FOUND";
    assert_int_equal(run(e), OTA_CODE_NO_TITLE);
    assert_non_null(strstr(reason(e), "NOT_FOUND"));
    assert_int_equal(e->tb.connects, 1);
}

static void test_server_error_failure_retried_4(void **state)
{
    env_t *e = *state;
    e->tb.error_text = "FAILURE";
    e->cfg.attempt_retries = 1;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    assert_int_equal(e->tb.connects, 2);
}

/* ---- chunk checks: code 7 --------------------------------------------- */

static void test_chunk_corrupt_always_7(void **state)
{
    env_t *e = *state;
    e->tb.corrupt_k = 3;
    e->tb.corrupt_times = -1;
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_CHECKSUM);
    assert_int_equal(e->tb.chunk_req_count[3], 4); /* first try + 3 retries */
    assert_int_equal(e->tb.chunk_req_count[4], 0); /* never got past it (W = 1) */
    assert_non_null(strstr(reason(e), "chunk 3 failed its check 4 times"));
    assert_non_null(strstr(e->up.last, "OTA code 7"));
    assert_bootreq(e, false);
}

static void test_chunk_corrupt_once_recovers(void **state)
{
    env_t *e = *state;
    e->tb.corrupt_k = 0;
    e->tb.corrupt_times = 2;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->tb.chunk_req_count[0], 3);
    assert_slot_holds_image(e);
}

static void test_raw_corrupt_caught_by_whole_image(void **state)
{
    env_t *e = *state;
    /* Raw packages have no per-chunk CRC: the whole-image check catches it. */
    env_setup(e, 6000u, OTA_PKG_RAW, 2u);
    e->tb.corrupt_k = 5;
    e->tb.corrupt_times = 1;
    assert_int_equal(run(e), OTA_CODE_SUCCESS); /* second attempt is clean */
    assert_int_equal(e->tb.connects, 2);
    assert_bootreq(e, true);
    assert_slot_holds_image(e);
}

static void test_empty_answer_before_end(void **state)
{
    env_t *e = *state;
    e->tb.empty_k = 6;
    e->tb.empty_times = 1;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->tb.chunk_req_count[6], 2);
}

static void test_package_shorter_than_fw_size_7(void **state)
{
    env_t *e = *state;
    e->cfg.attempt_retries = 0;
    e->tb.pkg_len -= 1028u; /* server holds one record less than it says */
    snprintf(e->tb.attrs, sizeof e->tb.attrs,
             "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"v1.6.0\",\"fw_size\":%zu,"
             "\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"%s\"}}",
             e->pkg_len + 1028u, e->tb.checksum);
    assert_int_equal(run(e), OTA_CODE_CHECKSUM);
    assert_bootreq(e, false);
}

static void test_oversize_answer_refused(void **state)
{
    env_t *e = *state;
    e->tb.oversize_k = 1;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->tb.chunk_req_count[1], 2);
    assert_slot_holds_image(e);
}

/* ---- flash ------------------------------------------------------------ */

static void test_flash_write_error_retried(void **state)
{
    env_t *e = *state;
    e->ff.fail_write_at = 4;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->tb.connects, 2);
    assert_slot_holds_image(e);
}

static void test_flash_erase_error_always(void **state)
{
    env_t *e = *state;
    e->cfg.attempt_retries = 0;
    e->ff.fail_erase_at = 2; /* the first slot sector (the journal sector is erase 1) */
    assert_int_equal(run(e), OTA_CODE_CHECKSUM);
    assert_non_null(strstr(reason(e), "flash erase at 0x00002000 failed (port -104)"));
}

static void test_old_bootreq_removed_before_slot_changes(void **state)
{
    env_t *e = *state;
    ota_bootreq_t old = {SLOT_ADDR, 100u, 0x12345678u, "s31-nb", "v1.4.0"};
    uint8_t rec[OTA_BOOTREQ_SIZE];
    assert_int_equal(ota_bootreq_encode(&old, rec), OTA_OK);
    fake_flash_poke(&e->ff, 0, rec, sizeof rec);
    e->tb.corrupt_k = 0;
    e->tb.corrupt_times = -1;
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_CHECKSUM);
    /* The failed download never wrote the slot, but the stale request is
     * gone all the same: it was erased before the first slot erase. */
    assert_bootreq(e, false);
}

static void test_cut_at_every_flash_op_never_stages_bad_image(void **state)
{
    env_t *e = *state;
    /* Count the operations of a clean update, then cut before each one and
     * check that no boot request ever points at a wrong image. */
    env_setup(e, 3000u, OTA_PKG_DRAGINO, 1u);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    uint32_t ops = e->ff.ops;
    assert_true(ops > 5u);
    for (uint32_t i = 1; i <= ops; i++) {
        env_setup(e, 3000u, OTA_PKG_DRAGINO, 1u);
        e->cfg.attempt_retries = 0;
        e->ff.cut_before_op = i;
        ota_code_t code = run(e);
        fake_flash_power_on(&e->ff);
        ota_bootreq_t req;
        /* Whatever the client managed to report before the cut: a boot
         * request that exists points at the whole, correct image. */
        if (ota_bootreq_read(&e->cfg.flash, 0, &req) == OTA_OK) {
            assert_bootreq(e, true);
            assert_slot_holds_image(e);
        } else {
            assert_int_not_equal(code, OTA_CODE_SUCCESS);
        }
    }
}

static void test_reboot_after_delay(void **state)
{
    env_t *e = *state;
    e->cfg.reboot_delay_ms = 3000u;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    uint32_t at;
    assert_true(ota_client_next_deadline(&e->cli, &at));
    assert_int_equal(at - e->clk.now, 3000u);
    ota_client_poll(&e->cli, e->clk.now + 2999u);
    assert_int_equal(e->up.reboots, 0);
    ota_client_poll(&e->cli, e->clk.now + 3000u);
    assert_int_equal(e->up.reboots, 1);
    ota_client_poll(&e->cli, e->clk.now + 9000u);
    assert_int_equal(e->up.reboots, 1);
}


/* ---- resume after reset (download journal) ----------------------------- */

/* A reset: power back on, a new client context over the same flash. */
static ota_code_t restart(env_t *e)
{
    fake_flash_power_on(&e->ff);
    memset(&e->cli, 0x5A, sizeof e->cli); /* nothing survives in RAM */
    return run(e);
}

static void sweep_cuts(env_t *e, size_t image, ota_pkg_format_t fmt, uint8_t window,
                       uint32_t torn_bytes)
{
    env_setup(e, image, fmt, window);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    uint32_t ops = e->ff.ops;
    uint32_t chunks = (uint32_t)e->tb.chunk_requests;
    uint32_t worst = 0, resumed_runs = 0;
    for (uint32_t i = 1; i <= ops; i++) {
        env_setup(e, image, fmt, window);
        e->cfg.attempt_retries = 0;
        e->ff.cut_before_op = i;
        e->ff.cut_write_bytes = torn_bytes;
        ota_code_t first = run(e);
        if (first == OTA_CODE_SUCCESS) {
            continue; /* the cut came after the last operation of the update */
        }
        assert_int_equal(restart(e), OTA_CODE_SUCCESS);
        assert_slot_holds_image(e);
        assert_bootreq(e, true);
        ota_client_info_t info;
        ota_client_info(&e->cli, &info);
        resumed_runs += info.resumed > 0u;
        /* Chunks asked more than once over both runs: at most the window. */
        uint32_t again = (uint32_t)e->tb.chunk_requests - chunks;
        worst = again > worst ? again : worst;
        assert_true(again <= window);
    }
    print_message("    %u cut points (torn %u bytes, W=%u): all completed, %u resumed, "
                  "at most %u chunk(s) downloaded again\n",
                  ops, torn_bytes, window, resumed_runs, worst);
    assert_true(resumed_runs > 0u);
}

static void test_resume_cut_every_op_w1(void **state)
{
    sweep_cuts(*state, 9000u, OTA_PKG_DRAGINO, 1u, 0u);
}

static void test_resume_cut_every_op_w4_raw(void **state)
{
    sweep_cuts(*state, 9000u, OTA_PKG_RAW, 4u, 0u);
}

static void test_resume_torn_writes(void **state)
{
    sweep_cuts(*state, 5000u, OTA_PKG_DRAGINO, 2u, 100u);
}

static void test_complete_slot_not_downloaded_again(void **state)
{
    env_t *e = *state;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    int before = e->tb.chunk_requests;
    /* Reset before the bootloader ran: the same offer again. */
    assert_int_equal(restart(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->tb.chunk_requests, before);
    ota_client_info_t info;
    ota_client_info(&e->cli, &info);
    assert_int_equal(info.resumed, 10000u);
    assert_bootreq(e, true);
}

static void test_other_update_starts_fresh(void **state)
{
    env_t *e = *state;
    e->tb.drop_link_after = 4; /* leave a half-done journal behind */
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    /* The server now offers another build: nothing of the old one is kept. */
    client_env_build(e, 10000u, 99u, OTA_PKG_DRAGINO);
    fake_tb_init(&e->tb, e->pkg, e->pkg_len, "s31-nb", "v1.7.0");
    assert_int_equal(restart(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->tb.chunk_requests, 10);
    assert_slot_holds_image(e);
}

static void test_resume_after_link_loss_within_a_run(void **state)
{
    env_t *e = *state;
    e->tb.drop_link_after = 6;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->tb.connects, 2);
    /* 5 answers arrived; the 6th was lost with the link. The second attempt
     * resumed and asked only for the other 5: one chunk asked twice. */
    assert_int_equal(e->tb.chunk_requests, 10 + 1);
    assert_slot_holds_image(e);
}

static void test_slot_damage_found_on_resume(void **state)
{
    env_t *e = *state;
    e->tb.drop_link_after = 6;
    e->cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_TIMEOUT);
    /* A recorded chunk no longer reads back as it was written. */
    uint8_t b;
    fake_flash_peek(&e->ff, SLOT_ADDR + 1500u, &b, 1);
    b = (uint8_t)(b & 0x0F);
    fake_flash_poke(&e->ff, SLOT_ADDR + 1500u, &b, 1);
    int before = e->tb.chunk_requests;
    assert_int_equal(restart(e), OTA_CODE_SUCCESS);
    assert_int_equal(e->tb.chunk_requests - before, 10); /* everything again */
    assert_slot_holds_image(e);
    assert_bootreq(e, true);
}

static void test_too_many_chunks_for_journal(void **state)
{
    env_t *e = *state;
    /* 4000 chunks of 1 byte: more than the 3964 bytes of chunk map that a
     * 4 KB journal sector has left for this slot. */
    env_setup(e, 4000u, OTA_PKG_RAW, 1u);
    e->cfg.raw_chunk_size = 1u;
    e->tb.drop_link_after = 50;
    e->cfg.attempt_retries = 1;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    /* No journal: the second attempt started again from chunk 0 (the first
     * asked for 50, the 50th answer was lost with the link). */
    assert_int_equal(e->tb.chunk_requests, 50 + 4000);
    assert_slot_holds_image(e);
}


static void test_refused_version_not_installed_again(void **state)
{
    env_t *e = *state;
    e->cfg.refused_version = "v1.6.0";
    assert_int_equal(run(e), OTA_CODE_NO_HARDWARE);
    assert_int_equal(e->tb.chunk_requests, 0);
    assert_int_equal(e->ff.erases, 0);
    assert_string_equal(reason(e), "version v1.6.0 was rolled back on this device: not installed again");
    /* Another version is fine. */
    e->cfg.refused_version = "v1.5.9";
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
}

static void test_boot_report_sent_once(void **state)
{
    env_t *e = *state;
    strcpy(e->tb.version, "v1.5.0"); /* the device runs what the server offers */
    assert_int_equal(ota_client_init(&e->cli, &e->cfg), OTA_OK);
    assert_int_equal(ota_client_report_boot(&e->cli, NULL), OTA_OK);
    assert_int_equal(ota_client_report_boot(NULL, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_client_start(&e->cli), OTA_OK);
    for (int i = 0; i < 1000; i++) {
        ota_client_info_t info;
        ota_client_poll(&e->cli, e->clk.now);
        ota_client_info(&e->cli, &info);
        if (info.state == OTA_STATE_IDLE) {
            assert_int_equal(info.code, OTA_CODE_SAME_VERSION);
            break;
        }
        e->clk.now += 10u;
    }
    /* UPDATED once after the reboot report, once for "same version". */
    int updated = 0;
    for (int i = 0; i < e->tb.telemetry_count; i++) {
        updated += strstr(e->tb.telemetry[i], "\"fw_state\":\"UPDATED\"") != NULL;
    }
    assert_int_equal(updated, 2);
    assert_true(strstr(e->tb.telemetry[1], "UPDATED") != NULL); /* right after current_fw */

    /* A rollback is reported as FAILED with its reason. */
    e->tb.telemetry_count = 0;
    assert_int_equal(ota_client_report_boot(&e->cli, "rolled back: v1.6.0 never confirmed"), OTA_OK);
    assert_int_equal(ota_client_start(&e->cli), OTA_OK);
    for (int i = 0; i < 1000 && e->tb.telemetry_count < 2; i++) {
        ota_client_poll(&e->cli, e->clk.now);
        e->clk.now += 10u;
    }
    assert_string_equal(e->tb.telemetry[1], "{\"fw_state\":\"FAILED\",\"fw_error\":\"rolled back: "
                                            "v1.6.0 never confirmed\"}");
}

/* ---- API contract ----------------------------------------------------- */

static void test_init_rejects_bad_config(void **state)
{
    env_t *e = *state;
    ota_config_t good = e->cfg;
    ota_client_t *c = &e->cli;

    assert_int_equal(ota_client_init(NULL, &good), OTA_ERR_PARAM);
    assert_int_equal(ota_client_init(c, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_client_init(c, &good), OTA_OK);

#define BAD(stmt)                                           \
    do {                                                    \
        e->cfg = good;                                      \
        stmt;                                               \
        assert_int_equal(ota_client_init(c, &e->cfg), OTA_ERR_PARAM); \
    } while (0)
    BAD(e->cfg.transport.publish = NULL);
    BAD(e->cfg.transport.poll = NULL);
    BAD(e->cfg.flash.erase = NULL);
    BAD(e->cfg.flash.probe = NULL);
    BAD(e->cfg.clock.now_ms = NULL);
    BAD(e->cfg.settings = NULL);
    BAD(e->cfg.imei = NULL);
    BAD(e->cfg.window = 0);
    BAD(e->cfg.window = OTA_CFG_MAX_WINDOW + 1u);
    BAD(e->cfg.slot_addr = 0x1000u);                    /* overlaps meta */
    BAD(e->cfg.slot_addr = 0x2100u);                    /* unaligned */
    BAD(e->cfg.slot_size = FLASH_SIZE);                 /* past the end */
    BAD(e->cfg.slot_size = 0);
    BAD(e->cfg.meta_addr = FLASH_SIZE - SECTOR);        /* meta needs 2 sectors */
    BAD(e->cfg.flash.sector_size = 3000u);
    BAD((e->cfg.format = OTA_PKG_RAW, e->cfg.raw_chunk_size = 0));
    BAD((e->cfg.format = OTA_PKG_RAW, e->cfg.raw_chunk_size = OTA_CFG_CHUNK_BUF_SIZE + 1u));
    BAD(e->cfg.format = (ota_pkg_format_t)7);
    BAD(e->cfg.answer_timeout_ms = 0);
#undef BAD
    e->cfg = good;
}

static void test_api_states(void **state)
{
    env_t *e = *state;
    ota_client_info_t info;
    uint32_t at = 0;
    assert_int_equal(ota_client_start(NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_client_poll(NULL, 0), OTA_ERR_PARAM);
    assert_int_equal(ota_client_info(NULL, &info), OTA_ERR_PARAM);
    assert_false(ota_client_next_deadline(NULL, &at));
    assert_int_equal(ota_client_init(&e->cli, &e->cfg), OTA_OK);
    assert_false(ota_client_next_deadline(&e->cli, &at));
    ota_client_info(&e->cli, &info);
    assert_int_equal(info.state, OTA_STATE_IDLE);
    assert_int_equal(info.code, OTA_CODE_NONE);
    assert_string_equal(info.reason, "");
    assert_int_equal(ota_client_start(&e->cli), OTA_OK);
    assert_int_equal(ota_client_start(&e->cli), OTA_ERR_STATE);
    assert_true(ota_client_next_deadline(&e->cli, &at));
    assert_int_equal(at, e->clk.now);
    ota_client_poll(&e->cli, e->clk.now); /* probe + connect */
    ota_client_info(&e->cli, &info);
    assert_int_equal(info.state, OTA_STATE_CONNECTING);
    ota_client_poll(&e->cli, e->clk.now); /* link up */
    ota_client_info(&e->cli, &info);
    assert_int_equal(info.state, OTA_STATE_NEGOTIATING);
    assert_int_equal(ota_client_abort(&e->cli), OTA_OK);
    ota_client_info(&e->cli, &info);
    assert_int_equal(info.state, OTA_STATE_IDLE);
    assert_int_equal(info.code, OTA_CODE_TIMEOUT);
    assert_int_equal(e->tb.disconnects, 1);
    assert_string_equal(ota_state_str(OTA_STATE_DOWNLOADING), "DOWNLOADING");
    assert_string_equal(ota_state_str((ota_state_t)99), "?");
    assert_string_equal(ota_code_str(OTA_CODE_CHECKSUM), "firmware checksum error");
}

static void test_second_update_after_done(void **state)
{
    env_t *e = *state;
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    /* The device rebooted into v1.6.0; a new v1.7.0 arrives. */
    strcpy(e->set.version, "v1.6.0");
    strcpy(e->tb.version, "v1.7.0");
    uint32_t rid_before = e->tb.last_rid;
    assert_int_equal(ota_client_start(&e->cli), OTA_OK);
    while (1) {
        ota_client_info_t info;
        uint32_t at;
        ota_client_poll(&e->cli, e->clk.now);
        ota_client_info(&e->cli, &info);
        if (info.state == OTA_STATE_IDLE || info.state == OTA_STATE_DONE) {
            assert_int_equal(info.code, OTA_CODE_SUCCESS);
            break;
        }
        if (ota_client_next_deadline(&e->cli, &at) && fake_tb_pending(&e->tb) == 0 &&
            (int32_t)(at - e->clk.now) > 0) {
            e->clk.now = at;
        }
    }
    assert_int_not_equal(e->tb.last_rid, rid_before); /* a new rid per update */
    assert_slot_holds_image(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, client_env_teardown)
        T(test_dragino_w1_success),
        T(test_raw_w4_reorder_duplicates_strays),
        T(test_window_8_exact_multiple),
        T(test_sha256_success),
        T(test_sha256_wrong_digest_not_staged),
        T(test_crc32_wrong_checksum_retried_then_7),
        T(test_uppercase_checksum_accepted),
        T(test_one_byte_image),
        T(test_clock_wraps_during_update),
        T(test_no_firmware_assigned_5),
        T(test_title_missing_5),
        T(test_title_differs_1),
        T(test_title_prefix_is_not_equal_1),
        T(test_title_too_long_1),
        T(test_same_version_6),
        T(test_version_prefix_is_an_update),
        T(test_bad_sizes_3),
        T(test_bad_json_3),
        T(test_bad_algorithm_7),
        T(test_image_larger_than_slot_2),
        T(test_no_flash_2),
        T(test_connect_refused_4_with_backoff),
        T(test_connack_failure_4),
        T(test_connect_slow_but_in_time),
        T(test_no_attribute_answer_4),
        T(test_chunk_never_answered_4),
        T(test_chunk_lost_once_new_rid),
        T(test_link_lost_mid_download_then_retry),
        T(test_publish_refused_4),
        T(test_server_error_not_found_5),
        T(test_server_error_failure_retried_4),
        T(test_chunk_corrupt_always_7),
        T(test_chunk_corrupt_once_recovers),
        T(test_raw_corrupt_caught_by_whole_image),
        T(test_empty_answer_before_end),
        T(test_package_shorter_than_fw_size_7),
        T(test_oversize_answer_refused),
        T(test_flash_write_error_retried),
        T(test_flash_erase_error_always),
        T(test_old_bootreq_removed_before_slot_changes),
        T(test_cut_at_every_flash_op_never_stages_bad_image),
        T(test_reboot_after_delay),
        T(test_resume_cut_every_op_w1),
        T(test_resume_cut_every_op_w4_raw),
        T(test_resume_torn_writes),
        T(test_complete_slot_not_downloaded_again),
        T(test_other_update_starts_fresh),
        T(test_resume_after_link_loss_within_a_run),
        T(test_slot_damage_found_on_resume),
        T(test_too_many_chunks_for_journal),
        T(test_refused_version_not_installed_again),
        T(test_boot_report_sent_once),
        T(test_init_rejects_bad_config),
        T(test_api_states),
        T(test_second_update_after_done),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
