/*
 * l0_spi_nor.c - SPI NOR flash on SPI1 (W25Q32 / ZB25VQ32 class: 4 KB
 * sectors, 256-byte pages, 3-byte addresses), behind ota_flash_t.
 *
 * Commands (common to these parts): 0x9F JEDEC ID, 0xAB release from deep
 * power-down, 0x06 write enable, 0x05 read status register 1 (bit 0 BUSY,
 * bit 1 WEL), 0x03 read, 0x02 page program, 0x20 4 KB sector erase.
 * SPI mode 0, master, software chip select, 8 MHz.
 *
 * Every wait is bounded: a byte transfer by a spin count, a program or an
 * erase by a time limit above the parts' maximum (tPP 3 ms, tSE 400 ms).
 * Timeouts do not depend on the millisecond clock, so the bootloader can
 * use this driver without it.
 */
#include "board.h"
#include "cellota_stm32l0.h"
#include "l0_internal.h"

#define NOR_SECTOR 4096u
#define NOR_PAGE 256u

#define CMD_WRITE_ENABLE 0x06u
#define CMD_READ_STATUS 0x05u
#define CMD_READ 0x03u
#define CMD_PAGE_PROGRAM 0x02u
#define CMD_SECTOR_ERASE 0x20u
#define CMD_JEDEC_ID 0x9Fu
#define CMD_RELEASE_POWER_DOWN 0xABu
#define SR_BUSY 0x01u
#define SR_WEL 0x02u

#define PROGRAM_TIMEOUT_MS 10u
#define ERASE_TIMEOUT_MS 1000u
#define STATUS_POLL_US 50u
#define BYTE_SPIN_LIMIT 2000u /* a byte takes 16 cycles of SCK: ~1 us */

static bool spi_failed; /* a byte transfer timed out since the last select */
static uint32_t jedec_id;

static bool wait_sr(uint32_t flag, uint32_t want)
{
    uint32_t n;

    for (n = 0u; n < BYTE_SPIN_LIMIT; n++) {
        if ((L0_SPI1_SR & flag) == want) {
            return true;
        }
    }
    spi_failed = true;
    return false;
}

static uint8_t xfer(uint8_t out)
{
    if (!wait_sr(L0_SPI_SR_TXE, L0_SPI_SR_TXE)) {
        return 0xFFu;
    }
    L0_SPI1_DR = out;
    if (!wait_sr(L0_SPI_SR_RXNE, L0_SPI_SR_RXNE)) {
        return 0xFFu;
    }
    return (uint8_t)L0_SPI1_DR;
}

static void select_chip(void)
{
    spi_failed = false;
    l0_pin_write(CELLOTA_BOARD_NOR_CS_PIN, 0);
}

static void deselect_chip(void)
{
    (void)wait_sr(L0_SPI_SR_BSY, 0u);
    l0_pin_write(CELLOTA_BOARD_NOR_CS_PIN, 1);
}

static void send_addr(uint8_t cmd, uint32_t addr)
{
    (void)xfer(cmd);
    (void)xfer((uint8_t)(addr >> 16));
    (void)xfer((uint8_t)(addr >> 8));
    (void)xfer((uint8_t)addr);
}

static uint8_t read_status(void)
{
    uint8_t sr;

    select_chip();
    (void)xfer(CMD_READ_STATUS);
    sr = xfer(0xFFu);
    deselect_chip();
    return sr;
}

/* Wait until the chip is no longer busy, at most timeout_ms. */
static int wait_ready(uint32_t timeout_ms)
{
    uint32_t polls = timeout_ms * (1000u / STATUS_POLL_US);
    uint32_t n;

    for (n = 0u; n <= polls; n++) {
        uint8_t sr = read_status();
        if (spi_failed) {
            return CELLOTA_L0_ERR_TIMEOUT;
        }
        if ((sr & SR_BUSY) == 0u) {
            return 0;
        }
        cellota_l0_watchdog_kick(); /* an erase may take 400 ms */
        l0_delay_us(STATUS_POLL_US);
    }
    return CELLOTA_L0_ERR_TIMEOUT;
}

static int write_enable(void)
{
    select_chip();
    (void)xfer(CMD_WRITE_ENABLE);
    deselect_chip();
    if (spi_failed) {
        return CELLOTA_L0_ERR_TIMEOUT;
    }
    return ((read_status() & SR_WEL) != 0u) ? 0 : CELLOTA_L0_ERR_WEL;
}

static bool in_range(uint32_t addr, size_t len)
{
    return addr <= CELLOTA_BOARD_NOR_SIZE && len <= (size_t)(CELLOTA_BOARD_NOR_SIZE - addr);
}

