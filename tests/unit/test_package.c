/*
 * test_package.c - package geometry and chunk checks (Dragino and raw).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cellota/ota_crc32.h"
#include "cellota/ota_package.h"

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Build the Dragino package of an image: records [data][CRC LE]. */
static size_t make_dragino(const uint8_t *image, size_t n, uint8_t *pkg)
{
    size_t in = 0u;
    size_t out = 0u;

    while (in < n) {
        size_t d = (n - in < OTA_DRAGINO_DATA) ? n - in : OTA_DRAGINO_DATA;
        memcpy(&pkg[out], &image[in], d);
        put_le32(&pkg[out + d], ota_crc32(0u, &image[in], d));
        in += d;
        out += d + 4u;
    }
    return out;
}

static uint8_t image[5000];
static uint8_t pkg[5000 + 4 * 5];

static void fill_image(void)
{
    size_t i;

    for (i = 0u; i < sizeof image; i++) {
        image[i] = (uint8_t)(i * 31u + 7u);
    }
}

/* ------------------------------------------------------------------------ */

static void test_geometry_2000(void **state)
{
    ota_pkg_geom_t g;

    (void)state;
    assert_int_equal(ota_pkg_dragino_size(2000u), 2008u);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, 2008u, 0u, &g), OTA_OK);
    assert_int_equal(g.format, OTA_PKG_DRAGINO);
    assert_int_equal(g.pkg_size, 2008u);
    assert_int_equal(g.chunk_size, 1028u);
    assert_int_equal(g.chunks, 2u);
    assert_int_equal(g.image_size, 2000u);
    assert_int_equal(ota_pkg_chunk_len(&g, 0u), 1028u);
    assert_int_equal(ota_pkg_chunk_len(&g, 1u), 980u);
    assert_int_equal(ota_pkg_chunk_len(&g, 2u), 0u);
    assert_int_equal(ota_pkg_chunk_len(&g, UINT32_MAX), 0u);
    /* The chunk size argument is ignored for Dragino packages. */
    assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, 2008u, 77u, &g), OTA_OK);
    assert_int_equal(g.chunk_size, 1028u);
}

static void test_geometry_dragino_sizes(void **state)
{
    static const struct {
        uint32_t pkg;
        uint32_t chunks;
        uint32_t image;
        uint32_t last;
    } cases[] = {
        { 5u, 1u, 1u, 5u },
        { 1028u, 1u, 1024u, 1028u },
        { 2056u, 2u, 2048u, 1028u },
        { 1028u * 100u, 100u, 102400u, 1028u },
        { 1028u + 5u, 2u, 1025u, 5u },
        { 1028u * 7u + 1027u, 8u, 1024u * 7u + 1023u, 1027u },
        { 4294966524u, 4177983u, 4278254592u, 1028u }, /* 1028 * 4177983 */
        { UINT32_MAX, 4177984u, 4278255359u, 771u },   /* largest package */
    };
    size_t i;

    (void)state;
    for (i = 0u; i < sizeof cases / sizeof cases[0]; i++) {
        ota_pkg_geom_t g;
        assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, cases[i].pkg, 0u, &g), OTA_OK);
        assert_int_equal(g.chunks, cases[i].chunks);
        assert_int_equal(g.image_size, cases[i].image);
        assert_int_equal(ota_pkg_chunk_len(&g, g.chunks - 1u), cases[i].last);
        assert_int_equal(ota_pkg_chunk_len(&g, g.chunks), 0u);
        assert_int_equal(ota_pkg_dragino_size(cases[i].image), cases[i].pkg);
    }
}

static void test_geometry_refused(void **state)
{
    ota_pkg_geom_t g;
    uint32_t r;

    (void)state;
    memset(&g, 0xA5, sizeof g);
    for (r = 1u; r <= 4u; r++) {
        assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, r, 0u, &g), OTA_ERR_FORMAT);
        assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, 1028u + r, 0u, &g), OTA_ERR_FORMAT);
        assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, 1028u * 9u + r, 0u, &g), OTA_ERR_FORMAT);
    }
    assert_int_equal(g.chunks, 0xA5A5A5A5u); /* untouched on failure */
    assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, 0u, 0u, &g), OTA_ERR_RANGE);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_RAW, 0u, 512u, &g), OTA_ERR_RANGE);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, 2008u, 0u, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_pkg_geometry((ota_pkg_format_t)7, 2008u, 512u, &g), OTA_ERR_PARAM);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_RAW, 2008u, 0u, &g), OTA_ERR_PARAM);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_RAW, 2008u, 65537u, &g), OTA_ERR_PARAM);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_RAW, 2008u, 65536u, &g), OTA_OK);
    assert_int_equal(g.chunks, 1u);
}

