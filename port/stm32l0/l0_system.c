/*
 * l0_system.c - clock tree, watchdog, reset, GPIO helpers and the modem's
 * control pins (STM32L0x2, RM0376).
 */
#include "board.h"
#include "cellota_stm32l0.h"
#include "l0_internal.h"

/* Upper bound of the polling loops below: far longer than any of the waits
 * (HSI16 start-up is a few microseconds), short enough not to hang. */
#define SPIN_LIMIT 100000u

/* LSI is 37 kHz typical (26..56 kHz over the range); the watchdog runs on it. */
#define LSI_HZ 37000u
#define IWDG_PRESCALER_256 6u
#define IWDG_RELOAD_MAX 0x0FFFu
#define IWDG_RELOAD ((CELLOTA_BOARD_IWDG_TIMEOUT_MS / 1000u) * (LSI_HZ / 256u))
#if CELLOTA_BOARD_IWDG_TIMEOUT_MS < 1000u || IWDG_RELOAD > IWDG_RELOAD_MAX
#error "board.h: CELLOTA_BOARD_IWDG_TIMEOUT_MS must be between 1000 and about 28000"
#endif

static uint32_t reset_flags;
static bool reset_flags_read;

void cellota_l0_system_init(void)
{
    uint32_t n;

    /* 16 MHz in voltage range 2 (the reset default) needs one wait state:
     * set it before the clock goes up, and check it took. */
    L0_FLASH_ACR |= L0_FLASH_ACR_LATENCY;
    for (n = 0u; n < SPIN_LIMIT && (L0_FLASH_ACR & L0_FLASH_ACR_LATENCY) == 0u; n++) {
    }
    L0_FLASH_ACR |= L0_FLASH_ACR_PRFTEN;

    L0_RCC_CR |= L0_RCC_CR_HSI16ON;
    for (n = 0u; n < SPIN_LIMIT && (L0_RCC_CR & L0_RCC_CR_HSI16RDYF) == 0u; n++) {
    }
    if ((L0_RCC_CR & L0_RCC_CR_HSI16RDYF) == 0u) {
        return; /* stay on MSI (2.1 MHz): slow, but running */
    }
    L0_RCC_CFGR = (L0_RCC_CFGR & ~L0_RCC_CFGR_SW_MASK) | L0_RCC_CFGR_SW_HSI16;
    for (n = 0u; n < SPIN_LIMIT && (L0_RCC_CFGR & L0_RCC_CFGR_SWS_MASK) != L0_RCC_CFGR_SWS_HSI16;
         n++) {
    }
}

void cellota_l0_watchdog_start(void)
{
    uint32_t n;

    L0_IWDG_KR = L0_IWDG_KEY_START; /* also starts LSI */
    L0_IWDG_KR = L0_IWDG_KEY_ACCESS;
    L0_IWDG_PR = IWDG_PRESCALER_256;
    L0_IWDG_RLR = IWDG_RELOAD;
    for (n = 0u; n < SPIN_LIMIT && L0_IWDG_SR != 0u; n++) { /* PVU, RVU: values taken */
    }
    L0_IWDG_KR = L0_IWDG_KEY_RELOAD;
}

void cellota_l0_watchdog_kick(void)
{
    L0_IWDG_KR = L0_IWDG_KEY_RELOAD;
}

void cellota_l0_reset(void)
{
    __asm__ volatile("dsb" ::: "memory");
    L0_SCB_AIRCR = L0_AIRCR_VECTKEY | L0_AIRCR_SYSRESETREQ;
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
}

static void reboot_now(void *ctx)
{
    (void)ctx;
    cellota_l0_reset();
}

void cellota_l0_reboot_port(ota_reboot_t *r)
{
    r->ctx = NULL;
    r->reboot = reboot_now;
}

uint32_t cellota_l0_reset_cause(void)
{
    if (!reset_flags_read) {
        reset_flags = L0_RCC_CSR & 0xFF000000u;
        L0_RCC_CSR |= L0_RCC_CSR_RMVF;
        reset_flags_read = true;
    }
    return reset_flags;
}

/* ---- GPIO ------------------------------------------------------------------ */

