/*
 * fake_flash.c - RAM NOR flash with NOR rules and fault injection.
 * See fake_flash.h for the behaviour.
 */
#include "fake_flash.h"

#include <stdlib.h>
#include <string.h>

static bool in_range(const fake_flash_t *f, uint32_t addr, size_t len)
{
    return addr <= f->size && len <= (size_t)(f->size - addr);
}

/* Common entry of read/write/erase: count the op, apply power cut and
 * absence. Returns 0 to go on, or the error to return. */
static int op_gate(fake_flash_t *f)
{
    f->ops++;
    if (f->powered_off) {
        return FAKE_FLASH_ERR_POWER;
    }
    if (f->cut_before_op != 0u && f->ops >= f->cut_before_op) {
        f->powered_off = true;
        return FAKE_FLASH_ERR_POWER;
    }
    return f->absent ? FAKE_FLASH_ERR_ABSENT : 0;
}

int fake_flash_init(fake_flash_t *f, uint32_t size, uint32_t sector_size, uint32_t page_size)
{
    if (f == NULL || size == 0u || sector_size == 0u || page_size == 0u ||
        size % sector_size != 0u || sector_size % page_size != 0u) {
        return -1;
    }
    memset(f, 0, sizeof *f);
    f->mem = (uint8_t *)malloc(size);
    if (f->mem == NULL) {
        return -1;
    }
    memset(f->mem, 0xFF, size);
    f->size = size;
    f->sector_size = sector_size;
    f->page_size = page_size;
    return 0;
}

void fake_flash_free(fake_flash_t *f)
{
    if (f == NULL) {
        return;
    }
    free(f->mem);
    memset(f, 0, sizeof *f);
}

void fake_flash_port(fake_flash_t *f, ota_flash_t *port)
{
    memset(port, 0, sizeof *port);
    port->ctx = f;
    port->size = f->size;
    port->sector_size = f->sector_size;
    port->page_size = f->page_size;
    port->probe = fake_flash_probe;
    port->read = fake_flash_read;
    port->write = fake_flash_write;
    port->erase = fake_flash_erase;
}

void fake_flash_reset_counters(fake_flash_t *f)
{
    f->probes = 0u;
    f->reads = 0u;
    f->writes = 0u;
    f->erases = 0u;
    f->ops = 0u;
    f->bytes_read = 0u;
    f->bytes_written = 0u;
    f->bit_errors = 0u;
    f->last_bit_error_addr = 0u;
}

void fake_flash_power_on(fake_flash_t *f)
{
    f->powered_off = false;
    f->cut_before_op = 0u;
}

void fake_flash_poke(fake_flash_t *f, uint32_t addr, const void *data, size_t len)
{
    if (!in_range(f, addr, len)) {
        abort(); /* a bug in the test itself */
    }
    memcpy(f->mem + addr, data, len);
}

void fake_flash_peek(const fake_flash_t *f, uint32_t addr, void *data, size_t len)
{
    if (!in_range(f, addr, len)) {
        abort();
    }
    memcpy(data, f->mem + addr, len);
}

int fake_flash_probe(void *ctx)
{
    fake_flash_t *f = (fake_flash_t *)ctx;

    f->probes++;
    if (f->powered_off) {
        return FAKE_FLASH_ERR_POWER;
    }
    return f->absent ? FAKE_FLASH_ERR_ABSENT : 0;
}

int fake_flash_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    fake_flash_t *f = (fake_flash_t *)ctx;
    int rc;

    f->reads++;
    rc = op_gate(f);
    if (rc != 0) {
        return rc;
    }
    if (f->fail_read_at != 0u && f->reads == f->fail_read_at) {
        return FAKE_FLASH_ERR_INJECTED;
    }
    if (buf == NULL || !in_range(f, addr, len)) {
        return FAKE_FLASH_ERR_RANGE;
    }
    memcpy(buf, f->mem + addr, len);
    f->bytes_read += len;
    return 0;
}

/* Program bytes the NOR way; returns false if some bit had to go 0 -> 1. */
static bool program(fake_flash_t *f, uint32_t addr, const uint8_t *src, size_t len)
{
    bool ok = true;
    size_t i;

    for (i = 0u; i < len; i++) {
        uint8_t old = f->mem[addr + i];
        if ((uint8_t)(src[i] & (uint8_t)~old) != 0u) {
            if (ok) {
                f->last_bit_error_addr = addr + (uint32_t)i;
            }
            ok = false;
        }
        f->mem[addr + i] = (uint8_t)(old & src[i]);
    }
    return ok;
}

int fake_flash_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    fake_flash_t *f = (fake_flash_t *)ctx;
    bool cut_now;
    int rc;

    f->writes++;
    cut_now = !f->powered_off && f->cut_before_op != 0u && f->ops + 1u >= f->cut_before_op;
    rc = op_gate(f);
    if (rc == FAKE_FLASH_ERR_POWER && cut_now && buf != NULL && in_range(f, addr, len)) {
        size_t torn = (f->cut_write_bytes < len) ? f->cut_write_bytes : len;
        (void)program(f, addr, (const uint8_t *)buf, torn);
    }
    if (rc != 0) {
        return rc;
    }
    if (f->fail_write_at != 0u && f->writes == f->fail_write_at) {
        return FAKE_FLASH_ERR_INJECTED;
    }
    if (buf == NULL || !in_range(f, addr, len)) {
        return FAKE_FLASH_ERR_RANGE;
    }
    f->bytes_written += len;
    if (!program(f, addr, (const uint8_t *)buf, len)) {
        f->bit_errors++;
        return FAKE_FLASH_ERR_BITS;
    }
    return 0;
}

int fake_flash_erase(void *ctx, uint32_t addr)
{
    fake_flash_t *f = (fake_flash_t *)ctx;
    int rc;

    f->erases++;
    rc = op_gate(f);
    if (rc != 0) {
        return rc;
    }
    if (f->fail_erase_at != 0u && f->erases == f->fail_erase_at) {
        return FAKE_FLASH_ERR_INJECTED;
    }
    if (addr >= f->size) {
        return FAKE_FLASH_ERR_RANGE;
    }
    if (addr % f->sector_size != 0u) {
        return FAKE_FLASH_ERR_ALIGN;
    }
    memset(f->mem + addr, 0xFF, f->sector_size);
    return 0;
}
