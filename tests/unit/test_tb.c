/* ThingsBoard codec: topic parsing, the attribute decision, messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ota_tb.h"

static ota_status_t chunk_topic(const char *t, uint32_t *rid, uint32_t *k)
{
    return ota_tb_parse_chunk_topic(t, strlen(t), rid, k);
}

static void test_chunk_topics(void **state)
{
    uint32_t rid = 0, k = 0;
    (void)state;
    assert_int_equal(chunk_topic("v2/fw/response/17/chunk/0", &rid, &k), OTA_OK);
    assert_int_equal(rid, 17);
    assert_int_equal(k, 0);
    assert_int_equal(chunk_topic("v2/fw/response/4294967295/chunk/4294967295", &rid, &k), OTA_OK);
    assert_int_equal(rid, 4294967295u);
    assert_int_equal(k, 4294967295u);
    const char *bad[] = {
        "v2/fw/response/4294967296/chunk/1", "v2/fw/response//chunk/1",
        "v2/fw/response/1/chunk/",           "v2/fw/response/1/chunk/2/",
        "v2/fw/response/1/chunk/2x",         "v2/fw/response/-1/chunk/2",
        "v2/fw/response/+/chunk/+",          "v2/fw/request/1/chunk/2",
        "v2/sw/response/1/chunk/2",          "v2/fw/response/1/chunks/2",
        "",                                  "v2/fw/response/1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chunk_topic(bad[i], &rid, &k), OTA_ERR_FORMAT);
    }
    /* Length is what counts, not a NUL: a topic cut short is not accepted. */
    assert_int_equal(ota_tb_parse_chunk_topic("v2/fw/response/1/chunk/23", 24, &rid, &k), OTA_OK);
    assert_int_equal(k, 2);
    assert_int_equal(ota_tb_parse_chunk_topic("v2/fw/response/1/chunk/", 22, &rid, &k),
                     OTA_ERR_FORMAT);
    assert_int_equal(ota_tb_parse_chunk_topic(NULL, 0, &rid, &k), OTA_ERR_PARAM);
}

static void test_attr_and_error_topics(void **state)
{
    uint32_t id = 0;
    const char *t = "v1/devices/me/attributes/response/12";
    (void)state;
    assert_int_equal(ota_tb_parse_attr_topic(t, strlen(t), &id), OTA_OK);
    assert_int_equal(id, 12);
    t = "v1/devices/me/attributes/response/";
    assert_int_equal(ota_tb_parse_attr_topic(t, strlen(t), &id), OTA_ERR_FORMAT);
    t = "v1/devices/me/attributes";
    assert_int_equal(ota_tb_parse_attr_topic(t, strlen(t), &id), OTA_ERR_FORMAT);
    assert_int_equal(ota_tb_parse_attr_topic(NULL, 0, &id), OTA_ERR_PARAM);
    assert_int_equal(ota_tb_parse_attr_topic(t, strlen(t), NULL), OTA_ERR_PARAM);
    assert_true(ota_tb_is_error_topic("v2/fw/error", 11));
    assert_false(ota_tb_is_error_topic("v2/fw/error/", 12));
    assert_false(ota_tb_is_error_topic("v2/fw/erro", 10));
    assert_false(ota_tb_is_error_topic(NULL, 0));
}

static ota_code_t decide(const char *json, ota_tb_offer_t *o, char *why, size_t cap)
{
    ota_sb_t sb;
    ota_sb_init(&sb, why, cap);
    return ota_tb_decide((const uint8_t *)json, strlen(json), "s31-nb", "v1.5.0", o, &sb);
}

static void test_decide_good_offer(void **state)
{
    ota_tb_offer_t o;
    char why[128];
    (void)state;
    assert_int_equal(
        decide("{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"v1.6.0\",\"fw_size\":55512,"
               "\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"2639f4cb\"}}",
               &o, why, sizeof why),
        OTA_CODE_NONE);
    assert_string_equal(o.title, "s31-nb");
    assert_string_equal(o.version, "v1.6.0");
    assert_int_equal(o.size, 55512);
    assert_int_equal(o.algo, OTA_ALGO_CRC32);
    /* The hex is the CRC's little-endian bytes, kept in that order. */
    assert_int_equal(o.checksum[0], 0x26);
    assert_int_equal(o.checksum[3], 0xcb);
    assert_string_equal(why, "");
}

