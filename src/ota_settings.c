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

#define SET_MAGIC 0x54455343u /* "CSET" read as a little-endian number */
#define SET_LAYOUT 2u /* written; layout 1 is still read */
#define FLAG_UPGRADE 0x01u

#define HOST_LEN (OTA_CFG_HOST_MAX + 1u)
#define CRED_LEN (OTA_CFG_CRED_MAX + 1u)
#define TITLE_LEN (OTA_CFG_TITLE_MAX + 1u)
#define VER_LEN (OTA_CFG_VERSION_MAX + 1u)

#define OFF_LAYOUT 4u
#define OFF_FLAGS 6u
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

/* The CRC-32 (zlib) of a record followed by its own CRC, little-endian, is
 * this constant whatever the record: checking it is the same as comparing
 * the CRC of the bytes before OFF_CRC with the stored one. */
#define CRC_RESIDUE 0x2144DF1Cu

/* The public size macro must describe exactly this layout. */
typedef char ota_settings_size_check[(REC_SIZE == OTA_SETTINGS_RECORD_SIZE) ? 1 : -1];

/* Where each string field is: field_at[0] in ota_settings_t, field_at[1]
 * in the record; field_len: its array length, NUL included. */
#define SIDE_SETTINGS 0u
#define SIDE_RECORD 1u

static const uint16_t field_at[2][6] = {
    {offsetof(ota_settings_t, host), offsetof(ota_settings_t, client_id),
     offsetof(ota_settings_t, username), offsetof(ota_settings_t, password),
     offsetof(ota_settings_t, title), offsetof(ota_settings_t, version)},
    {OFF_HOST, OFF_CLIENT, OFF_USER, OFF_PASS, OFF_TITLE, OFF_VER},
};

static const uint16_t field_len[6] = {HOST_LEN, CRED_LEN, CRED_LEN, CRED_LEN, TITLE_LEN, VER_LEN};

#define FIELD_COUNT (sizeof field_len / sizeof field_len[0])

/* What a copy holds. */
enum { COPY_DATA, COPY_BLANK, COPY_VALID };

/* One copy as found in the store. */
typedef struct {
    uint8_t what; /* COPY_* */
    uint32_t seq;
} copy_t;

static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v = 0u;
    unsigned i = 4u;

    while (i > 0u) {
        i--;
        v = (v << 8) | p[i];
    }
    return v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    unsigned i;

    for (i = 0u; i < 4u; i++) {
        p[i] = (uint8_t)(v >> (8u * i));
    }
}

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;

    while (n > 0u) {
        *v++ = 0u;
        n--;
    }
}

static bool store_ok(const ota_store_t *store)
{
    return store != NULL && store->read != NULL && store->write != NULL &&
           store->size >= 2u * REC_SIZE;
}

/* Do the strings of src (side `side` ^ 1) all end within their arrays? If
 * so and dst (side `side`, zeroed before) is not NULL, copy them into dst. */
static bool strings(uint8_t *dst, unsigned side, const uint8_t *src)
{
    const uint16_t *to = field_at[side];
    const uint16_t *from = field_at[side ^ 1u];
    size_t i;

    for (i = 0u; i < FIELD_COUNT; i++) {
        const char *s = (const char *)src + from[i];
        if (memchr(s, 0, field_len[i]) == NULL) {
            return false;
        }
        if (dst != NULL) {
            memcpy(dst + to[i], s, strlen(s) + 1u);
        }
    }
    return true;
}

static void copy_string(char *dst, size_t cap, const char *src)
{
    size_t n = (src != NULL) ? strlen(src) : cap;

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
    copy_string(s->title, sizeof s->title, fw_title);
    copy_string(s->version, sizeof s->version, fw_version);
}

/* ------------------------------------------------------------------------ */
/* Store access                                                             */
/* ------------------------------------------------------------------------ */

/* Read copy idx into rec and judge it: valid when its CRC, magic, layout
 * (1 or 2), strings and port are; blank when all 0x00 or all 0xFF. */
static ota_status_t read_copy(const ota_store_t *store, unsigned idx, uint8_t rec[REC_SIZE],
                              copy_t *c)
{
    if (store->read(store->ctx, idx * REC_SIZE, rec, REC_SIZE) != 0) {
        return OTA_ERR_PORT;
    }
    c->seq = get_le32(&rec[OFF_SEQ]);
    c->what = COPY_DATA;
    if (ota_crc32(0u, rec, REC_SIZE) == CRC_RESIDUE && get_le32(rec) == SET_MAGIC &&
        (unsigned)(rec[OFF_LAYOUT] - 1u) < SET_LAYOUT && rec[OFF_LAYOUT + 1u] == 0u &&
        strings(NULL, SIDE_SETTINGS, rec) && (rec[OFF_PORT] | rec[OFF_PORT + 1u]) != 0u) {
        c->what = COPY_VALID;
    } else if ((uint8_t)(rec[0] + 1u) <= 1u && memcmp(rec, rec + 1, REC_SIZE - 1u) == 0) {
        c->what = COPY_BLANK; /* every byte 0x00, or every byte 0xFF */
    }
    return OTA_OK;
}

