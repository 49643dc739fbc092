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

/* Little-endian store / load of an n-byte unsigned value (n <= 4). */
static void put_le(uint8_t *p, uint32_t v, unsigned n)
{
    unsigned i;

    for (i = 0u; i < n; i++) {
        p[i] = (uint8_t)(v >> (8u * i));
    }
}

static uint32_t get_le(const uint8_t *p, unsigned n)
{
    uint32_t v = 0u;

    while (n > 0u) {
        n--;
        v = (v << 8) | p[n];
    }
    return v;
}

/* Length of a string that must end within its 33-byte array, or -1. */
static int field_len(const char *s)
{
    const char *nul = (const char *)memchr(s, '\0', BR_STR_FIELD);

    return (nul != NULL) ? (int)(nul - s) : -1;
}

/* A NUL-padded string field: a terminator, and only NULs after it. */
static int padded_ok(const uint8_t *f)
{
    const uint8_t *nul = (const uint8_t *)memchr(f, 0, BR_STR_FIELD);
    const uint8_t *p;

    if (nul == NULL) {
        return 0;
    }
    for (p = nul; p < f + BR_STR_FIELD; p++) {
        if (*p != 0u) {
            return 0;
        }
    }
    return 1;
}

ota_status_t ota_bootreq_encode(const ota_bootreq_t *req, uint8_t out[OTA_BOOTREQ_SIZE])
{
    int tlen;
    int vlen;

    if (req == NULL || out == NULL) {
        return OTA_ERR_PARAM;
    }
    tlen = field_len(req->title);
    vlen = field_len(req->version);
    if (tlen < 0 || vlen < 0) {
        return OTA_ERR_PARAM;
    }
    memset(out, 0, OTA_BOOTREQ_SIZE);
    put_le(&out[BR_MAGIC], OTA_BOOTREQ_MAGIC, 4u);
    put_le(&out[BR_VERSION], OTA_BOOTREQ_VERSION, 2u);
    put_le(&out[BR_RESERVED1], 0xFFFFu, 2u);
    put_le(&out[BR_ADDR], req->image_addr, 4u);
    put_le(&out[BR_SIZE], req->image_size, 4u);
    put_le(&out[BR_CRC_IMAGE], req->image_crc, 4u);
    memcpy(&out[BR_TITLE], req->title, (size_t)tlen);
    memcpy(&out[BR_FWVER], req->version, (size_t)vlen);
    put_le(&out[BR_RESERVED2], 0xFFFFu, 2u);
    put_le(&out[BR_CRC], ota_crc32(0u, out, BR_CRC), 4u);
    return OTA_OK;
}

static int is_erased(const uint8_t *in)
{
    uint32_t i;

    for (i = 0u; i < OTA_BOOTREQ_SIZE; i++) {
        if (in[i] != 0xFFu) {
            return 0;
        }
    }
    return 1;
}

ota_status_t ota_bootreq_decode(const uint8_t in[OTA_BOOTREQ_SIZE], ota_bootreq_t *req)
{
    if (in == NULL || req == NULL) {
        return OTA_ERR_PARAM;
    }
    if (is_erased(in)) {
        return OTA_ERR_NOT_FOUND;
    }
    if (ota_crc32(0u, in, BR_CRC) != get_le(&in[BR_CRC], 4u)) {
        return OTA_ERR_CHECKSUM;
    }
    if (get_le(&in[BR_MAGIC], 4u) != OTA_BOOTREQ_MAGIC ||
        get_le(&in[BR_VERSION], 2u) != OTA_BOOTREQ_VERSION || !padded_ok(&in[BR_TITLE]) ||
        !padded_ok(&in[BR_FWVER])) {
        return OTA_ERR_FORMAT;
    }
    req->image_addr = get_le(&in[BR_ADDR], 4u);
    req->image_size = get_le(&in[BR_SIZE], 4u);
    req->image_crc = get_le(&in[BR_CRC_IMAGE], 4u);
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
