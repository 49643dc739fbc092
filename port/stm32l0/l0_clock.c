/*
 * l0_clock.c - millisecond clock on LPTIM1 and sleep until a deadline.
 *
 * LPTIM1 counts its kernel clock (LSE 32768 Hz, or LSI) continuously from 0
 * to ARR = 0xFFFF; the autoreload-match interrupt counts the periods. With
 * LSE one period is exactly 2000 ms, so
 *     ms = periods * 2000 + cnt * 1000 / 32768
 * in 32-bit arithmetic, wrapping at 2^32 like the interface asks. The
 * compare register wakes the CPU at a deadline inside the current period;
 * a later deadline is reached through the period interrupts (one wake-up
 * every 2 s at most). Without a crystal (board.h, or an LSE that does not
 * start) LPTIM1 runs on LSI at its nominal 37 kHz: milliseconds are then
 * only as accurate as LSI (+-15 %).
 *
 * Reading the time: CNT is read twice until two reads agree (RM0376: the
 * counter runs on an asynchronous clock), with interrupts masked. If the
 * period interrupt is pending and CNT is in the lower half, the wrap
 * happened and is not counted yet: one period is added. ARRM is set when CNT
 * reaches 0xFFFF, one LPTIM clock before CNT reads 0, so a wrapped CNT is
 * never seen without its flag.
 */
#include "board.h"
#include "cellota_stm32l0.h"
#include "l0_internal.h"

#define LPTIM_PERIOD 0x10000u
#define LSE_HZ 32768u
#define LSI_NOMINAL_HZ 37000u
/* LSE can take a second or two to start: give it 3 s at about 8 cycles a round. */
#define OSC_SPIN_LIMIT 6000000u
#define SYNC_SPIN_LIMIT 10000u
#define LPTIM_IER_CMPMIE (1u << 0)
#define LPTIM_IER_ARRMIE (1u << 1)
#define LPTIM_ICR_CMPOKCF (1u << 3)
#define LPTIM_ICR_ARROKCF (1u << 4)

void cellota_l0_isr_lptim1(void);

static volatile uint32_t periods;
static bool cmp_busy;  /* a CMP write is not confirmed yet (CMPOK) */
static bool on_lsi;    /* LSE absent or not wanted: the nominal LSI rate is used */

static uint32_t read_cnt(void)
{
    uint32_t a = L0_LPTIM_CNT & 0xFFFFu;
    uint32_t b = L0_LPTIM_CNT & 0xFFFFu;
    uint32_t n;

    for (n = 0u; n < SYNC_SPIN_LIMIT && a != b; n++) {
        a = b;
        b = L0_LPTIM_CNT & 0xFFFFu;
    }
    return b;
}

static bool wait_flag(uint32_t flag)
{
    uint32_t n;

    for (n = 0u; n < SYNC_SPIN_LIMIT; n++) {
        if ((L0_LPTIM_ISR & flag) != 0u) {
            return true;
        }
    }
    return false;
}

static bool start_oscillator(uint32_t on, uint32_t ready)
{
    uint32_t n;

    L0_RCC_CSR |= on;
    for (n = 0u; n < OSC_SPIN_LIMIT && (L0_RCC_CSR & ready) == 0u; n++) {
    }
    return (L0_RCC_CSR & ready) != 0u;
}

/* LSE when board.h asks for it and it starts; LSI otherwise. */
static int select_clock(void)
{
    uint32_t sel = L0_RCC_CCIPR_LPTIM1SEL_LSE;

    L0_RCC_APB1ENR |= L0_RCC_APB1ENR_PWREN;
    L0_PWR_CR |= L0_PWR_CR_DBP; /* LSEON sits in the backup domain */
    on_lsi = !CELLOTA_BOARD_USE_LSE || !start_oscillator(L0_RCC_CSR_LSEON, L0_RCC_CSR_LSERDY);
    if (on_lsi) {
        if (!start_oscillator(L0_RCC_CSR_LSION, L0_RCC_CSR_LSIRDY)) {
            return CELLOTA_L0_ERR_TIMEOUT;
        }
        sel = L0_RCC_CCIPR_LPTIM1SEL_LSI;
    }
    L0_RCC_CCIPR = (L0_RCC_CCIPR & ~(3u << L0_RCC_CCIPR_LPTIM1SEL_SHIFT)) |
                   (sel << L0_RCC_CCIPR_LPTIM1SEL_SHIFT);
    return 0;
}

