/*
 * test_boot.c - the boot core: install, trial, confirm, rollback, and power
 * cuts (clean and torn) at every flash operation of the install and of the
 * restore, over several internal-flash geometries.
 *
 * The rig puts both flashes behind one power switch: every mutating flash
 * operation (NOR write or erase, internal program or page erase) is counted,
 * and a cut before operation i makes it and everything after it fail until
 * "power on". Reads are not cut points: a cut before a read leaves the same
 * flash contents as a cut before the next write or erase.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cellota/ota_boot.h"
#include "cellota/ota_bootreq.h"
#include "cellota/ota_crc32.h"
#include "fake_flash.h"
#include "fake_iflash.h"

#define SECTOR 4096u
#define META 0x00000u
#define SLOT 0x2000u /* right after the two metadata sectors */
#define IBASE 0x08002000u
#define AREA_MAX (1024u * 1024u)
#define MAX_TRACE 16384u

/* ------------------------------------------------------------------------ */
/* Geometries                                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    uint32_t nor_size;
    uint32_t area; /* application area bytes */
    uint32_t page;
    uint32_t word;
    uint32_t row;
    uint32_t unit; /* write unit the boot core uses */
    uint8_t erased;
    uint32_t buf;
    uint32_t old_len;
    uint32_t new_len;
} geom_t;

/* The reference board: STM32L072 half-page programming, 24 KB area here to
 * keep the sweeps short (4 blocks of 4 KB). */
static const geom_t G_L0_HALF = {
    "stm32l0 128/64 0x00", 128u * 1024u, 24576u, 128u, 4u, 64u, 64u, 0x00u, 128u, 20480u, 13001u
};
/* STM32L0 word programming, the new image smaller than one block's worth of pages. */
static const geom_t G_L0_WORD = {
    "stm32l0 128/4 0x00", 128u * 1024u, 24576u, 128u, 4u, 64u, 4u, 0x00u, 128u, 20480u, 3000u
};
/* 2 KB pages, 8-byte double words, erased 0xFF (an STM32L4-like part). */
static const geom_t G_2K = {
    "2K pages/8 0xFF", 128u * 1024u, 32768u, 2048u, 8u, 8u, 8u, 0xFFu, 256u, 30000u, 5000u
};
/* Pages larger than a NOR sector and a buffer smaller than a page. */
static const geom_t G_BIG = {
    "8K pages/32 0xFF buf 64", 128u * 1024u, 65536u, 8192u, 4u, 32u, 32u, 0xFFu, 64u, 65536u, 12001u
};
/* 1 MB area: the journal forces blocks of 16 KB. */
static const geom_t G_HUGE = { "1M area 2K pages",
                               4u * 1024u * 1024u,
                               1024u * 1024u,
                               2048u,
                               8u,
                               256u,
                               256u,
                               0xFFu,
                               512u,
                               1024u * 1024u,
                               300000u };

/* ------------------------------------------------------------------------ */
/* The rig                                                                  */
/* ------------------------------------------------------------------------ */

enum {
    OP_NOR_W = 1,
    OP_NOR_E,
    OP_IF_P,
    OP_IF_E
};

typedef struct {
    uint8_t kind;
    uint8_t type; /* journal record type for a 16-byte NOR write in META, else 0 */
    uint16_t idx; /* its index */
    uint32_t addr;
} trace_t;

typedef struct {
    fake_flash_t nor;
    fake_iflash_t ifl;
    ota_boot_config_t cfg;
    const geom_t *g;
    uint8_t buf[512];
    uint32_t ops;    /* mutating operations since rig_arm() */
    uint32_t cut_at; /* cut before mutating operation cut_at; 0 = never */
    int torn;        /* 0: clean cut, 1: half of the op lands, 2: all but one byte lands */
    bool off;
    bool flip_backup; /* NOR writes into the backup slot get one bit wrong */
    uint32_t ntrace;
    trace_t trace[MAX_TRACE];
} rig_t;

static rig_t R;
static uint8_t old_area[AREA_MAX]; /* the application area before the update */
static uint8_t new_area[AREA_MAX]; /* what the area must hold after the install */
static uint8_t new_img[AREA_MAX];
static uint8_t scratch[AREA_MAX];
static uint32_t new_crc;
static uint32_t rng = 0x12345678u;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static uint32_t backup_addr(void)
{
    return R.g->nor_size / 2u;
}

static uint32_t torn_len(size_t len)
{
    if (R.torn == 0) {
        return 0u;
    }
    return (uint32_t)((R.torn == 1) ? len / 2u : len - 1u);
}

/* Count a mutating op; true if the power goes now. */
static bool gate(uint8_t kind, uint32_t addr, const void *data, size_t len)
{
    R.ops++;
    if (R.ntrace < MAX_TRACE) {
        trace_t *t = &R.trace[R.ntrace++];
        const uint8_t *d = (const uint8_t *)data;
        memset(t, 0, sizeof *t);
        t->kind = kind;
        t->addr = addr;
        if (kind == OP_NOR_W && len == OTA_BOOT_REC_SIZE && addr < META + SECTOR) {
            t->type = d[0];
            t->idx = (uint16_t)(d[2] | (d[3] << 8));
        }
    }
    if (R.cut_at != 0u && R.ops == R.cut_at) {
        R.off = true;
        return true;
    }
    return false;
}

static int nor_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    (void)ctx;
    return R.off ? FAKE_FLASH_ERR_POWER : fake_flash_read(&R.nor, addr, buf, len);
}

static int nor_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    uint8_t bad[512];

    (void)ctx;
    if (R.off) {
        return FAKE_FLASH_ERR_POWER;
    }
    if (gate(OP_NOR_W, addr, buf, len)) {
        R.nor.cut_before_op = R.nor.ops + 1u;
        R.nor.cut_write_bytes = torn_len(len);
    }
    if (R.flip_backup && addr >= backup_addr() && len <= sizeof bad) {
        memcpy(bad, buf, len);
        bad[0] ^= 0x01u;
        return fake_flash_write(&R.nor, addr, bad, len);
    }
    return fake_flash_write(&R.nor, addr, buf, len);
}

static int nor_erase(void *ctx, uint32_t addr)
{
    (void)ctx;
    if (R.off) {
        return FAKE_FLASH_ERR_POWER;
    }
    if (gate(OP_NOR_E, addr, NULL, 0u)) {
        if (R.torn != 0 && addr % SECTOR == 0u && addr < R.nor.size) {
            memset(R.nor.mem + addr, 0xFF, torn_len(SECTOR)); /* a torn erase */
        }
        return FAKE_FLASH_ERR_POWER;
    }
    return fake_flash_erase(&R.nor, addr);
}

