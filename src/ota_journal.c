/* Download journal. See ota_journal.h. */
#include "ota_journal.h"

#include <string.h>

#include "cellota/ota_crc32.h"

#define JNL_MAGIC 0x4C4E4A43u /* "CJNL" */
#define JNL_VERSION 1u

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void ota_jnl_layout(const ota_client_t *c, ota_jnl_t *j)
{
    const ota_config_t *cfg = c->cfg;
    uint32_t sector = cfg->flash.sector_size;
    uint32_t ebytes = (cfg->slot_size / sector + 7u) / 8u;
    j->addr = cfg->meta_addr + sector;
    j->emap = j->addr + OTA_JNL_HDR;
    j->cmap = j->emap + ebytes;
    j->fits = OTA_JNL_HDR + ebytes < sector && c->geom.chunks <= sector - OTA_JNL_HDR - ebytes;
}

void ota_jnl_header(const ota_client_t *c, uint8_t *out)
{
    memset(out, 0xFF, OTA_JNL_HDR);
    put32(&out[0], JNL_MAGIC);
    out[4] = JNL_VERSION;
    out[5] = (uint8_t)c->geom.format;
    out[6] = (uint8_t)c->algo;
    out[7] = 0;
    put32(&out[8], c->cfg->slot_addr);
    put32(&out[12], c->cfg->slot_size);
    put32(&out[16], c->geom.pkg_size);
    put32(&out[20], c->geom.chunk_size);
    memcpy(&out[24], c->checksum, 32u);
    /* Title and version as stored (NUL-padded by the offer parser). */
    memcpy(&out[56], c->title, sizeof c->title < 34u ? sizeof c->title : 34u);
    memcpy(&out[90], c->version, sizeof c->version < 34u ? sizeof c->version : 34u);
    put32(&out[124], ota_crc32(0, out, 124u));
}

int ota_jnl_matches(ota_client_t *c, const ota_jnl_t *j)
{
    const ota_flash_t *f = &c->cfg->flash;
    uint8_t *want = c->buf;
    uint8_t *have = c->buf + OTA_JNL_HDR;
    int rc;
    ota_jnl_header(c, want);
    rc = f->read(f->ctx, j->addr, have, OTA_JNL_HDR);
    if (rc != 0) {
        return rc;
    }
    return memcmp(want, have, OTA_JNL_HDR) == 0 ? 1 : 0;
}

int ota_jnl_begin(ota_client_t *c, const ota_jnl_t *j)
{
    const ota_flash_t *f = &c->cfg->flash;
    int rc = f->erase(f->ctx, j->addr);
    if (rc != 0 || !j->fits) {
        return rc; /* an erased journal is simply absent */
    }
    ota_jnl_header(c, c->buf);
    return f->write(f->ctx, j->addr, c->buf, OTA_JNL_HDR);
}

int ota_jnl_bit(const ota_flash_t *f, uint32_t map, uint32_t idx, bool *set)
{
    uint8_t b = 0;
    int rc = f->read(f->ctx, map + idx / 8u, &b, 1u);
    *set = (b & (1u << (idx % 8u))) != 0u;
    return rc;
}

int ota_jnl_clear_bit(const ota_flash_t *f, uint32_t map, uint32_t idx)
{
    uint8_t b = 0;
    int rc = f->read(f->ctx, map + idx / 8u, &b, 1u);
    if (rc != 0) {
        return rc;
    }
    b = (uint8_t)(b & ~(1u << (idx % 8u)));
    return f->write(f->ctx, map + idx / 8u, &b, 1u);
}

uint8_t ota_jnl_tag(uint32_t crc)
{
    return (uint8_t)(crc & 0x7Fu);
}
