/*
 * ota_settings.c - the settings record, kept in two copies (A, B).
 *
 * Serialized layout of one copy (little-endian, field by field):
 *
 *   magic "CSET" (4) | layout version (2) | flags (1) | reserved 0 (1) |
 *   sequence (4) | host | client_id | username | password | title | version
 *   (each its full NUL-padded array) | port (2) | CRC-32 of all before (4)
 *
 * Layout 2 (written by this code) defines flags bit 0 = upgrade requested.
 * Layout 1 had the same size and offsets with the flags byte reserved as
 * zero, so a layout-1 record is read with the flag false (migration), and
 * the next save writes layout 2 into the other copy: the usual two-copy
 * rule keeps that first layout-2 save power-cut safe too. Layouts above 2
 * are not understood and count as invalid.
 *
 * A copy whose bytes are all 0x00 or all 0xFF is blank (never written);
 * a load with no valid copy says NOT_FOUND when both are blank and
 * CHECKSUM otherwise, so a corrupted store is never mistaken for a new one.
 *
 * A save writes the copy that does not hold the newest valid record, with
 * sequence + 1, then reads it back and checks it (CRC, layout, sequence).
 * A power cut during the write leaves a copy whose CRC fails, so a load
 * still finds the previous record. Sequence
 * numbers are compared as serial numbers, so wrapping at 2^32 is harmless.
 *
 * The password is data like every other field: nothing here logs it, and
 * the record buffer is wiped before returning.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "cellota/ota_crc32.h"
#include "cellota/ota_settings.h"

#define SET_LAYOUT 2u    /* written */
#define SET_LAYOUT_V1 1u /* still read */
#define FLAG_UPGRADE 0x01u

#define HOST_LEN (OTA_CFG_HOST_MAX + 1u)
#define CRED_LEN (OTA_CFG_CRED_MAX + 1u)
#define TITLE_LEN (OTA_CFG_TITLE_MAX + 1u)
#define VER_LEN (OTA_CFG_VERSION_MAX + 1u)

#define OFF_MAGIC 0u
#define OFF_LAYOUT 4u
#define OFF_FLAGS 6u
#define OFF_RESERVED 7u
#define OFF_SEQ 8u
#define OFF_HOST 12u
#define OFF_CLIENT (OFF_HOST + HOST_LEN)
#define OFF_USER (OFF_CLIENT + CRED_LEN)
#define OFF_PASS (OFF_USER + CRED_LEN)
#define OFF_TITLE (OFF_PASS + CRED_LEN)
#define OFF_VER (OFF_TITLE + TITLE_LEN)
#define OFF_PORT (OFF_VER + VER_LEN)
#define OFF_CRC (OFF_PORT + 2u)
#define REC_SIZE (OFF_CRC + 4u)

/* The public size macro must describe exactly this layout. */
typedef char ota_settings_size_check[(REC_SIZE == OTA_SETTINGS_RECORD_SIZE) ? 1 : -1];

/* Where one string field of ota_settings_t goes in the record. */
typedef struct {
    size_t member; /* offsetof in ota_settings_t */
    uint16_t off;  /* offset in the record */
    uint16_t len;  /* array length, NUL included */
} field_t;

static const uint8_t set_magic[4] = { 'C', 'S', 'E', 'T' };

static const field_t set_fields[] = {
    { offsetof(ota_settings_t, host), (uint16_t)OFF_HOST, (uint16_t)HOST_LEN },
    { offsetof(ota_settings_t, client_id), (uint16_t)OFF_CLIENT, (uint16_t)CRED_LEN },
    { offsetof(ota_settings_t, username), (uint16_t)OFF_USER, (uint16_t)CRED_LEN },
    { offsetof(ota_settings_t, password), (uint16_t)OFF_PASS, (uint16_t)CRED_LEN },
    { offsetof(ota_settings_t, title), (uint16_t)OFF_TITLE, (uint16_t)TITLE_LEN },
    { offsetof(ota_settings_t, version), (uint16_t)OFF_VER, (uint16_t)VER_LEN },
};

#define FIELD_COUNT (sizeof set_fields / sizeof set_fields[0])

/* One copy as found in the store. */
typedef struct {
    bool valid;
    bool blank;
    uint32_t seq;
} copy_t;

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;

    while (n > 0u) {
        *v++ = 0u;
        n--;
    }
}