static void test_dragino_size(void **state)
{
    (void)state;
    assert_int_equal(ota_pkg_dragino_size(0u), 0u);
    assert_int_equal(ota_pkg_dragino_size(1u), 5u);
    assert_int_equal(ota_pkg_dragino_size(1024u), 1028u);
    assert_int_equal(ota_pkg_dragino_size(1025u), 1033u);
    assert_int_equal(ota_pkg_dragino_size(4177920000u), 4194240000u);
    /* Beyond the documented limit the result would not fit: 0. */
    assert_int_equal(ota_pkg_dragino_size(UINT32_MAX), 0u);
}

static void test_geometry_raw(void **state)
{
    ota_pkg_geom_t g;

    (void)state;
    assert_int_equal(ota_pkg_geometry(OTA_PKG_RAW, 2000u, 512u, &g), OTA_OK);
    assert_int_equal(g.format, OTA_PKG_RAW);
    assert_int_equal(g.chunk_size, 512u);
    assert_int_equal(g.chunks, 4u);
    assert_int_equal(g.image_size, 2000u);
    assert_int_equal(ota_pkg_chunk_len(&g, 0u), 512u);
    assert_int_equal(ota_pkg_chunk_len(&g, 3u), 464u);
    assert_int_equal(ota_pkg_chunk_len(&g, 4u), 0u);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_RAW, 2048u, 512u, &g), OTA_OK);
    assert_int_equal(g.chunks, 4u);
    assert_int_equal(ota_pkg_chunk_len(&g, 3u), 512u);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_RAW, 1u, 1u, &g), OTA_OK);
    assert_int_equal(g.chunks, 1u);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_RAW, UINT32_MAX, 1u, &g), OTA_OK);
    assert_int_equal(g.chunks, UINT32_MAX);
    assert_int_equal(ota_pkg_chunk_len(&g, UINT32_MAX - 1u), 1u);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_RAW, UINT32_MAX, 65536u, &g), OTA_OK);
    assert_int_equal(g.chunks, 65536u);
    assert_int_equal(ota_pkg_chunk_len(&g, 65535u), 65535u);
    assert_int_equal(ota_pkg_chunk_len(&g, 65536u), 0u);
    assert_int_equal(ota_pkg_chunk_len(NULL, 0u), 0u);
}

/* ------------------------------------------------------------------------ */

static void test_dragino_chunks_good(void **state)
{
    ota_pkg_geom_t g;
    uint8_t rebuilt[sizeof image];
    size_t plen;
    uint32_t k;
    uint32_t pos = 0u;

    (void)state;
    fill_image();
    plen = make_dragino(image, 2000u, pkg);
    assert_int_equal(plen, 2008u);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, (uint32_t)plen, 0u, &g), OTA_OK);
    for (k = 0u; k < g.chunks; k++) {
        uint32_t off = 77u;
        uint32_t n = 77u;
        uint32_t len = ota_pkg_chunk_len(&g, k);
        assert_int_equal(ota_pkg_check_chunk(&g, k, &pkg[pos], len, &off, &n), OTA_OK);
        assert_int_equal(off, k * 1024u);
        assert_int_equal(n, (k == 0u) ? 1024u : 976u);
        memcpy(&rebuilt[off], &pkg[pos], n);
        pos += len;
    }
    assert_int_equal(pos, plen);
    assert_memory_equal(rebuilt, image, 2000u);
}

static void test_dragino_exact_multiple(void **state)
{
    ota_pkg_geom_t g;
    size_t plen;
    uint32_t k;

    (void)state;
    fill_image();
    plen = make_dragino(image, 4096u, pkg);
    assert_int_equal(plen, 4112u);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, (uint32_t)plen, 0u, &g), OTA_OK);
    assert_int_equal(g.chunks, 4u);
    assert_int_equal(g.image_size, 4096u);
    for (k = 0u; k < 4u; k++) {
        uint32_t off;
        uint32_t n;
        assert_int_equal(ota_pkg_chunk_len(&g, k), 1028u);
        assert_int_equal(ota_pkg_check_chunk(&g, k, &pkg[k * 1028u], 1028u, &off, &n), OTA_OK);
        assert_int_equal(off, k * 1024u);
        assert_int_equal(n, 1024u);
    }
}

