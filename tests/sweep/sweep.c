/*
 * cellota-sweep: cut the power at every flash operation of a device's whole
 * update and check that the device is never bricked and always finishes.
 *
 * The life of one device, on the POSIX simulation (file-backed external NOR
 * and internal flash, the real client, the real boot core, an in-process
 * ThingsBoard server): it runs firmware v1, downloads and stages v2 (code
 * 100), reboots, the bootloader backs up v1 and installs v2, v2 boots on
 * trial, reaches its server and confirms.
 *
 * A reference run counts the flash operations (programs and erases, on both
 * flashes). Then, for each operation i, a fresh device lives the same life
 * with the power cut before operation i (or with that operation torn), is
 * powered on again and lives on until the end. Checked after every boot:
 * the internal flash holds v1 or v2 intact, and the boot core never asks to
 * start anything else; at the end: v2 runs, confirmed; and the chunks asked
 * more than once over the whole life are at most the window W.
 *
 *   cellota-sweep [--image BYTES] [--window W] [--raw CHUNK] [--tear BYTES]
 *                 [--every K] [--random RUNS] [--seed S] [--dir DIR] [--quiet]
 *
 * Prints: operations, cut points tried, devices bricked, the most chunks
 * downloaded again, and how the lives ended. Exit status 0 only if no device
 * was bricked and every life completed.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cellota/ota_boot.h"
#include "cellota/ota_client.h"
#include "cellota/ota_crc32.h"
#include "cellota_posix/cellota_iflash.h"
#include "cellota_posix/cellota_posix.h"
#include "fake_tb.h"
#include "sim_mcu.h"

#define NOR_SIZE (1024u * 1024u)
#define MAX_BOOTS_PER_LIFE 40

typedef struct {
    uint32_t image;
    uint8_t window;
    uint32_t raw_chunk; /* 0: Dragino package */
    uint32_t tear;
    uint32_t every;
    uint32_t random_runs;
    uint32_t seed;
    const char *dir;
    bool quiet;
} opts_t;

/* One power rail for both flashes: operations are numbered across them. */
typedef struct {
    bool down;
    uint32_t ops;
    uint32_t cut_at[4]; /* cut before these global operations (0 = none) */
    uint32_t tear;
    ota_flash_t nor;            /* the real ports behind the rail */
    ota_boot_iflash_t iflash;
    cellota_flash_file_t *norf;
    cellota_iflash_file_t *iff;
} rail_t;

static rail_t g_rail;

static bool rail_op(bool nor)
{
    if (g_rail.down) {
        return false;
    }
    g_rail.ops++;
    for (unsigned i = 0; i < 4u; i++) {
        if (g_rail.cut_at[i] != 0u && g_rail.cut_at[i] == g_rail.ops) {
            /* Let the device's own model tear (or refuse) this operation. */
            if (nor) {
                cellota_flash_file_tear(g_rail.norf, g_rail.tear);
                cellota_flash_file_cut_power_before(g_rail.norf, 1u);
            } else {
                cellota_iflash_file_tear(g_rail.iff, g_rail.tear);
                cellota_iflash_file_cut_power_before(g_rail.iff, 1u);
            }
            g_rail.down = true;
            return true; /* the op runs into the armed cut and fails */
        }
    }
    return true;
}

static int nor_probe(void *ctx)
{
    (void)ctx;
    return g_rail.down ? CELLOTA_POSIX_EPOWER : g_rail.nor.probe(g_rail.nor.ctx);
}
static int nor_read(void *ctx, uint32_t a, void *b, size_t n)
{
    (void)ctx;
    return g_rail.down ? CELLOTA_POSIX_EPOWER : g_rail.nor.read(g_rail.nor.ctx, a, b, n);
}
static int nor_write(void *ctx, uint32_t a, const void *b, size_t n)
{
    (void)ctx;
    bool cut_now = !g_rail.down && rail_op(true) && g_rail.down;
    if (g_rail.down && !cut_now) {
        return CELLOTA_POSIX_EPOWER;
    }
    return g_rail.nor.write(g_rail.nor.ctx, a, b, n);
}
static int nor_erase(void *ctx, uint32_t a)
{
    (void)ctx;
    bool cut_now = !g_rail.down && rail_op(true) && g_rail.down;
    if (g_rail.down && !cut_now) {
        return CELLOTA_POSIX_EPOWER;
    }
    return g_rail.nor.erase(g_rail.nor.ctx, a);
}
static int if_read(void *ctx, uint32_t a, void *b, size_t n)
{
    (void)ctx;
    return g_rail.down ? CELLOTA_POSIX_EPOWER : g_rail.iflash.read(g_rail.iflash.ctx, a, b, n);
}
static int if_program(void *ctx, uint32_t a, const void *b, size_t n)
{
    (void)ctx;
    bool cut_now = !g_rail.down && rail_op(false) && g_rail.down;
    if (g_rail.down && !cut_now) {
        return CELLOTA_POSIX_EPOWER;
    }
    return g_rail.iflash.program(g_rail.iflash.ctx, a, b, n);
}
static int if_erase(void *ctx, uint32_t a)
{
    (void)ctx;
    bool cut_now = !g_rail.down && rail_op(false) && g_rail.down;
    if (g_rail.down && !cut_now) {
        return CELLOTA_POSIX_EPOWER;
    }
    return g_rail.iflash.erase_page(g_rail.iflash.ctx, a);
}