static int if_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    (void)ctx;
    return R.off ? FAKE_IFLASH_ERR_POWER : fake_iflash_read(&R.ifl, addr, buf, len);
}

static int if_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    (void)ctx;
    if (R.off) {
        return FAKE_IFLASH_ERR_POWER;
    }
    if (gate(OP_IF_P, addr, buf, len)) {
        R.ifl.cut_before_op = R.ifl.ops + 1u;
        R.ifl.cut_bytes = torn_len(len);
    }
    return fake_iflash_program(&R.ifl, addr, buf, len);
}

static int if_erase(void *ctx, uint32_t addr)
{
    (void)ctx;
    if (R.off) {
        return FAKE_IFLASH_ERR_POWER;
    }
    if (gate(OP_IF_E, addr, NULL, 0u)) {
        R.ifl.cut_before_op = R.ifl.ops + 1u;
        R.ifl.cut_bytes = torn_len(R.ifl.page_size);
    }
    return fake_iflash_erase_page(&R.ifl, addr);
}

/* Fresh flashes: the old image in the application area, nothing staged. */
static void rig_setup(const geom_t *g)
{
    uint32_t i;
    uint32_t end;

    fake_flash_free(&R.nor);
    fake_iflash_free(&R.ifl);
    memset(&R, 0, sizeof R);
    R.g = g;
    assert_int_equal(fake_flash_init(&R.nor, g->nor_size, SECTOR, 256u), 0);
    assert_int_equal(fake_iflash_init(&R.ifl, IBASE, g->area, g->page, g->word, g->row, g->erased),
                     0);
    fake_flash_port(&R.nor, &R.cfg.flash);
    R.cfg.flash.ctx = NULL;
    R.cfg.flash.probe = NULL;
    R.cfg.flash.read = nor_read;
    R.cfg.flash.write = nor_write;
    R.cfg.flash.erase = nor_erase;
    R.cfg.meta_addr = META;
    R.cfg.backup_addr = backup_addr();
    R.cfg.backup_size = g->nor_size / 2u;
    fake_iflash_port(&R.ifl, &R.cfg.iflash, g->unit);
    R.cfg.iflash.ctx = NULL;
    R.cfg.iflash.read = if_read;
    R.cfg.iflash.program = if_program;
    R.cfg.iflash.erase_page = if_erase;
    R.cfg.buf = R.buf;
    R.cfg.buf_size = g->buf;

    /* Same pseudo-random images for every run of a geometry. */
    rng = 0x12345678u ^ g->area ^ g->page;
    memset(old_area, g->erased, g->area);
    for (i = 0u; i < g->old_len; i++) {
        old_area[i] = (uint8_t)rnd();
    }
    fake_iflash_poke(&R.ifl, IBASE, old_area, g->area);
    for (i = 0u; i < g->new_len; i++) {
        new_img[i] = (uint8_t)rnd();
    }
    /* A run of erased bytes: write units the boot core need not program. */
    memset(&new_img[1024], g->erased, 300u);
    new_crc = ota_crc32(0u, new_img, g->new_len);
    memcpy(new_area, old_area, g->area);
    memcpy(new_area, new_img, g->new_len);
    end = (g->new_len + g->page - 1u) / g->page * g->page;
    memset(&new_area[g->new_len], g->erased, end - g->new_len);
}

static void rig_arm(uint32_t cut_at, int torn)
{
    R.ops = 0u;
    R.ntrace = 0u;
    R.cut_at = cut_at;
    R.torn = torn;
}

static void power_on(void)
{
    R.off = false;
    R.cut_at = 0u;
    fake_flash_power_on(&R.nor);
    fake_iflash_power_on(&R.ifl);
}

/* Write a request into META (and the image into the slot). */
static void stage_req(uint32_t addr, uint32_t size, uint32_t crc)
{
    ota_bootreq_t req;
    uint8_t rec[OTA_BOOTREQ_SIZE];

    memset(&req, 0, sizeof req);
    req.image_addr = addr;
    req.image_size = size;
    req.image_crc = crc;
    strcpy(req.title, "s31-nb");
    strcpy(req.version, "v2.0.0");
    assert_int_equal(ota_bootreq_encode(&req, rec), OTA_OK);
    fake_flash_poke(&R.nor, META, rec, sizeof rec);
}

static void stage(void)
{
    fake_flash_poke(&R.nor, SLOT, new_img, R.g->new_len);
    stage_req(SLOT, R.g->new_len, new_crc);
}

enum {
    AREA_OLD,
    AREA_NEW,
    AREA_PARTIAL
};

static int area_state(void)
{
    fake_iflash_peek(&R.ifl, IBASE, scratch, R.g->area);
    if (memcmp(scratch, old_area, R.g->area) == 0) {
        return AREA_OLD;
    }
    return (memcmp(scratch, new_area, R.g->area) == 0) ? AREA_NEW : AREA_PARTIAL;
}

/* One boot without a cut; the flash rules must hold. */
static ota_status_t boot(ota_boot_decision_t *dec)
{
    ota_status_t st;

    rig_arm(0u, 0);
    st = ota_boot_run(&R.cfg, dec);
    assert_int_equal(R.nor.bit_errors, 0u);
    assert_int_equal(R.ifl.rule_errors, 0u);
    return st;
}

static void boot_expect(ota_boot_state_t state, int area)
{
    ota_boot_decision_t dec;

    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(dec.port_error, 0);
    assert_int_equal(dec.info.state, state);
    assert_int_equal(area_state(), area);
}

/* Operation number (1-based) of the journal write of `type` with `idx`; 0 if none. */
static uint32_t trace_find(uint8_t type, uint16_t idx)
{
    uint32_t i;

    for (i = 0u; i < R.ntrace; i++) {
        if (R.trace[i].type == type && R.trace[i].idx == idx) {
            return i + 1u;
        }
    }
    return 0u;
}

static uint32_t blocks_of(uint32_t len, uint32_t block)
{
    return (len + block - 1u) / block;
}

/* ------------------------------------------------------------------------ */
/* The basic paths                                                          */
/* ------------------------------------------------------------------------ */

