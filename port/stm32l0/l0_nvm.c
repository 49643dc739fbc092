/*
 * l0_nvm.c - the flash memory interface's lock and status handling, shared
 * by the data EEPROM and the internal flash drivers (RM0376, "Flash program
 * memory and data EEPROM": unlocking, FLASH_SR error flags).
 */
#include "cellota_stm32l0.h"
#include "l0_internal.h"

/* A write or erase takes ~3.2 ms (~51 200 cycles at 16 MHz); allow ten times that. */
#define BUSY_SPIN_LIMIT 100000u

int l0_nvm_wait(void)
{
    uint32_t n;
    uint32_t sr;

    for (n = 0u; n < BUSY_SPIN_LIMIT && (L0_FLASH_SR & L0_FLASH_SR_BSY) != 0u; n++) {
    }
    sr = L0_FLASH_SR;
    if ((sr & L0_FLASH_SR_BSY) != 0u) {
        return CELLOTA_L0_ERR_TIMEOUT;
    }
    /* EOP and the error flags are cleared by writing 1 (ST's HAL clears EOP
     * after every operation too), so the next operation starts clean. */
    if ((sr & (L0_FLASH_SR_EOP | L0_FLASH_SR_ERRORS)) != 0u) {
        L0_FLASH_SR = sr & (L0_FLASH_SR_EOP | L0_FLASH_SR_ERRORS);
    }
    return ((sr & L0_FLASH_SR_ERRORS) != 0u) ? CELLOTA_L0_ERR_FLASH : 0;
}

int l0_nvm_unlock(bool program)
{
    uint32_t pm;

    /* Each key pair is written with interrupts masked, so that nothing can
     * come between its two writes (ST's HAL unlocks the same way). */
    if ((L0_FLASH_PECR & L0_FLASH_PECR_PELOCK) != 0u) {
        pm = l0_irq_save();
        L0_FLASH_PEKEYR = L0_FLASH_PEKEY1;
        L0_FLASH_PEKEYR = L0_FLASH_PEKEY2;
        l0_irq_restore(pm);
    }
    if (program && (L0_FLASH_PECR & L0_FLASH_PECR_PRGLOCK) != 0u) {
        pm = l0_irq_save();
        L0_FLASH_PRGKEYR = L0_FLASH_PRGKEY1;
        L0_FLASH_PRGKEYR = L0_FLASH_PRGKEY2;
        l0_irq_restore(pm);
    }
    if ((L0_FLASH_PECR & L0_FLASH_PECR_PELOCK) != 0u ||
        (program && (L0_FLASH_PECR & L0_FLASH_PECR_PRGLOCK) != 0u)) {
        return CELLOTA_L0_ERR_FLASH; /* a wrong key sequence locks until reset */
    }
    return 0;
}

void l0_nvm_lock(void)
{
    /* Program memory first, then PECR and the data EEPROM, as ST's HAL
     * does (HAL_FLASH_Lock): once PELOCK is set, PECR itself is locked, so
     * an already locked PECR (a failed unlock) is not written at all. */
    if ((L0_FLASH_PECR & L0_FLASH_PECR_PELOCK) == 0u) {
        L0_FLASH_PECR |= L0_FLASH_PECR_PRGLOCK;
        L0_FLASH_PECR |= L0_FLASH_PECR_PELOCK;
    }
}
