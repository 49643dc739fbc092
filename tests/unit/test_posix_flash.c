/*
 * Unit tests of the POSIX port's file-backed NOR flash: NOR rules, page
 * splitting, "not fitted" switch, power cuts, counters and persistence.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cellota_posix/cellota_posix.h"

#define SECTOR CELLOTA_FLASH_SECTOR_SIZE
#define PAGE CELLOTA_FLASH_PAGE_SIZE
#define FLASH_SIZE (16u * SECTOR)

typedef struct {
    char dir[64];
    char path[96];
    cellota_flash_file_t f;
    ota_flash_t port;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    if (fx == NULL) {
        return -1;
    }
    strcpy(fx->dir, "/tmp/cellota-flash-test-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof(fx->path), "%s/flash.bin", fx->dir);
    if (cellota_flash_file_open(&fx->f, fx->path, FLASH_SIZE) != 0) {
        free(fx);
        return -1;
    }
    fx->port = cellota_flash_file_port(&fx->f);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    cellota_flash_file_close(&fx->f);
    (void)unlink(fx->path);
    (void)rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Fill buf with a pattern that has both set and cleared bits. */
static void pattern(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0u; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7u);
    }
}

static void assert_all(const ota_flash_t *p, uint32_t addr, size_t len, uint8_t value)
{
    uint8_t buf[SECTOR];
    assert_true(len <= sizeof(buf));
    assert_int_equal(p->read(p->ctx, addr, buf, len), 0);
    for (size_t i = 0u; i < len; i++) {
        if (buf[i] != value) {
            fail_msg("byte at 0x%lx is 0x%02x, expected 0x%02x", (unsigned long)(addr + i),
                     buf[i], value);
        }
    }
}

static void test_new_file_is_erased(void **state)
{
    fixture_t *fx = *state;
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_size, FLASH_SIZE);
    assert_int_equal(fx->port.size, FLASH_SIZE);
    assert_int_equal(fx->port.sector_size, 4096);
    assert_int_equal(fx->port.page_size, 256);
    assert_int_equal(fx->port.probe(fx->port.ctx), 0);
    for (uint32_t a = 0u; a < FLASH_SIZE; a += SECTOR) {
        assert_all(&fx->port, a, SECTOR, 0xFF);
    }
}

static void test_write_read_back(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[100];
    uint8_t back[100];
    pattern(data, sizeof(data), 3u);
    assert_int_equal(fx->port.write(fx->port.ctx, 0x1000u + 10u, data, sizeof(data)), 0);
    assert_int_equal(fx->port.read(fx->port.ctx, 0x1000u + 10u, back, sizeof(back)), 0);
    assert_memory_equal(back, data, sizeof(data));
    assert_all(&fx->port, 0x1000u, 10u, 0xFF);
    assert_all(&fx->port, 0x1000u + 110u, 100u, 0xFF);
}

static void test_same_value_and_clearing_bits_allowed(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t v = 0xF0u;
    uint8_t got = 0u;
    assert_int_equal(p->write(p->ctx, 5u, &v, 1u), 0);
    assert_int_equal(p->write(p->ctx, 5u, &v, 1u), 0); /* same value again */
    v = 0x30u;                                          /* clears two more bits */
    assert_int_equal(p->write(p->ctx, 5u, &v, 1u), 0);
    assert_int_equal(p->read(p->ctx, 5u, &got, 1u), 0);
    assert_int_equal(got, 0x30);
    v = 0x00u;
    assert_int_equal(p->write(p->ctx, 5u, &v, 1u), 0);
    assert_int_equal(p->read(p->ctx, 5u, &got, 1u), 0);
    assert_int_equal(got, 0x00);
}

static void test_zero_to_one_refused(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t v = 0x0Fu;
    uint8_t got = 0u;
    assert_int_equal(p->write(p->ctx, 77u, &v, 1u), 0);
    v = 0x1Fu; /* bit 4 would go 0 -> 1 */
    assert_int_equal(p->write(p->ctx, 77u, &v, 1u), CELLOTA_POSIX_ENOR);
    assert_int_equal(p->read(p->ctx, 77u, &got, 1u), 0);
    assert_int_equal(got, 0x0F);
}

