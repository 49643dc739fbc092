/*
 * test_settings.c - settings record: round trip, two copies, power cuts at
 * every byte of a save, corruption fallback (said as CHECKSUM, blank as
 * NOT_FOUND), sequence wrap, and the layout-1 -> layout-2 migration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cellota/ota_crc32.h"
#include "cellota/ota_settings.h"
#include "fake_store.h"
#include "settings_check.h"

#define REC OTA_SETTINGS_RECORD_SIZE
#define OFF_SEQ 8u
#define OFF_CRC (REC - 4u)

static fake_store_t fs;
static ota_store_t store;

static int setup(void **state)
{
    (void)state;
    if (fake_store_init(&fs, 1024u, 0x00u) != 0) {
        return -1;
    }
    fake_store_port(&fs, &store);
    return 0;
}

static ota_settings_t make(int variant)
{
    ota_settings_t s;

    ota_settings_defaults(&s, "s31-nb", "v1.5.0");
    if (variant == 1) {
        strcpy(s.host, "thingseye.io");
        s.port = 1885u;
        strcpy(s.client_id, "client-1");
        strcpy(s.username, "A1_TEST_TOKEN");
        strcpy(s.password, "p@ss w0rd;\"\\");
    } else if (variant == 2) {
        strcpy(s.host, "192.168.1.20");
        s.port = 65535u;
        strcpy(s.client_id, "c2");
        strcpy(s.username, "token-two");
        strcpy(s.version, "v1.6.0");
        s.upgrade_pending = true;
    } else if (variant == 3) {
        memset(s.host, 'h', OTA_CFG_HOST_MAX);
        memset(s.client_id, 'c', OTA_CFG_CRED_MAX);
        memset(s.username, 'u', OTA_CFG_CRED_MAX);
        memset(s.password, 'p', OTA_CFG_CRED_MAX);
        memset(s.title, 't', OTA_CFG_TITLE_MAX);
        memset(s.version, 'v', OTA_CFG_VERSION_MAX);
        s.port = 1u;
        s.upgrade_pending = true;
    }
    return s;
}

static uint32_t seq_of(unsigned copy)
{
    const uint8_t *p = &fs.mem[copy * REC + OFF_SEQ];

    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Rewrite a copy's sequence number and fix its CRC. */
static void set_seq(unsigned copy, uint32_t seq)
{
    uint8_t *rec = &fs.mem[copy * REC];
    uint32_t crc;

    rec[OFF_SEQ] = (uint8_t)seq;
    rec[OFF_SEQ + 1u] = (uint8_t)(seq >> 8);
    rec[OFF_SEQ + 2u] = (uint8_t)(seq >> 16);
    rec[OFF_SEQ + 3u] = (uint8_t)(seq >> 24);
    crc = ota_crc32(0u, rec, OFF_CRC);
    rec[OFF_CRC] = (uint8_t)crc;
    rec[OFF_CRC + 1u] = (uint8_t)(crc >> 8);
    rec[OFF_CRC + 2u] = (uint8_t)(crc >> 16);
    rec[OFF_CRC + 3u] = (uint8_t)(crc >> 24);
}

/* ------------------------------------------------------------------------ */

static void test_record_size(void **state)
{
    (void)state;
    /* magic 4 + layout 2 + reserved 2 + seq 4 + host 64 + 3 * 64 + title 33 + version 33
     * + port 2 + CRC 4 with the default configuration. */
    assert_int_equal(OTA_SETTINGS_RECORD_SIZE, 340u);
}