/* ------------------------------------------------------------------------ */

typedef struct {
    uint8_t *v1;
    uint32_t v1_len;
    uint8_t *v2;
    uint32_t v2_len;
    uint8_t *pkg;
    uint32_t pkg_len;
    uint32_t chunks;
} images_t;

typedef struct {
    cellota_flash_file_t norf;
    cellota_iflash_file_t iff;
    sim_mcu_t mcu;
    cellota_flash_layout_t map;
    fake_tb_t tb;
    fake_clock_t clk;
    ota_settings_t set;
    ota_config_t cfg;
    ota_client_t cli;
    int boots;
    bool bricked;
    char why[160];
} device_t;

static opts_t g_opt;
static images_t g_img;
static char g_nor_path[512];
static char g_if_path[512];

static void gen(uint8_t *p, uint32_t n, uint32_t seed, const char *marker)
{
    uint32_t x = seed * 2654435761u + 7u;
    for (uint32_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
    memcpy(p, marker, strlen(marker));
}

static void make_images(void)
{
    uint32_t o = 0;
    g_img.v1_len = g_opt.image + 333u; /* the old firmware is a bit larger */
    g_img.v2_len = g_opt.image;
    g_img.v1 = malloc(g_img.v1_len);
    g_img.v2 = malloc(g_img.v2_len);
    g_img.pkg = malloc(g_img.v2_len + g_img.v2_len / 256u + 8u);
    if (g_img.v1 == NULL || g_img.v2 == NULL || g_img.pkg == NULL) {
        exit(3);
    }
    gen(g_img.v1, g_img.v1_len, 1u, "cellota-fw s31-nb v1.0.0;");
    gen(g_img.v2, g_img.v2_len, 2u, "cellota-fw s31-nb v1.1.0;");
    if (g_opt.raw_chunk != 0u) {
        memcpy(g_img.pkg, g_img.v2, g_img.v2_len);
        g_img.pkg_len = g_img.v2_len;
        g_img.chunks = (g_img.v2_len + g_opt.raw_chunk - 1u) / g_opt.raw_chunk;
        return;
    }
    for (uint32_t i = 0; i < g_img.v2_len; i += 1024u) {
        uint32_t n = (g_img.v2_len - i < 1024u) ? g_img.v2_len - i : 1024u;
        uint32_t crc = ota_crc32(0, &g_img.v2[i], n);
        memcpy(&g_img.pkg[o], &g_img.v2[i], n);
        o += n;
        for (int b = 0; b < 4; b++) {
            g_img.pkg[o++] = (uint8_t)(crc >> (8 * b));
        }
    }
    g_img.pkg_len = o;
    g_img.chunks = (g_img.v2_len + 1023u) / 1024u;
}

/* Which image the application area holds whole: 1, 2, or 0 (neither). */
static int app_holds(device_t *d)
{
    if (sim_mcu_app_crc(&d->mcu, g_img.v2_len) == ota_crc32(0, g_img.v2, g_img.v2_len)) {
        return 2;
    }
    if (sim_mcu_app_crc(&d->mcu, g_img.v1_len) == ota_crc32(0, g_img.v1, g_img.v1_len)) {
        return 1;
    }
    return 0;
}

static void power_on(device_t *d)
{
    g_rail.down = false;
    cellota_flash_file_power_restore(&d->norf);
    cellota_iflash_file_power_restore(&d->iff);
}

/* A new device: factory-programmed with v1, blank external flash. */
static void device_new(device_t *d)
{
    memset(d, 0, sizeof *d);
    (void)unlink(g_nor_path);
    (void)unlink(g_if_path);
    if (cellota_flash_file_open(&d->norf, g_nor_path, NOR_SIZE) != 0 ||
        cellota_posix_layout(NOR_SIZE, &d->map) != 0 ||
        cellota_iflash_file_open(&d->iff, g_if_path, CELLOTA_IFLASH_BASE, CELLOTA_IFLASH_SIZE) != 0 ||
        cellota_iflash_file_program_raw(&d->iff, CELLOTA_IFLASH_BASE, g_img.v1, g_img.v1_len) != 0) {
        fprintf(stderr, "sweep: cannot create the flash files in %s\n", g_opt.dir);
        exit(3);
    }
    memset(&g_rail, 0, sizeof g_rail);
    g_rail.norf = &d->norf;
    g_rail.iff = &d->iff;
    g_rail.nor = cellota_flash_file_port(&d->norf);
    g_rail.iflash = cellota_iflash_file_port(&d->iff);
    ota_flash_t nor = g_rail.nor;
    nor.ctx = NULL;
    nor.probe = nor_probe;
    nor.read = nor_read;
    nor.write = nor_write;
    nor.erase = nor_erase;
    /* sim_mcu opens its own handle on the internal flash file; route it
     * through the rail instead. */
    memset(&d->mcu, 0, sizeof d->mcu);
    d->mcu.nor = nor;
    d->mcu.meta_addr = d->map.meta_addr;
    d->mcu.backup_addr = d->map.backup_addr;
    d->mcu.backup_size = d->map.backup_size;
    d->mcu.iport = g_rail.iflash;
    d->mcu.iport.ctx = NULL;
    d->mcu.iport.read = if_read;
    d->mcu.iport.program = if_program;
    d->mcu.iport.erase_page = if_erase;

    fake_tb_init(&d->tb, g_img.pkg, g_img.pkg_len, "s31-nb", "v1.1.0");
    d->clk.now = 5000u;
    ota_config_defaults(&d->cfg);
    d->cfg.transport = fake_tb_transport(&d->tb);
    d->cfg.flash = nor;
    d->cfg.clock = fake_clock(&d->clk);
    d->cfg.settings = &d->set;
    d->cfg.imei = "860000000000001";
    d->cfg.meta_addr = d->map.meta_addr;
    d->cfg.slot_addr = d->map.slot_addr;
    d->cfg.slot_size = d->map.slot_size;
    d->cfg.format = g_opt.raw_chunk ? OTA_PKG_RAW : OTA_PKG_DRAGINO;
    d->cfg.raw_chunk_size = g_opt.raw_chunk ? g_opt.raw_chunk : 1024u;
    d->cfg.window = g_opt.window;
    d->cfg.attempt_retries = 0; /* a cut ends the attempt; the next boot goes on */
    d->cfg.answer_timeout_ms = 2000u;
}

static void device_close(device_t *d)
{
    cellota_flash_file_close(&d->norf);
    cellota_iflash_file_close(&d->iff);
}

/* Drive the client until it is idle or done. */
static ota_code_t client_run(device_t *d, bool confirm_on_link)
{
    ota_client_info_t in;
    if (ota_client_init(&d->cli, &d->cfg) != OTA_OK || ota_client_start(&d->cli) != OTA_OK) {
        return OTA_CODE_NONE;
    }
    for (int i = 0; i < 200000; i++) {
        uint32_t at;
        (void)ota_client_poll(&d->cli, d->clk.now);
        (void)ota_client_info(&d->cli, &in);
        if (confirm_on_link && in.state == OTA_STATE_NEGOTIATING) {
            /* The new firmware reached its server: it confirms itself. */
            (void)ota_boot_confirm(&d->cfg.flash, d->cfg.meta_addr);
            confirm_on_link = false;
        }
        if (in.state == OTA_STATE_IDLE || in.state == OTA_STATE_DONE) {
            return in.code;
        }
        if (ota_client_next_deadline(&d->cli, &at) && fake_tb_pending(&d->tb) == 0 &&
            (int32_t)(at - d->clk.now) > 0) {
            d->clk.now = (at - d->clk.now > 100u) ? d->clk.now + 100u : at;
        }
    }
    return OTA_CODE_NONE;
}

/* One boot: the bootloader, then the firmware it starts. Returns true when
 * the life is over (v2 confirmed), false to boot again (after a cut, a
 * code 100, a retry decision). Sets d->bricked on a broken invariant. */
static bool boot_once(device_t *d)
{
    d->boots++;
    ota_status_t st = sim_mcu_boot(&d->mcu);
    (void)st;
    if (g_rail.down) {
        return false; /* the cut hit the bootloader: boot again */
    }
    if (d->mcu.last.action == OTA_BOOT_RETRY) {
        snprintf(d->why, sizeof d->why, "boot core asks to retry without a cut (port %d)",
                 d->mcu.last.port_error);
        d->bricked = true;
        return true;
    }
    int holds = app_holds(d);
    if (holds == 0) {
        snprintf(d->why, sizeof d->why, "bootloader starts an application area that holds neither image");
        d->bricked = true;
        return true;
    }
    ota_boot_info_t info;
    if (ota_boot_result(&d->cfg.flash, d->cfg.meta_addr, &info) != OTA_OK) {
        return false;
    }
    bool trial = info.state == OTA_BOOT_ST_TRIAL;
    strcpy(d->set.title, "s31-nb");
    strcpy(d->set.version, holds == 2 ? "v1.1.0" : "v1.0.0");
    ota_code_t code = client_run(d, trial);
    if (g_rail.down) {
        return false;
    }
    if (code == OTA_CODE_SUCCESS) {
        return false; /* reboot into the bootloader */
    }
    if (ota_boot_result(&d->cfg.flash, d->cfg.meta_addr, &info) != OTA_OK) {
        return false;
    }
    if (holds == 2 && code == OTA_CODE_SAME_VERSION && info.state == OTA_BOOT_ST_UPDATED) {
        return true; /* v2 runs, confirmed */
    }
    if (code == OTA_CODE_NONE || holds == 1 || holds == 2) {
        return false; /* a cut-less failure: try again on the next boot */
    }
    return false;
}

typedef struct {
    uint32_t tried;
    uint32_t bricked;
    uint32_t incomplete;
    uint32_t worst_again;
    uint64_t boots;
} tally_t;

/* Live one life with cuts at the given global operations. */
static void live(const uint32_t *cuts, unsigned ncuts, tally_t *t, uint32_t *ops_out)
{
    device_t *d = calloc(1, sizeof *d);
    if (d == NULL) {
        exit(3);
    }
    device_new(d);
    for (unsigned i = 0; i < ncuts && i < 4u; i++) {
        g_rail.cut_at[i] = cuts[i];
    }
    g_rail.tear = g_opt.tear;
    bool over = false;
    while (!over && d->boots < MAX_BOOTS_PER_LIFE) {
        over = boot_once(d);
        if (g_rail.down) {
            power_on(d);
        }
    }
    if (ops_out != NULL) {
        *ops_out = g_rail.ops;
    }
    t->tried++;
    t->boots += (uint64_t)d->boots;
    uint32_t again = (uint32_t)d->tb.chunk_requests - g_img.chunks;
    if (!over) {
        snprintf(d->why, sizeof d->why, "did not finish in %d boots", MAX_BOOTS_PER_LIFE);
    }
    if (d->bricked || !over) {
        if (d->bricked) {
            t->bricked++;
        } else {
            t->incomplete++;
        }
        fprintf(stderr, "sweep: cuts at %u%s: %s\n", cuts[0], ncuts > 1 ? " (and more)" : "", d->why);
    } else if (again > t->worst_again) {
        t->worst_again = again;
    }
    device_close(d);
    free(d);
}

static void usage(void)
{
    puts("usage: cellota-sweep [--image BYTES] [--window W] [--raw CHUNK] [--tear BYTES]\n"
         "                     [--every K] [--random RUNS] [--seed S] [--dir DIR] [--quiet]");
}

static bool parse(int argc, char **argv)
{
    static const struct option lo[] = {
        {"image", required_argument, NULL, 'i'}, {"window", required_argument, NULL, 'w'},
        {"raw", required_argument, NULL, 'r'},   {"tear", required_argument, NULL, 't'},
        {"every", required_argument, NULL, 'e'}, {"random", required_argument, NULL, 'R'},
        {"seed", required_argument, NULL, 's'},  {"dir", required_argument, NULL, 'd'},
        {"quiet", no_argument, NULL, 'q'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    g_opt.image = 6000u;
    g_opt.window = 1u;
    g_opt.every = 1u;
    g_opt.seed = 1u;
    g_opt.dir = "/tmp";
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        unsigned long v = optarg ? strtoul(optarg, NULL, 0) : 0ul;
        switch (c) {
        case 'i': g_opt.image = (uint32_t)v; break;
        case 'w': g_opt.window = (uint8_t)v; break;
        case 'r': g_opt.raw_chunk = (uint32_t)v; break;
        case 't': g_opt.tear = (uint32_t)v; break;
        case 'e': g_opt.every = (uint32_t)(v ? v : 1u); break;
        case 'R': g_opt.random_runs = (uint32_t)v; break;
        case 's': g_opt.seed = (uint32_t)v; break;
        case 'd': g_opt.dir = optarg; break;
        case 'q': g_opt.quiet = true; break;
        case 'h': usage(); exit(0);
        default: usage(); return false;
        }
    }
    if (g_opt.image < 64u || g_opt.image > CELLOTA_IFLASH_SIZE - 512u || g_opt.window < 1u ||
        g_opt.window > OTA_CFG_MAX_WINDOW || g_opt.raw_chunk > OTA_CFG_CHUNK_BUF_SIZE) {
        fprintf(stderr, "sweep: --image 64..%u, --window 1..%u, --raw 0..%u\n",
                CELLOTA_IFLASH_SIZE - 512u, OTA_CFG_MAX_WINDOW, OTA_CFG_CHUNK_BUF_SIZE);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    tally_t t;
    uint32_t ops = 0;
    time_t t0 = time(NULL);
    if (!parse(argc, argv)) {
        return 2;
    }
    snprintf(g_nor_path, sizeof g_nor_path, "%s/cellota-sweep-%d-nor.bin", g_opt.dir, (int)getpid());
    snprintf(g_if_path, sizeof g_if_path, "%s/cellota-sweep-%d-iflash.bin", g_opt.dir, (int)getpid());
    make_images();

    /* The reference life: no cut. */
    memset(&t, 0, sizeof t);
    uint32_t none = 0;
    live(&none, 0, &t, &ops);
    if (t.bricked || t.incomplete) {
        fprintf(stderr, "sweep: the life without a cut did not complete\n");
        return 1;
    }
    memset(&t, 0, sizeof t);
    for (uint32_t i = 1; i <= ops; i += g_opt.every) {
        live(&i, 1, &t, NULL);
    }
    tally_t r;
    memset(&r, 0, sizeof r);
    srand(g_opt.seed);
    for (uint32_t k = 0; k < g_opt.random_runs; k++) {
        /* Several cuts in one life: operation numbers keep counting across
         * reboots, so later cuts fall into the recovery of earlier ones. */
        uint32_t cuts[3];
        for (unsigned j = 0; j < 3u; j++) {
            cuts[j] = 1u + (uint32_t)rand() % (ops + ops / 2u);
        }
        live(cuts, 3, &r, NULL);
    }
    (void)unlink(g_nor_path);
    (void)unlink(g_if_path);

    printf("sweep: image %u bytes (%u chunks, %s, W=%u), tear %u bytes\n", g_opt.image, g_img.chunks,
           g_opt.raw_chunk ? "raw" : "Dragino", (unsigned)g_opt.window, g_opt.tear);
    printf("sweep: flash operations in one update (download, staging, bootloader copy, first boot): %u\n",
           ops);
    printf("sweep: cut points tried: %u (every %u), boots in all: %llu\n", t.tried, g_opt.every,
           (unsigned long long)t.boots);
    printf("sweep: devices bricked: %u, lives not completed: %u\n", t.bricked, t.incomplete);
    printf("sweep: most chunks downloaded again: %u (window %u)\n", t.worst_again,
           (unsigned)g_opt.window);
    if (g_opt.random_runs) {
        printf("sweep: random lives with 3 cuts each: %u, bricked %u, not completed %u\n", r.tried,
               r.bricked, r.incomplete);
    }
    printf("sweep: %ld s\n", (long)(time(NULL) - t0));
    bool ok = t.bricked == 0u && t.incomplete == 0u && r.bricked == 0u && r.incomplete == 0u &&
              t.worst_again <= g_opt.window;
    printf("%u passed, %u failed\n", ok ? 1u : 0u, ok ? 0u : 1u);
    return ok ? 0 : 1;
}
