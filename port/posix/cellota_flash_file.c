/*
 * NOR flash simulated in a file: erase to 0xFF per sector, writes that can
 * only clear bits, page-split programming, "not fitted" switch, counters
 * and a power cut before the N-th program/erase operation.
 */
#include "cellota_posix/cellota_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "cellota_posix_io.h"

int cellota_posix_layout(uint32_t flash_size, cellota_flash_layout_t *out)
{
    if (out == NULL || flash_size % CELLOTA_FLASH_SECTOR_SIZE != 0u ||
        flash_size < 4u * CELLOTA_FLASH_SECTOR_SIZE) {
        return CELLOTA_POSIX_EPARAM;
    }
    uint32_t meta = 2u * CELLOTA_FLASH_SECTOR_SIZE;
    uint32_t half = ((flash_size - meta) / 2u) / CELLOTA_FLASH_SECTOR_SIZE * CELLOTA_FLASH_SECTOR_SIZE;
    out->meta_addr = 0u;
    out->slot_addr = meta;
    out->slot_size = half;
    out->backup_addr = meta + half;
    out->backup_size = half;
    return 0;
}

/* ---- open / close -------------------------------------------------------- */

static void flash_reset(cellota_flash_file_t *f, uint32_t size)
{
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    f->size = size;
    f->present = true;
    f->powered = true;
}

static uint32_t pick_size(uint32_t asked, uint64_t existing)
{
    if (asked != 0u) {
        return asked;
    }
    if (existing == 0u) {
        return CELLOTA_FLASH_DEFAULT_SIZE;
    }
    return existing <= UINT32_MAX ? (uint32_t)existing : 0u;
}

int cellota_flash_file_open(cellota_flash_file_t *f, const char *path, uint32_t size)
{
    if (f == NULL || path == NULL || size % CELLOTA_FLASH_SECTOR_SIZE != 0u) {
        return CELLOTA_POSIX_EPARAM;
    }
    flash_reset(f, 0u);
    uint64_t existing = 0u;
    int fd = cellota_io_open(path, &existing, &f->last_errno);
    if (fd < 0) {
        return CELLOTA_POSIX_EIO;
    }
    uint32_t want = pick_size(size, existing);
    bool bad_size = want == 0u || want % CELLOTA_FLASH_SECTOR_SIZE != 0u ||
                    (existing != 0u && existing != want);
    int rc = bad_size ? CELLOTA_POSIX_ESIZE : 0;
    if (rc == 0 && existing == 0u) {
        rc = cellota_io_fill(fd, want, 0xFFu, &f->last_errno);
    }
    if (rc != 0) {
        (void)close(fd);
        return rc;
    }
    f->fd = fd;
    f->size = want;
    return 0;
}

void cellota_flash_file_open_absent(cellota_flash_file_t *f, uint32_t size)
{
    if (f == NULL) {
        return;
    }
    flash_reset(f, size != 0u ? size : CELLOTA_FLASH_DEFAULT_SIZE);
    f->present = false;
}

void cellota_flash_file_close(cellota_flash_file_t *f)
{
    if (f == NULL) {
        return;
    }
    if (f->fd >= 0) {
        (void)close(f->fd);
    }
    f->fd = -1;
}

/* ---- switches and counters ---------------------------------------------- */

void cellota_flash_file_set_present(cellota_flash_file_t *f, bool present)
{
    if (f != NULL) {
        f->present = present;
    }
}

void cellota_flash_file_cut_power_before(cellota_flash_file_t *f, uint32_t n)
{
    if (f == NULL) {
        return;
    }
    f->cut_at = (n == 0u) ? 0u : f->stats.ops + n;
}

void cellota_flash_file_tear(cellota_flash_file_t *f, uint32_t bytes)
{
    if (f != NULL) {
        f->tear = bytes;
    }
}

void cellota_flash_file_power_restore(cellota_flash_file_t *f)
{
    if (f == NULL) {
        return;
    }
    f->powered = true;
    f->cut_at = 0u;
}

bool cellota_flash_file_powered(const cellota_flash_file_t *f)
{
    return f != NULL && f->powered;
}

void cellota_flash_file_stats(const cellota_flash_file_t *f, cellota_flash_stats_t *out)
{
    if (f == NULL || out == NULL) {
        return;
    }
    *out = f->stats;
}

void cellota_flash_file_reset_stats(cellota_flash_file_t *f)
{
    if (f == NULL) {
        return;
    }
    uint32_t left = (f->cut_at != 0u) ? f->cut_at - f->stats.ops : 0u;
    memset(&f->stats, 0, sizeof(f->stats));
    f->cut_at = left;
}

/* ---- checks shared by every access -------------------------------------- */

/* 0 if the chip can be accessed at all. */
static int flash_usable(const cellota_flash_file_t *f)
{
    if (f == NULL) {
        return CELLOTA_POSIX_EPARAM;
    }
    if (!f->powered) {
        return CELLOTA_POSIX_EPOWER;
    }
    if (!f->present || f->fd < 0) {
        return CELLOTA_POSIX_EABSENT;
    }
    return 0;
}

static int flash_range(const cellota_flash_file_t *f, uint32_t addr, size_t len)
{
    if (addr > f->size || len > (size_t)(f->size - addr)) {
        return CELLOTA_POSIX_ERANGE;
    }
    return 0;
}