static void test_no_request_no_action(void **state)
{
    ota_boot_decision_t dec;
    ota_boot_info_t info;

    (void)state;
    rig_setup(&G_L0_HALF);
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_NONE);
    assert_int_equal(R.ops, 0u);
    assert_int_equal(area_state(), AREA_OLD);
    assert_int_equal(ota_boot_result(&R.cfg.flash, META, &info), OTA_OK);
    assert_int_equal(info.state, OTA_BOOT_ST_NONE);
    assert_string_equal(info.title, "");
    assert_int_equal(ota_boot_confirm(&R.cfg.flash, META), OTA_ERR_STATE);
    assert_int_equal(ota_boot_mark_reported(&R.cfg.flash, META), OTA_ERR_STATE);
    assert_int_equal(R.ops, 0u);
}

static void test_torn_request_no_action(void **state)
{
    ota_boot_decision_t dec;
    uint8_t b;

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    fake_flash_peek(&R.nor, META + 40u, &b, 1u);
    b ^= 0x10u; /* a damaged request: its CRC fails */
    fake_flash_poke(&R.nor, META + 40u, &b, 1u);
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_NONE);
    assert_int_equal(R.ops, 0u);
    assert_int_equal(area_state(), AREA_OLD);
}

static void test_normal_update_and_confirm(void **state)
{
    ota_boot_decision_t dec;
    ota_boot_info_t info;
    uint8_t half[128];
    int i;

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    assert_int_equal(ota_boot_result(&R.cfg.flash, META, &info), OTA_OK);
    assert_int_equal(info.state, OTA_BOOT_ST_PENDING);
    assert_int_equal(ota_boot_confirm(&R.cfg.flash, META), OTA_ERR_STATE);

    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_TRIAL);
    assert_int_equal(dec.info.boots, 1u);
    assert_int_equal(dec.info.boots_left, 2u);
    assert_string_equal(dec.info.title, "s31-nb");
    assert_string_equal(dec.info.version, "v2.0.0");
    assert_int_equal(area_state(), AREA_NEW);
    /* The 4 blocks the image covers are in the backup slot. */
    fake_flash_peek(&R.nor, backup_addr(), scratch, 4u * SECTOR);
    assert_memory_equal(scratch, old_area, 4u * SECTOR);
    /* Journal: 4 BACKUP, BACKUP_CRC, 4 COPY, INSTALLED, BOOT - one op each. */
    assert_int_equal(trace_find(OTA_BOOT_REC_BACKUP_CRC, 4u) != 0u, 1);
    assert_int_equal(trace_find(OTA_BOOT_REC_COPY, 3u) != 0u, 1);
    assert_int_equal(trace_find(OTA_BOOT_REC_INSTALLED, 0u) != 0u, 1);
    /* The 300 erased bytes: the half-pages entirely erased were not programmed. */
    fake_iflash_peek(&R.ifl, IBASE + 1088u, half, 64u);
    memset(scratch, 0, 64u);
    assert_memory_equal(half, scratch, 64u);

    assert_int_equal(ota_boot_result(&R.cfg.flash, META, &info), OTA_OK);
    assert_int_equal(info.state, OTA_BOOT_ST_TRIAL);
    assert_int_equal(info.boots_left, 2u);
    assert_int_equal(ota_boot_mark_reported(&R.cfg.flash, META), OTA_ERR_STATE);
    rig_arm(0u, 0);
    assert_int_equal(ota_boot_confirm(&R.cfg.flash, META), OTA_OK);
    assert_int_equal(R.ops, 1u);
    assert_int_equal(ota_boot_confirm(&R.cfg.flash, META), OTA_OK); /* idempotent, no write */
    assert_int_equal(R.ops, 1u);
    assert_int_equal(ota_boot_result(&R.cfg.flash, META, &info), OTA_OK);
    assert_int_equal(info.state, OTA_BOOT_ST_UPDATED);
    assert_false(info.reported);

    /* Confirmed: later boots write nothing and count nothing. */
    for (i = 0; i < 6; i++) {
        boot_expect(OTA_BOOT_ST_UPDATED, AREA_NEW);
        assert_int_equal(R.ops, 0u);
    }
    rig_arm(0u, 0);
    assert_int_equal(ota_boot_mark_reported(&R.cfg.flash, META), OTA_OK);
    assert_int_equal(ota_boot_mark_reported(&R.cfg.flash, META), OTA_OK);
    assert_int_equal(R.ops, 1u);
    assert_int_equal(ota_boot_result(&R.cfg.flash, META, &info), OTA_OK);
    assert_int_equal(info.state, OTA_BOOT_ST_UPDATED);
    assert_true(info.reported);
    assert_string_equal(info.title, "s31-nb");
    assert_string_equal(info.version, "v2.0.0");
}

static void test_rollback_after_unconfirmed_boots(void **state)
{
    ota_boot_decision_t dec;
    ota_boot_info_t info;

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.info.boots_left, 2u);
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_TRIAL);
    assert_int_equal(dec.info.boots, 2u);
    assert_int_equal(dec.info.boots_left, 1u);
    assert_int_equal(R.ops, 1u); /* one BOOT record */
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.info.boots, 3u);
    assert_int_equal(dec.info.boots_left, 0u);
    assert_int_equal(area_state(), AREA_NEW);

    boot_expect(OTA_BOOT_ST_ROLLED_BACK, AREA_OLD);
    assert_int_equal(ota_boot_result(&R.cfg.flash, META, &info), OTA_OK);
    assert_int_equal(info.state, OTA_BOOT_ST_ROLLED_BACK);
    assert_int_equal(info.reason, OTA_BOOT_REASON_NOT_CONFIRMED);
    assert_string_equal(info.version, "v2.0.0");
    assert_int_equal(ota_boot_confirm(&R.cfg.flash, META), OTA_ERR_STATE);
    boot_expect(OTA_BOOT_ST_ROLLED_BACK, AREA_OLD);
    assert_int_equal(R.ops, 0u);
    assert_int_equal(ota_boot_mark_reported(&R.cfg.flash, META), OTA_OK);
    assert_int_equal(ota_boot_result(&R.cfg.flash, META, &info), OTA_OK);
    assert_true(info.reported);
}

static void test_max_boots_configurable(void **state)
{
    ota_boot_decision_t dec;

    (void)state;
    rig_setup(&G_L0_HALF);
    R.cfg.max_boots = 1u;
    stage();
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_TRIAL);
    assert_int_equal(dec.info.boots_left, 0u);
    boot_expect(OTA_BOOT_ST_ROLLED_BACK, AREA_OLD);
}

static void test_confirm_stops_countdown(void **state)
{
    int i;

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    boot_expect(OTA_BOOT_ST_TRIAL, AREA_NEW);
    boot_expect(OTA_BOOT_ST_TRIAL, AREA_NEW);
    assert_int_equal(ota_boot_confirm(&R.cfg.flash, META), OTA_OK);
    for (i = 0; i < 10; i++) {
        boot_expect(OTA_BOOT_ST_UPDATED, AREA_NEW);
    }
}