static void test_refused_write_writes_nothing(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t zero = 0x00u;
    /* Program one byte at the end of a 600-byte range spanning 3 pages. */
    assert_int_equal(p->write(p->ctx, 0x2000u + 599u, &zero, 1u), 0);
    cellota_flash_stats_t before;
    cellota_flash_file_stats(&fx->f, &before);

    uint8_t data[600];
    memset(data, 0xA5, sizeof(data)); /* last byte needs 0 -> 1 */
    assert_int_equal(p->write(p->ctx, 0x2000u, data, sizeof(data)), CELLOTA_POSIX_ENOR);
    assert_all(p, 0x2000u, 599u, 0xFF);
    assert_all(p, 0x2000u + 599u, 1u, 0x00);

    cellota_flash_stats_t after;
    cellota_flash_file_stats(&fx->f, &after);
    assert_int_equal(after.programs, before.programs);
    assert_int_equal(after.writes, before.writes);
    assert_int_equal(after.ops, before.ops);
}

static void test_write_spans_pages(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t data[600];
    uint8_t back[600];
    pattern(data, sizeof(data), 11u);
    /* 200..799: 56 bytes in page 0, pages 1 and 2 whole, 32 bytes of page 3. */
    assert_int_equal(p->write(p->ctx, 200u, data, sizeof(data)), 0);
    cellota_flash_stats_t st;
    cellota_flash_file_stats(&fx->f, &st);
    assert_int_equal(st.writes, 1);
    assert_int_equal(st.programs, 4);
    assert_int_equal(st.ops, 4);
    assert_int_equal(p->read(p->ctx, 200u, back, sizeof(back)), 0);
    assert_memory_equal(back, data, sizeof(data));
    assert_all(p, 0u, 200u, 0xFF);
    assert_all(p, 800u, 224u, 0xFF);
}

static void test_erase(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t data[SECTOR];
    memset(data, 0x00, sizeof(data));
    assert_int_equal(p->write(p->ctx, 0u, data, SECTOR), 0);
    assert_int_equal(p->write(p->ctx, SECTOR, data, SECTOR), 0);
    assert_int_equal(p->write(p->ctx, 2u * SECTOR, data, SECTOR), 0);
    assert_int_equal(p->erase(p->ctx, SECTOR), 0);
    assert_all(p, 0u, SECTOR, 0x00);
    assert_all(p, SECTOR, SECTOR, 0xFF);
    assert_all(p, 2u * SECTOR, SECTOR, 0x00);
    /* Erased bytes can be programmed again. */
    uint8_t v = 0x5Au;
    assert_int_equal(p->write(p->ctx, SECTOR + 1u, &v, 1u), 0);
    assert_int_equal(p->erase(p->ctx, FLASH_SIZE - SECTOR), 0);
}

static void test_bad_addresses(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t buf[8] = {0};
    assert_int_equal(p->erase(p->ctx, 1u), CELLOTA_POSIX_EALIGN);
    assert_int_equal(p->erase(p->ctx, SECTOR + 256u), CELLOTA_POSIX_EALIGN);
    assert_int_equal(p->erase(p->ctx, FLASH_SIZE), CELLOTA_POSIX_ERANGE);
    assert_int_equal(p->read(p->ctx, FLASH_SIZE - 4u, buf, 8u), CELLOTA_POSIX_ERANGE);
    assert_int_equal(p->read(p->ctx, FLASH_SIZE, buf, 1u), CELLOTA_POSIX_ERANGE);
    assert_int_equal(p->read(p->ctx, UINT32_MAX - 2u, buf, 8u), CELLOTA_POSIX_ERANGE);
    assert_int_equal(p->write(p->ctx, FLASH_SIZE - 4u, buf, 8u), CELLOTA_POSIX_ERANGE);
    assert_int_equal(p->write(p->ctx, UINT32_MAX - 2u, buf, 8u), CELLOTA_POSIX_ERANGE);
    assert_int_equal(p->read(p->ctx, 0u, NULL, 1u), CELLOTA_POSIX_EPARAM);
    assert_int_equal(p->write(p->ctx, 0u, NULL, 1u), CELLOTA_POSIX_EPARAM);
    /* The last bytes are reachable. */
    assert_int_equal(p->read(p->ctx, FLASH_SIZE - 8u, buf, 8u), 0);
    assert_int_equal(p->write(p->ctx, FLASH_SIZE - 8u, buf, 8u), 0);
    cellota_flash_stats_t st;
    cellota_flash_file_stats(&fx->f, &st);
    assert_int_equal(st.erases, 0);
    assert_int_equal(st.ops, 1);
}

