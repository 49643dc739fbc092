/*
 * l0_uart.c - the modem's UART (USART1, USART2 or LPUART1, board.h) with
 * interrupt-driven receive and transmit ring buffers.
 *
 * Rings: power-of-two arrays with free-running 32-bit indices; the receive
 * ring is filled only by the interrupt and emptied only by read(), the
 * transmit ring the other way round, so no lock is needed (32-bit loads and
 * stores are atomic on the Cortex-M0+). A byte that finds the receive ring
 * full, and an overrun of the UART itself, are counted as lost: the AT
 * engine sees a damaged line and recovers.
 */
#include "board.h"
#include "cellota_stm32l0.h"
#include "l0_internal.h"

/* Kernel clocks: RCC_CCIPR is left at its reset value, which selects PCLK2
 * for USART1 and PCLK1 for USART2 and LPUART1 (stm32l0xx_ll_rcc.h: the
 * ..._CLKSOURCE_PCLKx selections are 0); both APB prescalers stay at 1, so
 * every one of them runs at CELLOTA_BOARD_SYSCLK_HZ. USART BRR (16x
 * oversampling) = f / baud; LPUART BRR = 256 * f / baud; both rounded. */
#if CELLOTA_BOARD_MODEM_UART == CELLOTA_L0_UART_USART1
#define UART_BASE L0_USART1_BASE
#define UART_IRQ L0_IRQ_USART1
#define UART_CLOCK_ON() (L0_RCC_APB2ENR |= L0_RCC_APB2ENR_USART1EN)
#define UART_BRR ((CELLOTA_BOARD_SYSCLK_HZ + CELLOTA_BOARD_MODEM_BAUD / 2u) / CELLOTA_BOARD_MODEM_BAUD)
#define UART_ISR_NAME cellota_l0_isr_usart1
#elif CELLOTA_BOARD_MODEM_UART == CELLOTA_L0_UART_USART2
#define UART_BASE L0_USART2_BASE
#define UART_IRQ L0_IRQ_USART2
#define UART_CLOCK_ON() (L0_RCC_APB1ENR |= L0_RCC_APB1ENR_USART2EN)
#define UART_BRR ((CELLOTA_BOARD_SYSCLK_HZ + CELLOTA_BOARD_MODEM_BAUD / 2u) / CELLOTA_BOARD_MODEM_BAUD)
#define UART_ISR_NAME cellota_l0_isr_usart2
#elif CELLOTA_BOARD_MODEM_UART == CELLOTA_L0_UART_LPUART1
#define UART_BASE L0_LPUART1_BASE
#define UART_IRQ L0_IRQ_LPUART1
#define UART_CLOCK_ON() (L0_RCC_APB1ENR |= L0_RCC_APB1ENR_LPUART1EN)
#define UART_BRR                                                                    \
    ((uint32_t)((256ull * CELLOTA_BOARD_SYSCLK_HZ + CELLOTA_BOARD_MODEM_BAUD / 2u) / \
                CELLOTA_BOARD_MODEM_BAUD))
#define UART_ISR_NAME cellota_l0_isr_lpuart1
#else
#error "board.h: CELLOTA_BOARD_MODEM_UART must be CELLOTA_L0_UART_USART1, _USART2 or _LPUART1"
#endif

#define RX_SIZE CELLOTA_BOARD_MODEM_RX_BUF
#define TX_SIZE CELLOTA_BOARD_MODEM_TX_BUF
#if (RX_SIZE & (RX_SIZE - 1u)) != 0u || (TX_SIZE & (TX_SIZE - 1u)) != 0u
#error "board.h: the UART ring sizes must be powers of two"
#endif

#define COMPILER_BARRIER() __asm__ volatile("" ::: "memory")

void UART_ISR_NAME(void);

static uint8_t rx_buf[RX_SIZE];
static uint8_t tx_buf[TX_SIZE];
static volatile uint32_t rx_head; /* written by the interrupt */
static volatile uint32_t rx_tail; /* written by read() */
static volatile uint32_t tx_head; /* written by write() */
static volatile uint32_t tx_tail; /* written by the interrupt */
static volatile uint32_t rx_lost;