static void test_defaults(void **state)
{
    ota_settings_t s;
    char long_title[OTA_CFG_TITLE_MAX + 2u];

    (void)state;
    memset(&s, 0x55, sizeof s);
    ota_settings_defaults(&s, "s31-nb", "v1.5.0");
    assert_int_equal(s.port, 1883u);
    assert_string_equal(s.host, "");
    assert_string_equal(s.client_id, "");
    assert_string_equal(s.username, "");
    assert_string_equal(s.password, "");
    assert_string_equal(s.title, "s31-nb");
    assert_string_equal(s.version, "v1.5.0");
    assert_false(s.upgrade_pending);
    ota_settings_defaults(&s, NULL, NULL);
    assert_string_equal(s.title, "");
    assert_string_equal(s.version, "");
    memset(long_title, 'x', sizeof long_title - 1u);
    long_title[sizeof long_title - 1u] = '\0'; /* one char too long */
    ota_settings_defaults(&s, long_title, "v");
    assert_string_equal(s.title, "");
    assert_string_equal(s.version, "v");
    long_title[sizeof long_title - 2u] = '\0'; /* exactly the maximum */
    ota_settings_defaults(&s, long_title, "v");
    assert_int_equal(strlen(s.title), OTA_CFG_TITLE_MAX);
    ota_settings_defaults(NULL, "a", "b"); /* must not crash */
}

static void test_blank_store(void **state)
{
    ota_settings_t s = make(1);
    ota_settings_t before = s;

    (void)state;
    assert_int_equal(ota_settings_load(&store, &s), OTA_ERR_NOT_FOUND);
    assert_memory_equal(&s, &before, sizeof s); /* untouched */
    memset(fs.mem, 0xFF, sizeof fs.mem);
    assert_int_equal(ota_settings_load(&store, &s), OTA_ERR_NOT_FOUND);
    assert_memory_equal(&s, &before, sizeof s);
    /* One byte that is not blank: data, but no valid copy = corrupted. */
    fs.mem[2u * REC - 1u] = 0x00u;
    assert_int_equal(ota_settings_load(&store, &s), OTA_ERR_CHECKSUM);
    assert_memory_equal(&s, &before, sizeof s);
    memset(fs.mem, 0x00, sizeof fs.mem);
    fs.mem[7] = 0xFFu;
    assert_int_equal(ota_settings_load(&store, &s), OTA_ERR_CHECKSUM);
    assert_memory_equal(&s, &before, sizeof s);
}

static void test_round_trip(void **state)
{
    int v;

    (void)state;
    for (v = 0; v <= 3; v++) {
        ota_settings_t in = make(v);
        ota_settings_t out;
        memset(&out, 0x77, sizeof out);
        assert_int_equal(ota_settings_save(&store, &in), OTA_OK);
        assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
        assert_settings_equal(&out, &in);
    }
}

static void test_layout_and_alternation(void **state)
{
    ota_settings_t a = make(1);
    ota_settings_t b = make(2);
    ota_settings_t out;

    (void)state;
    assert_int_equal(ota_settings_save(&store, &a), OTA_OK);
    assert_memory_equal(&fs.mem[0], "CSET", 4u);
    assert_int_equal(fs.mem[4], 2u); /* layout 2 */
    assert_int_equal(fs.mem[5], 0u);
    assert_int_equal(fs.mem[6], 0u); /* flags: no upgrade pending */
    assert_int_equal(fs.mem[7], 0u);
    assert_int_equal(seq_of(0u), 1u);
    assert_memory_equal(&fs.mem[12], "thingseye.io", 13u);
    assert_int_equal(fs.mem[REC - 6u], 1885u & 0xFFu);
    assert_int_equal(fs.mem[REC - 5u], 1885u >> 8);
    assert_int_equal(fs.mem[REC], 0u); /* copy B still blank */

    assert_int_equal(ota_settings_save(&store, &b), OTA_OK);
    assert_memory_equal(&fs.mem[REC], "CSET", 4u);
    assert_int_equal(fs.mem[REC + 6u], 1u); /* b has an upgrade pending */
    assert_int_equal(seq_of(1u), 2u);
    assert_int_equal(seq_of(0u), 1u); /* A untouched */
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &b);

    assert_int_equal(ota_settings_save(&store, &a), OTA_OK);
    assert_int_equal(seq_of(0u), 3u);
    assert_int_equal(seq_of(1u), 2u);
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &a);
    /* Nothing written past the two copies. */
    assert_int_equal(fs.mem[2u * REC], 0u);
}

