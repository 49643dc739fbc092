/*
 * boot_main.c - the bootloader image of the STM32L072CZ reference board
 * (the first 8 KB of flash).
 *
 * At every reset: start the watchdog, bring up the SPI NOR, let the boot
 * core (ota_boot.h) resume or start whatever its journal says is due
 * (backup, install, verify, trial accounting, rollback), then start the
 * application as the decision says:
 *   START            - jump to it;
 *   START_UNCHECKED  - the NOR could not be read: reset and try again, up to
 *                      BOOT_UNCHECKED_TRIES times in a row (counted in the
 *                      data EEPROM), then start the application anyway;
 *   RETRY            - the application area may be incomplete: never start
 *                      it; wait (longer after each failure, up to
 *                      BOOT_RETRY_MAX_WAIT_S) and reset, so that the next run
 *                      resumes from the journal.
 * The application is only entered when its vector table is plausible (stack
 * pointer in RAM, reset handler inside the application area, Thumb bit set).
 */
#include <stdint.h>

#include "board.h"
#include "cellota/ota_boot.h"
#include "cellota_stm32l0.h"
#include "stm32l0_regs.h"

#define BOOT_UNCHECKED_TRIES 3u
#define BOOT_RETRY_MAX_WAIT_S 30u
#define RAM_START 0x20000000u
#define RAM_END (RAM_START + 20u * 1024u)

static uint8_t work[128]; /* one internal flash page */

static uint32_t counter_get(void)
{
    uint32_t n = 0u;

    (void)cellota_l0_eeprom_read(CELLOTA_BOARD_BOOTCNT_OFFSET, &n, sizeof n);
    return n;
}

static void counter_set(uint32_t n)
{
    (void)cellota_l0_eeprom_write(CELLOTA_BOARD_BOOTCNT_OFFSET, &n, sizeof n);
}

static bool app_plausible(uint32_t sp, uint32_t pc)
{
    return sp > RAM_START && sp <= RAM_END && (sp & 3u) == 0u && (pc & 1u) != 0u &&
           pc > CELLOTA_BOARD_APP_ADDR && pc < CELLOTA_BOARD_APP_ADDR + CELLOTA_BOARD_APP_SIZE;
}

/* Hand the CPU to the application: everything the bootloader enabled that
 * could interrupt is off, the vector table and stack are the application's. */
static void start_app(void)
{
    const volatile uint32_t *vt = (const volatile uint32_t *)(uintptr_t)CELLOTA_BOARD_APP_ADDR;
    uint32_t sp = vt[0];
    uint32_t pc = vt[1];

    if (!app_plausible(sp, pc)) {
        return;
    }
    __asm__ volatile("cpsid i" ::: "memory");
    L0_SPI1_CR1 = 0u;
    L0_NVIC_ICER = 0xFFFFFFFFu;
    L0_NVIC_ICPR = 0xFFFFFFFFu;
    L0_SYST_CSR = 0u;
    L0_SCB_VTOR = CELLOTA_BOARD_APP_ADDR;
    __asm__ volatile("dsb\n\t"
                     "isb\n\t"
                     "msr msp, %0\n\t"
                     "cpsie i\n\t"
                     "bx %1\n\t" ::"r"(sp),
                     "r"(pc)
                     : "memory");
}

static void wait_seconds(uint32_t s)
{
    uint32_t i;

    for (i = 0u; i < s * 10u; i++) {
        cellota_l0_watchdog_kick();
        /* ~100 ms: 16 MHz / (4 cycles a round) / 10 */
        for (volatile uint32_t n = 400000u; n != 0u; n--) {
        }
    }
}

static void configure(ota_boot_config_t *cfg)
{
    cellota_l0_nor(&cfg->flash);
    cfg->meta_addr = CELLOTA_BOARD_META_ADDR;
    cfg->backup_addr = CELLOTA_BOARD_BACKUP_ADDR;
    cfg->backup_size = CELLOTA_BOARD_BACKUP_SIZE;
    cellota_l0_iflash(&cfg->iflash);
    cfg->max_boots = 0u; /* OTA_BOOT_DEFAULT_MAX_BOOTS */
    cfg->buf = work;
    cfg->buf_size = sizeof work;
}

int main(void)
{
    ota_boot_config_t cfg;
    ota_boot_decision_t dec;
    uint32_t failures;

    cellota_l0_system_init();
    cellota_l0_watchdog_start();
    cellota_l0_nor_init();
    configure(&cfg);
    (void)ota_boot_run(&cfg, &dec);
    failures = counter_get();

    if (dec.action == OTA_BOOT_START ||
        (dec.action == OTA_BOOT_START_UNCHECKED && failures >= BOOT_UNCHECKED_TRIES)) {
        if (failures != 0u) {
            counter_set(0u);
        }
        start_app();
        /* No plausible application: nothing to start. Wait, then try again. */
        wait_seconds(BOOT_RETRY_MAX_WAIT_S);
        cellota_l0_reset();
    }
    if (failures < 0xFFu) { /* stop counting (and wearing the EEPROM) there */
        counter_set(failures + 1u);
    }
    if (dec.action == OTA_BOOT_RETRY) {
        wait_seconds(failures < BOOT_RETRY_MAX_WAIT_S ? failures + 1u : BOOT_RETRY_MAX_WAIT_S);
    }
    cellota_l0_reset();
}