void UART_ISR_NAME(void)
{
    uint32_t isr = L0_USART_ISR(UART_BASE);

    if ((isr & (L0_USART_ISR_ORE | L0_USART_ISR_FE | L0_USART_ISR_NF | L0_USART_ISR_PE)) != 0u) {
        L0_USART_ICR(UART_BASE) = L0_USART_ICR_ERRORS;
        rx_lost += ((isr & L0_USART_ISR_ORE) != 0u) ? 1u : 0u;
    }
    if ((isr & L0_USART_ISR_RXNE) != 0u) {
        uint8_t b = (uint8_t)L0_USART_RDR(UART_BASE); /* clears RXNE */
        uint32_t head = rx_head;
        if (head - rx_tail < RX_SIZE) {
            rx_buf[head & (RX_SIZE - 1u)] = b;
            COMPILER_BARRIER();
            rx_head = head + 1u;
        } else {
            rx_lost++;
        }
    }
    if ((isr & L0_USART_ISR_TXE) != 0u && (L0_USART_CR1(UART_BASE) & L0_USART_CR1_TXEIE) != 0u) {
        uint32_t tail = tx_tail;
        if (tail != tx_head) {
            L0_USART_TDR(UART_BASE) = tx_buf[tail & (TX_SIZE - 1u)];
            tx_tail = tail + 1u;
        } else {
            L0_USART_CR1(UART_BASE) &= ~L0_USART_CR1_TXEIE; /* ring empty */
        }
    }
}

void cellota_l0_modem_uart_init(void)
{
    rx_head = 0u;
    rx_tail = 0u;
    tx_head = 0u;
    tx_tail = 0u;
    UART_CLOCK_ON();
    l0_pin_mode(CELLOTA_BOARD_MODEM_TX_PIN, L0_MODE_AF, CELLOTA_BOARD_MODEM_AF);
    l0_pin_mode(CELLOTA_BOARD_MODEM_RX_PIN, L0_MODE_AF, CELLOTA_BOARD_MODEM_AF);
    L0_USART_CR1(UART_BASE) = 0u; /* BRR may only change while disabled */
    L0_USART_CR2(UART_BASE) = 0u; /* 1 stop bit */
    L0_USART_CR3(UART_BASE) = 0u;
    L0_USART_BRR(UART_BASE) = UART_BRR;
    L0_USART_ICR(UART_BASE) = L0_USART_ICR_ERRORS;
    L0_USART_CR1(UART_BASE) =
        L0_USART_CR1_UE | L0_USART_CR1_RE | L0_USART_CR1_TE | L0_USART_CR1_RXNEIE;
    l0_nvic_enable(UART_IRQ, 0u); /* highest priority: a byte every 87 us at 115200 */
}

bool l0_uart_rx_pending(void)
{
    return rx_head != rx_tail;
}

static int uart_write(void *ctx, const uint8_t *data, size_t len)
{
    uint32_t head = tx_head;
    uint32_t room = TX_SIZE - (head - tx_tail);
    size_t n = (len < room) ? len : room;
    size_t i;

    (void)ctx;
    if (data == NULL && len != 0u) {
        return CELLOTA_L0_ERR_RANGE;
    }
    for (i = 0u; i < n; i++) {
        tx_buf[(head + i) & (TX_SIZE - 1u)] = data[i];
    }
    COMPILER_BARRIER();
    tx_head = head + (uint32_t)n;
    if (n != 0u) {
        uint32_t pm = l0_irq_save(); /* CR1 is also written by the interrupt */
        L0_USART_CR1(UART_BASE) |= L0_USART_CR1_TXEIE;
        l0_irq_restore(pm);
    }
    return (int)n;
}

static int uart_read(void *ctx, uint8_t *buf, size_t cap)
{
    uint32_t tail = rx_tail;
    uint32_t avail = rx_head - tail;
    size_t n = (cap < avail) ? cap : avail;
    size_t i;

    (void)ctx;
    if (buf == NULL && cap != 0u) {
        return CELLOTA_L0_ERR_RANGE;
    }
    for (i = 0u; i < n; i++) {
        buf[i] = rx_buf[(tail + i) & (RX_SIZE - 1u)];
    }
    COMPILER_BARRIER();
    rx_tail = tail + (uint32_t)n;
    return (int)n;
}

void cellota_l0_modem_uart(quectel_uart_t *u)
{
    u->ctx = NULL;
    u->write = uart_write;
    u->read = uart_read;
}

uint32_t cellota_l0_modem_uart_lost(void)
{
    return rx_lost;
}