/* Cut the save of `next` after every byte count, starting from the store
 * state `start`; the load must give `old_s` (or NOT_FOUND if have_old is
 * false) until the whole record landed, then `next`. */
static void cut_every_byte(const fake_store_t *start, const ota_settings_t *old_s, bool have_old,
                           const ota_settings_t *next)
{
    uint32_t n;

    for (n = 0u; n <= REC; n++) {
        ota_settings_t out;
        ota_status_t st;

        memcpy(&fs, start, sizeof fs);
        fake_store_cut_after(&fs, n);
        st = ota_settings_save(&store, next);
        fake_store_power_on(&fs);
        memset(&out, 0, sizeof out);
        if (n < REC) {
            assert_int_equal(st, OTA_ERR_PORT);
            if (have_old && old_s != NULL) {
                assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
                assert_settings_equal(&out, old_s);
            } else {
                /* Nothing landed: blank; some bytes landed: says corrupted. */
                assert_int_equal(ota_settings_load(&store, &out),
                                 n == 0u ? OTA_ERR_NOT_FOUND : OTA_ERR_CHECKSUM);
            }
        } else {
            assert_int_equal(st, OTA_OK);
            assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
            assert_settings_equal(&out, next);
        }
    }
}

static void test_power_cut_every_byte(void **state)
{
    static fake_store_t start;
    ota_settings_t s1 = make(1);
    ota_settings_t s2 = make(2);
    ota_settings_t s3 = make(3);

    (void)state;
    /* First save ever: before it completes there is nothing to find. */
    memcpy(&start, &fs, sizeof start);
    cut_every_byte(&start, NULL, false, &s1);

    /* One copy valid (A); the save goes to B. */
    assert_int_equal(fake_store_init(&fs, 1024u, 0x00u), 0);
    assert_int_equal(ota_settings_save(&store, &s1), OTA_OK);
    memcpy(&start, &fs, sizeof start);
    cut_every_byte(&start, &s1, true, &s2);
    memcpy(&fs, &start, sizeof fs);

    /* Both copies valid (A older); the save overwrites A. */
    assert_int_equal(ota_settings_save(&store, &s2), OTA_OK);
    memcpy(&start, &fs, sizeof start);
    cut_every_byte(&start, &s2, true, &s3);
    memcpy(&fs, &start, sizeof fs);

    /* Both valid, B older. */
    assert_int_equal(ota_settings_save(&store, &s3), OTA_OK);
    assert_int_equal(seq_of(0u), 3u);
    memcpy(&start, &fs, sizeof start);
    cut_every_byte(&start, &s3, true, &s1);
}

/* A chain of saves, each cut somewhere, with a complete save in between:
 * once one save succeeded, a load never fails and never mixes. */
static void test_power_cut_chain(void **state)
{
    ota_settings_t v[3];
    int last = 0;
    uint32_t seed = 99u;
    int i;

    (void)state;
    v[0] = make(1);
    v[1] = make(2);
    v[2] = make(3);
    assert_int_equal(ota_settings_save(&store, &v[0]), OTA_OK);
    for (i = 0; i < 300; i++) {
        int next = (last + 1 + i % 2) % 3;
        ota_settings_t out;
        seed = seed * 1103515245u + 12345u;
        if (i % 3 != 2) {
            fake_store_cut_after(&fs, (seed >> 8) % REC);
            assert_int_equal(ota_settings_save(&store, &v[next]), OTA_ERR_PORT);
            fake_store_power_on(&fs);
        } else {
            assert_int_equal(ota_settings_save(&store, &v[next]), OTA_OK);
            last = next;
        }
        assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
        assert_settings_equal(&out, &v[last]);
    }
}

