/*
 * test_primitives_more.c - the guard clauses of the small primitives that
 * their own tests leave out: every status name, NULL arguments of the
 * CRC-32 and SHA-256 functions, and a SHA-256 context whose fill count was
 * damaged (the functions must refuse it rather than write past the block).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cellota/ota_crc32.h"
#include "cellota/ota_sha256.h"
#include "cellota/ota_status.h"

static void test_status_names(void **state)
{
    static const struct {
        ota_status_t st;
        const char *name;
    } names[] = {
        {OTA_OK, "ok"},
        {OTA_ERR_PARAM, "bad parameter"},
        {OTA_ERR_STATE, "wrong state"},
        {OTA_ERR_PORT, "port failure"},
        {OTA_ERR_NOSPACE, "no space"},
        {OTA_ERR_FORMAT, "bad format"},
        {OTA_ERR_RANGE, "out of range"},
        {OTA_ERR_CHECKSUM, "checksum mismatch"},
        {OTA_ERR_NOT_FOUND, "not found"},
        {OTA_ERR_TIMEOUT, "timeout"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_string_equal(ota_status_str(names[i].st), names[i].name);
    }
    assert_string_equal(ota_status_str((ota_status_t)-99), "unknown");
    assert_string_equal(ota_status_str((ota_status_t)1), "unknown");
}

static void test_crc32_guards(void **state)
{
    char hex[9];
    (void)state;
    /* NULL data: the running value comes back unchanged. */
    assert_int_equal(ota_crc32(0x12345678u, NULL, 10), 0x12345678u);
    assert_int_equal(ota_crc32(0, "", 0), 0u);
    ota_crc32_to_tb_hex(0xCBF43926u, NULL); /* ignored, no crash */
    memset(hex, 'x', sizeof hex);
    ota_crc32_to_tb_hex(0x0000000Fu, hex);
    assert_string_equal(hex, "0f000000"); /* zero-padded, little-endian bytes */
}

static void test_sha256_guards(void **state)
{
    static const uint8_t abc_digest[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    ota_sha256_t s;
    ota_sha256_t before;
    uint8_t out[32];
    (void)state;
    ota_sha256_init(NULL);
    ota_sha256_update(NULL, "abc", 3);
    ota_sha256_final(NULL, out);
    ota_sha256_init(&s);
    ota_sha256_update(&s, NULL, 3); /* ignored */
    ota_sha256_update(&s, "abc", 3);
    before = s;
    ota_sha256_final(&s, NULL); /* ignored: nothing changes */
    assert_memory_equal(&s, &before, sizeof s);
    ota_sha256_final(&s, out);
    assert_memory_equal(out, abc_digest, sizeof out);
    /* A damaged context (fill count past the block) is refused, not used. */
    ota_sha256_init(&s);
    s.used = 64u;
    before = s;
    ota_sha256_update(&s, "abc", 3);
    assert_memory_equal(&s, &before, sizeof s);
    memset(out, 0x5A, sizeof out);
    ota_sha256_final(&s, out);
    for (size_t i = 0; i < sizeof out; i++) {
        assert_int_equal(out[i], 0x5A);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_crc32_guards),
        cmocka_unit_test(test_sha256_guards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