static void test_staged_image_corrupt_never_copied(void **state)
{
    ota_boot_decision_t dec;
    ota_boot_info_t info;
    uint8_t b;

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    fake_flash_peek(&R.nor, SLOT + 5000u, &b, 1u);
    b ^= 0x80u;
    fake_flash_poke(&R.nor, SLOT + 5000u, &b, 1u);
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_REJECTED);
    assert_int_equal(dec.info.reason, OTA_BOOT_REASON_STAGED_CRC);
    assert_int_equal(R.ifl.ops, 0u); /* the internal flash was not touched */
    assert_int_equal(R.nor.erases, 0u);
    assert_int_equal(R.ops, 1u); /* only the REJECTED record */
    assert_int_equal(area_state(), AREA_OLD);
    boot_expect(OTA_BOOT_ST_REJECTED, AREA_OLD);
    assert_int_equal(R.ops, 0u);
    assert_int_equal(ota_boot_result(&R.cfg.flash, META, &info), OTA_OK);
    assert_int_equal(info.reason, OTA_BOOT_REASON_STAGED_CRC);
    assert_int_equal(ota_boot_mark_reported(&R.cfg.flash, META), OTA_OK);
}

static void check_rejected(uint32_t addr, uint32_t size, ota_boot_reason_t why)
{
    ota_boot_decision_t dec;

    rig_setup(&G_L0_HALF);
    stage_req(addr, size, 0x1234u);
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_REJECTED);
    assert_int_equal(dec.info.reason, why);
    assert_int_equal(R.ifl.ops, 0u);
    assert_int_equal(R.ops, 1u);
    assert_int_equal(area_state(), AREA_OLD);
}

static void test_bad_requests_rejected(void **state)
{
    (void)state;
    check_rejected(SLOT, 24577u, OTA_BOOT_REASON_TOO_LARGE);
    check_rejected(SLOT, 0u, OTA_BOOT_REASON_BAD_REQUEST);
    check_rejected(META, 1000u, OTA_BOOT_REASON_BAD_REQUEST);               /* over the metadata */
    check_rejected(SECTOR + 100u, 1000u, OTA_BOOT_REASON_BAD_REQUEST);      /* metadata sector 1 */
    check_rejected(64u * 1024u - 10u, 1000u, OTA_BOOT_REASON_BAD_REQUEST);  /* into the backup */
    check_rejected(128u * 1024u - 10u, 1000u, OTA_BOOT_REASON_BAD_REQUEST); /* past the NOR */
    check_rejected(0xFFFFFF00u, 0x200u, OTA_BOOT_REASON_BAD_REQUEST);
    assert_string_equal(ota_boot_reason_str(OTA_BOOT_REASON_TOO_LARGE),
                        "image larger than the application area; not installed");
}

/* A bit error in the internal flash after the copy: never booted, restored. */
static void corrupt_copy_setup(void)
{
    uint32_t at;
    uint8_t b;
    ota_boot_decision_t dec;

    rig_setup(&G_L0_HALF);
    stage();
    assert_int_equal(boot(&dec), OTA_OK); /* a clean run, to find the op */
    at = trace_find(OTA_BOOT_REC_COPY, 3u);
    assert_int_not_equal(at, 0u);
    rig_setup(&G_L0_HALF);
    stage();
    rig_arm(at + 1u, 0); /* the cut comes right after the last COPY record */
    assert_int_equal(ota_boot_run(&R.cfg, &dec), OTA_ERR_PORT);
    assert_int_equal(dec.action, OTA_BOOT_RETRY); /* INSTALLED not written... */
    power_on();
    assert_int_equal(area_state(), AREA_NEW); /* ...but the copy was complete */
    fake_iflash_peek(&R.ifl, IBASE + 7777u, &b, 1u);
    b ^= 0x04u;
    fake_iflash_poke(&R.ifl, IBASE + 7777u, &b, 1u);
}

static void test_corrupted_copy_never_booted(void **state)
{
    ota_boot_decision_t dec;

    (void)state;
    corrupt_copy_setup();
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_ROLLED_BACK);
    assert_int_equal(dec.info.reason, OTA_BOOT_REASON_COPY_VERIFY);
    assert_int_equal(dec.info.boots, 0u); /* never started as a trial */
    assert_int_equal(trace_find(OTA_BOOT_REC_BOOT, 1u), 0u);
    assert_int_equal(area_state(), AREA_OLD);
    boot_expect(OTA_BOOT_ST_ROLLED_BACK, AREA_OLD);
}

static void test_unchanged_pages_not_rewritten(void **state)
{
    ota_boot_decision_t dec;

    (void)state;
    rig_setup(&G_L0_HALF);
    /* The new image starts with the same 8 KB as the old one. */
    memcpy(new_img, old_area, 8192u);
    memcpy(new_area, new_img, 8192u);
    new_crc = ota_crc32(0u, new_img, 13001u);
    stage();
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(area_state(), AREA_NEW);
    assert_int_equal(R.ifl.erases, (13001u + 127u) / 128u - 64u);
}

/* ------------------------------------------------------------------------ */
/* Faults other than power cuts                                             */
/* ------------------------------------------------------------------------ */

static void test_nor_unreadable(void **state)
{
    ota_boot_decision_t dec;

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    R.nor.fail_read_at = 1u;
    assert_int_equal(boot(&dec), OTA_ERR_PORT);
    assert_int_equal(dec.action, OTA_BOOT_START_UNCHECKED);
    assert_int_equal(dec.port_error, FAKE_FLASH_ERR_INJECTED);
    R.nor.fail_read_at = R.nor.reads + 2u; /* the first journal slot */
    assert_int_equal(boot(&dec), OTA_ERR_PORT);
    assert_int_equal(dec.action, OTA_BOOT_START_UNCHECKED);
    assert_int_equal(R.ops, 0u);
}

static void test_backup_failures_keep_old_image(void **state)
{
    ota_boot_decision_t dec;

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    R.nor.fail_write_at = 3u; /* a data write of the first backup block */
    assert_int_equal(boot(&dec), OTA_ERR_PORT);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(dec.port_error, FAKE_FLASH_ERR_INJECTED);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_PENDING);
    assert_int_equal(R.ifl.ops, 0u);
    assert_int_equal(area_state(), AREA_OLD);

    R.flip_backup = true; /* the backup reads back wrong */
    assert_int_equal(boot(&dec), OTA_ERR_CHECKSUM);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(R.ifl.ops, 0u);
    assert_int_equal(area_state(), AREA_OLD);

    R.flip_backup = false;
    boot_expect(OTA_BOOT_ST_TRIAL, AREA_NEW);
}

