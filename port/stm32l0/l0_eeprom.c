/*
 * l0_eeprom.c - the data EEPROM (STM32L072: 6 KB at 0x08080000) for the
 * settings record and the bootloader's counter.
 *
 * RM0376, "Data EEPROM": unlocked by writing PEKEY1 then PEKEY2 to
 * FLASH_PEKEYR (clears PECR.PELOCK); a byte, half-word or word is then
 * written by a plain store to its address, and the interface erases and
 * programs it (about 3.2 ms, BSY set meanwhile). Erased EEPROM reads 0x00.
 * Words that already hold their value are not written again (time and
 * wear); the EEPROM is locked again before every return.
 */
#include <string.h>

#include "board.h"
#include "cellota_stm32l0.h"
#include "l0_internal.h"

#define EEPROM_SIZE 6144u

static bool in_range(uint32_t off, size_t len)
{
    return off <= EEPROM_SIZE && len <= (size_t)(EEPROM_SIZE - off);
}

int cellota_l0_eeprom_read(uint32_t off, void *buf, size_t len)
{
    if ((buf == NULL && len != 0u) || !in_range(off, len)) {
        return CELLOTA_L0_ERR_RANGE;
    }
    if (len != 0u) {
        memcpy(buf, (const void *)(uintptr_t)(L0_EEPROM_MEM_BASE + off), len);
    }
    return 0;
}

static int write_byte(uint32_t addr, uint8_t v)
{
    volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)addr;

    if (*p == v) {
        return 0;
    }
    *p = v;
    return l0_nvm_wait();
}

static int write_word(uint32_t addr, uint32_t v)
{
    volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)addr;

    if (*p == v) {
        return 0;
    }
    *p = v;
    return l0_nvm_wait();
}

static int write_all(uint32_t addr, const uint8_t *src, size_t len)
{
    int rc = 0;

    while (len > 0u && rc == 0) {
        if (addr % 4u == 0u && len >= 4u) {
            uint32_t w = (uint32_t)src[0] | ((uint32_t)src[1] << 8) | ((uint32_t)src[2] << 16) |
                         ((uint32_t)src[3] << 24);
            rc = write_word(addr, w);
            addr += 4u;
            src += 4;
            len -= 4u;
        } else {
            rc = write_byte(addr, *src);
            addr++;
            src++;
            len--;
        }
    }
    return rc;
}

int cellota_l0_eeprom_write(uint32_t off, const void *buf, size_t len)
{
    int rc;

    if ((buf == NULL && len != 0u) || !in_range(off, len)) {
        return CELLOTA_L0_ERR_RANGE;
    }
    rc = l0_nvm_wait();
    if (rc == 0) {
        rc = l0_nvm_unlock(false);
    }
    if (rc == 0) {
        rc = write_all(L0_EEPROM_MEM_BASE + off, (const uint8_t *)buf, len);
    }
    l0_nvm_lock();
    return rc;
}

static int store_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    if (off > CELLOTA_BOARD_SETTINGS_SIZE || len > CELLOTA_BOARD_SETTINGS_SIZE - off) {
        return CELLOTA_L0_ERR_RANGE;
    }
    return cellota_l0_eeprom_read(off, buf, len);
}

static int store_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
    (void)ctx;
    if (off > CELLOTA_BOARD_SETTINGS_SIZE || len > CELLOTA_BOARD_SETTINGS_SIZE - off) {
        return CELLOTA_L0_ERR_RANGE;
    }
    return cellota_l0_eeprom_write(off, buf, len);
}

void cellota_l0_eeprom_store(ota_store_t *s)
{
    s->ctx = NULL;
    s->size = CELLOTA_BOARD_SETTINGS_SIZE;
    s->read = store_read;
    s->write = store_write;
}
