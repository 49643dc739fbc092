/*
 * ota_boot.c - the boot core: journaled backup, copy, verify, trial boot and
 * rollback (algorithm and journal layout in include/cellota/ota_boot.h).
 *
 * Power-cut safety comes from one rule: a journal record is appended only
 * after the work it describes is complete, and the work of a record that is
 * missing can always be redone from scratch. The boot core never erases or
 * rewrites a record.
 */
#include <string.h>

#include "cellota/ota_boot.h"
#include "cellota/ota_crc32.h"

#define REC OTA_BOOT_REC_SIZE
#define CMP_STEP 16u  /* bytes of internal flash compared per read */
#define REC_SPARE 24u /* journal slots kept for the one-off records and torn writes */
#define REQ_CRC_AT 88u
#define BUF_MAX 0x8000u /* more work buffer than this is not used */

/* Journal flags. */
#define F_BACKED_UP 0x01u
#define F_INSTALLED 0x02u
#define F_CONFIRMED 0x04u
#define F_ROLLBACK 0x08u
#define F_ROLLED_BACK 0x10u
#define F_REJECTED 0x20u
#define F_REPORTED 0x40u

/* The journal of one request, as read from the flash. */
typedef struct {
    const ota_flash_t *nor;
    ota_bootreq_t req;
    uint32_t seed;       /* the request's own CRC: binds the records to it */
    uint32_t next;       /* address of the next free record slot */
    uint32_t end;        /* end of metadata sector 0 */
    uint32_t backup_crc; /* value of BACKUP_CRC */
    uint16_t backed;     /* BACKUP records in order */
    uint16_t copied;     /* COPY records in order */
    uint16_t restored;   /* RESTORE records in order */
    uint8_t flags;
    uint8_t reason;
    uint8_t boots;
    uint8_t boots_max;
    int port_err;
} jr_t;

/* One run of the bootloader. */
typedef struct {
    const ota_boot_config_t *cfg;
    jr_t j;
    uint32_t block; /* bytes of application area per progress record */
    uint32_t n;     /* blocks the image covers */
    uint32_t chunk; /* bytes moved through the work buffer at a time */
} run_t;

/* ------------------------------------------------------------------------ */
/* Little helpers                                                           */
/* ------------------------------------------------------------------------ */

static uint32_t get_le(const uint8_t *p, unsigned n)
{
    uint32_t v = 0u;

    while (n > 0u) {
        n--;
        v = (v << 8) | p[n];
    }
    return v;
}

static void put_le(uint8_t *p, uint32_t v, unsigned n)
{
    unsigned i;

    for (i = 0u; i < n; i++) {
        p[i] = (uint8_t)(v >> (8u * i));
    }
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return (a < b) ? a : b;
}

static bool pow2(uint32_t x)
{
    return x != 0u && (x & (x - 1u)) == 0u;
}

/* a / p2 rounded up, for a power of two p2 (no division: the Cortex-M0+
 * has no divide instruction). */
static uint32_t div_up(uint32_t a, uint32_t p2)
{
    uint32_t q = a;
    uint32_t m;

    for (m = p2; m > 1u; m >>= 1) {
        q >>= 1;
    }
    return q + (((a & (p2 - 1u)) != 0u) ? 1u : 0u);
}

static bool all_are(const uint8_t *p, uint32_t n, uint8_t v)
{
    uint32_t i;

    for (i = 0u; i < n; i++) {
        if (p[i] != v) {
            return false;
        }
    }
    return true;
}

