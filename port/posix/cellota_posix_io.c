/* File helpers shared by the POSIX port's flash and store. */
#include "cellota_posix_io.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "cellota_posix/cellota_posix.h"

int cellota_io_open(const char *path, uint64_t *size, int *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *err = errno;
        (void)close(fd);
        return -1;
    }
    *size = (st.st_size > 0) ? (uint64_t)st.st_size : 0u;
    return fd;
}

int cellota_io_fill(int fd, uint32_t size, uint8_t value, int *err)
{
    uint8_t block[16384];
    memset(block, value, sizeof(block));
    uint32_t off = 0u;
    while (off < size) {
        uint32_t n = size - off;
        if (n > sizeof(block)) {
            n = (uint32_t)sizeof(block);
        }
        int rc = cellota_io_pwrite(fd, block, n, off, err);
        if (rc != 0) {
            return rc;
        }
        off += n;
    }
    return 0;
}

int cellota_io_pread(int fd, void *buf, size_t len, uint32_t off, int *err)
{
    uint8_t *p = buf;
    size_t done = 0u;
    while (done < len) {
        ssize_t n = pread(fd, p + done, len - done, (off_t)off + (off_t)done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            *err = (n < 0) ? errno : EIO;
            return CELLOTA_POSIX_EIO;
        }
        done += (size_t)n;
    }
    return 0;
}

int cellota_io_pwrite(int fd, const void *buf, size_t len, uint32_t off, int *err)
{
    const uint8_t *p = buf;
    size_t done = 0u;
    while (done < len) {
        ssize_t n = pwrite(fd, p + done, len - done, (off_t)off + (off_t)done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            *err = (n < 0) ? errno : EIO;
            return CELLOTA_POSIX_EIO;
        }
        done += (size_t)n;
    }
    return 0;
}