/* The operation a power cut falls on: with tearing armed, its first
 * f->tear bytes (of data, or of 0xFF for an erase) land before the power
 * goes. Returns rc. */
static int torn(cellota_flash_file_t *f, int rc, const uint8_t *data, size_t n, uint32_t at)
{
    if (rc == CELLOTA_POSIX_EPOWER && f->tear != 0u) {
        (void)cellota_io_pwrite(f->fd, data, (f->tear < n) ? f->tear : n, at, &f->last_errno);
    }
    return rc;
}

/* Count one program/erase operation; refuse it if the power is cut before it. */
static int flash_begin_op(cellota_flash_file_t *f)
{
    f->stats.ops++;
    if (f->cut_at != 0u && f->stats.ops >= f->cut_at) {
        f->powered = false;
        return CELLOTA_POSIX_EPOWER;
    }
    return 0;
}

/* ---- port functions ------------------------------------------------------ */

static int flash_probe(void *ctx)
{
    return flash_usable(ctx);
}

static int flash_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    cellota_flash_file_t *f = ctx;
    int rc = flash_usable(f);
    if (rc != 0) {
        return rc;
    }
    if (buf == NULL && len != 0u) {
        return CELLOTA_POSIX_EPARAM;
    }
    rc = flash_range(f, addr, len);
    if (rc != 0) {
        return rc;
    }
    rc = cellota_io_pread(f->fd, buf, len, addr, &f->last_errno);
    if (rc == 0) {
        f->stats.reads++;
    }
    return rc;
}

/* Every byte of the new data must be reachable by clearing bits only. */
static int flash_check_nor(cellota_flash_file_t *f, uint32_t addr, const uint8_t *src, size_t len)
{
    uint8_t old[CELLOTA_FLASH_PAGE_SIZE];
    size_t done = 0u;
    while (done < len) {
        size_t n = len - done;
        if (n > sizeof(old)) {
            n = sizeof(old);
        }
        int rc = cellota_io_pread(f->fd, old, n, addr + (uint32_t)done, &f->last_errno);
        if (rc != 0) {
            return rc;
        }
        for (size_t i = 0u; i < n; i++) {
            if ((src[done + i] & (uint8_t)~old[i]) != 0u) {
                return CELLOTA_POSIX_ENOR;
            }
        }
        done += n;
    }
    return 0;
}

/* Bytes from addr to the end of its page (capped at len). */
static size_t page_room(uint32_t addr, size_t len)
{
    size_t room = CELLOTA_FLASH_PAGE_SIZE - (addr % CELLOTA_FLASH_PAGE_SIZE);
    return room < len ? room : len;
}

static int flash_program(cellota_flash_file_t *f, uint32_t addr, const uint8_t *src, size_t len)
{
    size_t done = 0u;
    while (done < len) {
        uint32_t at = addr + (uint32_t)done;
        size_t n = page_room(at, len - done);
        int rc = flash_begin_op(f);
        if (rc != 0) {
            return torn(f, rc, src + done, n, at); /* the first bytes of the page land */
        }
        rc = cellota_io_pwrite(f->fd, src + done, n, at, &f->last_errno);
        if (rc != 0) {
            return rc;
        }
        f->stats.programs++;
        done += n;
    }
    return 0;
}

static int flash_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    cellota_flash_file_t *f = ctx;
    int rc = flash_usable(f);
    if (rc != 0) {
        return rc;
    }
    if (buf == NULL && len != 0u) {
        return CELLOTA_POSIX_EPARAM;
    }
    rc = flash_range(f, addr, len);
    if (rc == 0) {
        rc = flash_check_nor(f, addr, buf, len);
    }
    if (rc != 0) {
        return rc;
    }
    uint32_t before = f->stats.programs;
    rc = flash_program(f, addr, buf, len);
    if (rc == 0 || f->stats.programs != before) {
        f->stats.writes++;
    }
    return rc;
}

static int flash_erase(void *ctx, uint32_t addr)
{
    cellota_flash_file_t *f = ctx;
    int rc = flash_usable(f);
    if (rc != 0) {
        return rc;
    }
    if (addr % CELLOTA_FLASH_SECTOR_SIZE != 0u) {
        return CELLOTA_POSIX_EALIGN;
    }
    if (addr >= f->size) {
        return CELLOTA_POSIX_ERANGE;
    }
    uint8_t blank[CELLOTA_FLASH_SECTOR_SIZE];
    memset(blank, 0xFF, sizeof(blank));
    rc = flash_begin_op(f);
    if (rc != 0) {
        return torn(f, rc, blank, sizeof(blank), addr); /* only the start is erased */
    }
    rc = cellota_io_pwrite(f->fd, blank, sizeof(blank), addr, &f->last_errno);
    if (rc == 0) {
        f->stats.erases++;
    }
    return rc;
}

ota_flash_t cellota_flash_file_port(cellota_flash_file_t *f)
{
    ota_flash_t p;
    memset(&p, 0, sizeof(p));
    p.ctx = f;
    p.size = (f != NULL) ? f->size : 0u;
    p.sector_size = CELLOTA_FLASH_SECTOR_SIZE;
    p.page_size = CELLOTA_FLASH_PAGE_SIZE;
    p.probe = flash_probe;
    p.read = flash_read;
    p.write = flash_write;
    p.erase = flash_erase;
    return p;
}
