/*
 * test_bootreq.c - the boot request record: exact layout, round trip,
 * erased and damaged records, reading through the flash port.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cellota/ota_bootreq.h"
#include "cellota/ota_crc32.h"
#include "fake_flash.h"

static ota_bootreq_t sample(void)
{
    ota_bootreq_t r;

    memset(&r, 0x5A, sizeof r); /* garbage after the strings must not matter */
    r.image_addr = 0x00012000u;
    r.image_size = 55512u;
    r.image_crc = 0xCBF43926u;
    strcpy(r.title, "s31-nb");
    strcpy(r.version, "v1.6.0");
    return r;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void test_layout(void **state)
{
    ota_bootreq_t r = sample();
    uint8_t out[OTA_BOOTREQ_SIZE];
    uint8_t zeros[33] = { 0 };

    (void)state;
    memset(out, 0xEE, sizeof out);
    assert_int_equal(ota_bootreq_encode(&r, out), OTA_OK);
    assert_memory_equal(out, "CBRQ", 4u);
    assert_int_equal(le32(&out[0]), OTA_BOOTREQ_MAGIC);
    assert_int_equal(out[4], 1u);
    assert_int_equal(out[5], 0u);
    assert_int_equal(out[6], 0xFFu);
    assert_int_equal(out[7], 0xFFu);
    assert_int_equal(le32(&out[8]), 0x00012000u);
    assert_int_equal(out[8], 0x00u);
    assert_int_equal(out[9], 0x20u);
    assert_int_equal(le32(&out[12]), 55512u);
    assert_int_equal(le32(&out[16]), 0xCBF43926u);
    assert_int_equal(out[16], 0x26u);
    assert_memory_equal(&out[20], "s31-nb", 7u);
    assert_memory_equal(&out[27], zeros, 33u - 7u);
    assert_memory_equal(&out[53], "v1.6.0", 7u);
    assert_memory_equal(&out[60], zeros, 33u - 7u);
    assert_int_equal(out[86], 0xFFu);
    assert_int_equal(out[87], 0xFFu);
    assert_int_equal(le32(&out[88]), ota_crc32(0u, out, 88u));
}

static void test_round_trip(void **state)
{
    ota_bootreq_t r = sample();
    ota_bootreq_t d;
    uint8_t out[OTA_BOOTREQ_SIZE];

    (void)state;
    assert_int_equal(ota_bootreq_encode(&r, out), OTA_OK);
    memset(&d, 0, sizeof d);
    assert_int_equal(ota_bootreq_decode(out, &d), OTA_OK);
    assert_int_equal(d.image_addr, r.image_addr);
    assert_int_equal(d.image_size, r.image_size);
    assert_int_equal(d.image_crc, r.image_crc);
    assert_string_equal(d.title, "s31-nb");
    assert_string_equal(d.version, "v1.6.0");

    /* Longest strings, extreme numbers, empty strings. */
    memset(r.title, 'T', 32u);
    r.title[32] = '\0';
    r.version[0] = '\0';
    r.image_addr = UINT32_MAX;
    r.image_size = 0u;
    r.image_crc = 0xFFFFFFFFu;
    assert_int_equal(ota_bootreq_encode(&r, out), OTA_OK);
    assert_int_equal(ota_bootreq_decode(out, &d), OTA_OK);
    assert_int_equal(d.image_addr, UINT32_MAX);
    assert_int_equal(d.image_size, 0u);
    assert_int_equal(d.image_crc, 0xFFFFFFFFu);
    assert_int_equal(strlen(d.title), 32u);
    assert_memory_equal(d.title, r.title, 33u);
    assert_string_equal(d.version, "");
}