/* Serial-number order: is a newer than b? */
static bool seq_newer(uint32_t a, uint32_t b)
{
    uint32_t d = a - b;

    return d != 0u && d < 0x80000000u;
}

static bool terminated(const char *s, size_t len)
{
    return memchr(s, '\0', len) != NULL;
}

static bool store_ok(const ota_store_t *store)
{
    return store != NULL && store->read != NULL && store->write != NULL &&
           store->size >= 2u * REC_SIZE;
}

static void copy_string(char *dst, size_t cap, const char *src)
{
    size_t n = (src != NULL) ? strlen(src) : cap;

    dst[0] = '\0';
    if (n < cap) {
        memcpy(dst, src, n + 1u);
    }
}

void ota_settings_defaults(ota_settings_t *s, const char *fw_title, const char *fw_version)
{
    if (s == NULL) {
        return;
    }
    memset(s, 0, sizeof *s);
    s->port = 1883u;
    s->upgrade_pending = false;
    copy_string(s->title, sizeof s->title, fw_title);
    copy_string(s->version, sizeof s->version, fw_version);
}

/* ------------------------------------------------------------------------ */
/* Record <-> settings                                                      */
/* ------------------------------------------------------------------------ */

static void encode(const ota_settings_t *s, uint32_t seq, uint8_t rec[REC_SIZE])
{
    const uint8_t *base = (const uint8_t *)s;
    size_t i;

    memset(rec, 0, REC_SIZE);
    memcpy(&rec[OFF_MAGIC], set_magic, sizeof set_magic);
    rec[OFF_LAYOUT] = (uint8_t)SET_LAYOUT;
    rec[OFF_FLAGS] = s->upgrade_pending ? (uint8_t)FLAG_UPGRADE : 0u;
    put_le32(&rec[OFF_SEQ], seq);
    for (i = 0u; i < FIELD_COUNT; i++) {
        const char *src = (const char *)(base + set_fields[i].member);
        memcpy(&rec[set_fields[i].off], src, strlen(src) + 1u); /* fits: checked by the caller */
    }
    rec[OFF_PORT] = (uint8_t)s->port;
    rec[OFF_PORT + 1u] = (uint8_t)(s->port >> 8);
    put_le32(&rec[OFF_CRC], ota_crc32(0u, rec, OFF_CRC));
}

/* A copy is valid when its CRC, magic, layout (1 or 2), strings and port are. */
static bool record_valid(const uint8_t rec[REC_SIZE])
{
    size_t i;

    if (ota_crc32(0u, rec, OFF_CRC) != get_le32(&rec[OFF_CRC]) ||
        memcmp(&rec[OFF_MAGIC], set_magic, sizeof set_magic) != 0 ||
        (rec[OFF_LAYOUT] != SET_LAYOUT && rec[OFF_LAYOUT] != SET_LAYOUT_V1) ||
        rec[OFF_LAYOUT + 1u] != 0u) {
        return false;
    }
    for (i = 0u; i < FIELD_COUNT; i++) {
        if (memchr(&rec[set_fields[i].off], 0, set_fields[i].len) == NULL) {
            return false;
        }
    }
    return rec[OFF_PORT] != 0u || rec[OFF_PORT + 1u] != 0u;
}

static void decode(const uint8_t rec[REC_SIZE], ota_settings_t *s)
{
    uint8_t *base = (uint8_t *)s;
    size_t i;

    memset(s, 0, sizeof *s);
    for (i = 0u; i < FIELD_COUNT; i++) {
        memcpy(base + set_fields[i].member, &rec[set_fields[i].off], set_fields[i].len);
    }
    s->port = (uint16_t)((uint16_t)rec[OFF_PORT] | (uint16_t)((uint16_t)rec[OFF_PORT + 1u] << 8));
    /* Layout 1 reserved the flags byte: the flag reads as false. */
    s->upgrade_pending = rec[OFF_LAYOUT] >= SET_LAYOUT && (rec[OFF_FLAGS] & FLAG_UPGRADE) != 0u;
}

