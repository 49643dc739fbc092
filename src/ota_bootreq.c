/*
 * ota_bootreq.c - the boot request record, serialized field by field in
 * little-endian order (layout in ota_bootreq.h), never as a struct image.
 */
#include <string.h>

#include "cellota/ota_bootreq.h"
#include "cellota/ota_crc32.h"

/* Field offsets of the serialized record. */
#define BR_MAGIC 0u
#define BR_VERSION 4u
#define BR_RESERVED1 6u
#define BR_ADDR 8u
#define BR_SIZE 12u
#define BR_CRC_IMAGE 16u
#define BR_TITLE 20u
#define BR_FWVER 53u
#define BR_RESERVED2 86u
#define BR_CRC 88u
#define BR_STR_FIELD (OTA_BOOTREQ_STR_MAX + 1u)

/* The first bytes of a valid record: OTA_BOOTREQ_MAGIC ("CBRQ") and
 * OTA_BOOTREQ_VERSION (1), little-endian. */
static const uint8_t k_head[BR_RESERVED1] = {'C', 'B', 'R', 'Q', 1u, 0u};

/* Little-endian store / load of a 32-bit value. */
static void put_le32(uint8_t *p, uint32_t v)
{
    unsigned i;

    for (i = 0u; i < 4u; i++) {
        p[i] = (uint8_t)(v >> (8u * i));
    }
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Are the n bytes at p all equal to v? */
static int all_are(const uint8_t *p, size_t n, uint8_t v)
{
    while (n > 0u) {
        n--;
        if (p[n] != v) {
            return 0;
        }
    }
    return 1;
}

/* A NUL-padded string field: it ends with a NUL, and no byte after a NUL
 * is anything else. */
static int padded_ok(const uint8_t *f)
{
    unsigned i;

    for (i = 0u; i + 1u < BR_STR_FIELD; i++) {
        if (f[i] == 0u && f[i + 1u] != 0u) {
            return 0;
        }
    }
    return f[BR_STR_FIELD - 1u] == 0u;
}

/* A string (its NUL within the field checked) as a NUL-padded field. */
static void put_str(uint8_t *f, const char *s)
{
    unsigned i;

    for (i = 0u; i < BR_STR_FIELD; i++) {
        f[i] = (uint8_t)*s;
        if (*s != '\0') {
            s++; /* at the NUL, s stays there: the rest of the field is 0 */
        }
    }
}

ota_status_t ota_bootreq_encode(const ota_bootreq_t *req, uint8_t out[OTA_BOOTREQ_SIZE])
{
    /* Each string must end within its 33-byte array. */
    if (req == NULL || out == NULL || memchr(req->title, '\0', BR_STR_FIELD) == NULL ||
        memchr(req->version, '\0', BR_STR_FIELD) == NULL) {
        return OTA_ERR_PARAM;
    }
    /* Every byte of the record is written below. */
    put_le32(&out[BR_MAGIC], OTA_BOOTREQ_MAGIC);
    put_le32(&out[BR_VERSION], 0xFFFF0000u | OTA_BOOTREQ_VERSION); /* and reserved1 */
    put_le32(&out[BR_ADDR], req->image_addr);
    put_le32(&out[BR_SIZE], req->image_size);
    put_le32(&out[BR_CRC_IMAGE], req->image_crc);
    put_str(&out[BR_TITLE], req->title);
    put_str(&out[BR_FWVER], req->version);
    out[BR_RESERVED2] = 0xFFu;
    out[BR_RESERVED2 + 1u] = 0xFFu;
    put_le32(&out[BR_CRC], ota_crc32(0u, out, BR_CRC));
    return OTA_OK;
}

ota_status_t ota_bootreq_decode(const uint8_t in[OTA_BOOTREQ_SIZE], ota_bootreq_t *req)
{
    if (in == NULL || req == NULL) {
        return OTA_ERR_PARAM;
    }
    if (all_are(in, OTA_BOOTREQ_SIZE, 0xFFu)) {
        return OTA_ERR_NOT_FOUND;
    }
    if (ota_crc32(0u, in, BR_CRC) != get_le32(&in[BR_CRC])) {
        return OTA_ERR_CHECKSUM;
    }
    if (memcmp(in, k_head, sizeof k_head) != 0 || !padded_ok(&in[BR_TITLE]) ||
        !padded_ok(&in[BR_FWVER])) {
        return OTA_ERR_FORMAT;
    }
    req->image_addr = get_le32(&in[BR_ADDR]);
    req->image_size = get_le32(&in[BR_SIZE]);
    req->image_crc = get_le32(&in[BR_CRC_IMAGE]);
    memcpy(req->title, &in[BR_TITLE], BR_STR_FIELD);
    memcpy(req->version, &in[BR_FWVER], BR_STR_FIELD);
    return OTA_OK;
}

ota_status_t ota_bootreq_read(const ota_flash_t *flash, uint32_t addr, ota_bootreq_t *req)
{
    uint8_t buf[OTA_BOOTREQ_SIZE];

    if (flash == NULL || flash->read == NULL || req == NULL || flash->size < OTA_BOOTREQ_SIZE ||
        addr > flash->size - OTA_BOOTREQ_SIZE) {
        return OTA_ERR_PARAM;
    }
    if (flash->read(flash->ctx, addr, buf, sizeof buf) != 0) {
        return OTA_ERR_PORT;
    }
    return ota_bootreq_decode(buf, req);
}