static void test_copy_failure_retries(void **state)
{
    ota_boot_decision_t dec;

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    R.ifl.fail_program_at = 10u;
    assert_int_equal(boot(&dec), OTA_ERR_PORT);
    assert_int_equal(dec.action, OTA_BOOT_RETRY);
    assert_int_equal(dec.port_error, FAKE_IFLASH_ERR_INJECTED);
    assert_int_equal(area_state(), AREA_PARTIAL);
    R.ifl.fail_erase_at = R.ifl.erases + 1u;
    assert_int_equal(boot(&dec), OTA_ERR_PORT);
    assert_int_equal(dec.action, OTA_BOOT_RETRY);
    boot_expect(OTA_BOOT_ST_TRIAL, AREA_NEW);
}

static void test_restore_that_does_not_verify(void **state)
{
    ota_boot_decision_t dec;
    uint8_t b;

    (void)state;
    rig_setup(&G_L0_HALF);
    R.cfg.max_boots = 1u;
    stage();
    b = (uint8_t)(old_area[100] ^ 0xFFu);
    boot_expect(OTA_BOOT_ST_TRIAL, AREA_NEW);
    fake_flash_poke(&R.nor, backup_addr() + 100u, &b, 1u); /* backup damaged afterwards */
    assert_int_equal(boot(&dec), OTA_ERR_CHECKSUM);
    assert_int_equal(dec.action, OTA_BOOT_RETRY);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_PENDING);
    assert_int_equal(dec.info.reason, OTA_BOOT_REASON_NOT_CONFIRMED);
    assert_int_equal(boot(&dec), OTA_ERR_CHECKSUM);
    assert_int_equal(dec.action, OTA_BOOT_RETRY);
}

static void test_journal_full(void **state)
{
    ota_boot_decision_t dec;
    uint8_t junk[SECTOR - OTA_BOOT_JOURNAL_OFFSET];

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    memset(junk, 0x5A, sizeof junk); /* every slot a torn record */
    fake_flash_poke(&R.nor, META + OTA_BOOT_JOURNAL_OFFSET, junk, sizeof junk);
    assert_int_equal(boot(&dec), OTA_ERR_NOSPACE);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(R.ifl.ops, 0u);
    assert_int_equal(area_state(), AREA_OLD);
    assert_int_equal(ota_boot_confirm(&R.cfg.flash, META), OTA_ERR_STATE);
}

static void test_params(void **state)
{
    ota_boot_decision_t dec;
    ota_boot_info_t info;
    ota_boot_config_t good;
    ota_boot_config_t c;

    (void)state;
    rig_setup(&G_L0_HALF);
    good = R.cfg;
    assert_int_equal(ota_boot_run(&good, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_boot_run(NULL, &dec), OTA_ERR_PARAM);
    assert_int_equal(dec.action, OTA_BOOT_START_UNCHECKED);
#define BAD(stmt)                                                                                  \
    do {                                                                                           \
        c = good;                                                                                  \
        stmt;                                                                                      \
        assert_int_equal(ota_boot_run(&c, &dec), OTA_ERR_PARAM);                                   \
        assert_int_equal(dec.action, OTA_BOOT_START_UNCHECKED);                                    \
    } while (0)
    BAD(c.flash.read = NULL);
    BAD(c.flash.write = NULL);
    BAD(c.flash.erase = NULL);
    BAD(c.iflash.read = NULL);
    BAD(c.iflash.program = NULL);
    BAD(c.iflash.erase_page = NULL);
    BAD(c.buf = NULL);
    BAD(c.buf_size = 32u);                    /* smaller than the write unit */
    BAD(c.meta_addr = 100u);                  /* unaligned */
    BAD(c.meta_addr = 128u * 1024u - SECTOR); /* no room for sector 1 */
    BAD(c.backup_addr = SECTOR);              /* over metadata sector 1 */
    BAD(c.backup_addr += 1u);
    BAD(c.backup_size = 20480u); /* smaller than the area */
    BAD(c.backup_size = 128u * 1024u);
    BAD(c.iflash.base += 64u);
    BAD(c.iflash.write_unit = 48u);
    BAD(c.iflash.write_unit = 0u);
    BAD(c.iflash.size = 1000u);
    BAD(c.iflash.page_size = 0u);
    BAD({
        c.iflash.page_size = 6144u;
        c.iflash.base = 6144u * 1000u;
    });                              /* not a power of two */
    BAD(c.iflash.write_unit = 256u); /* larger than the page */
    BAD(c.flash.sector_size = 3072u);
    BAD({
        c.iflash.size = 0xFFFFE000u;
        c.iflash.base = 0u;
    });                              /* no backup can hold it */
    BAD(c.flash.sector_size = 256u); /* journal too small for any block size */
    BAD(c.iflash.base = 0xFFFFC000u);
#undef BAD
    assert_int_equal(ota_boot_result(NULL, META, &info), OTA_ERR_PARAM);
    assert_int_equal(ota_boot_result(&good.flash, META, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_boot_result(&good.flash, 100u, &info), OTA_ERR_PARAM);
    assert_int_equal(ota_boot_result(&good.flash, 128u * 1024u, &info), OTA_ERR_PARAM);
    c = good;
    c.flash.write = NULL;
    assert_int_equal(ota_boot_confirm(&c.flash, META), OTA_ERR_PARAM);
    assert_int_equal(ota_boot_mark_reported(&c.flash, META), OTA_ERR_PARAM);
    assert_int_equal(ota_boot_confirm(NULL, META), OTA_ERR_PARAM);
    R.nor.fail_read_at = R.nor.reads + 1u;
    assert_int_equal(ota_boot_result(&good.flash, META, &info), OTA_ERR_PORT);
}

static void test_strings(void **state)
{
    (void)state;
    assert_string_equal(ota_boot_reason_str(OTA_BOOT_REASON_NONE), "");
    assert_string_equal(
        ota_boot_reason_str(OTA_BOOT_REASON_NOT_CONFIRMED),
        "new firmware did not confirm within its trial boots; previous firmware restored");
    assert_string_equal(
        ota_boot_reason_str(OTA_BOOT_REASON_COPY_VERIFY),
        "copy in internal flash failed its CRC-32 check; previous firmware restored");
    assert_string_equal(ota_boot_reason_str(OTA_BOOT_REASON_STAGED_CRC),
                        "staged image failed its CRC-32 check; not installed");
    assert_string_equal(ota_boot_reason_str(OTA_BOOT_REASON_BAD_REQUEST),
                        "boot request outside the staging area; not installed");
    assert_string_equal(ota_boot_reason_str((ota_boot_reason_t)99), "");
    assert_string_equal(ota_boot_state_str(OTA_BOOT_ST_NONE), "none");
    assert_string_equal(ota_boot_state_str(OTA_BOOT_ST_PENDING), "pending");
    assert_string_equal(ota_boot_state_str(OTA_BOOT_ST_TRIAL), "trial");
    assert_string_equal(ota_boot_state_str(OTA_BOOT_ST_UPDATED), "updated");
    assert_string_equal(ota_boot_state_str(OTA_BOOT_ST_ROLLED_BACK), "rolled back");
    assert_string_equal(ota_boot_state_str(OTA_BOOT_ST_REJECTED), "rejected");
    assert_string_equal(ota_boot_state_str((ota_boot_state_t)6), "?");
}

/* ------------------------------------------------------------------------ */
/* Geometries                                                               */
/* ------------------------------------------------------------------------ */

static void update_then_rollback(const geom_t *g)
{
    ota_boot_decision_t dec;

    rig_setup(g);
    stage();
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_TRIAL);
    assert_int_equal(area_state(), AREA_NEW);
    boot_expect(OTA_BOOT_ST_TRIAL, AREA_NEW);
    boot_expect(OTA_BOOT_ST_TRIAL, AREA_NEW);
    boot_expect(OTA_BOOT_ST_ROLLED_BACK, AREA_OLD);
    rig_setup(g);
    stage();
    boot_expect(OTA_BOOT_ST_TRIAL, AREA_NEW);
    assert_int_equal(ota_boot_confirm(&R.cfg.flash, META), OTA_OK);
    boot_expect(OTA_BOOT_ST_UPDATED, AREA_NEW);
}

static void test_geometries(void **state)
{
    (void)state;
    update_then_rollback(&G_L0_HALF);
    update_then_rollback(&G_L0_WORD);
    update_then_rollback(&G_2K);
    update_then_rollback(&G_BIG);
}

static void test_large_area_scales_blocks(void **state)
{
    ota_boot_decision_t dec;

    (void)state;
    rig_setup(&G_HUGE);
    stage();
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_TRIAL);
    assert_int_equal(area_state(), AREA_NEW);
    /* 4 KB blocks would need 3 * 256 records: the blocks are 16 KB. */
    assert_int_not_equal(trace_find(OTA_BOOT_REC_COPY, (uint16_t)(blocks_of(300000u, 16384u) - 1u)),
                         0u);
    assert_int_equal(trace_find(OTA_BOOT_REC_COPY, (uint16_t)blocks_of(300000u, 16384u)), 0u);
    fake_iflash_free(&R.ifl);
    fake_flash_free(&R.nor);
}

