/*
 * l0_iflash.c - the internal flash's application area for the boot core
 * (ota_boot_iflash_t): 128-byte page erase and 64-byte half-page programming.
 *
 * RM0376, "Flash program memory":
 *  - page erase: unlock (PEKEY, then PRGKEY), set PECR.ERASE and PECR.PROG,
 *    write 0x00000000 to any word of the page, wait for BSY to clear. An
 *    erased page reads 0x00.
 *  - half-page programming: set PECR.FPRG and PECR.PROG, then write the 16
 *    words of an aligned half page one after the other, with no other flash
 *    access in between: the sequence runs from RAM (.ramfunc) with
 *    interrupts masked, and waits for BSY there too.
 * Every erase and program is read back; a mismatch is ::CELLOTA_L0_ERR_VERIFY.
 */
#include <string.h>

#include "board.h"
#include "cellota_stm32l0.h"
#include "l0_internal.h"

#define PAGE_SIZE 128u
#define HALF_PAGE 64u
#define HALF_WORDS (HALF_PAGE / 4u)
#define RAM_BUSY_SPIN_LIMIT 200000u

#if (CELLOTA_BOARD_APP_ADDR % PAGE_SIZE) != 0u || (CELLOTA_BOARD_APP_SIZE % PAGE_SIZE) != 0u
#error "board.h: the application area must be made of whole 128-byte pages"
#endif

/* Runs from RAM: no flash access between the 16 writes (RM0376 half-page
 * programming). Called with interrupts masked. Returns FLASH_SR. */
__attribute__((section(".ramfunc"), noinline, long_call)) static uint32_t
ram_half_page(volatile uint32_t *dst, const uint32_t *words)
{
    uint32_t i;
    uint32_t n;

    L0_FLASH_PECR |= L0_FLASH_PECR_FPRG | L0_FLASH_PECR_PROG;
    for (i = 0u; i < HALF_WORDS; i++) {
        dst[i] = words[i];
    }
    for (n = 0u; n < RAM_BUSY_SPIN_LIMIT && (L0_FLASH_SR & L0_FLASH_SR_BSY) != 0u; n++) {
    }
    L0_FLASH_PECR &= ~(L0_FLASH_PECR_FPRG | L0_FLASH_PECR_PROG);
    return L0_FLASH_SR;
}

static bool in_area(uint32_t addr, size_t len)
{
    return addr >= CELLOTA_BOARD_APP_ADDR &&
           addr - CELLOTA_BOARD_APP_ADDR <= CELLOTA_BOARD_APP_SIZE &&
           len <= (size_t)(CELLOTA_BOARD_APP_SIZE - (addr - CELLOTA_BOARD_APP_ADDR));
}

static bool holds(uint32_t addr, const uint8_t *expect, uint8_t fill, size_t len)
{
    const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)addr;
    size_t i;

    for (i = 0u; i < len; i++) {
        if (p[i] != (expect != NULL ? expect[i] : fill)) {
            return false;
        }
    }
    return true;
}

static int iflash_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    (void)ctx;
    if ((buf == NULL && len != 0u) || !in_area(addr, len)) {
        return CELLOTA_L0_ERR_RANGE;
    }
    if (len != 0u) {
        memcpy(buf, (const void *)(uintptr_t)addr, len);
    }
    return 0;
}

static int iflash_erase_page(void *ctx, uint32_t addr)
{
    int rc;

    (void)ctx;
    if (addr % PAGE_SIZE != 0u || !in_area(addr, PAGE_SIZE)) {
        return CELLOTA_L0_ERR_RANGE;
    }
    rc = l0_nvm_wait();
    if (rc == 0) {
        rc = l0_nvm_unlock(true);
    }
    if (rc == 0) {
        L0_FLASH_PECR |= L0_FLASH_PECR_ERASE | L0_FLASH_PECR_PROG;
        *(volatile uint32_t *)(uintptr_t)addr = 0u;
        rc = l0_nvm_wait();
        L0_FLASH_PECR &= ~(L0_FLASH_PECR_ERASE | L0_FLASH_PECR_PROG);
    }
    l0_nvm_lock();
    cellota_l0_watchdog_kick();
    if (rc == 0 && !holds(addr, NULL, 0x00u, PAGE_SIZE)) {
        rc = CELLOTA_L0_ERR_VERIFY;
    }
    return rc;
}

static int iflash_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    const uint8_t *src = (const uint8_t *)buf;
    uint32_t words[HALF_WORDS];
    uint32_t i;
    int rc;

    (void)ctx;
    if (buf == NULL || len != HALF_PAGE || addr % HALF_PAGE != 0u || !in_area(addr, len)) {
        return CELLOTA_L0_ERR_RANGE;
    }
    for (i = 0u; i < HALF_WORDS; i++) { /* the caller's buffer may be unaligned */
        words[i] = (uint32_t)src[4u * i] | ((uint32_t)src[4u * i + 1u] << 8) |
                   ((uint32_t)src[4u * i + 2u] << 16) | ((uint32_t)src[4u * i + 3u] << 24);
    }
    rc = l0_nvm_wait();
    if (rc == 0) {
        rc = l0_nvm_unlock(true);
    }
    if (rc == 0) {
        uint32_t pm = l0_irq_save();
        uint32_t sr = ram_half_page((volatile uint32_t *)(uintptr_t)addr, words);
        l0_irq_restore(pm);
        rc = l0_nvm_wait(); /* error flags of the sequence (sr kept them) */
        if (rc == 0 && (sr & (L0_FLASH_SR_BSY | L0_FLASH_SR_ERRORS)) != 0u) {
            rc = CELLOTA_L0_ERR_FLASH;
        }
    }
    l0_nvm_lock();
    if (rc == 0 && !holds(addr, src, 0u, HALF_PAGE)) {
        rc = CELLOTA_L0_ERR_VERIFY;
    }
    return rc;
}

void cellota_l0_iflash(ota_boot_iflash_t *f)
{
    f->ctx = NULL;
    f->base = CELLOTA_BOARD_APP_ADDR;
    f->size = CELLOTA_BOARD_APP_SIZE;
    f->page_size = PAGE_SIZE;
    f->write_unit = HALF_PAGE;
    f->erased_value = 0x00u;
    f->read = iflash_read;
    f->program = iflash_program;
    f->erase_page = iflash_erase_page;
}