static void test_over_long_strings(void **state)
{
    ota_bootreq_t r = sample();
    uint8_t out[OTA_BOOTREQ_SIZE];

    (void)state;
    memset(r.title, 'T', sizeof r.title); /* 33 chars, no NUL */
    assert_int_equal(ota_bootreq_encode(&r, out), OTA_ERR_PARAM);
    r = sample();
    memset(r.version, 'V', sizeof r.version);
    assert_int_equal(ota_bootreq_encode(&r, out), OTA_ERR_PARAM);
    assert_int_equal(ota_bootreq_encode(NULL, out), OTA_ERR_PARAM);
    assert_int_equal(ota_bootreq_encode(&r, NULL), OTA_ERR_PARAM);
}

static void test_erased(void **state)
{
    uint8_t in[OTA_BOOTREQ_SIZE];
    ota_bootreq_t d;

    (void)state;
    memset(in, 0xFF, sizeof in);
    assert_int_equal(ota_bootreq_decode(in, &d), OTA_ERR_NOT_FOUND);
    in[91] = 0xFE; /* nearly erased: a torn write */
    assert_int_equal(ota_bootreq_decode(in, &d), OTA_ERR_CHECKSUM);
    memset(in, 0x00, sizeof in);
    assert_int_equal(ota_bootreq_decode(in, &d), OTA_ERR_CHECKSUM);
    assert_int_equal(ota_bootreq_decode(NULL, &d), OTA_ERR_PARAM);
    assert_int_equal(ota_bootreq_decode(in, NULL), OTA_ERR_PARAM);
}