int cellota_l0_clock_init(void)
{
    int rc = select_clock();

    if (rc != 0) {
        return rc;
    }
    L0_RCC_APB1ENR |= L0_RCC_APB1ENR_LPTIM1EN;
    L0_LPTIM_CR = 0u;
    L0_LPTIM_CFGR = 0u; /* internal clock, no prescaler, software start */
    L0_LPTIM_IER = LPTIM_IER_ARRMIE | LPTIM_IER_CMPMIE; /* only while disabled */
    L0_LPTIM_CR = L0_LPTIM_CR_ENABLE;
    /* Each ...OK flag is cleared before the write it confirms, as ST's HAL
     * does: cleared after, it could erase a confirmation that already came,
     * and every later arm_compare() would time out waiting for CMPOK. */
    L0_LPTIM_ICR = LPTIM_ICR_ARROKCF;
    L0_LPTIM_ARR = LPTIM_PERIOD - 1u; /* only while enabled */
    if (!wait_flag(L0_LPTIM_ISR_ARROK)) {
        return CELLOTA_L0_ERR_TIMEOUT;
    }
    L0_LPTIM_ICR = 0x7Fu; /* every flag, CMPOK included */
    L0_LPTIM_CMP = LPTIM_PERIOD - 1u;
    cmp_busy = true;
    periods = 0u;
    L0_LPTIM_CR = L0_LPTIM_CR_ENABLE | L0_LPTIM_CR_CNTSTRT;
    l0_nvic_enable(L0_IRQ_LPTIM1, 2u);
    return 0;
}

void cellota_l0_isr_lptim1(void)
{
    uint32_t isr = L0_LPTIM_ISR;

    if ((isr & L0_LPTIM_ISR_ARRM) != 0u) {
        L0_LPTIM_ICR = L0_LPTIM_ISR_ARRM;
        periods++;
    }
    if ((isr & L0_LPTIM_ISR_CMPM) != 0u) {
        L0_LPTIM_ICR = L0_LPTIM_ISR_CMPM; /* a deadline: waking up was the point */
    }
}

/* Periods and count, consistent (interrupts masked by the caller). */
static void now_ticks(uint32_t *per, uint32_t *cnt)
{
    *cnt = read_cnt();
    *per = periods;
    if ((L0_LPTIM_ISR & L0_LPTIM_ISR_ARRM) != 0u && *cnt < LPTIM_PERIOD / 2u) {
        *per += 1u;
    }
}

static uint32_t ticks_to_ms(uint32_t per, uint32_t cnt)
{
    if (on_lsi) {
        uint64_t ticks = ((uint64_t)per << 16) | cnt;
        return (uint32_t)(ticks * 1000u / LSI_NOMINAL_HZ);
    }
    return per * (LPTIM_PERIOD * 1000u / LSE_HZ) + ((cnt * 1000u) >> 15);
}

/* Ticks for ms, rounded up; callers keep ms below 2000. */
static uint32_t ms_to_ticks(uint32_t ms)
{
    return (on_lsi ? (ms * LSI_NOMINAL_HZ) : (ms << 15)) / 1000u + 1u;
}

uint32_t cellota_l0_millis(void)
{
    uint32_t pm = l0_irq_save();
    uint32_t per;
    uint32_t cnt;

    now_ticks(&per, &cnt);
    l0_irq_restore(pm);
    return ticks_to_ms(per, cnt);
}

static uint32_t clock_now(void *ctx)
{
    (void)ctx;
    return cellota_l0_millis();
}

void cellota_l0_clock(ota_clock_t *c)
{
    c->ctx = NULL;
    c->now_ms = clock_now;
}

/* Arm the compare for `target` (a count in this period); false if it could
 * not be written in time (then the period interrupt still wakes us). */
static bool arm_compare(uint32_t target)
{
    if (cmp_busy && !wait_flag(L0_LPTIM_ISR_CMPOK)) {
        return false;
    }
    L0_LPTIM_ICR = LPTIM_ICR_CMPOKCF | L0_LPTIM_ISR_CMPM;
    L0_LPTIM_CMP = target;
    cmp_busy = true;
    return true;
}

static void wfi(void)
{
    L0_SCB_SCR &= ~L0_SCR_SLEEPDEEP; /* Sleep mode: every peripheral keeps running */
    __asm__ volatile("dsb\n\twfi" ::: "memory");
}

void cellota_l0_sleep_until(uint32_t deadline_ms)
{
    uint32_t pm = l0_irq_save();
    uint32_t per;
    uint32_t cnt;
    uint32_t left;

    now_ticks(&per, &cnt);
    left = deadline_ms - ticks_to_ms(per, cnt);
    if ((int32_t)left > 0 && !l0_uart_rx_pending()) {
        uint32_t target = (left < 1900u) ? cnt + ms_to_ticks(left) : LPTIM_PERIOD;
        if (target < LPTIM_PERIOD - 1u && arm_compare(target)) {
            if (read_cnt() < target) {
                wfi(); /* a pending interrupt ends it at once, even masked */
            }
        } else {
            wfi(); /* the period interrupt (at most 2 s away) wakes us */
        }
    }
    l0_irq_restore(pm); /* the interrupt that woke us runs here */
}

void cellota_l0_sleep(void)
{
    uint32_t pm = l0_irq_save();

    if (!l0_uart_rx_pending()) {
        wfi();
    }
    l0_irq_restore(pm);
}