static void test_dragino_bit_flips(void **state)
{
    ota_pkg_geom_t g;
    size_t plen;
    uint32_t bit;

    (void)state;
    fill_image();
    plen = make_dragino(image, 2000u, pkg);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, (uint32_t)plen, 0u, &g), OTA_OK);
    /* Every single-bit flip of the last record (data or CRC) is caught. */
    for (bit = 0u; bit < 980u * 8u; bit++) {
        uint32_t off = 0xDEADu;
        uint32_t n = 0xBEEFu;
        uint8_t *rec = &pkg[1028];
        rec[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        assert_int_equal(ota_pkg_check_chunk(&g, 1u, rec, 980u, &off, &n), OTA_ERR_CHECKSUM);
        rec[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        assert_int_equal(off, 0xDEADu);
        assert_int_equal(n, 0xBEEFu);
    }
    {
        uint32_t off;
        uint32_t n;
        assert_int_equal(ota_pkg_check_chunk(&g, 1u, &pkg[1028], 980u, &off, &n), OTA_OK);
        /* A record of the wrong index still has a valid CRC but the wrong length. */
        assert_int_equal(ota_pkg_check_chunk(&g, 0u, &pkg[1028], 980u, &off, &n), OTA_ERR_RANGE);
    }
}

static void test_wrong_lengths_and_params(void **state)
{
    ota_pkg_geom_t g;
    uint32_t off;
    uint32_t n;

    (void)state;
    fill_image();
    (void)make_dragino(image, 2000u, pkg);
    assert_int_equal(ota_pkg_geometry(OTA_PKG_DRAGINO, 2008u, 0u, &g), OTA_OK);
    assert_int_equal(ota_pkg_check_chunk(&g, 0u, pkg, 1027u, &off, &n), OTA_ERR_RANGE);
    assert_int_equal(ota_pkg_check_chunk(&g, 0u, pkg, 1029u, &off, &n), OTA_ERR_RANGE);
    assert_int_equal(ota_pkg_check_chunk(&g, 0u, pkg, 0u, &off, &n), OTA_ERR_RANGE);
    assert_int_equal(ota_pkg_check_chunk(&g, 1u, &pkg[1028], 979u, &off, &n), OTA_ERR_RANGE);
    assert_int_equal(ota_pkg_check_chunk(&g, 1u, &pkg[1028], 1028u, &off, &n), OTA_ERR_RANGE);
    assert_int_equal(ota_pkg_check_chunk(&g, 2u, pkg, 1028u, &off, &n), OTA_ERR_PARAM);
    assert_int_equal(ota_pkg_check_chunk(NULL, 0u, pkg, 1028u, &off, &n), OTA_ERR_PARAM);
    assert_int_equal(ota_pkg_check_chunk(&g, 0u, NULL, 1028u, &off, &n), OTA_ERR_PARAM);
    assert_int_equal(ota_pkg_check_chunk(&g, 0u, pkg, 1028u, NULL, &n), OTA_ERR_PARAM);
    assert_int_equal(ota_pkg_check_chunk(&g, 0u, pkg, 1028u, &off, NULL), OTA_ERR_PARAM);
    /* A hand-made inconsistent geometry is refused, not trusted. */
    g.chunks = 5u;
    assert_int_equal(ota_pkg_check_chunk(&g, 4u, pkg, 1028u, &off, &n), OTA_ERR_PARAM);
    g.chunk_size = 0u;
    assert_int_equal(ota_pkg_check_chunk(&g, 0u, pkg, 1028u, &off, &n), OTA_ERR_PARAM);
    /* Dragino chunks other than 1028-byte records, or records with no data byte. */
    g.chunk_size = 1024u;
    assert_int_equal(ota_pkg_check_chunk(&g, 0u, pkg, 1024u, &off, &n), OTA_ERR_RANGE);
    g.chunk_size = 1028u;
    g.pkg_size = 4u;
    g.chunks = 1u;
    assert_int_equal(ota_pkg_check_chunk(&g, 0u, pkg, 4u, &off, &n), OTA_ERR_RANGE);
}

static void test_raw_chunks(void **state)
{
    ota_pkg_geom_t g;
    uint8_t rebuilt[sizeof image];
    uint32_t k;
    uint32_t pos = 0u;

    (void)state;
    fill_image();
    assert_int_equal(ota_pkg_geometry(OTA_PKG_RAW, 5000u, 768u, &g), OTA_OK);
    assert_int_equal(g.chunks, 7u);
    for (k = 0u; k < g.chunks; k++) {
        uint32_t off;
        uint32_t n;
        uint32_t len = ota_pkg_chunk_len(&g, k);
        assert_int_equal(len, (k < 6u) ? 768u : 5000u - 6u * 768u);
        assert_int_equal(ota_pkg_check_chunk(&g, k, &image[pos], len, &off, &n), OTA_OK);
        assert_int_equal(off, pos);
        assert_int_equal(n, len);
        memcpy(&rebuilt[off], &image[pos], n);
        pos += len;
        assert_int_equal(ota_pkg_check_chunk(&g, k, &image[0], len + 1u, &off, &n), OTA_ERR_RANGE);
        assert_int_equal(ota_pkg_check_chunk(&g, k, &image[0], len - 1u, &off, &n), OTA_ERR_RANGE);
    }
    assert_int_equal(pos, 5000u);
    assert_memory_equal(rebuilt, image, 5000u);
    assert_int_equal(ota_pkg_check_chunk(&g, 7u, image, 768u, &(uint32_t){ 0 }, &(uint32_t){ 0 }),
                     OTA_ERR_PARAM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry_2000),
        cmocka_unit_test(test_geometry_dragino_sizes),
        cmocka_unit_test(test_geometry_refused),
        cmocka_unit_test(test_dragino_size),
        cmocka_unit_test(test_geometry_raw),
        cmocka_unit_test(test_dragino_chunks_good),
        cmocka_unit_test(test_dragino_exact_multiple),
        cmocka_unit_test(test_dragino_bit_flips),
        cmocka_unit_test(test_wrong_lengths_and_params),
        cmocka_unit_test(test_raw_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
