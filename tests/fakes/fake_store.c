/*
 * fake_store.c - RAM settings store with byte-exact power cuts.
 * See fake_store.h for the behaviour.
 */
#include "fake_store.h"

#include <string.h>

static bool in_range(const fake_store_t *f, uint32_t off, size_t len)
{
    return off <= f->size && len <= (size_t)(f->size - off);
}

int fake_store_init(fake_store_t *f, uint32_t size, uint8_t fill)
{
    if (f == NULL || size > FAKE_STORE_MAX) {
        return -1;
    }
    memset(f, 0, sizeof *f);
    memset(f->mem, fill, sizeof f->mem);
    f->size = size;
    return 0;
}

void fake_store_port(fake_store_t *f, ota_store_t *port)
{
    memset(port, 0, sizeof *port);
    port->ctx = f;
    port->size = f->size;
    port->read = fake_store_read;
    port->write = fake_store_write;
}

void fake_store_cut_after(fake_store_t *f, uint32_t n)
{
    f->cut_armed = true;
    f->cut_after_bytes = n;
}

void fake_store_power_on(fake_store_t *f)
{
    f->powered_off = false;
    f->cut_armed = false;
    f->cut_after_bytes = 0u;
}

int fake_store_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    fake_store_t *f = (fake_store_t *)ctx;

    f->reads++;
    if (f->powered_off) {
        return FAKE_STORE_ERR_POWER;
    }
    if (f->fail_read_at != 0u && f->reads == f->fail_read_at) {
        return FAKE_STORE_ERR_INJECTED;
    }
    if (buf == NULL || !in_range(f, off, len)) {
        return FAKE_STORE_ERR_RANGE;
    }
    memcpy(buf, &f->mem[off], len);
    return 0;
}

int fake_store_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
    fake_store_t *f = (fake_store_t *)ctx;

    f->writes++;
    if (f->powered_off) {
        return FAKE_STORE_ERR_POWER;
    }
    if (f->fail_write_at != 0u && f->writes == f->fail_write_at) {
        return FAKE_STORE_ERR_INJECTED;
    }
    if (buf == NULL || !in_range(f, off, len)) {
        return FAKE_STORE_ERR_RANGE;
    }
    if (f->cut_armed && len > f->cut_after_bytes) {
        memcpy(&f->mem[off], buf, f->cut_after_bytes);
        f->bytes_written += f->cut_after_bytes;
        f->cut_after_bytes = 0u;
        f->powered_off = true;
        return FAKE_STORE_ERR_POWER;
    }
    memcpy(&f->mem[off], buf, len);
    f->bytes_written += (uint32_t)len;
    if (f->cut_armed) {
        f->cut_after_bytes -= (uint32_t)len;
    }
    return 0;
}
