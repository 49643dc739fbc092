/*
 * microbit_rt.c - vector table, reset handler, fault handlers and semihosting
 * console for the target test programs (QEMU "microbit": nRF51, Cortex-M0).
 *
 * Reset: copy .data from flash, zero .bss, paint the free RAM between the
 * heap start and the stack so that the stack's high-water mark can be
 * measured, open newlib's semihosting handles (librdimon), call main(), and
 * end through semihosting with main's return value as QEMU's exit status.
 *
 * A HardFault (on the Cortex-M0 every unaligned word or halfword access is
 * one, as on the STM32L0's Cortex-M0+) prints the faulting PC and the test
 * being run, and ends the program with CELLOTA_TARGET_EXIT_FAULT.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "target_rt.h"

/* Linker script symbols (microbit.ld). */
extern uint32_t __data_load[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t end[];
extern uint32_t __stack_top[];
extern uint32_t __ram_start[];

int main(void);
void initialise_monitor_handles(void); /* librdimon */
void *_sbrk(ptrdiff_t incr);           /* librdimon: the heap's end */

void cellota_target_reset(void);
void cellota_target_hardfault(void);
void cellota_target_unexpected(void);
void cellota_target_fault_report(const uint32_t *frame);

#define PAINT 0xC5AC5AC5u
#define SYS_WRITE0 0x04u
#define SYS_GET_CMDLINE 0x15u
#define SYS_EXIT 0x18u
#define SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u

typedef void (*vector_t)(void);

#define UNEXP cellota_target_unexpected
#define UNEXP4 UNEXP, UNEXP, UNEXP, UNEXP

/* Cortex-M0: 16 system entries, then the nRF51's 32 interrupt lines. */
__attribute__((section(".vectors"), used)) static const vector_t vectors[16 + 32] = {
    (vector_t)(uintptr_t)__stack_top, /* initial SP */
    cellota_target_reset,
    UNEXP, /* NMI */
    cellota_target_hardfault,
    UNEXP4, UNEXP4, UNEXP4, /* 4..15: reserved, SVCall, PendSV, SysTick */
    UNEXP4, UNEXP4, UNEXP4, UNEXP4, UNEXP4, UNEXP4, UNEXP4, UNEXP4, /* IRQ 0..31 */
};

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;

    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static uint32_t *stack_pointer(void)
{
    uint32_t *sp;

    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

void cellota_target_puts(const char *s)
{
    if (s != NULL && s[0] != '\0') {
        (void)semihost(SYS_WRITE0, s);
    }
}

void cellota_target_put_dec(uint64_t v)
{
    char buf[24];
    size_t i = sizeof buf - 1u;

    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u && i > 0u);
    cellota_target_puts(&buf[i]);
}

void cellota_target_put_hex(uint64_t v, unsigned digits)
{
    static const char hex[] = "0123456789abcdef";
    char buf[20];
    size_t i = sizeof buf - 1u;
    unsigned n = 0u;

    buf[i] = '\0';
    do {
        buf[--i] = hex[v & 0xFu];
        v >>= 4;
        n++;
    } while ((v != 0u || n < digits) && i > 2u);
    buf[--i] = 'x';
    buf[--i] = '0';
    cellota_target_puts(&buf[i]);
}

int cellota_target_has_arg(const char *word)
{
    static char cmdline[64];
    static int fetched;
    size_t n = strlen(word);
    const char *p = cmdline;

    if (!fetched) {
        uint32_t block[2] = {(uint32_t)(uintptr_t)cmdline, sizeof cmdline - 1u};
        if (semihost(SYS_GET_CMDLINE, block) != 0u) {
            cmdline[0] = '\0';
        }
        fetched = 1;
    }
    while ((p = strstr(p, word)) != NULL) {
        if ((p == cmdline || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ')) {
            return 1;
        }
        p += n;
    }
    return 0;
}

static void put_kv(const char *key, uint64_t v)
{
    cellota_target_puts(key);
    cellota_target_put_dec(v);
}

/* Lowest stack word the program wrote: the first unpainted word above the heap. */
static const uint32_t *stack_low_water(const uint32_t *heap_end)
{
    const uint32_t *p = heap_end;

    while ((uintptr_t)p < (uintptr_t)__stack_top && *p == PAINT) {
        p++;
    }
    return p;
}

void cellota_target_exit(int status)
{
    uintptr_t brk = (uintptr_t)_sbrk(0);
    const uint32_t *heap_end = (const uint32_t *)((brk + 3u) & ~(uintptr_t)3u);
    const uint32_t *low = stack_low_water(heap_end);
    uintptr_t top = (uintptr_t)__stack_top;
    uint32_t args[2];

    put_kv("[  TARGET  ] RAM ", top - (uintptr_t)__ram_start);
    put_kv(" bytes: static ", (uintptr_t)end - (uintptr_t)__ram_start);
    put_kv(", heap peak ", brk - (uintptr_t)end);
    put_kv(", stack peak ", top - (uintptr_t)low);
    put_kv(", never used ", (uintptr_t)low - (uintptr_t)heap_end);
    cellota_target_puts("\n");
    if (low == heap_end) {
        cellota_target_puts("[  TARGET  ] STACK OVERFLOW: the stack reached the heap\n");
        status = CELLOTA_TARGET_EXIT_STACK;
    }
    args[0] = ADP_STOPPED_APPLICATION_EXIT;
    args[1] = (uint32_t)status;
    (void)semihost(SYS_EXIT_EXTENDED, args);
    /* A host without SYS_EXIT_EXTENDED: only "passed" or "failed". */
    (void)semihost(SYS_EXIT, (const void *)(uintptr_t)(status == 0 ? ADP_STOPPED_APPLICATION_EXIT
                                                                    : ADP_STOPPED_RUNTIME_ERROR));
    for (;;) {
    }
}

void cellota_target_reset(void)
{
    const uint32_t *src = __data_load;
    uint32_t *dst;
    uint32_t *paint_end = stack_pointer() - 32;

    /* Linker symbols: compared as addresses, not as pointers into one object. */
    for (dst = __data_start; (uintptr_t)dst < (uintptr_t)__data_end; dst++) {
        *dst = *src++;
    }
    for (dst = __bss_start; (uintptr_t)dst < (uintptr_t)__bss_end; dst++) {
        *dst = 0u;
    }
    for (dst = end; (uintptr_t)dst < (uintptr_t)paint_end; dst++) {
        *dst = PAINT;
    }
    initialise_monitor_handles();
    cellota_target_exit(main());
}

void cellota_target_fault_report(const uint32_t *frame)
{
    const char *test = cellota_target_current_test();

    cellota_target_puts("\n[  FAULT   ] HardFault");
    if (test != NULL) {
        cellota_target_puts(" in ");
        cellota_target_puts(test);
    }
    cellota_target_puts(": pc=");
    cellota_target_put_hex(frame[6], 8u);
    cellota_target_puts(" lr=");
    cellota_target_put_hex(frame[5], 8u);
    cellota_target_puts(" sp=");
    cellota_target_put_hex((uintptr_t)frame, 8u);
    cellota_target_puts(" (unaligned access, bad address or bad instruction)\n");
    cellota_target_exit(CELLOTA_TARGET_EXIT_FAULT);
}

/* The exception frame is on the main stack (no thread-mode process stack here). */
__attribute__((naked)) void cellota_target_hardfault(void)
{
    __asm__ volatile("mrs r0, msp\n\t"
                     "bl cellota_target_fault_report\n\t");
}

void cellota_target_unexpected(void)
{
    uint32_t ipsr;

    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    cellota_target_puts("\n[  FAULT   ] unexpected exception ");
    cellota_target_put_dec(ipsr & 0x3Fu);
    cellota_target_puts("\n");
    cellota_target_exit(CELLOTA_TARGET_EXIT_FAULT);
}