static void test_corrupt_newest_falls_back(void **state)
{
    ota_settings_t s1 = make(1);
    ota_settings_t s2 = make(2);
    ota_settings_t s3 = make(3);
    ota_settings_t out;
    uint32_t i;

    (void)state;
    assert_int_equal(ota_settings_save(&store, &s1), OTA_OK); /* A, seq 1 */
    assert_int_equal(ota_settings_save(&store, &s2), OTA_OK); /* B, seq 2 */
    /* Any single-bit flip in B makes the load fall back to A. */
    for (i = 0u; i < REC * 8u; i += 3u) {
        fs.mem[REC + i / 8u] ^= (uint8_t)(1u << (i % 8u));
        assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
        assert_settings_equal(&out, &s1);
        fs.mem[REC + i / 8u] ^= (uint8_t)(1u << (i % 8u));
    }
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &s2);

    fs.mem[REC + 20u] ^= 0x01u;                               /* B corrupt */
    assert_int_equal(ota_settings_save(&store, &s3), OTA_OK); /* rewrites B */
    assert_int_equal(seq_of(1u), 2u);
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &s3);

    fs.mem[5u] ^= 0x80u; /* A corrupt as well: B still loads */
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &s3);
    fs.mem[REC + 300u] ^= 0x10u; /* both corrupt */
    memset(&out, 0x33, sizeof out);
    assert_int_equal(ota_settings_load(&store, &out), OTA_ERR_CHECKSUM);
    assert_int_equal((unsigned char)out.host[0], 0x33u);
}

static void test_sequence_wrap(void **state)
{
    ota_settings_t s1 = make(1);
    ota_settings_t s2 = make(2);
    ota_settings_t s3 = make(3);
    ota_settings_t out;

    (void)state;
    assert_int_equal(ota_settings_save(&store, &s1), OTA_OK);
    set_seq(0u, 0xFFFFFFFEu);
    assert_int_equal(ota_settings_save(&store, &s2), OTA_OK);
    assert_int_equal(seq_of(1u), 0xFFFFFFFFu);
    assert_int_equal(ota_settings_save(&store, &s3), OTA_OK);
    assert_int_equal(seq_of(0u), 0u); /* wrapped */
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &s3);
    assert_int_equal(ota_settings_save(&store, &s1), OTA_OK);
    assert_int_equal(seq_of(1u), 1u);
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &s1);
    /* The lower number wins when it is "after" in serial order. */
    set_seq(0u, 0x7FFFFFF0u);
    set_seq(1u, 0xFFFFFFE0u);
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &s1); /* B: 0xFFFFFFE0 is after 0x7FFFFFF0 */
    set_seq(1u, 0x00000010u);
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &s3); /* A: 0x7FFFFFF0 is after 0x10 */
}

static void test_params(void **state)
{
    ota_settings_t s = make(1);
    ota_store_t small = store;
    ota_store_t broken = store;

    (void)state;
    assert_int_equal(ota_settings_save(NULL, &s), OTA_ERR_PARAM);
    assert_int_equal(ota_settings_save(&store, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_settings_load(NULL, &s), OTA_ERR_PARAM);
    assert_int_equal(ota_settings_load(&store, NULL), OTA_ERR_PARAM);
    small.size = 2u * REC - 1u;
    assert_int_equal(ota_settings_save(&small, &s), OTA_ERR_PARAM);
    assert_int_equal(ota_settings_load(&small, &s), OTA_ERR_PARAM);
    small.size = 2u * REC;
    assert_int_equal(ota_settings_save(&small, &s), OTA_OK);
    broken.read = NULL;
    assert_int_equal(ota_settings_load(&broken, &s), OTA_ERR_PARAM);
    assert_int_equal(ota_settings_save(&broken, &s), OTA_ERR_PARAM);
    broken = store;
    broken.write = NULL;
    assert_int_equal(ota_settings_save(&broken, &s), OTA_ERR_PARAM);
    s.port = 0u;
    assert_int_equal(ota_settings_save(&store, &s), OTA_ERR_PARAM);
    s = make(1);
    memset(s.password, 'p', sizeof s.password); /* unterminated */
    assert_int_equal(ota_settings_save(&store, &s), OTA_ERR_PARAM);
    s = make(1);
    memset(s.version, 'v', sizeof s.version);
    assert_int_equal(ota_settings_save(&store, &s), OTA_ERR_PARAM);
}

static void test_port_failures(void **state)
{
    ota_settings_t s1 = make(1);
    ota_settings_t s2 = make(2);
    ota_settings_t out;
    uint32_t n;

    (void)state;
    assert_int_equal(ota_settings_save(&store, &s1), OTA_OK);
    for (n = 1u; n <= 2u; n++) { /* a save first reads copy A, then copy B */
        uint32_t writes = fs.writes;
        fs.fail_read_at = fs.reads + n;
        assert_int_equal(ota_settings_save(&store, &s2), OTA_ERR_PORT);
        assert_int_equal(fs.writes, writes); /* nothing written */
    }
    fs.fail_read_at = 0u;
    fs.fail_write_at = fs.writes + 1u;
    assert_int_equal(ota_settings_save(&store, &s2), OTA_ERR_PORT);
    fs.fail_write_at = 0u;
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &s1);
    /* The read-back fails: reported, although the record itself landed. */
    fs.fail_read_at = fs.reads + 3u;
    assert_int_equal(ota_settings_save(&store, &s2), OTA_ERR_PORT);
    fs.fail_read_at = 0u;
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &s2);
    fs.fail_read_at = fs.reads + 1u;
    assert_int_equal(ota_settings_load(&store, &out), OTA_ERR_PORT);
    fs.fail_read_at = fs.reads + 2u;
    assert_int_equal(ota_settings_load(&store, &out), OTA_ERR_PORT);
    fs.fail_read_at = 0u;
}