/* ------------------------------------------------------------------------ */
/* Power cuts                                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    uint32_t points;
    uint32_t final_old;
    uint32_t final_new;
    uint32_t cut_old; /* at the cut, the area held the old image intact */
    uint32_t cut_new;
    uint32_t cut_partial;
} tally_t;

static uint32_t total_points;
static uint32_t total_old;
static uint32_t total_new;

static const char *torn_name(int torn)
{
    static const char *const names[] = { "clean", "torn 1/2", "torn n-1", "mixed" };

    return names[torn];
}

static void report(const char *what, const geom_t *g, int torn, const tally_t *t)
{
    printf("[ boot-cut ] %-8s %-24s %-8s: %4u cut points -> final old %u, new %u; "
           "at the cut: old %u, new %u, partial %u (never started)\n",
           what, g->name, torn_name(torn), t->points, t->final_old, t->final_new, t->cut_old,
           t->cut_new, t->cut_partial);
    total_points += t->points;
    total_old += t->final_old;
    total_new += t->final_new;
}

/* After the interrupted run: tally, and a START decision must mean intact. */
static void after_cut(const ota_boot_decision_t *dec, tally_t *t)
{
    int s = area_state();

    assert_true(R.off);
    t->points++;
    t->cut_old += (s == AREA_OLD) ? 1u : 0u;
    t->cut_new += (s == AREA_NEW) ? 1u : 0u;
    t->cut_partial += (s == AREA_PARTIAL) ? 1u : 0u;
    if (dec->action == OTA_BOOT_START) {
        assert_int_not_equal(s, AREA_PARTIAL);
    }
    power_on();
}

static void final_is(ota_boot_state_t st, ota_boot_reason_t why, int area, tally_t *t)
{
    ota_boot_decision_t dec;

    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.action, OTA_BOOT_START);
    assert_int_equal(dec.info.state, st);
    assert_int_equal(dec.info.reason, why);
    assert_int_equal(area_state(), area);
    if (st == OTA_BOOT_ST_TRIAL) {
        assert_int_equal(dec.info.boots, 1u);
    }
    t->final_old += (area == AREA_OLD) ? 1u : 0u;
    t->final_new += (area == AREA_NEW) ? 1u : 0u;
}

static void sweep_install(const geom_t *g, int torn)
{
    ota_boot_decision_t dec;
    tally_t t;
    uint32_t n;
    uint32_t i;

    memset(&t, 0, sizeof t);
    rig_setup(g);
    stage();
    assert_int_equal(boot(&dec), OTA_OK);
    n = R.ops;
    for (i = 1u; i <= n; i++) {
        rig_setup(g);
        stage();
        rig_arm(i, torn);
        assert_int_not_equal(ota_boot_run(&R.cfg, &dec), OTA_OK);
        after_cut(&dec, &t);
        final_is(OTA_BOOT_ST_TRIAL, OTA_BOOT_REASON_NONE, AREA_NEW, &t);
    }
    assert_int_equal(t.final_new, n);
    report("install", g, torn, &t);
}

/* Install, then boot unconfirmed until the rollback; the cut hits the boot
 * that restores. */
static void to_rollback(const geom_t *g)
{
    ota_boot_decision_t dec;
    int b;

    rig_setup(g);
    stage();
    for (b = 0; b < 3; b++) {
        assert_int_equal(boot(&dec), OTA_OK);
    }
}