static void test_absent_chip(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t buf[4];
    cellota_flash_file_set_present(&fx->f, false);
    assert_int_equal(p->probe(p->ctx), CELLOTA_POSIX_EABSENT);
    assert_int_equal(p->read(p->ctx, 0u, buf, sizeof(buf)), CELLOTA_POSIX_EABSENT);
    assert_int_equal(p->write(p->ctx, 0u, buf, sizeof(buf)), CELLOTA_POSIX_EABSENT);
    assert_int_equal(p->erase(p->ctx, 0u), CELLOTA_POSIX_EABSENT);
    cellota_flash_file_set_present(&fx->f, true);
    assert_int_equal(p->probe(p->ctx), 0);

    cellota_flash_file_t none;
    cellota_flash_file_open_absent(&none, 0u);
    ota_flash_t np = cellota_flash_file_port(&none);
    assert_int_equal(np.size, CELLOTA_FLASH_DEFAULT_SIZE);
    assert_int_equal(np.probe(np.ctx), CELLOTA_POSIX_EABSENT);
    assert_int_equal(np.read(np.ctx, 0u, buf, sizeof(buf)), CELLOTA_POSIX_EABSENT);
    cellota_flash_file_close(&none);
}

static void test_power_cut_in_multi_page_write(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t data[4u * PAGE];
    pattern(data, sizeof(data), 1u);
    cellota_flash_file_cut_power_before(&fx->f, 3u); /* pages 0, 1 programmed; page 2 not */
    assert_true(cellota_flash_file_powered(&fx->f));
    assert_int_equal(p->write(p->ctx, 0u, data, sizeof(data)), CELLOTA_POSIX_EPOWER);
    assert_false(cellota_flash_file_powered(&fx->f));

    /* Everything fails until power is restored. */
    uint8_t buf[4];
    assert_int_equal(p->probe(p->ctx), CELLOTA_POSIX_EPOWER);
    assert_int_equal(p->read(p->ctx, 0u, buf, sizeof(buf)), CELLOTA_POSIX_EPOWER);
    assert_int_equal(p->erase(p->ctx, 0u), CELLOTA_POSIX_EPOWER);
    assert_int_equal(p->write(p->ctx, 0u, buf, sizeof(buf)), CELLOTA_POSIX_EPOWER);

    cellota_flash_stats_t st;
    cellota_flash_file_stats(&fx->f, &st);
    assert_int_equal(st.ops, 3);
    assert_int_equal(st.programs, 2);
    assert_int_equal(st.writes, 1);
    assert_int_equal(st.erases, 0);

    cellota_flash_file_power_restore(&fx->f);
    assert_int_equal(p->probe(p->ctx), 0);
    uint8_t back[2u * PAGE];
    assert_int_equal(p->read(p->ctx, 0u, back, sizeof(back)), 0);
    assert_memory_equal(back, data, sizeof(back));
    assert_all(p, 2u * PAGE, 2u * PAGE, 0xFF);
}

static void test_power_cut_before_erase(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t zero = 0x00u;
    assert_int_equal(p->write(p->ctx, SECTOR, &zero, 1u), 0);
    cellota_flash_file_cut_power_before(&fx->f, 1u);
    assert_int_equal(p->erase(p->ctx, SECTOR), CELLOTA_POSIX_EPOWER);
    cellota_flash_file_power_restore(&fx->f);
    assert_all(p, SECTOR, 1u, 0x00); /* the erase was not performed */
    /* Restored power, no cut armed: operations run again. */
    assert_int_equal(p->erase(p->ctx, SECTOR), 0);
    assert_all(p, SECTOR, 1u, 0xFF);
}