/* A store that loses one bit on every write: the read-back must notice. */
static int lossy_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
    int rc = fake_store_write(ctx, off, buf, len);

    if (rc == 0 && len > 0u) {
        ((fake_store_t *)ctx)->mem[off + len / 2u] ^= 0x04u;
    }
    return rc;
}

static void test_read_back_mismatch(void **state)
{
    ota_settings_t s = make(1);
    ota_store_t lossy = store;

    (void)state;
    lossy.write = lossy_write;
    assert_int_equal(ota_settings_save(&lossy, &s), OTA_ERR_PORT);
}

/* A copy with a good CRC is still refused when the high byte of its layout,
 * one of its strings or its port is wrong. */
static void test_record_fields_checked(void **state)
{
    ota_settings_t s = make(1);
    ota_settings_t out;
    int i;

    (void)state;
    for (i = 0; i < 3; i++) {
        assert_int_equal(fake_store_init(&fs, 1024u, 0x00u), 0);
        assert_int_equal(ota_settings_save(&store, &s), OTA_OK);
        if (i == 0) {
            fs.mem[5] = 1u; /* layout 257 */
        } else if (i == 1) {
            memset(&fs.mem[12], 'h', OTA_CFG_HOST_MAX + 1u); /* a host without its NUL */
        } else {
            fs.mem[REC - 6u] = 0u; /* port 0 */
            fs.mem[REC - 5u] = 0u;
        }
        set_seq(0u, 1u); /* a good CRC again */
        memset(&out, 0x33, sizeof out);
        assert_int_equal(ota_settings_load(&store, &out), OTA_ERR_CHECKSUM);
        assert_int_equal((unsigned char)out.host[0], 0x33u); /* untouched */
    }
}

/* A store whose copy B changes (to newer_seq, or corrupted when 0) just
 * before the given read. */
static uint32_t change_before_read;
static uint32_t newer_seq;

static int changing_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    if (((fake_store_t *)ctx)->reads + 1u == change_before_read) {
        if (newer_seq != 0u) {
            set_seq(1u, newer_seq);
        } else {
            fs.mem[REC + 20u] ^= 0x01u;
        }
    }
    return fake_store_read(ctx, off, buf, len);
}

/* A load reads the copy it picked once more before it decodes it: if that
 * copy changed in between (another sequence number, or no longer valid),
 * the load says so instead of returning either. */