void cellota_l0_nor_init(void)
{
    L0_RCC_APB2ENR |= L0_RCC_APB2ENR_SPI1EN;
    l0_pin_output(CELLOTA_BOARD_NOR_CS_PIN, 1);
    l0_pin_mode(CELLOTA_BOARD_NOR_SCK_PIN, L0_MODE_AF, CELLOTA_BOARD_NOR_AF);
    l0_pin_mode(CELLOTA_BOARD_NOR_MISO_PIN, L0_MODE_AF, CELLOTA_BOARD_NOR_AF);
    l0_pin_mode(CELLOTA_BOARD_NOR_MOSI_PIN, L0_MODE_AF, CELLOTA_BOARD_NOR_AF);
    L0_SPI1_CR1 = 0u;
    L0_SPI1_CR2 = 0u;
    /* Mode 0 (CPOL 0, CPHA 0), MSB first, 8-bit, master, software NSS held high. */
    // cppcheck-suppress badBitmaskCheck ; the divider comes from board.h and is 0 on the reference board
    L0_SPI1_CR1 = L0_SPI_CR1_MSTR | L0_SPI_CR1_SSM | L0_SPI_CR1_SSI |
                  ((CELLOTA_BOARD_NOR_SPI_BR & 7u) << L0_SPI_CR1_BR_SHIFT);
    L0_SPI1_CR1 |= L0_SPI_CR1_SPE;
    /* A chip left in deep power-down answers nothing until released (tRES1 3 us). */
    select_chip();
    (void)xfer(CMD_RELEASE_POWER_DOWN);
    deselect_chip();
    l0_delay_us(30u);
}

static int nor_probe(void *ctx)
{
    uint32_t capacity;

    (void)ctx;
    select_chip();
    (void)xfer(CMD_JEDEC_ID);
    jedec_id = (uint32_t)xfer(0xFFu) << 16;
    jedec_id |= (uint32_t)xfer(0xFFu) << 8;
    jedec_id |= xfer(0xFFu);
    deselect_chip();
    if (spi_failed) {
        return CELLOTA_L0_ERR_TIMEOUT;
    }
    if ((jedec_id >> 16) == 0x00u || (jedec_id >> 16) == 0xFFu) {
        return CELLOTA_L0_ERR_ABSENT; /* nobody drove MISO */
    }
    capacity = jedec_id & 0xFFu; /* 2^capacity bytes on these parts (0x16: 4 MB) */
    if (capacity >= 0x10u && capacity < 0x20u && (1u << capacity) < CELLOTA_BOARD_NOR_SIZE) {
        return CELLOTA_L0_ERR_ABSENT; /* a smaller part than board.h says */
    }
    return 0;
}

static int nor_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    uint8_t *p = (uint8_t *)buf;
    size_t i;

    (void)ctx;
    if ((buf == NULL && len != 0u) || !in_range(addr, len)) {
        return CELLOTA_L0_ERR_RANGE;
    }
    if (len == 0u) {
        return 0;
    }
    select_chip();
    send_addr(CMD_READ, addr);
    for (i = 0u; i < len; i++) {
        p[i] = xfer(0xFFu);
    }
    deselect_chip();
    return spi_failed ? CELLOTA_L0_ERR_TIMEOUT : 0;
}

/* Program n bytes that stay inside one page. */
static int program_page(uint32_t addr, const uint8_t *src, size_t n)
{
    size_t i;
    int rc = write_enable();

    if (rc != 0) {
        return rc;
    }
    select_chip();
    send_addr(CMD_PAGE_PROGRAM, addr);
    for (i = 0u; i < n; i++) {
        (void)xfer(src[i]);
    }
    deselect_chip();
    if (spi_failed) {
        return CELLOTA_L0_ERR_TIMEOUT;
    }
    return wait_ready(PROGRAM_TIMEOUT_MS);
}

static int nor_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    const uint8_t *src = (const uint8_t *)buf;

    (void)ctx;
    if ((buf == NULL && len != 0u) || !in_range(addr, len)) {
        return CELLOTA_L0_ERR_RANGE;
    }
    while (len > 0u) {
        size_t room = NOR_PAGE - (addr % NOR_PAGE);
        size_t n = (len < room) ? len : room;
        int rc = program_page(addr, src, n);
        if (rc != 0) {
            return rc;
        }
        addr += (uint32_t)n;
        src += n;
        len -= n;
    }
    return 0;
}

static int nor_erase(void *ctx, uint32_t addr)
{
    int rc;

    (void)ctx;
    if (addr >= CELLOTA_BOARD_NOR_SIZE || addr % NOR_SECTOR != 0u) {
        return CELLOTA_L0_ERR_RANGE;
    }
    rc = write_enable();
    if (rc != 0) {
        return rc;
    }
    select_chip();
    send_addr(CMD_SECTOR_ERASE, addr);
    deselect_chip();
    if (spi_failed) {
        return CELLOTA_L0_ERR_TIMEOUT;
    }
    return wait_ready(ERASE_TIMEOUT_MS);
}

void cellota_l0_nor(ota_flash_t *f)
{
    f->ctx = NULL;
    f->size = CELLOTA_BOARD_NOR_SIZE;
    f->sector_size = NOR_SECTOR;
    f->page_size = NOR_PAGE;
    f->probe = nor_probe;
    f->read = nor_read;
    f->write = nor_write;
    f->erase = nor_erase;
}

uint32_t cellota_l0_nor_jedec_id(void)
{
    return jedec_id;
}