static void test_every_bit_flip(void **state)
{
    ota_bootreq_t r = sample();
    uint8_t out[OTA_BOOTREQ_SIZE];
    uint32_t bit;

    (void)state;
    assert_int_equal(ota_bootreq_encode(&r, out), OTA_OK);
    for (bit = 0u; bit < OTA_BOOTREQ_SIZE * 8u; bit++) {
        ota_bootreq_t d;
        ota_status_t st;
        out[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        st = ota_bootreq_decode(out, &d);
        out[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        assert_true(st == OTA_ERR_CHECKSUM || st == OTA_ERR_FORMAT);
    }
}

/* Records with a valid CRC but bad content are FORMAT errors. */
static void reseal(uint8_t *rec)
{
    uint32_t crc = ota_crc32(0u, rec, 88u);

    rec[88] = (uint8_t)crc;
    rec[89] = (uint8_t)(crc >> 8);
    rec[90] = (uint8_t)(crc >> 16);
    rec[91] = (uint8_t)(crc >> 24);
}

static void test_format_errors(void **state)
{
    ota_bootreq_t r = sample();
    uint8_t good[OTA_BOOTREQ_SIZE];
    uint8_t bad[OTA_BOOTREQ_SIZE];
    ota_bootreq_t d;

    (void)state;
    assert_int_equal(ota_bootreq_encode(&r, good), OTA_OK);
    memcpy(bad, good, sizeof bad);
    bad[0] = 'X';
    reseal(bad);
    assert_int_equal(ota_bootreq_decode(bad, &d), OTA_ERR_FORMAT);
    memcpy(bad, good, sizeof bad);
    bad[4] = 2u; /* layout version 2 */
    reseal(bad);
    assert_int_equal(ota_bootreq_decode(bad, &d), OTA_ERR_FORMAT);
    memcpy(bad, good, sizeof bad);
    memset(&bad[20], 'T', 33u); /* unterminated title */
    reseal(bad);
    assert_int_equal(ota_bootreq_decode(bad, &d), OTA_ERR_FORMAT);
    memcpy(bad, good, sizeof bad);
    memset(&bad[53], 'V', 33u); /* unterminated version */
    reseal(bad);
    assert_int_equal(ota_bootreq_decode(bad, &d), OTA_ERR_FORMAT);
    memcpy(bad, good, sizeof bad);
    bad[20 + 10] = 'x'; /* garbage after the title's NUL */
    reseal(bad);
    assert_int_equal(ota_bootreq_decode(bad, &d), OTA_ERR_FORMAT);
}

static void test_read_from_flash(void **state)
{
    fake_flash_t ff;
    ota_flash_t flash;
    ota_bootreq_t r = sample();
    ota_bootreq_t d;
    uint8_t rec[OTA_BOOTREQ_SIZE];

    (void)state;
    assert_int_equal(fake_flash_init(&ff, 64u * 1024u, 4096u, 256u), 0);
    fake_flash_port(&ff, &flash);
    assert_int_equal(ota_bootreq_read(&flash, 4096u, &d), OTA_ERR_NOT_FOUND);
    assert_int_equal(ota_bootreq_encode(&r, rec), OTA_OK);
    assert_int_equal(flash.write(flash.ctx, 4096u, rec, sizeof rec), 0);
    assert_int_equal(ota_bootreq_read(&flash, 4096u, &d), OTA_OK);
    assert_string_equal(d.title, "s31-nb");
    assert_int_equal(d.image_size, 55512u);
    ff.fail_read_at = ff.reads + 1u;
    assert_int_equal(ota_bootreq_read(&flash, 4096u, &d), OTA_ERR_PORT);
    /* The last whole record that fits, and one byte past it. */
    assert_int_equal(ota_bootreq_read(&flash, 65536u - OTA_BOOTREQ_SIZE, &d), OTA_ERR_NOT_FOUND);
    assert_int_equal(ota_bootreq_read(&flash, 65536u - OTA_BOOTREQ_SIZE + 1u, &d), OTA_ERR_PARAM);
    assert_int_equal(ota_bootreq_read(&flash, UINT32_MAX, &d), OTA_ERR_PARAM);
    assert_int_equal(ota_bootreq_read(NULL, 0u, &d), OTA_ERR_PARAM);
    assert_int_equal(ota_bootreq_read(&flash, 0u, NULL), OTA_ERR_PARAM);
    fake_flash_free(&ff);
}

/* A write torn at every byte count reads as "no valid request". */
static void test_torn_write(void **state)
{
    fake_flash_t ff;
    ota_flash_t flash;
    ota_bootreq_t r = sample();
    ota_bootreq_t d;
    uint8_t rec[OTA_BOOTREQ_SIZE];
    uint32_t n;

    (void)state;
    assert_int_equal(ota_bootreq_encode(&r, rec), OTA_OK);
    for (n = 0u; n <= OTA_BOOTREQ_SIZE; n++) {
        ota_status_t st;
        assert_int_equal(fake_flash_init(&ff, 8192u, 4096u, 256u), 0);
        fake_flash_port(&ff, &flash);
        ff.cut_before_op = ff.ops + 1u;
        ff.cut_write_bytes = n;
        assert_int_equal(flash.write(flash.ctx, 0u, rec, sizeof rec), FAKE_FLASH_ERR_POWER);
        fake_flash_power_on(&ff);
        st = ota_bootreq_read(&flash, 0u, &d);
        if (n == 0u) {
            assert_int_equal(st, OTA_ERR_NOT_FOUND);
        } else if (n < OTA_BOOTREQ_SIZE) {
            assert_int_equal(st, OTA_ERR_CHECKSUM);
        } else {
            assert_int_equal(st, OTA_OK);
        }
        fake_flash_free(&ff);
    }
}

/* The fake flash itself keeps the NOR rules the other tests rely on. */
static void test_fake_flash_rules(void **state)
{
    fake_flash_t ff;
    ota_flash_t flash;
    uint8_t buf[8];
    const uint8_t a4[2] = { 0xA4u, 0x25u };
    const uint8_t a5[2] = { 0xA5u, 0xA5u };
    const uint8_t f0[2] = { 0xF0u, 0xF0u };

    (void)state;
    assert_int_equal(fake_flash_init(&ff, 8192u, 4096u, 256u), 0);
    fake_flash_port(&ff, &flash);
    assert_int_equal(flash.size, 8192u);
    assert_int_equal(flash.probe(flash.ctx), 0);
    assert_int_equal(flash.read(flash.ctx, 0u, buf, sizeof buf), 0);
    assert_int_equal(buf[0], 0xFFu); /* new chip is erased */
    assert_int_equal(flash.write(flash.ctx, 10u, a5, 2u), 0);
    assert_int_equal(flash.write(flash.ctx, 10u, a5, 2u), 0); /* same bits again: fine */
    assert_int_equal(flash.write(flash.ctx, 10u, a4, 2u), 0); /* only clears bits: fine */
    assert_int_equal(ff.bit_errors, 0u);
    assert_int_equal(flash.write(flash.ctx, 10u, f0, 2u), FAKE_FLASH_ERR_BITS);
    assert_int_equal(ff.bit_errors, 1u);
    assert_int_equal(ff.last_bit_error_addr, 10u);
    assert_int_equal(flash.read(flash.ctx, 10u, buf, 2u), 0);
    assert_int_equal(buf[0], 0xA0u); /* what a chip would hold: old & new */
    assert_int_equal(buf[1], 0x20u);
    assert_int_equal(flash.erase(flash.ctx, 100u), FAKE_FLASH_ERR_ALIGN);
    assert_int_equal(flash.erase(flash.ctx, 8192u), FAKE_FLASH_ERR_RANGE);
    assert_int_equal(flash.erase(flash.ctx, 0u), 0);
    assert_int_equal(flash.read(flash.ctx, 10u, buf, 2u), 0);
    assert_int_equal(buf[0], 0xFFu);
    assert_int_equal(flash.read(flash.ctx, 8191u, buf, 2u), FAKE_FLASH_ERR_RANGE);
    assert_int_equal(flash.write(flash.ctx, UINT32_MAX, a5, 2u), FAKE_FLASH_ERR_RANGE);
    /* Injected failures and counters. */
    ff.fail_write_at = ff.writes + 2u;
    assert_int_equal(flash.write(flash.ctx, 0u, a5, 1u), 0);
    assert_int_equal(flash.write(flash.ctx, 1u, a5, 1u), FAKE_FLASH_ERR_INJECTED);
    assert_int_equal(flash.write(flash.ctx, 2u, a5, 1u), 0);
    assert_int_equal(ff.writes, 8u);
    assert_int_equal(ff.erases, 3u);
    assert_int_equal(ff.reads, 4u);
    assert_int_equal(ff.ops, 15u);
    assert_int_equal(ff.probes, 1u);
    /* Power cut before the next op: it and everything after fail. */
    ff.cut_before_op = ff.ops + 2u;
    assert_int_equal(flash.read(flash.ctx, 0u, buf, 1u), 0);
    assert_int_equal(flash.erase(flash.ctx, 0u), FAKE_FLASH_ERR_POWER);
    assert_true(ff.powered_off);
    assert_int_equal(flash.read(flash.ctx, 0u, buf, 1u), FAKE_FLASH_ERR_POWER);
    assert_int_equal(flash.probe(flash.ctx), FAKE_FLASH_ERR_POWER);
    fake_flash_power_on(&ff);
    assert_int_equal(flash.read(flash.ctx, 0u, buf, 1u), 0);
    assert_int_equal(buf[0], 0xA5u); /* the cut erase did not happen */
    ff.absent = true;
    assert_int_equal(flash.probe(flash.ctx), FAKE_FLASH_ERR_ABSENT);
    assert_int_equal(flash.read(flash.ctx, 0u, buf, 1u), FAKE_FLASH_ERR_ABSENT);
    fake_flash_free(&ff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_over_long_strings),
        cmocka_unit_test(test_erased),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_format_errors),
        cmocka_unit_test(test_read_from_flash),
        cmocka_unit_test(test_torn_write),
        cmocka_unit_test(test_fake_flash_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