static void sweep_rollback(const geom_t *g, int torn)
{
    ota_boot_decision_t dec;
    tally_t t;
    uint32_t n;
    uint32_t i;

    memset(&t, 0, sizeof t);
    to_rollback(g);
    assert_int_equal(boot(&dec), OTA_OK);
    assert_int_equal(dec.info.state, OTA_BOOT_ST_ROLLED_BACK);
    n = R.ops;
    for (i = 1u; i <= n; i++) {
        to_rollback(g);
        rig_arm(i, torn);
        assert_int_not_equal(ota_boot_run(&R.cfg, &dec), OTA_OK);
        after_cut(&dec, &t);
        final_is(OTA_BOOT_ST_ROLLED_BACK, OTA_BOOT_REASON_NOT_CONFIRMED, AREA_OLD, &t);
    }
    assert_int_equal(t.final_old, n);
    report("rollback", g, torn, &t);
}

/* Cuts during the restore that follows a copy that did not verify. */
static void sweep_bad_copy(int torn)
{
    ota_boot_decision_t dec;
    tally_t t;
    uint32_t n;
    uint32_t i;

    memset(&t, 0, sizeof t);
    corrupt_copy_setup();
    assert_int_equal(boot(&dec), OTA_OK);
    n = R.ops;
    for (i = 1u; i <= n; i++) {
        corrupt_copy_setup();
        rig_arm(i, torn);
        assert_int_not_equal(ota_boot_run(&R.cfg, &dec), OTA_OK);
        after_cut(&dec, &t);
        final_is(OTA_BOOT_ST_ROLLED_BACK, OTA_BOOT_REASON_COPY_VERIFY, AREA_OLD, &t);
    }
    report("bad copy", &G_L0_HALF, torn, &t);
}

static void test_cut_every_op_install_stm32l0(void **state)
{
    (void)state;
    sweep_install(&G_L0_HALF, 0);
    sweep_install(&G_L0_HALF, 1);
    sweep_install(&G_L0_HALF, 2);
    sweep_install(&G_L0_WORD, 0);
    sweep_install(&G_L0_WORD, 1);
}

static void test_cut_every_op_install_other_geometries(void **state)
{
    (void)state;
    sweep_install(&G_2K, 0);
    sweep_install(&G_2K, 2);
    sweep_install(&G_BIG, 0);
    sweep_install(&G_BIG, 1);
}

static void test_cut_every_op_rollback(void **state)
{
    (void)state;
    sweep_rollback(&G_L0_HALF, 0);
    sweep_rollback(&G_L0_HALF, 1);
    sweep_rollback(&G_L0_HALF, 2);
    sweep_rollback(&G_2K, 1);
    sweep_rollback(&G_BIG, 2);
    sweep_bad_copy(0);
    sweep_bad_copy(1);
}

/* The last half-page of the image, torn: the page is redone. */
static void test_torn_last_half_page(void **state)
{
    ota_boot_decision_t dec;
    uint8_t got[64];
    uint32_t last = 0u;
    uint32_t progs = 0u;
    uint32_t i;
    uint32_t addr = IBASE + 12928u; /* 13001 bytes: the last page starts at 12928 */

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    assert_int_equal(boot(&dec), OTA_OK);
    for (i = 0u; i < R.ntrace; i++) {
        progs += (R.trace[i].kind == OP_IF_P) ? 1u : 0u;
        last = (R.trace[i].kind == OP_IF_P && R.trace[i].addr == addr) ? i + 1u : last;
    }
    /* 102 pages = 204 half-pages, minus the 4 inside the erased run [1024, 1324). */
    assert_int_equal(progs, 200u);
    assert_int_not_equal(last, 0u);
    rig_setup(&G_L0_HALF);
    stage();
    rig_arm(last, 1);
    assert_int_equal(ota_boot_run(&R.cfg, &dec), OTA_ERR_PORT);
    assert_int_equal(dec.action, OTA_BOOT_RETRY);
    power_on();
    fake_iflash_peek(&R.ifl, addr, got, 64u);
    assert_memory_equal(got, &new_area[addr - IBASE], 32u); /* half landed */
    memset(scratch, 0, 32u);
    assert_memory_equal(&got[32], scratch, 32u); /* the rest still erased */
    boot_expect(OTA_BOOT_ST_TRIAL, AREA_NEW);
}

/* A torn journal record is skipped; the next one goes after it. */
static void test_torn_journal_record(void **state)
{
    ota_boot_decision_t dec;
    ota_boot_info_t info;
    uint32_t at;
    uint8_t slot[OTA_BOOT_REC_SIZE];
    uint32_t addr;

    (void)state;
    rig_setup(&G_L0_HALF);
    stage();
    assert_int_equal(boot(&dec), OTA_OK);
    at = trace_find(OTA_BOOT_REC_COPY, 1u);
    addr = R.trace[at - 1u].addr;
    rig_setup(&G_L0_HALF);
    stage();
    rig_arm(at, 1);
    assert_int_equal(ota_boot_run(&R.cfg, &dec), OTA_ERR_PORT);
    power_on();
    fake_flash_peek(&R.nor, addr, slot, sizeof slot);
    assert_int_equal(slot[0], OTA_BOOT_REC_COPY); /* 8 of 16 bytes landed */
    assert_int_equal(slot[8], 0xFFu);
    boot_expect(OTA_BOOT_ST_TRIAL, AREA_NEW);
    assert_int_equal(trace_find(OTA_BOOT_REC_COPY, 1u), 1u);     /* block 1 redone first... */
    assert_int_equal(R.trace[0].addr, addr + OTA_BOOT_REC_SIZE); /* ...in the next slot */

    /* A torn CONFIRMED: still on trial, and confirming again works. */
    rig_arm(1u, 1);
    assert_int_equal(ota_boot_confirm(&R.cfg.flash, META), OTA_ERR_PORT);
    power_on();
    assert_int_equal(ota_boot_result(&R.cfg.flash, META, &info), OTA_OK);
    assert_int_equal(info.state, OTA_BOOT_ST_TRIAL);
    rig_arm(0u, 0);
    assert_int_equal(ota_boot_confirm(&R.cfg.flash, META), OTA_OK);
    assert_int_equal(R.nor.bit_errors, 0u);
    boot_expect(OTA_BOOT_ST_UPDATED, AREA_NEW);
}