/* Keep the raw code of a failed port call; true if it failed. */
static bool failed(jr_t *j, int rc)
{
    if (rc != 0) {
        j->port_err = rc;
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Journal                                                                  */
/* ------------------------------------------------------------------------ */

static bool has(const jr_t *j, unsigned f)
{
    return (j->flags & f) != 0u;
}

/* Fold one record slot into the journal state; invalid or out-of-order
 * records change nothing. */
static void jr_apply(jr_t *j, const uint8_t *r)
{
    uint32_t idx = get_le(&r[2], 2u);

    if (get_le(&r[8], 4u) != OTA_BOOT_REC_MAGIC ||
        ota_crc32(j->seed, r, 12u) != get_le(&r[12], 4u)) {
        return;
    }
    switch (r[0]) {
    case OTA_BOOT_REC_BACKUP:
        j->backed = (uint16_t)(j->backed + ((idx == j->backed && !has(j, F_BACKED_UP)) ? 1u : 0u));
        break;
    case OTA_BOOT_REC_BACKUP_CRC:
        if (idx == j->backed) {
            j->flags |= F_BACKED_UP;
            j->backup_crc = get_le(&r[4], 4u);
        }
        break;
    case OTA_BOOT_REC_COPY:
        j->copied = (uint16_t)(j->copied + ((idx == j->copied && has(j, F_BACKED_UP)) ? 1u : 0u));
        break;
    case OTA_BOOT_REC_RESTORE:
        j->restored =
            (uint16_t)(j->restored + ((idx == j->restored && has(j, F_ROLLBACK)) ? 1u : 0u));
        break;
    case OTA_BOOT_REC_BOOT:
        if (idx == j->boots + 1u) {
            j->boots = (uint8_t)idx;
            j->boots_max = r[1];
        }
        break;
    case OTA_BOOT_REC_INSTALLED:
        j->flags |= has(j, F_BACKED_UP) ? F_INSTALLED : 0u;
        break;
    case OTA_BOOT_REC_ROLLBACK:
        if (has(j, F_BACKED_UP)) {
            j->flags |= F_ROLLBACK;
            j->reason = r[1];
        }
        break;
    case OTA_BOOT_REC_ROLLED_BACK:
        j->flags |= has(j, F_ROLLBACK) ? F_ROLLED_BACK : 0u;
        break;
    case OTA_BOOT_REC_REJECTED:
        j->flags |= F_REJECTED;
        j->reason = r[1];
        break;
    case OTA_BOOT_REC_CONFIRMED:
        j->flags |= has(j, F_INSTALLED) ? F_CONFIRMED : 0u;
        break;
    case OTA_BOOT_REC_REPORTED:
        j->flags |= F_REPORTED;
        break;
    default:
        break;
    }
}

/* Is metadata sector 0 at meta usable for a journal? */
static bool meta_ok(const ota_flash_t *f, uint32_t meta)
{
    return f != NULL && f->read != NULL && pow2(f->sector_size) &&
           f->sector_size >= OTA_BOOT_JOURNAL_OFFSET + 8u * REC && f->size >= f->sector_size &&
           (meta & (f->sector_size - 1u)) == 0u && meta <= f->size - f->sector_size;
}

/* Read the request and fold every record. OTA_ERR_NOT_FOUND: no valid request. */
static ota_status_t jr_load(jr_t *j, const ota_flash_t *f, uint32_t meta)
{
    uint8_t raw[OTA_BOOTREQ_SIZE];
    uint8_t r[REC];

    memset(j, 0, sizeof *j);
    j->nor = f;
    if (failed(j, f->read(f->ctx, meta, raw, sizeof raw))) {
        return OTA_ERR_PORT;
    }
    if (ota_bootreq_decode(raw, &j->req) != OTA_OK) {
        return OTA_ERR_NOT_FOUND;
    }
    j->seed = get_le(&raw[REQ_CRC_AT], 4u);
    j->end = meta + f->sector_size;
    for (j->next = meta + OTA_BOOT_JOURNAL_OFFSET; j->end - j->next >= REC; j->next += REC) {
        if (failed(j, f->read(f->ctx, j->next, r, sizeof r))) {
            return OTA_ERR_PORT;
        }
        if (all_are(r, REC, 0xFFu)) {
            break;
        }
        jr_apply(j, r);
    }
    return OTA_OK;
}

static ota_status_t jr_append(jr_t *j, uint8_t type, uint8_t aux, uint32_t idx, uint32_t value)
{
    uint8_t r[REC];
    uint32_t at = j->next;

    if (j->end - at < REC) {
        return OTA_ERR_NOSPACE;
    }
    r[0] = type;
    r[1] = aux;
    put_le(&r[2], idx, 2u);
    put_le(&r[4], value, 4u);
    put_le(&r[8], OTA_BOOT_REC_MAGIC, 4u);
    put_le(&r[12], ota_crc32(j->seed, r, 12u), 4u);
    j->next += REC; /* a failed write may have landed bytes: never reuse the slot */
    if (failed(j, j->nor->write(j->nor->ctx, at, r, sizeof r))) {
        return OTA_ERR_PORT;
    }
    jr_apply(j, r);
    return OTA_OK;
}

static void fill_info(const jr_t *j, ota_boot_info_t *info)
{
    memset(info, 0, sizeof *info);
    memcpy(info->title, j->req.title, sizeof info->title);
    memcpy(info->version, j->req.version, sizeof info->version);
    info->reason = (ota_boot_reason_t)j->reason;
    info->boots = j->boots;
    info->boots_left =
        (uint8_t)((j->boots_max > j->boots) ? (unsigned)j->boots_max - j->boots : 0u);
    info->reported = has(j, F_REPORTED);
    if (has(j, F_REJECTED)) {
        info->state = OTA_BOOT_ST_REJECTED;
    } else if (has(j, F_ROLLED_BACK)) {
        info->state = OTA_BOOT_ST_ROLLED_BACK;
    } else if (has(j, F_INSTALLED) && !has(j, F_ROLLBACK)) {
        info->state = has(j, F_CONFIRMED) ? OTA_BOOT_ST_UPDATED : OTA_BOOT_ST_TRIAL;
    } else {
        info->state = OTA_BOOT_ST_PENDING;
    }
}

/* ------------------------------------------------------------------------ */
/* Moving bytes                                                             */
/* ------------------------------------------------------------------------ */

static int rd(const run_t *b, bool internal, uint32_t addr, void *buf, uint32_t n)
{
    const ota_boot_config_t *c = b->cfg;

    return internal ? c->iflash.read(c->iflash.ctx, addr, buf, n)
                    : c->flash.read(c->flash.ctx, addr, buf, n);
}

/* n bytes into the work buffer: `valid` of them from the NOR at addr, the
 * rest the internal flash's erased value. */
static bool load(run_t *b, uint32_t addr, uint32_t valid, uint32_t n)
{
    const ota_boot_config_t *c = b->cfg;
    uint32_t v = min_u32(valid, n);

    memset(c->buf + v, c->iflash.erased_value, n - v);
    return v == 0u || !failed(&b->j, rd(b, false, addr, c->buf, v));
}

/* CRC-32 of len bytes at addr of the internal flash or the NOR. */
static ota_status_t crc_of(run_t *b, bool internal, uint32_t addr, uint32_t len, uint32_t *crc)
{
    uint32_t pos;
    uint32_t n;

    *crc = 0u;
    for (pos = 0u; pos < len; pos += n) {
        n = min_u32(b->chunk, len - pos);
        if (failed(&b->j, rd(b, internal, addr + pos, b->cfg->buf, n))) {
            return OTA_ERR_PORT;
        }
        *crc = ota_crc32(*crc, b->cfg->buf, n);
    }
    return OTA_OK;
}

/* Does the internal flash at `in` hold len bytes equal to the NOR at `nor`
 * (first `valid` bytes, then the erased value)? 1 yes, 0 no, -1 port error. */
static int same(run_t *b, uint32_t nor, uint32_t in, uint32_t len, uint32_t valid)
{
    uint8_t tmp[CMP_STEP];
    uint32_t pos;
    uint32_t i;
    uint32_t n;
    uint32_t m;

    for (pos = 0u; pos < len; pos += n) {
        n = min_u32(b->chunk, len - pos);
        if (!load(b, nor + pos, (valid > pos) ? valid - pos : 0u, n)) {
            return -1;
        }
        for (i = 0u; i < n; i += m) {
            m = min_u32(CMP_STEP, n - i);
            if (failed(&b->j, rd(b, true, in + pos + i, tmp, m))) {
                return -1;
            }
            if (memcmp(tmp, b->cfg->buf + i, m) != 0) {
                return 0;
            }
        }
    }
    return 1;
}

/* Make the internal page at offset p hold `valid` bytes from the NOR at src,
 * then the erased value. A page that already does is left alone. */
static ota_status_t put_page(run_t *b, uint32_t src, uint32_t p, uint32_t valid)
{
    const ota_boot_iflash_t *f = &b->cfg->iflash;
    uint32_t dst = f->base + p;
    uint32_t pos;
    uint32_t u;
    uint32_t n;
    int eq = same(b, src, dst, f->page_size, valid);

    if (eq != 0) {
        return (eq > 0) ? OTA_OK : OTA_ERR_PORT;
    }
    if (failed(&b->j, f->erase_page(f->ctx, dst))) {
        return OTA_ERR_PORT;
    }
    for (pos = 0u; pos < f->page_size; pos += n) {
        n = min_u32(b->chunk, f->page_size - pos);
        if (!load(b, src + pos, (valid > pos) ? valid - pos : 0u, n)) {
            return OTA_ERR_PORT;
        }
        for (u = 0u; u < n; u += f->write_unit) {
            if (!all_are(b->cfg->buf + u, f->write_unit, f->erased_value) &&
                failed(&b->j, f->program(f->ctx, dst + pos + u, b->cfg->buf + u, f->write_unit))) {
                return OTA_ERR_PORT;
            }
        }
    }
    return OTA_OK;
}

/* Write blocks k..n-1 from the NOR at src into the application area (bytes
 * of the area past `limit` are left alone), one record `type` per block. */
static ota_status_t put_blocks(run_t *b, uint32_t k, uint32_t src, uint32_t limit, uint8_t type)
{
    uint32_t page = b->cfg->iflash.page_size;
    uint32_t p;
    ota_status_t st;

    for (; k < b->n; k++) {
        uint32_t off = k * b->block;
        uint32_t end = min_u32(off + b->block, limit);

        for (p = off; p < end; p += page) {
            st = put_page(b, src + p, p, min_u32(page, end - p));
            if (st != OTA_OK) {
                return st;
            }
        }
        st = jr_append(&b->j, type, 0u, k, 0u);
        if (st != OTA_OK) {
            return st;
        }
    }
    return OTA_OK;
}

/* Bytes of the application area that blocks 0..n-1 cover. */
static uint32_t span(const run_t *b)
{
    return min_u32(b->n * b->block, b->cfg->iflash.size);
}

/* Copy block k of the application area into the backup slot and check it. */
static ota_status_t backup_block(run_t *b, uint32_t k)
{
    const ota_boot_config_t *c = b->cfg;
    uint32_t off = k * b->block;
    uint32_t len = min_u32(b->block, c->iflash.size - off);
    uint32_t dst = c->backup_addr + off;
    uint32_t pos;
    uint32_t n;
    int eq;

    for (pos = 0u; pos < len; pos += c->flash.sector_size) {
        if (failed(&b->j, c->flash.erase(c->flash.ctx, dst + pos))) {
            return OTA_ERR_PORT;
        }
    }
    for (pos = 0u; pos < len; pos += n) {
        n = min_u32(b->chunk, len - pos);
        if (failed(&b->j, rd(b, true, c->iflash.base + off + pos, c->buf, n)) ||
            failed(&b->j, c->flash.write(c->flash.ctx, dst + pos, c->buf, n))) {
            return OTA_ERR_PORT;
        }
    }
    eq = same(b, dst, c->iflash.base + off, len, len);
    if (eq <= 0) {
        return (eq < 0) ? OTA_ERR_PORT : OTA_ERR_CHECKSUM;
    }
    return jr_append(&b->j, OTA_BOOT_REC_BACKUP, 0u, k, 0u);
}

static ota_status_t backup(run_t *b)
{
    uint32_t k;
    uint32_t crc;
    ota_status_t st;

    for (k = b->j.backed; k < b->n; k++) {
        st = backup_block(b, k);
        if (st != OTA_OK) {
            return st;
        }
    }
    st = crc_of(b, false, b->cfg->backup_addr, span(b), &crc);
    return (st != OTA_OK) ? st : jr_append(&b->j, OTA_BOOT_REC_BACKUP_CRC, 0u, b->n, crc);
}

/* ------------------------------------------------------------------------ */
/* The steps                                                                */
/* ------------------------------------------------------------------------ */

static bool overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Why the request cannot be installed (checks that touch no flash). */
static ota_boot_reason_t request_fault(const run_t *b)
{
    const ota_boot_config_t *c = b->cfg;
    uint32_t addr = b->j.req.image_addr;
    uint32_t size = b->j.req.image_size;

    if (size == 0u || addr > c->flash.size || size > c->flash.size - addr ||
        overlaps(addr, size, c->meta_addr, 2u * c->flash.sector_size) ||
        overlaps(addr, size, c->backup_addr, c->backup_size)) {
        return OTA_BOOT_REASON_BAD_REQUEST;
    }
    return (size > c->iflash.size) ? OTA_BOOT_REASON_TOO_LARGE : OTA_BOOT_REASON_NONE;
}

/* Before the backup is complete the application area is untouched: check
 * the request and the staged image, then back up. */
static ota_status_t prepare(run_t *b)
{
    ota_boot_reason_t why = request_fault(b);
    uint32_t crc = 0u;

    if (why == OTA_BOOT_REASON_NONE) {
        ota_status_t st = crc_of(b, false, b->j.req.image_addr, b->j.req.image_size, &crc);
        if (st != OTA_OK) {
            return st;
        }
        why = (crc == b->j.req.image_crc) ? OTA_BOOT_REASON_NONE : OTA_BOOT_REASON_STAGED_CRC;
    }
    if (why != OTA_BOOT_REASON_NONE) {
        return jr_append(&b->j, OTA_BOOT_REC_REJECTED, (uint8_t)why, 0u, crc);
    }
    return backup(b);
}

static ota_status_t install(run_t *b)
{
    uint32_t crc;
    ota_status_t st = has(&b->j, F_BACKED_UP) ? OTA_OK : prepare(b);

    if (st != OTA_OK || has(&b->j, F_REJECTED)) {
        return st;
    }
    st = put_blocks(b, b->j.copied, b->j.req.image_addr, b->j.req.image_size, OTA_BOOT_REC_COPY);
    if (st == OTA_OK) {
        st = crc_of(b, true, b->cfg->iflash.base, b->j.req.image_size, &crc);
    }
    if (st != OTA_OK) {
        return st;
    }
    if (crc == b->j.req.image_crc) {
        return jr_append(&b->j, OTA_BOOT_REC_INSTALLED, 0u, 0u, crc);
    }
    return jr_append(&b->j, OTA_BOOT_REC_ROLLBACK, (uint8_t)OTA_BOOT_REASON_COPY_VERIFY, 0u, crc);
}

static uint8_t max_boots(const ota_boot_config_t *c)
{
    return (c->max_boots != 0u) ? c->max_boots : (uint8_t)OTA_BOOT_DEFAULT_MAX_BOOTS;
}

static ota_status_t trial(run_t *b)
{
    uint8_t limit = max_boots(b->cfg);

    if (b->j.boots >= limit) {
        return jr_append(&b->j, OTA_BOOT_REC_ROLLBACK, (uint8_t)OTA_BOOT_REASON_NOT_CONFIRMED,
                         b->j.boots, 0u);
    }
    return jr_append(&b->j, OTA_BOOT_REC_BOOT, limit, b->j.boots + 1u, 0u);
}

static ota_status_t restore(run_t *b)
{
    uint32_t crc;
    ota_status_t st = put_blocks(b, b->j.restored, b->cfg->backup_addr, b->cfg->iflash.size,
                                 OTA_BOOT_REC_RESTORE);

    if (st == OTA_OK) {
        st = crc_of(b, true, b->cfg->iflash.base, span(b), &crc);
    }
    if (st != OTA_OK) {
        return st;
    }
    if (crc != b->j.backup_crc) {
        return OTA_ERR_CHECKSUM;
    }
    return jr_append(&b->j, OTA_BOOT_REC_ROLLED_BACK, b->j.reason, 0u, 0u);
}

/* Everything the journal says is due, in order. */
static ota_status_t advance(run_t *b)
{
    const jr_t *j = &b->j;
    ota_status_t st = OTA_OK;

    if (!has(j, F_INSTALLED | F_ROLLBACK | F_REJECTED)) {
        st = install(b);
    }
    if (st == OTA_OK && has(j, F_INSTALLED) && !has(j, F_CONFIRMED | F_ROLLBACK)) {
        st = trial(b);
    }
    if (st == OTA_OK && has(j, F_ROLLBACK) && !has(j, F_ROLLED_BACK)) {
        st = restore(b);
    }
    return st;
}

/* May the application area be started as it is now? */
static bool area_intact(const jr_t *j)
{
    return !has(j, F_BACKED_UP) || has(j, F_ROLLED_BACK) ||
           (has(j, F_INSTALLED) && !has(j, F_ROLLBACK));
}

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

static bool iflash_ok(const ota_boot_iflash_t *f)
{
    uint32_t mask = f->page_size - 1u;

    return f->read != NULL && f->program != NULL && f->erase_page != NULL && pow2(f->page_size) &&
           pow2(f->write_unit) && f->write_unit <= f->page_size && f->write_unit <= BUF_MAX &&
           f->size != 0u && (f->size & mask) == 0u && (f->base & mask) == 0u &&
           f->base <= UINT32_MAX - f->size;
}

/* The block size: the larger of the NOR sector and the internal page (both
 * powers of two), doubled until the worst-case journal fits. 0 if it cannot. */
static uint32_t block_size(const ota_boot_config_t *c)
{
    uint32_t s = c->flash.sector_size;
    uint32_t p = c->iflash.page_size;
    uint32_t slots = (s - OTA_BOOT_JOURNAL_OFFSET) / REC;
    uint32_t blk = (s > p) ? s : p;

    for (;;) {
        uint32_t blocks = div_up(c->iflash.size, blk);

        if (3u * blocks + max_boots(c) + REC_SPARE <= slots) {
            return blk;
        }
        if (blocks == 1u || blk > UINT32_MAX / 2u) {
            return 0u;
        }
        blk *= 2u;
    }
}

static bool config_ok(const ota_boot_config_t *c, uint32_t *block)
{
    const ota_flash_t *f;
    uint32_t need;

    if (c == NULL || !meta_ok(&c->flash, c->meta_addr) || c->flash.write == NULL ||
        c->flash.erase == NULL || !iflash_ok(&c->iflash) || c->buf == NULL ||
        c->buf_size < c->iflash.write_unit) {
        return false;
    }
    f = &c->flash;
    *block = block_size(c);
    if (*block == 0u || f->sector_size > f->size / 2u ||
        c->meta_addr > f->size - 2u * f->sector_size) {
        return false;
    }
    need = div_up(c->iflash.size, *block) * *block;
    return need >= c->iflash.size && (c->backup_addr & (f->sector_size - 1u)) == 0u &&
           c->backup_size >= need && c->backup_addr <= f->size &&
           c->backup_size <= f->size - c->backup_addr &&
           !overlaps(c->backup_addr, c->backup_size, c->meta_addr, 2u * f->sector_size);
}

/* ------------------------------------------------------------------------ */
/* Public API                                                               */
/* ------------------------------------------------------------------------ */

ota_status_t ota_boot_run(const ota_boot_config_t *cfg, ota_boot_decision_t *dec)
{
    run_t b;
    ota_status_t st;

    if (dec == NULL) {
        return OTA_ERR_PARAM;
    }
    memset(dec, 0, sizeof *dec);
    dec->action = OTA_BOOT_START_UNCHECKED;
    if (!config_ok(cfg, &b.block)) {
        return OTA_ERR_PARAM;
    }
    b.cfg = cfg;
    b.chunk = (uint32_t)((cfg->buf_size < BUF_MAX) ? cfg->buf_size : BUF_MAX);
    b.chunk &= ~(cfg->iflash.write_unit - 1u);
    st = jr_load(&b.j, &cfg->flash, cfg->meta_addr);
    dec->port_error = b.j.port_err;
    if (st == OTA_ERR_NOT_FOUND) {
        dec->action = OTA_BOOT_START;
        return OTA_OK;
    }
    if (st != OTA_OK) {
        return st;
    }
    b.n = div_up(b.j.req.image_size, b.block);
    st = advance(&b);
    dec->port_error = b.j.port_err;
    dec->action = (st == OTA_OK || area_intact(&b.j)) ? OTA_BOOT_START : OTA_BOOT_RETRY;
    fill_info(&b.j, &dec->info);
    return st;
}

ota_status_t ota_boot_result(const ota_flash_t *flash, uint32_t meta_addr, ota_boot_info_t *info)
{
    jr_t j;
    ota_status_t st;

    if (info == NULL || !meta_ok(flash, meta_addr)) {
        return OTA_ERR_PARAM;
    }
    memset(info, 0, sizeof *info);
    st = jr_load(&j, flash, meta_addr);
    if (st == OTA_OK) {
        fill_info(&j, info);
    }
    return (st == OTA_ERR_NOT_FOUND) ? OTA_OK : st;
}

/* Append a record of `type` when the journal is in one of the states of
 * `allowed` (a bit mask of ota_boot_state_t) and has no `done` flag yet. */
static ota_status_t app_append(const ota_flash_t *flash, uint32_t meta, unsigned allowed,
                               unsigned done, uint8_t type)
{
    jr_t j;
    ota_boot_info_t info;
    ota_status_t st;

    if (!meta_ok(flash, meta) || flash->write == NULL) {
        return OTA_ERR_PARAM;
    }
    st = jr_load(&j, flash, meta);
    if (st != OTA_OK) {
        return (st == OTA_ERR_NOT_FOUND) ? OTA_ERR_STATE : st;
    }
    fill_info(&j, &info);
    if ((allowed & (1u << (unsigned)info.state)) == 0u) {
        return OTA_ERR_STATE;
    }
    return has(&j, done) ? OTA_OK : jr_append(&j, type, 0u, 0u, 0u);
}

ota_status_t ota_boot_confirm(const ota_flash_t *flash, uint32_t meta_addr)
{
    return app_append(flash, meta_addr, (1u << OTA_BOOT_ST_TRIAL) | (1u << OTA_BOOT_ST_UPDATED),
                      F_CONFIRMED, OTA_BOOT_REC_CONFIRMED);
}

ota_status_t ota_boot_mark_reported(const ota_flash_t *flash, uint32_t meta_addr)
{
    return app_append(flash, meta_addr,
                      (1u << OTA_BOOT_ST_UPDATED) | (1u << OTA_BOOT_ST_ROLLED_BACK) |
                          (1u << OTA_BOOT_ST_REJECTED),
                      F_REPORTED, OTA_BOOT_REC_REPORTED);
}

const char *ota_boot_reason_str(ota_boot_reason_t reason)
{
    switch (reason) {
    case OTA_BOOT_REASON_NOT_CONFIRMED:
        return "new firmware did not confirm within its trial boots; previous firmware restored";
    case OTA_BOOT_REASON_COPY_VERIFY:
        return "copy in internal flash failed its CRC-32 check; previous firmware restored";
    case OTA_BOOT_REASON_STAGED_CRC:
        return "staged image failed its CRC-32 check; not installed";
    case OTA_BOOT_REASON_TOO_LARGE:
        return "image larger than the application area; not installed";
    case OTA_BOOT_REASON_BAD_REQUEST:
        return "boot request outside the staging area; not installed";
    default:
        return "";
    }
}

const char *ota_boot_state_str(ota_boot_state_t state)
{
    static const char *const names[] = { "none",    "pending",     "trial",
                                         "updated", "rolled back", "rejected" };

    return ((unsigned)state < sizeof names / sizeof names[0]) ? names[state] : "?";
}