static void test_torn_program_and_erase(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t data[2u * PAGE];
    uint8_t back[2u * PAGE];
    pattern(data, sizeof(data), 7u);
    /* The second page of the write is torn: its first 40 bytes land. */
    cellota_flash_file_cut_power_before(&fx->f, 2u);
    cellota_flash_file_tear(&fx->f, 40u);
    assert_int_equal(p->write(p->ctx, 0u, data, sizeof(data)), CELLOTA_POSIX_EPOWER);
    cellota_flash_file_power_restore(&fx->f);
    assert_int_equal(p->read(p->ctx, 0u, back, sizeof(back)), 0);
    assert_memory_equal(back, data, PAGE + 40u);
    assert_all(p, PAGE + 40u, PAGE - 40u, 0xFF);

    /* A torn erase: only the first 100 bytes of the sector are erased. */
    cellota_flash_file_tear(&fx->f, 100u);
    cellota_flash_file_cut_power_before(&fx->f, 1u);
    assert_int_equal(p->erase(p->ctx, 0u), CELLOTA_POSIX_EPOWER);
    cellota_flash_file_power_restore(&fx->f);
    assert_all(p, 0u, 100u, 0xFF);
    assert_int_equal(p->read(p->ctx, 100u, back, PAGE - 100u), 0);
    assert_memory_equal(back, data + 100u, PAGE - 100u);

    /* With tearing off again a cut is clean. */
    cellota_flash_file_tear(&fx->f, 0u);
    cellota_flash_file_cut_power_before(&fx->f, 1u);
    assert_int_equal(p->erase(p->ctx, 0u), CELLOTA_POSIX_EPOWER);
    cellota_flash_file_power_restore(&fx->f);
    assert_int_equal(p->read(p->ctx, 100u, back, 4u), 0);
    assert_memory_equal(back, data + 100u, 4u);
}

static void test_power_cut_counts_from_arming(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t v = 0x00u;
    assert_int_equal(p->erase(p->ctx, 0u), 0);
    cellota_flash_file_reset_stats(&fx->f);
    cellota_flash_file_cut_power_before(&fx->f, 2u);
    cellota_flash_file_reset_stats(&fx->f); /* re-based: still the 2nd op from arming */
    assert_int_equal(p->write(p->ctx, 0u, &v, 1u), 0);
    assert_int_equal(p->write(p->ctx, 1u, &v, 1u), CELLOTA_POSIX_EPOWER);
    cellota_flash_file_power_restore(&fx->f);
    assert_all(p, 0u, 1u, 0x00);
    assert_all(p, 1u, 1u, 0xFF);
    /* Disarm with 0. */
    cellota_flash_file_cut_power_before(&fx->f, 1u);
    cellota_flash_file_cut_power_before(&fx->f, 0u);
    assert_int_equal(p->write(p->ctx, 1u, &v, 1u), 0);
}

static void test_counters(void **state)
{
    fixture_t *fx = *state;
    const ota_flash_t *p = &fx->port;
    uint8_t buf[300];
    memset(buf, 0x11, sizeof(buf));
    assert_int_equal(p->read(p->ctx, 0u, buf, 10u), 0);
    assert_int_equal(p->read(p->ctx, 0u, buf, 10u), 0);
    assert_int_equal(p->write(p->ctx, 0u, buf, 300u), 0); /* 2 pages */
    assert_int_equal(p->erase(p->ctx, 0u), 0);
    assert_int_equal(p->erase(p->ctx, SECTOR), 0);
    assert_int_equal(p->erase(p->ctx, 2u * SECTOR), 0);
    cellota_flash_stats_t st;
    cellota_flash_file_stats(&fx->f, &st);
    assert_int_equal(st.reads, 2);
    assert_int_equal(st.writes, 1);
    assert_int_equal(st.programs, 2);
    assert_int_equal(st.erases, 3);
    assert_int_equal(st.ops, 5);
    cellota_flash_file_reset_stats(&fx->f);
    cellota_flash_file_stats(&fx->f, &st);
    assert_int_equal(st.reads + st.writes + st.programs + st.erases + st.ops, 0);
}