/* Read both copies (rec ends up holding B) and find the newest valid one:
 * OTA_OK with its index in *target and its sequence number in *seq. When
 * neither is valid: OTA_ERR_NOT_FOUND if both are blank, else
 * OTA_ERR_CHECKSUM, with *target 1 and *seq 0 (so that a save writes A,
 * with sequence number 1). OTA_ERR_PORT if a read failed. */
static ota_status_t find_newest(const ota_store_t *store, uint8_t rec[REC_SIZE], unsigned *target,
                                uint32_t *seq)
{
    copy_t c[2];
    unsigned t = 0u;
    ota_status_t st = read_copy(store, 0u, rec, &c[0]);

    if (st == OTA_OK) {
        st = read_copy(store, 1u, rec, &c[1]);
    }
    if (st != OTA_OK) {
        return st;
    }
    /* B if A is not valid or B is newer in serial-number order (wrapping at
     * 2^32 is harmless), else A. */
    if (c[1].what == COPY_VALID &&
        (c[0].what != COPY_VALID || (c[1].seq - c[0].seq - 1u) < 0x7FFFFFFFu)) {
        t = 1u;
    }
    if (c[t].what != COPY_VALID) {
        *target = 1u;
        *seq = 0u;
        return (c[0].what == COPY_BLANK && c[1].what == COPY_BLANK) ? OTA_ERR_NOT_FOUND
                                                                  : OTA_ERR_CHECKSUM;
    }
    *target = t;
    *seq = c[t].seq;
    return OTA_OK;
}

/* Write s as copy target with sequence number seq (rec: the buffer). */
static ota_status_t write_copy(const ota_store_t *store, uint8_t rec[REC_SIZE],
                               const ota_settings_t *s, unsigned target, uint32_t seq)
{
    memset(rec, 0, REC_SIZE);
    put_le32(rec, SET_MAGIC);
    rec[OFF_LAYOUT] = SET_LAYOUT; /* LE16 */
    rec[OFF_FLAGS] = s->upgrade_pending ? (uint8_t)FLAG_UPGRADE : 0u;
    put_le32(&rec[OFF_SEQ], seq);
    (void)strings(rec, SIDE_RECORD, (const uint8_t *)s);
    put_le32(&rec[OFF_PORT], s->port); /* its upper half lands where the CRC goes */
    put_le32(&rec[OFF_CRC], ota_crc32(0u, rec, OFF_CRC));
    return (store->write(store->ctx, target * REC_SIZE, rec, REC_SIZE) == 0) ? OTA_OK
                                                                             : OTA_ERR_PORT;
}

/* Load into out (save_from NULL) or save save_from (out NULL).
 *
 * Both copies are read and judged first. A save then writes the copy that
 * is not the newest valid one; a load picks the newest valid one. Either
 * way that copy is read (back) last and must be valid with the expected
 * sequence number: a save that did not land is reported, and a load never
 * decodes a copy that changed since it was judged. */
static ota_status_t settings_io(const ota_store_t *store, ota_settings_t *out,
                                const ota_settings_t *save_from)
{
    uint8_t rec[REC_SIZE];
    copy_t c;
    unsigned target = 0u;
    uint32_t seq = 0u;
    ota_status_t st;

    if ((out == NULL && save_from == NULL) || !store_ok(store) ||
        (save_from != NULL &&
         (save_from->port == 0u || !strings(NULL, SIDE_RECORD, (const uint8_t *)save_from)))) {
        return OTA_ERR_PARAM;
    }
    st = find_newest(store, rec, &target, &seq);
    if (save_from != NULL && st != OTA_ERR_PORT) { /* the other copy, one number on */
        target ^= 1u;
        seq++;
        st = write_copy(store, rec, save_from, target, seq);
    }
    if (st == OTA_OK) {
        st = read_copy(store, target, rec, &c);
    }
    if (st == OTA_OK && (c.what != COPY_VALID || c.seq != seq)) {
        st = (save_from != NULL) ? OTA_ERR_PORT : OTA_ERR_CHECKSUM;
    }
    if (st == OTA_OK && out != NULL) {
        memset(out, 0, sizeof *out);
        (void)strings((uint8_t *)out, SIDE_SETTINGS, rec);
        out->port = (uint16_t)get_le32(&rec[OFF_PORT]); /* the low half: the CRC follows */
        /* Layout 1 reserved the flags byte: the flag reads as false. */
        out->upgrade_pending =
            rec[OFF_LAYOUT] == SET_LAYOUT && (rec[OFF_FLAGS] & FLAG_UPGRADE) != 0u;
    }
    wipe(rec, sizeof rec);
    return st;
}

ota_status_t ota_settings_load(const ota_store_t *store, ota_settings_t *s)
{
    return settings_io(store, s, NULL);
}

ota_status_t ota_settings_save(const ota_store_t *store, const ota_settings_t *s)
{
    return settings_io(store, NULL, s);
}