static void test_copy_changed_between_reads(void **state)
{
    ota_settings_t s1 = make(1);
    ota_settings_t s2 = make(2);
    ota_store_t changing = store;
    ota_settings_t out;
    uint32_t seq;

    (void)state;
    changing.read = changing_read;
    for (seq = 0u; seq <= 3u; seq += 3u) {
        assert_int_equal(fake_store_init(&fs, 1024u, 0x00u), 0);
        assert_int_equal(ota_settings_save(&store, &s1), OTA_OK); /* A, seq 1 */
        assert_int_equal(ota_settings_save(&store, &s2), OTA_OK); /* B, seq 2: the newest */
        change_before_read = fs.reads + 3u; /* A, B, then B again */
        newer_seq = seq;
        memset(&out, 0x33, sizeof out);
        assert_int_equal(ota_settings_load(&changing, &out), OTA_ERR_CHECKSUM);
        assert_int_equal((unsigned char)out.host[0], 0x33u);
        change_before_read = 0u;
    }
    /* Without a change in between, the same store loads. */
    assert_int_equal(fake_store_init(&fs, 1024u, 0x00u), 0);
    assert_int_equal(ota_settings_save(&store, &s1), OTA_OK);
    assert_int_equal(ota_settings_save(&store, &s2), OTA_OK);
    assert_int_equal(ota_settings_load(&changing, &out), OTA_OK);
    assert_settings_equal(&out, &s2);
}

/* ------------------------------------------------------------------------ */
/* Layout 1 (the first release): built here byte by byte from its spec,     */
/* independently of the code under test.                                    */
/* ------------------------------------------------------------------------ */

static void put_str(uint8_t *rec, size_t *off, const char *s, size_t cap)
{
    memset(&rec[*off], 0, cap);
    memcpy(&rec[*off], s, strlen(s));
    *off += cap;
}

/* magic "CSET" | layout 1 (LE16) | reserved 0 (2) | seq (LE32) | host |
 * client id | user | password | title | version | port (LE16) | CRC-32 LE. */
static void build_v1(uint8_t *rec, const ota_settings_t *s, uint32_t seq, uint8_t reserved)
{
    size_t off = 12u;
    uint32_t crc;

    memset(rec, 0, REC);
    memcpy(rec, "CSET", 4u);
    rec[4] = 1u;
    rec[5] = 0u;
    rec[6] = reserved; /* layout 1 wrote 0; whatever is here means nothing */
    rec[7] = reserved;
    rec[8] = (uint8_t)seq;
    rec[9] = (uint8_t)(seq >> 8);
    rec[10] = (uint8_t)(seq >> 16);
    rec[11] = (uint8_t)(seq >> 24);
    put_str(rec, &off, s->host, OTA_CFG_HOST_MAX + 1u);
    put_str(rec, &off, s->client_id, OTA_CFG_CRED_MAX + 1u);
    put_str(rec, &off, s->username, OTA_CFG_CRED_MAX + 1u);
    put_str(rec, &off, s->password, OTA_CFG_CRED_MAX + 1u);
    put_str(rec, &off, s->title, OTA_CFG_TITLE_MAX + 1u);
    put_str(rec, &off, s->version, OTA_CFG_VERSION_MAX + 1u);
    rec[off] = (uint8_t)s->port;
    rec[off + 1u] = (uint8_t)(s->port >> 8);
    off += 2u;
    assert_int_equal(off, OFF_CRC);
    crc = ota_crc32(0u, rec, off);
    rec[off] = (uint8_t)crc;
    rec[off + 1u] = (uint8_t)(crc >> 8);
    rec[off + 2u] = (uint8_t)(crc >> 16);
    rec[off + 3u] = (uint8_t)(crc >> 24);
}

static void test_v1_record_loads(void **state)
{
    ota_settings_t v1 = make(1);
    ota_settings_t out;

    (void)state;
    v1.upgrade_pending = false; /* layout 1 has no such flag */
    build_v1(&fs.mem[0], &v1, 7u, 0x00u);
    memset(&out, 0x55, sizeof out);
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &v1);
    /* The reserved bytes of layout 1 are not read as the new flag. */
    build_v1(&fs.mem[REC], &v1, 8u, 0xFFu);
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_false(out.upgrade_pending);
    assert_string_equal(out.host, "thingseye.io");
}