static void test_decide_order_and_codes(void **state)
{
    ota_tb_offer_t o;
    char why[128];
    (void)state;
    /* The title decides before anything else is looked at. */
    assert_int_equal(decide("{\"shared\":{\"fw_title\":\"other\",\"fw_size\":\"x\"}}", &o, why,
                            sizeof why),
                     OTA_CODE_TITLE_MISMATCH);
    assert_string_equal(why, "server title other differs from device title s31-nb");
    /* Same version decides before a broken size. */
    assert_int_equal(decide("{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"v1.5.0\","
                            "\"fw_size\":-1}}",
                            &o, why, sizeof why),
                     OTA_CODE_SAME_VERSION);
    assert_int_equal(decide("{}", &o, why, sizeof why), OTA_CODE_NO_TITLE);
    assert_int_equal(decide("{\"client\":{}}", &o, why, sizeof why), OTA_CODE_NO_TITLE);
    assert_int_equal(decide("{\"shared\":{\"fw_title\":\"\"}}", &o, why, sizeof why),
                     OTA_CODE_NO_TITLE);
    assert_int_equal(decide("", &o, why, sizeof why), OTA_CODE_FORMAT);
    assert_int_equal(decide("{\"shared\":{},\"shared\":{}}", &o, why, sizeof why),
                     OTA_CODE_FORMAT);
    /* Escapes are compared after unescaping. */
    assert_int_equal(decide("{\"shared\":{\"fw_title\":\"s31\\u002dnb\",\"fw_version\":\"v1.5.0\"}}",
                            &o, why, sizeof why),
                     OTA_CODE_SAME_VERSION);
    /* A title in a nested object is not the title. */
    assert_int_equal(decide("{\"shared\":{\"x\":{\"fw_title\":\"s31-nb\"}}}", &o, why, sizeof why),
                     OTA_CODE_NO_TITLE);
}

static void test_decide_sha256(void **state)
{
    ota_tb_offer_t o;
    char why[128];
    (void)state;
    assert_int_equal(
        decide("{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"2\",\"fw_size\":3,"
               "\"fw_checksum_algorithm\":\"SHA256\",\"fw_checksum\":"
               "\"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\"}}",
               &o, why, sizeof why),
        OTA_CODE_NONE);
    assert_int_equal(o.algo, OTA_ALGO_SHA256);
    assert_int_equal(o.checksum[0], 0xba);
    assert_int_equal(o.checksum[31], 0xad);
    /* 63 digits */
    assert_int_equal(
        decide("{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"2\",\"fw_size\":3,"
               "\"fw_checksum_algorithm\":\"SHA256\",\"fw_checksum\":"
               "\"A7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\"}}",
               &o, why, sizeof why),
        OTA_CODE_CHECKSUM);
}

static void test_messages(void **state)
{
    char buf[256];
    ota_sb_t sb;
    (void)state;
    ota_sb_init(&sb, buf, sizeof buf);
    ota_tb_chunk_request_topic(&sb, 12, 345);
    assert_string_equal(buf, "v2/fw/request/12/chunk/345");
    ota_sb_init(&sb, buf, sizeof buf);
    ota_tb_current_fw(&sb, "s31-nb", "v\"1");
    assert_string_equal(buf, "{\"current_fw_title\":\"s31-nb\",\"current_fw_version\":\"v\\\"1\"}");
    ota_sb_init(&sb, buf, sizeof buf);
    ota_tb_fw_state(&sb, "DOWNLOADING", NULL);
    assert_string_equal(buf, "{\"fw_state\":\"DOWNLOADING\"}");
    ota_sb_init(&sb, buf, sizeof buf);
    ota_tb_fw_state(&sb, "DOWNLOADING", "chunk 3 bad");
    assert_string_equal(buf, "{\"fw_state\":\"FAILED\",\"fw_error\":\"chunk 3 bad\"}");
    ota_sb_init(&sb, buf, sizeof buf);
    ota_tb_status_msg(&sb, "8600", OTA_CODE_CHECKSUM, "chunk \"3\"");
    assert_string_equal(buf, "{\"IMEI\":\"8600\",\"Message\":\"OTA code 7: firmware checksum "
                             "error: chunk \\\"3\\\"\"}");
    ota_sb_init(&sb, buf, sizeof buf);
    ota_tb_status_msg(&sb, "8600", OTA_CODE_SUCCESS, "");
    assert_string_equal(buf, "{\"IMEI\":\"8600\",\"Message\":\"OTA code 100: OTA update "
                             "successful, waiting for reboot\"}");
    for (int c = 1; c <= 7; c++) {
        assert_true(strlen(ota_code_str((ota_code_t)c)) > 5);
    }
    assert_string_equal(ota_code_str(OTA_CODE_NONE), "");
    assert_string_equal(ota_code_str((ota_code_t)55), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_topics),
        cmocka_unit_test(test_attr_and_error_topics),
        cmocka_unit_test(test_decide_good_offer),
        cmocka_unit_test(test_decide_order_and_codes),
        cmocka_unit_test(test_decide_sha256),
        cmocka_unit_test(test_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