static void test_persistence_across_reopen(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[700];
    uint8_t back[700];
    pattern(data, sizeof(data), 42u);
    assert_int_equal(fx->port.write(fx->port.ctx, 3u * SECTOR + 100u, data, sizeof(data)), 0);
    cellota_flash_file_close(&fx->f);

    /* Size 0 takes the existing file's size. */
    assert_int_equal(cellota_flash_file_open(&fx->f, fx->path, 0u), 0);
    fx->port = cellota_flash_file_port(&fx->f);
    assert_int_equal(fx->port.size, FLASH_SIZE);
    assert_int_equal(fx->port.read(fx->port.ctx, 3u * SECTOR + 100u, back, sizeof(back)), 0);
    assert_memory_equal(back, data, sizeof(data));
    assert_all(&fx->port, 3u * SECTOR, 100u, 0xFF);
    cellota_flash_file_close(&fx->f);

    /* The same size explicitly is fine; another size is refused. */
    assert_int_equal(cellota_flash_file_open(&fx->f, fx->path, FLASH_SIZE), 0);
    cellota_flash_file_close(&fx->f);
    assert_int_equal(cellota_flash_file_open(&fx->f, fx->path, 2u * FLASH_SIZE), CELLOTA_POSIX_ESIZE);
    assert_int_equal(cellota_flash_file_open(&fx->f, fx->path, FLASH_SIZE + 1u), CELLOTA_POSIX_EPARAM);
    assert_int_equal(cellota_flash_file_open(&fx->f, fx->path, FLASH_SIZE), 0);
    fx->port = cellota_flash_file_port(&fx->f);
}

static void test_open_errors(void **state)
{
    (void)state;
    cellota_flash_file_t f;
    assert_int_equal(cellota_flash_file_open(NULL, "/tmp/x", 0u), CELLOTA_POSIX_EPARAM);
    assert_int_equal(cellota_flash_file_open(&f, NULL, 0u), CELLOTA_POSIX_EPARAM);
    assert_int_equal(cellota_flash_file_open(&f, "/nonexistent-dir/flash.bin", 0u), CELLOTA_POSIX_EIO);
}

static void test_layout(void **state)
{
    (void)state;
    cellota_flash_layout_t l;
    assert_int_equal(cellota_posix_layout(CELLOTA_FLASH_DEFAULT_SIZE, &l), 0);
    assert_int_equal(l.meta_addr, 0x0);
    assert_int_equal(l.slot_addr, 0x2000);
    assert_int_equal(l.slot_size, 0x1FF000);
    assert_int_equal(l.backup_addr, 0x201000);
    assert_int_equal(l.backup_size, 0x1FF000);
    assert_int_equal(l.backup_addr + l.backup_size, CELLOTA_FLASH_DEFAULT_SIZE);
    assert_int_equal(cellota_posix_layout(5u * SECTOR, &l), 0);
    assert_int_equal(l.slot_addr, 0x2000);
    assert_int_equal(l.slot_size, SECTOR);
    assert_int_equal(l.backup_addr, 0x3000);
    assert_int_equal(cellota_posix_layout(3u * SECTOR, &l), CELLOTA_POSIX_EPARAM);
    assert_int_equal(cellota_posix_layout(FLASH_SIZE + 1u, &l), CELLOTA_POSIX_EPARAM);
    assert_int_equal(cellota_posix_layout(FLASH_SIZE, NULL), CELLOTA_POSIX_EPARAM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_file_is_erased, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_program_and_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_value_and_clearing_bits_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_to_one_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_write_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_spans_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_chip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_cut_in_multi_page_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_cut_before_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_cut_counts_from_arming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence_across_reopen, setup, teardown),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