void l0_pin_mode(uint32_t pin, uint32_t mode, uint32_t af)
{
    uint32_t port = (pin >> 4) & 0x7u;
    uint32_t n = pin & 0xFu;
    uint32_t afr_shift = 4u * (n % 8u);

    if (pin == CELLOTA_L0_NO_PIN) {
        return;
    }
    L0_RCC_IOPENR |= 1u << port;
    L0_GPIO_OTYPER(port) &= ~(1u << n);                    /* push-pull */
    L0_GPIO_OSPEEDR(port) |= 2u << (2u * n);               /* high speed (SPI at 8 MHz) */
    L0_GPIO_AFR(port, n) = (L0_GPIO_AFR(port, n) & ~(0xFu << afr_shift)) | ((af & 0xFu) << afr_shift);
    L0_GPIO_PUPDR(port) = (L0_GPIO_PUPDR(port) & ~(3u << (2u * n))) |
                          ((mode == L0_MODE_AF ? 1u : 0u) << (2u * n)); /* pull-up on AF pins */
    L0_GPIO_MODER(port) = (L0_GPIO_MODER(port) & ~(3u << (2u * n))) | ((mode & 3u) << (2u * n));
}

void l0_pin_output(uint32_t pin, int high)
{
    if (pin == CELLOTA_L0_NO_PIN) {
        return;
    }
    L0_RCC_IOPENR |= 1u << ((pin >> 4) & 0x7u);
    l0_pin_write(pin, high); /* level first: no glitch when the pin becomes an output */
    l0_pin_mode(pin, L0_MODE_OUTPUT, 0u);
}

void l0_pin_write(uint32_t pin, int high)
{
    uint32_t port = (pin >> 4) & 0x7u;
    uint32_t n = pin & 0xFu;

    if (pin == CELLOTA_L0_NO_PIN) {
        return;
    }
    L0_GPIO_BSRR(port) = high ? (1u << n) : (1u << (n + 16u));
}

void l0_delay_us(uint32_t us)
{
    volatile uint32_t n = us * 4u; /* >= 4 cycles per round at 16 MHz */

    while (n != 0u) {
        n--;
    }
}

/* ---- modem control pins ------------------------------------------------------ */

static void drive(uint32_t pin, int active_high, bool asserted)
{
    l0_pin_write(pin, (asserted ? 1 : 0) == active_high);
}

static void pin_pwrkey(void *ctx, bool asserted)
{
    (void)ctx;
    drive(CELLOTA_BOARD_MODEM_PWRKEY_PIN, CELLOTA_BOARD_MODEM_PWRKEY_ACTIVE_HIGH, asserted);
}

static void pin_reset(void *ctx, bool asserted)
{
    (void)ctx;
    drive(CELLOTA_BOARD_MODEM_RESET_PIN, CELLOTA_BOARD_MODEM_RESET_ACTIVE_HIGH, asserted);
}

static void pin_psm(void *ctx, bool asserted)
{
    (void)ctx;
    drive(CELLOTA_BOARD_MODEM_PSM_PIN, CELLOTA_BOARD_MODEM_PSM_ACTIVE_HIGH, asserted);
}

void cellota_l0_modem_gpio_init(void)
{
    l0_pin_output(CELLOTA_BOARD_MODEM_PWRKEY_PIN, !CELLOTA_BOARD_MODEM_PWRKEY_ACTIVE_HIGH);
    l0_pin_output(CELLOTA_BOARD_MODEM_RESET_PIN, !CELLOTA_BOARD_MODEM_RESET_ACTIVE_HIGH);
    l0_pin_output(CELLOTA_BOARD_MODEM_PSM_PIN, !CELLOTA_BOARD_MODEM_PSM_ACTIVE_HIGH);
}

void cellota_l0_modem_gpio(quectel_gpio_t *g)
{
    g->ctx = NULL;
    g->pwrkey = (CELLOTA_BOARD_MODEM_PWRKEY_PIN == CELLOTA_L0_NO_PIN) ? NULL : pin_pwrkey;
    g->reset = (CELLOTA_BOARD_MODEM_RESET_PIN == CELLOTA_L0_NO_PIN) ? NULL : pin_reset;
    g->psm_eint = (CELLOTA_BOARD_MODEM_PSM_PIN == CELLOTA_L0_NO_PIN) ? NULL : pin_psm;
}
