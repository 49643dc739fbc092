/*
 * File helpers shared by the POSIX port's flash and store (private to the port).
 * Each returns 0 or CELLOTA_POSIX_EIO and stores errno in *err on failure.
 */
#ifndef CELLOTA_POSIX_IO_H
#define CELLOTA_POSIX_IO_H

#include <stddef.h>
#include <stdint.h>

/* Open (creating if needed) path for reading and writing; *size = its current size.
 * Returns the descriptor, or -1 (errno in *err). */
int cellota_io_open(const char *path, uint64_t *size, int *err);

/* Write `size` bytes of `value` from offset 0. */
int cellota_io_fill(int fd, uint32_t size, uint8_t value, int *err);

/* Read exactly len bytes at off (a short file is an error). */
int cellota_io_pread(int fd, void *buf, size_t len, uint32_t off, int *err);

/* Write exactly len bytes at off. */
int cellota_io_pwrite(int fd, const void *buf, size_t len, uint32_t off, int *err);

#endif /* CELLOTA_POSIX_IO_H */