/* Never written: every byte 0x00 (erased EEPROM) or every byte 0xFF. */
static bool record_blank(const uint8_t rec[REC_SIZE])
{
    size_t i;

    if (rec[0] != 0x00u && rec[0] != 0xFFu) {
        return false;
    }
    for (i = 1u; i < REC_SIZE; i++) {
        if (rec[i] != rec[0]) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Store access                                                             */
/* ------------------------------------------------------------------------ */

static uint32_t copy_offset(unsigned idx)
{
    return (idx == 0u) ? 0u : REC_SIZE;
}

/* Read copy idx into rec and judge it. */
static ota_status_t read_copy(const ota_store_t *store, unsigned idx, uint8_t rec[REC_SIZE],
                              copy_t *c)
{
    c->valid = false;
    c->blank = false;
    c->seq = 0u;
    if (store->read(store->ctx, copy_offset(idx), rec, REC_SIZE) != 0) {
        return OTA_ERR_PORT;
    }
    c->valid = record_valid(rec);
    c->blank = !c->valid && record_blank(rec);
    c->seq = get_le32(&rec[OFF_SEQ]);
    return OTA_OK;
}

/* Index of the newest valid copy, or -1 if neither is valid. */
static int newest(const copy_t c[2])
{
    if (c[0].valid && (!c[1].valid || !seq_newer(c[1].seq, c[0].seq))) {
        return 0;
    }
    return c[1].valid ? 1 : -1;
}

/* Read both copies; rec ends up holding copy B. */
static ota_status_t scan_copies(const ota_store_t *store, uint8_t rec[REC_SIZE], copy_t c[2])
{
    ota_status_t st = read_copy(store, 0u, rec, &c[0]);

    return (st == OTA_OK) ? read_copy(store, 1u, rec, &c[1]) : st;
}

static ota_status_t load_newest(const ota_store_t *store, uint8_t rec[REC_SIZE], ota_settings_t *s)
{
    copy_t c[2];
    copy_t again;
    int idx;
    ota_status_t st = scan_copies(store, rec, c);

    if (st != OTA_OK) {
        return st;
    }
    idx = newest(c);
    if (idx < 0) {
        return (c[0].blank && c[1].blank) ? OTA_ERR_NOT_FOUND : OTA_ERR_CHECKSUM;
    }
    if (idx == 0) { /* rec holds B: read A again and re-check it */
        st = read_copy(store, 0u, rec, &again);
        if (st != OTA_OK) {
            return st;
        }
        if (!again.valid) {
            return OTA_ERR_CHECKSUM; /* A changed between the two reads */
        }
    }
    decode(rec, s);
    return OTA_OK;
}

ota_status_t ota_settings_load(const ota_store_t *store, ota_settings_t *s)
{
    uint8_t rec[REC_SIZE];
    ota_status_t st;

    if (s == NULL || !store_ok(store)) {
        return OTA_ERR_PARAM;
    }
    st = load_newest(store, rec, s);
    wipe(rec, sizeof rec);
    return st;
}

static ota_status_t save_record(const ota_store_t *store, const ota_settings_t *s,
                                uint8_t rec[REC_SIZE])
{
    copy_t c[2];
    int idx;
    unsigned target;
    uint32_t seq;
    ota_status_t st = scan_copies(store, rec, c);

    if (st != OTA_OK) {
        return st;
    }
    idx = newest(c);
    target = (idx == 0) ? 1u : 0u;
    seq = (idx < 0) ? 1u : c[idx].seq + 1u;
    encode(s, seq, rec);
    if (store->write(store->ctx, copy_offset(target), rec, REC_SIZE) != 0) {
        return OTA_ERR_PORT;
    }
    /* Read back: the copy must now be valid, with the new sequence number. */
    st = read_copy(store, target, rec, &c[0]);
    if (st == OTA_OK && (!c[0].valid || c[0].seq != seq)) {
        st = OTA_ERR_PORT;
    }
    return st;
}

ota_status_t ota_settings_save(const ota_store_t *store, const ota_settings_t *s)
{
    uint8_t rec[REC_SIZE];
    size_t i;
    ota_status_t st;

    if (s == NULL || !store_ok(store) || s->port == 0u) {
        return OTA_ERR_PARAM;
    }
    for (i = 0u; i < FIELD_COUNT; i++) {
        if (!terminated((const char *)s + set_fields[i].member, set_fields[i].len)) {
            return OTA_ERR_PARAM;
        }
    }
    st = save_record(store, s, rec);
    wipe(rec, sizeof rec);
    return st;
}
