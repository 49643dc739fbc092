/*
 * test_crc32.c - CRC-32 (zlib) and ThingsBoard's hex form of it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cellota/ota_crc32.h"

static void test_check_value(void **state)
{
    char hex[9];
    uint32_t crc = ota_crc32(0u, "123456789", 9u);

    (void)state;
    assert_int_equal(crc, 0xCBF43926u);
    ota_crc32_to_tb_hex(crc, hex);
    assert_string_equal(hex, "2639f4cb");
}

static void test_single_zero_byte(void **state)
{
    const uint8_t zero = 0u;
    char hex[9];
    uint32_t crc = ota_crc32(0u, &zero, 1u);

    (void)state;
    assert_int_equal(crc, 0xD202EF8Du);
    ota_crc32_to_tb_hex(crc, hex);
    assert_string_equal(hex, "8def02d2");
}

static void fill_pattern(uint8_t *buf, size_t len)
{
    size_t i;

    for (i = 0u; i < len; i++) {
        buf[i] = (uint8_t)i;
    }
}

static void test_counting_1024(void **state)
{
    uint8_t buf[1024];
    char hex[9];
    uint32_t crc;

    (void)state;
    fill_pattern(buf, sizeof buf);
    crc = ota_crc32(0u, buf, sizeof buf);
    assert_int_equal(crc, 0xB70B4C26u);
    ota_crc32_to_tb_hex(crc, hex);
    assert_string_equal(hex, "264c0bb7");
}

static void test_incremental_every_split(void **state)
{
    uint8_t buf[1024];
    size_t split;

    (void)state;
    fill_pattern(buf, sizeof buf);
    for (split = 0u; split <= sizeof buf; split++) {
        uint32_t crc = ota_crc32(0u, buf, split);
        crc = ota_crc32(crc, buf + split, sizeof buf - split);
        assert_int_equal(crc, 0xB70B4C26u);
    }
}

static void test_three_pieces_and_unaligned(void **state)
{
    uint8_t buf[1 + 1024];
    size_t a;

    (void)state;
    /* Data starting at an odd address: the CRC must not care. */
    fill_pattern(buf + 1, 1024u);
    for (a = 0u; a <= 1024u; a += 7u) {
        uint32_t crc = ota_crc32(0u, buf + 1, a / 2u);
        crc = ota_crc32(crc, buf + 1 + a / 2u, a - a / 2u);
        crc = ota_crc32(crc, buf + 1 + a, 1024u - a);
        assert_int_equal(crc, 0xB70B4C26u);
    }
}

static void test_empty_and_null(void **state)
{
    (void)state;
    assert_int_equal(ota_crc32(0u, NULL, 0u), 0u);
    assert_int_equal(ota_crc32(0u, "", 0u), 0u);
    assert_int_equal(ota_crc32(0xCBF43926u, NULL, 0u), 0xCBF43926u);
    assert_int_equal(ota_crc32(0x12345678u, "x", 0u), 0x12345678u);
}

static void test_hex_padding(void **state)
{
    char hex[9];

    (void)state;
    memset(hex, 'Z', sizeof hex);
    ota_crc32_to_tb_hex(0u, hex);
    assert_string_equal(hex, "00000000");
    ota_crc32_to_tb_hex(0x0000000Fu, hex);
    assert_string_equal(hex, "0f000000");
    ota_crc32_to_tb_hex(0xA0000000u, hex);
    assert_string_equal(hex, "000000a0");
    ota_crc32_to_tb_hex(0xFFFFFFFFu, hex);
    assert_string_equal(hex, "ffffffff");
    ota_crc32_to_tb_hex(0x01020304u, hex);
    assert_string_equal(hex, "04030201");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_single_zero_byte),
        cmocka_unit_test(test_counting_1024),
        cmocka_unit_test(test_incremental_every_split),
        cmocka_unit_test(test_three_pieces_and_unaligned),
        cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_hex_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