/* Several cuts, at random points, through install, trial boots and rollback. */
static void test_random_cuts_whole_life(void **state)
{
    ota_boot_decision_t dec;
    tally_t t;
    uint32_t seed;
    uint32_t runs;
    uint32_t r = 0xC0FFEEu;
    ota_status_t st;

    (void)state;
    memset(&t, 0, sizeof t);
    for (seed = 0u; seed < 60u; seed++) {
        rig_setup(&G_L0_HALF);
        stage();
        for (runs = 0u; runs < 60u; runs++) {
            r = r * 1103515245u + 12345u;
            rig_arm(((r >> 8) % 3u == 0u) ? 0u : 1u + (r >> 12) % 500u, (int)((r >> 4) % 3u));
            st = ota_boot_run(&R.cfg, &dec);
            if (R.off) {
                after_cut(&dec, &t);
                continue;
            }
            assert_int_equal(st, OTA_OK);
            assert_int_not_equal(area_state(), AREA_PARTIAL);
            if (dec.info.state == OTA_BOOT_ST_ROLLED_BACK) {
                break;
            }
        }
        assert_int_equal(dec.info.state, OTA_BOOT_ST_ROLLED_BACK);
        assert_int_equal(area_state(), AREA_OLD);
        t.final_old++;
    }
    report("random", &G_L0_HALF, 3, &t);
}

static void test_summary(void **state)
{
    (void)state;
    printf("[ boot-cut ] total: %u cut points tried; every one ended in an intact image "
           "(old %u, new %u), never in a partial one\n",
           total_points, total_old, total_new);
    assert_true(total_points > 5000u);
}

/* ------------------------------------------------------------------------ */
/* The fake internal flash itself                                           */
/* ------------------------------------------------------------------------ */

static void test_fake_iflash_rules(void **state)
{
    fake_iflash_t f;
    ota_boot_iflash_t p;
    uint8_t d[64];
    uint8_t got[128];

    (void)state;
    assert_int_equal(fake_iflash_init_stm32l0(&f, IBASE, 1024u), 0);
    fake_iflash_port(&f, &p, 64u);
    assert_int_equal(p.page_size, 128u);
    assert_int_equal(p.erased_value, 0x00u);
    memset(d, 0xA5, sizeof d);
    assert_int_equal(p.read(p.ctx, IBASE, got, 128u), 0);
    memset(scratch, 0, 128u);
    assert_memory_equal(got, scratch, 128u); /* erased reads 0x00 */
    assert_int_equal(p.program(p.ctx, IBASE, d, 64u), 0);
    assert_int_equal(p.program(p.ctx, IBASE, d, 64u), FAKE_IFLASH_ERR_NOT_ERASED);
    assert_int_equal(p.program(p.ctx, IBASE + 4u, d, 4u), FAKE_IFLASH_ERR_NOT_ERASED);
    assert_int_equal(p.program(p.ctx, IBASE + 64u, d, 32u), FAKE_IFLASH_ERR_ALIGN);
    assert_int_equal(p.program(p.ctx, IBASE + 66u, d, 4u), FAKE_IFLASH_ERR_ALIGN);
    assert_int_equal(p.program(p.ctx, IBASE + 96u, d, 64u), FAKE_IFLASH_ERR_ALIGN);
    assert_int_equal(p.program(p.ctx, IBASE + 1024u, d, 4u), FAKE_IFLASH_ERR_RANGE);
    assert_int_equal(p.program(p.ctx, IBASE + 64u, d, 4u), 0);
    assert_int_equal(f.rule_errors, 5u);
    assert_int_equal(p.erase_page(p.ctx, IBASE + 64u), FAKE_IFLASH_ERR_ALIGN);
    assert_int_equal(p.erase_page(p.ctx, IBASE), 0);
    assert_int_equal(p.read(p.ctx, IBASE, got, 128u), 0);
    assert_memory_equal(got, scratch, 128u);

    /* A torn half-page, then a torn erase, then power on. */
    f.cut_before_op = f.ops + 1u;
    f.cut_bytes = 10u;
    assert_int_equal(p.program(p.ctx, IBASE, d, 64u), FAKE_IFLASH_ERR_POWER);
    assert_true(f.powered_off);
    assert_int_equal(p.read(p.ctx, IBASE, got, 4u), FAKE_IFLASH_ERR_POWER);
    fake_iflash_power_on(&f);
    fake_iflash_peek(&f, IBASE, got, 64u);
    assert_memory_equal(got, d, 10u);
    assert_memory_equal(&got[10], scratch, 54u);
    assert_int_equal(p.program(p.ctx, IBASE + 64u, d, 64u), 0);
    f.cut_before_op = f.ops + 1u;
    f.cut_bytes = 100u;
    assert_int_equal(p.erase_page(p.ctx, IBASE), FAKE_IFLASH_ERR_POWER);
    fake_iflash_power_on(&f);
    fake_iflash_peek(&f, IBASE, got, 128u);
    assert_memory_equal(got, scratch, 100u);
    assert_memory_equal(&got[100], &d[36], 28u);
    f.fail_erase_at = f.erases + 1u;
    assert_int_equal(p.erase_page(p.ctx, IBASE), FAKE_IFLASH_ERR_INJECTED);
    f.fail_program_at = f.programs + 1u;
    assert_int_equal(p.program(p.ctx, IBASE + 896u, d, 64u), FAKE_IFLASH_ERR_INJECTED);
    assert_int_equal(fake_iflash_init(&f, IBASE + 1u, 1024u, 128u, 4u, 64u, 0u), -1);
    fake_iflash_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_iflash_rules),
        cmocka_unit_test(test_no_request_no_action),
        cmocka_unit_test(test_torn_request_no_action),
        cmocka_unit_test(test_normal_update_and_confirm),
        cmocka_unit_test(test_rollback_after_unconfirmed_boots),
        cmocka_unit_test(test_max_boots_configurable),
        cmocka_unit_test(test_confirm_stops_countdown),
        cmocka_unit_test(test_staged_image_corrupt_never_copied),
        cmocka_unit_test(test_bad_requests_rejected),
        cmocka_unit_test(test_corrupted_copy_never_booted),
        cmocka_unit_test(test_unchanged_pages_not_rewritten),
        cmocka_unit_test(test_nor_unreadable),
        cmocka_unit_test(test_backup_failures_keep_old_image),
        cmocka_unit_test(test_copy_failure_retries),
        cmocka_unit_test(test_restore_that_does_not_verify),
        cmocka_unit_test(test_journal_full),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_geometries),
        cmocka_unit_test(test_large_area_scales_blocks),
        cmocka_unit_test(test_torn_last_half_page),
        cmocka_unit_test(test_torn_journal_record),
        cmocka_unit_test(test_cut_every_op_install_stm32l0),
        cmocka_unit_test(test_cut_every_op_install_other_geometries),
        cmocka_unit_test(test_cut_every_op_rollback),
        cmocka_unit_test(test_random_cuts_whole_life),
        cmocka_unit_test(test_summary),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    fake_flash_free(&R.nor);
    fake_iflash_free(&R.ifl);
    return rc;
}
