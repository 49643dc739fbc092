/* The simulated internal flash (STM32L0 rules) in a file. See cellota_iflash.h. */
#include "cellota_posix/cellota_iflash.h"

#include <string.h>
#include <unistd.h>

#include "cellota_posix/cellota_posix.h"
#include "cellota_posix_io.h"

#define ERASED 0x00u

int cellota_iflash_file_open(cellota_iflash_file_t *f, const char *path, uint32_t base, uint32_t size)
{
    uint64_t existing = 0u;
    int rc = 0;
    if (f == NULL || path == NULL || size == 0u || size % CELLOTA_IFLASH_PAGE != 0u ||
        base % CELLOTA_IFLASH_PAGE != 0u || base > UINT32_MAX - size) {
        return CELLOTA_POSIX_EPARAM;
    }
    memset(f, 0, sizeof *f);
    f->fd = cellota_io_open(path, &existing, &f->last_errno);
    if (f->fd < 0) {
        return CELLOTA_POSIX_EIO;
    }
    if (existing != 0u && existing != size) {
        rc = CELLOTA_POSIX_ESIZE;
    } else if (existing == 0u) {
        rc = cellota_io_fill(f->fd, size, ERASED, &f->last_errno);
    }
    if (rc != 0) {
        (void)close(f->fd);
        f->fd = -1;
        return rc;
    }
    f->base = base;
    f->size = size;
    f->powered = true;
    return 0;
}

void cellota_iflash_file_close(cellota_iflash_file_t *f)
{
    if (f != NULL && f->fd >= 0) {
        (void)close(f->fd);
        f->fd = -1;
    }
}

void cellota_iflash_file_cut_power_before(cellota_iflash_file_t *f, uint32_t n)
{
    if (f != NULL) {
        f->cut_at = (n == 0u) ? 0u : f->ops + n;
    }
}

void cellota_iflash_file_tear(cellota_iflash_file_t *f, uint32_t bytes)
{
    if (f != NULL) {
        f->tear = bytes;
    }
}

void cellota_iflash_file_power_restore(cellota_iflash_file_t *f)
{
    if (f != NULL) {
        f->powered = true;
        f->cut_at = 0u;
    }
}

/* Offset in the file of [addr, addr + len), or -1 when outside the area. */
static int64_t offset_of(const cellota_iflash_file_t *f, uint32_t addr, size_t len)
{
    if (addr < f->base || addr - f->base > f->size || len > f->size - (addr - f->base)) {
        return -1;
    }
    return (int64_t)(addr - f->base);
}

/* Count an operation; at the armed cut, do its first `tear` bytes and fail. */
static int begin_op(cellota_iflash_file_t *f, uint32_t off, const uint8_t *data, size_t n)
{
    f->ops++;
    if (f->cut_at == 0u || f->ops < f->cut_at) {
        return 0;
    }
    f->powered = false;
    if (f->tear > 0u) {
        size_t part = (f->tear < n) ? f->tear : n;
        (void)cellota_io_pwrite(f->fd, data, part, off, &f->last_errno);
    }
    return CELLOTA_POSIX_EPOWER;
}

static int if_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    cellota_iflash_file_t *f = ctx;
    int64_t off = offset_of(f, addr, len);
    if (!f->powered) {
        return CELLOTA_POSIX_EPOWER;
    }
    if (off < 0 || (buf == NULL && len != 0u)) {
        return CELLOTA_POSIX_ERANGE;
    }
    return cellota_io_pread(f->fd, buf, len, (uint32_t)off, &f->last_errno);
}

static int if_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    cellota_iflash_file_t *f = ctx;
    uint8_t old[CELLOTA_IFLASH_WRITE_UNIT];
    int64_t off = offset_of(f, addr, len);
    int rc;
    if (!f->powered) {
        return CELLOTA_POSIX_EPOWER;
    }
    if (off < 0 || buf == NULL || len != CELLOTA_IFLASH_WRITE_UNIT ||
        addr % CELLOTA_IFLASH_WRITE_UNIT != 0u) {
        return CELLOTA_POSIX_EALIGN;
    }
    rc = cellota_io_pread(f->fd, old, sizeof old, (uint32_t)off, &f->last_errno);
    for (size_t i = 0; rc == 0 && i < sizeof old; i++) {
        if (old[i] != ERASED) {
            rc = CELLOTA_POSIX_ENOR; /* half-page programming needs an erased half-page */
        }
    }
    if (rc == 0) {
        rc = begin_op(f, (uint32_t)off, buf, len);
    }
    if (rc == 0) {
        rc = cellota_io_pwrite(f->fd, buf, len, (uint32_t)off, &f->last_errno);
        f->programs += (rc == 0) ? 1u : 0u;
    }
    return rc;
}

static int if_erase_page(void *ctx, uint32_t addr)
{
    cellota_iflash_file_t *f = ctx;
    uint8_t blank[CELLOTA_IFLASH_PAGE];
    int64_t off = offset_of(f, addr, CELLOTA_IFLASH_PAGE);
    int rc;
    if (!f->powered) {
        return CELLOTA_POSIX_EPOWER;
    }
    if (off < 0 || addr % CELLOTA_IFLASH_PAGE != 0u) {
        return CELLOTA_POSIX_EALIGN;
    }
    memset(blank, ERASED, sizeof blank);
    rc = begin_op(f, (uint32_t)off, blank, sizeof blank);
    if (rc == 0) {
        rc = cellota_io_pwrite(f->fd, blank, sizeof blank, (uint32_t)off, &f->last_errno);
        f->erases += (rc == 0) ? 1u : 0u;
    }
    return rc;
}

ota_boot_iflash_t cellota_iflash_file_port(cellota_iflash_file_t *f)
{
    ota_boot_iflash_t p;
    memset(&p, 0, sizeof p);
    p.ctx = f;
    p.base = (f != NULL) ? f->base : 0u;
    p.size = (f != NULL) ? f->size : 0u;
    p.page_size = CELLOTA_IFLASH_PAGE;
    p.write_unit = CELLOTA_IFLASH_WRITE_UNIT;
    p.erased_value = ERASED;
    p.read = if_read;
    p.program = if_program;
    p.erase_page = if_erase_page;
    return p;
}

int cellota_iflash_file_program_raw(cellota_iflash_file_t *f, uint32_t addr, const void *data,
                                    uint32_t len)
{
    uint32_t pages;
    uint8_t blank[CELLOTA_IFLASH_PAGE];
    int64_t off;
    int rc = 0;
    if (f == NULL || data == NULL || addr % CELLOTA_IFLASH_PAGE != 0u) {
        return CELLOTA_POSIX_EPARAM;
    }
    pages = (len + CELLOTA_IFLASH_PAGE - 1u) / CELLOTA_IFLASH_PAGE;
    off = offset_of(f, addr, (size_t)pages * CELLOTA_IFLASH_PAGE);
    if (off < 0) {
        return CELLOTA_POSIX_EPARAM;
    }
    memset(blank, ERASED, sizeof blank);
    for (uint32_t i = 0; rc == 0 && i < pages; i++) {
        rc = cellota_io_pwrite(f->fd, blank, sizeof blank, (uint32_t)off + i * CELLOTA_IFLASH_PAGE,
                               &f->last_errno);
    }
    return (rc == 0) ? cellota_io_pwrite(f->fd, data, len, (uint32_t)off, &f->last_errno) : rc;
}