static void test_v1_migrates_on_save(void **state)
{
    ota_settings_t v1 = make(1);
    ota_settings_t next;
    ota_settings_t out;

    (void)state;
    v1.upgrade_pending = false;
    build_v1(&fs.mem[0], &v1, 41u, 0x00u);
    assert_int_equal(ota_settings_load(&store, &next), OTA_OK);
    next.upgrade_pending = true;
    strcpy(next.version, "v9.9.9");
    assert_int_equal(ota_settings_save(&store, &next), OTA_OK);
    /* Layout 2 went to copy B with sequence 42; the layout-1 copy A stays. */
    assert_int_equal(fs.mem[REC + 4u], 2u);
    assert_int_equal(fs.mem[REC + 6u], 1u);
    assert_int_equal(seq_of(1u), 42u);
    assert_int_equal(fs.mem[4], 1u);
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &next);
    /* The next save overwrites the layout-1 copy. */
    next.upgrade_pending = false;
    assert_int_equal(ota_settings_save(&store, &next), OTA_OK);
    assert_int_equal(fs.mem[4], 2u);
    assert_int_equal(seq_of(0u), 43u);
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &next);
}

/* The first layout-2 save over a layout-1 store, cut at every byte: the
 * layout-1 settings (flag false) or the new ones, never a mix or nothing. */
static void test_v1_migration_power_cut(void **state)
{
    static fake_store_t start;
    ota_settings_t v1 = make(2);
    ota_settings_t next = make(1);

    (void)state;
    v1.upgrade_pending = false;
    next.upgrade_pending = true;
    build_v1(&fs.mem[0], &v1, 5u, 0x00u);
    memcpy(&start, &fs, sizeof start);
    cut_every_byte(&start, &v1, true, &next);
    /* Newest layout-1 copy in B: the save goes to A. */
    assert_int_equal(fake_store_init(&fs, 1024u, 0x00u), 0);
    build_v1(&fs.mem[0], &next, 5u, 0x00u);
    build_v1(&fs.mem[REC], &v1, 6u, 0x00u);
    memcpy(&start, &fs, sizeof start);
    next.upgrade_pending = true;
    cut_every_byte(&start, &v1, true, &next);
}

static void test_unknown_layout_is_not_read(void **state)
{
    ota_settings_t s = make(1);
    ota_settings_t out;

    (void)state;
    assert_int_equal(ota_settings_save(&store, &s), OTA_OK);
    fs.mem[4] = 3u; /* a newer layout, CRC fixed: still not understood */
    set_seq(0u, 1u);
    assert_int_equal(ota_settings_load(&store, &out), OTA_ERR_CHECKSUM);
    fs.mem[4] = 0u;
    set_seq(0u, 1u);
    assert_int_equal(ota_settings_load(&store, &out), OTA_ERR_CHECKSUM);
    fs.mem[4] = 2u;
    set_seq(0u, 1u);
    assert_int_equal(ota_settings_load(&store, &out), OTA_OK);
    assert_settings_equal(&out, &s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_record_size, setup),
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test_setup(test_blank_store, setup),
        cmocka_unit_test_setup(test_round_trip, setup),
        cmocka_unit_test_setup(test_layout_and_alternation, setup),
        cmocka_unit_test_setup(test_power_cut_every_byte, setup),
        cmocka_unit_test_setup(test_power_cut_chain, setup),
        cmocka_unit_test_setup(test_corrupt_newest_falls_back, setup),
        cmocka_unit_test_setup(test_sequence_wrap, setup),
        cmocka_unit_test_setup(test_params, setup),
        cmocka_unit_test_setup(test_port_failures, setup),
        cmocka_unit_test_setup(test_read_back_mismatch, setup),
        cmocka_unit_test_setup(test_record_fields_checked, setup),
        cmocka_unit_test_setup(test_copy_changed_between_reads, setup),
        cmocka_unit_test_setup(test_v1_record_loads, setup),
        cmocka_unit_test_setup(test_v1_migrates_on_save, setup),
        cmocka_unit_test_setup(test_v1_migration_power_cut, setup),
        cmocka_unit_test_setup(test_unknown_layout_is_not_read, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
