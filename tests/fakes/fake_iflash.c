/*
 * fake_iflash.c - RAM internal flash with STM32L0 rules and fault injection.
 * See fake_iflash.h for the behaviour.
 */
#include "fake_iflash.h"

#include <stdlib.h>
#include <string.h>

static bool in_range(const fake_iflash_t *f, uint32_t addr, size_t len)
{
    return addr >= f->base && addr - f->base <= f->size &&
           len <= (size_t)(f->size - (addr - f->base));
}

/* Count a mutating op; returns true if the power goes at this one. */
static bool cut_here(fake_iflash_t *f)
{
    f->ops++;
    if (f->cut_before_op != 0u && f->ops >= f->cut_before_op) {
        f->powered_off = true;
        return true;
    }
    return false;
}

int fake_iflash_init(fake_iflash_t *f, uint32_t base, uint32_t size, uint32_t page_size,
                     uint32_t word_size, uint32_t row_size, uint8_t erased)
{
    if (f == NULL || size == 0u || page_size == 0u || word_size == 0u || row_size == 0u ||
        size % page_size != 0u || page_size % row_size != 0u || row_size % word_size != 0u ||
        base % page_size != 0u || base > UINT32_MAX - size) {
        return -1;
    }
    memset(f, 0, sizeof *f);
    f->mem = (uint8_t *)malloc(size);
    if (f->mem == NULL) {
        return -1;
    }
    memset(f->mem, erased, size);
    f->base = base;
    f->size = size;
    f->page_size = page_size;
    f->word_size = word_size;
    f->row_size = row_size;
    f->erased = erased;
    return 0;
}

int fake_iflash_init_stm32l0(fake_iflash_t *f, uint32_t base, uint32_t size)
{
    return fake_iflash_init(f, base, size, 128u, 4u, 64u, 0x00u);
}

void fake_iflash_free(fake_iflash_t *f)
{
    if (f == NULL) {
        return;
    }
    free(f->mem);
    memset(f, 0, sizeof *f);
}

void fake_iflash_port(fake_iflash_t *f, ota_boot_iflash_t *port, uint32_t write_unit)
{
    memset(port, 0, sizeof *port);
    port->ctx = f;
    port->base = f->base;
    port->size = f->size;
    port->page_size = f->page_size;
    port->write_unit = write_unit;
    port->erased_value = f->erased;
    port->read = fake_iflash_read;
    port->program = fake_iflash_program;
    port->erase_page = fake_iflash_erase_page;
}

void fake_iflash_power_on(fake_iflash_t *f)
{
    f->powered_off = false;
    f->cut_before_op = 0u;
}

void fake_iflash_reset_counters(fake_iflash_t *f)
{
    f->reads = 0u;
    f->programs = 0u;
    f->erases = 0u;
    f->ops = 0u;
    f->rule_errors = 0u;
}

void fake_iflash_poke(fake_iflash_t *f, uint32_t addr, const void *data, size_t len)
{
    if (!in_range(f, addr, len)) {
        abort(); /* a bug in the test itself */
    }
    memcpy(f->mem + (addr - f->base), data, len);
}

void fake_iflash_peek(const fake_iflash_t *f, uint32_t addr, void *data, size_t len)
{
    if (!in_range(f, addr, len)) {
        abort();
    }
    memcpy(data, f->mem + (addr - f->base), len);
}

int fake_iflash_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    fake_iflash_t *f = (fake_iflash_t *)ctx;

    f->reads++;
    if (f->powered_off) {
        return FAKE_IFLASH_ERR_POWER;
    }
    if (buf == NULL || !in_range(f, addr, len)) {
        return FAKE_IFLASH_ERR_RANGE;
    }
    memcpy(buf, f->mem + (addr - f->base), len);
    return 0;
}

/* A program the hardware accepts: a word or a row, aligned to its size. */
static bool unit_ok(const fake_iflash_t *f, uint32_t addr, size_t len)
{
    return (len == f->word_size && (addr % f->word_size) == 0u) ||
           (len == f->row_size && (addr % f->row_size) == 0u);
}

static bool erased_at(const fake_iflash_t *f, uint32_t off, size_t len)
{
    size_t i;

    for (i = 0u; i < len; i++) {
        if (f->mem[off + i] != f->erased) {
            return false;
        }
    }
    return true;
}

int fake_iflash_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    fake_iflash_t *f = (fake_iflash_t *)ctx;
    bool legal;
    uint32_t off;

    f->programs++;
    if (f->powered_off) {
        return FAKE_IFLASH_ERR_POWER;
    }
    if (buf == NULL || !in_range(f, addr, len)) {
        return FAKE_IFLASH_ERR_RANGE;
    }
    off = addr - f->base;
    legal = unit_ok(f, addr, len) && erased_at(f, off, len);
    if (cut_here(f)) {
        if (legal) {
            memcpy(f->mem + off, buf, (f->cut_bytes < len) ? f->cut_bytes : len);
        }
        return FAKE_IFLASH_ERR_POWER;
    }
    if (f->fail_program_at != 0u && f->programs == f->fail_program_at) {
        return FAKE_IFLASH_ERR_INJECTED;
    }
    if (!legal) {
        f->rule_errors++;
        return unit_ok(f, addr, len) ? FAKE_IFLASH_ERR_NOT_ERASED : FAKE_IFLASH_ERR_ALIGN;
    }
    memcpy(f->mem + off, buf, len);
    return 0;
}

int fake_iflash_erase_page(void *ctx, uint32_t addr)
{
    fake_iflash_t *f = (fake_iflash_t *)ctx;
    uint32_t off;

    f->erases++;
    if (f->powered_off) {
        return FAKE_IFLASH_ERR_POWER;
    }
    if (!in_range(f, addr, f->page_size)) {
        return FAKE_IFLASH_ERR_RANGE;
    }
    off = addr - f->base;
    if (off % f->page_size != 0u) {
        f->rule_errors++;
        return FAKE_IFLASH_ERR_ALIGN;
    }
    if (cut_here(f)) {
        memset(f->mem + off, f->erased,
               (f->cut_bytes < f->page_size) ? f->cut_bytes : f->page_size);
        return FAKE_IFLASH_ERR_POWER;
    }
    if (f->fail_erase_at != 0u && f->erases == f->fail_erase_at) {
        return FAKE_IFLASH_ERR_INJECTED;
    }
    memset(f->mem + off, f->erased, f->page_size);
    return 0;
}
