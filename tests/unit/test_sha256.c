/*
 * test_sha256.c - SHA-256 against the FIPS 180-4 examples, padding
 * boundaries, and streaming in odd pieces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cellota/ota_sha256.h"

/* Digest as 64 lower-case hex digits. */
static void to_hex(const uint8_t d[OTA_SHA256_SIZE], char out[2 * OTA_SHA256_SIZE + 1])
{
    size_t i;

    for (i = 0u; i < OTA_SHA256_SIZE; i++) {
        (void)snprintf(&out[2u * i], 3u, "%02x", d[i]);
    }
}

static void hash_hex(const void *data, size_t len, char out[2 * OTA_SHA256_SIZE + 1])
{
    ota_sha256_t s;
    uint8_t d[OTA_SHA256_SIZE];

    ota_sha256_init(&s);
    ota_sha256_update(&s, data, len);
    ota_sha256_final(&s, d);
    to_hex(d, out);
}

static void test_abc(void **state)
{
    char hex[65];

    (void)state;
    hash_hex("abc", 3u, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_two_block_448(void **state)
{
    static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[65];

    (void)state;
    assert_int_equal(strlen(msg), 56u);
    hash_hex(msg, strlen(msg), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_896_bits(void **state)
{
    static const char msg[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                              "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    char hex[65];

    (void)state;
    hash_hex(msg, strlen(msg), hex);
    assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_empty(void **state)
{
    char hex[65];

    (void)state;
    hash_hex(NULL, 0u, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hash_hex("", 0u, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_million_a(void **state)
{
    ota_sha256_t s;
    uint8_t block[1000];
    uint8_t d[OTA_SHA256_SIZE];
    char hex[65];
    int i;

    (void)state;
    memset(block, 'a', sizeof block);
    ota_sha256_init(&s);
    for (i = 0; i < 1000; i++) {
        ota_sha256_update(&s, block, sizeof block);
    }
    ota_sha256_final(&s, d);
    to_hex(d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Test message: byte i = i * 7 + 3; digests of its prefixes from Python's hashlib. */
static uint8_t msg1000[1000 + 1];

static void make_msg(uint8_t *m)
{
    size_t i;

    for (i = 0u; i < 1000u; i++) {
        m[i] = (uint8_t)(i * 7u + 3u);
    }
}

static void test_padding_boundaries(void **state)
{
    static const struct {
        size_t len;
        const char *hex;
    } cases[] = {
        { 55u, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b" },
        { 56u, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27" },
        { 57u, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73" },
        { 63u, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055" },
        { 64u, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241" },
        { 65u, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e" },
        { 119u, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e" },
        { 120u, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5" },
        { 128u, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6" },
        { 1000u, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371" },
    };
    char hex[65];
    size_t i;

    (void)state;
    make_msg(msg1000);
    for (i = 0u; i < sizeof cases / sizeof cases[0]; i++) {
        hash_hex(msg1000, cases[i].len, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

/* Feed the message in pieces of the given sizes (cycled), from an odd address. */
static void stream_pieces(const size_t *sizes, size_t nsizes, uint8_t d[OTA_SHA256_SIZE])
{
    ota_sha256_t s;
    const uint8_t *p = msg1000 + 1; /* deliberately unaligned */
    size_t left = 1000u;
    size_t k = 0u;

    memmove(msg1000 + 1, msg1000, 1000u);
    ota_sha256_init(&s);
    while (left > 0u) {
        size_t n = sizes[k % nsizes] < left ? sizes[k % nsizes] : left;
        ota_sha256_update(&s, p, n);
        p += n;
        left -= n;
        k++;
    }
    ota_sha256_final(&s, d);
    make_msg(msg1000);
}

static void test_streaming_odd_pieces(void **state)
{
    static const size_t one[] = { 1u };
    static const size_t s63[] = { 63u };
    static const size_t s64[] = { 64u };
    static const size_t s65[] = { 65u };
    static const size_t mix[] = { 1u, 63u, 64u, 65u, 0u, 7u };
    static const size_t *const plans[] = { one, s63, s64, s65, mix };
    static const size_t counts[] = { 1u, 1u, 1u, 1u, 6u };
    uint8_t whole[OTA_SHA256_SIZE];
    uint8_t d[OTA_SHA256_SIZE];
    char hex[65];
    size_t i;

    (void)state;
    make_msg(msg1000);
    {
        ota_sha256_t s;
        ota_sha256_init(&s);
        ota_sha256_update(&s, msg1000, 1000u);
        ota_sha256_final(&s, whole);
    }
    to_hex(whole, hex);
    assert_string_equal(hex, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371");
    for (i = 0u; i < sizeof plans / sizeof plans[0]; i++) {
        memset(d, 0, sizeof d);
        stream_pieces(plans[i], counts[i], d);
        assert_memory_equal(d, whole, sizeof whole);
    }
}

static void test_reinit_reuse(void **state)
{
    ota_sha256_t s;
    uint8_t d[OTA_SHA256_SIZE];
    char hex[65];

    (void)state;
    ota_sha256_init(&s);
    ota_sha256_update(&s, "garbage", 7u);
    ota_sha256_final(&s, d);
    ota_sha256_init(&s);
    ota_sha256_update(&s, "a", 1u);
    ota_sha256_update(&s, "bc", 2u);
    ota_sha256_final(&s, d);
    to_hex(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abc),
        cmocka_unit_test(test_two_block_448),
        cmocka_unit_test(test_896_bits),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_streaming_odd_pieces),
        cmocka_unit_test(test_reinit_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
