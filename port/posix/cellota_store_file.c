/* Settings store kept in a small file (blank = 0xFF). */
#include "cellota_posix/cellota_posix.h"

#include <string.h>
#include <unistd.h>

#include "cellota_posix_io.h"

int cellota_store_file_open(cellota_store_file_t *s, const char *path, uint32_t size)
{
    if (s == NULL || path == NULL) {
        return CELLOTA_POSIX_EPARAM;
    }
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    uint32_t want = (size != 0u) ? size : CELLOTA_STORE_DEFAULT_SIZE;
    uint64_t existing = 0u;
    int fd = cellota_io_open(path, &existing, &s->last_errno);
    if (fd < 0) {
        return CELLOTA_POSIX_EIO;
    }
    int rc = 0;
    if (existing == 0u) {
        rc = cellota_io_fill(fd, want, 0xFFu, &s->last_errno);
    } else if (existing != want) {
        rc = CELLOTA_POSIX_ESIZE;
    }
    if (rc != 0) {
        (void)close(fd);
        return rc;
    }
    s->fd = fd;
    s->size = want;
    return 0;
}

void cellota_store_file_close(cellota_store_file_t *s)
{
    if (s == NULL) {
        return;
    }
    if (s->fd >= 0) {
        (void)close(s->fd);
    }
    s->fd = -1;
}

static int store_check(const cellota_store_file_t *s, uint32_t off, const void *buf, size_t len)
{
    if (s == NULL || s->fd < 0 || (buf == NULL && len != 0u)) {
        return CELLOTA_POSIX_EPARAM;
    }
    if (off > s->size || len > (size_t)(s->size - off)) {
        return CELLOTA_POSIX_ERANGE;
    }
    return 0;
}

static int store_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    cellota_store_file_t *s = ctx;
    int rc = store_check(s, off, buf, len);
    if (rc != 0) {
        return rc;
    }
    return cellota_io_pread(s->fd, buf, len, off, &s->last_errno);
}

static int store_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
    cellota_store_file_t *s = ctx;
    int rc = store_check(s, off, buf, len);
    if (rc != 0) {
        return rc;
    }
    return cellota_io_pwrite(s->fd, buf, len, off, &s->last_errno);
}

ota_store_t cellota_store_file_port(cellota_store_file_t *s)
{
    ota_store_t p;
    memset(&p, 0, sizeof(p));
    p.ctx = s;
    p.size = (s != NULL) ? s->size : 0u;
    p.read = store_read;
    p.write = store_write;
    return p;
}
