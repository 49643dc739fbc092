/* The bounded string builder: numbers, hex, JSON escaping, truncation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ota_fmt.h"

static void test_numbers(void **state)
{
    char buf[64];
    ota_sb_t sb;
    (void)state;
    ota_sb_init(&sb, buf, sizeof buf);
    ota_sb_u32(&sb, 0);
    ota_sb_str(&sb, " ");
    ota_sb_u32(&sb, 4294967295u);
    ota_sb_str(&sb, " ");
    ota_sb_i32(&sb, -2147483647 - 1);
    ota_sb_str(&sb, " ");
    ota_sb_i32(&sb, 42);
    ota_sb_str(&sb, " ");
    ota_sb_hex32(&sb, 0x0badF00du);
    assert_string_equal(buf, "0 4294967295 -2147483648 42 0x0badf00d");
    assert_false(sb.over);
    assert_int_equal(sb.len, strlen(buf));
}

static void test_truncation_keeps_nul(void **state)
{
    char buf[8];
    ota_sb_t sb;
    (void)state;
    memset(buf, 'Z', sizeof buf);
    ota_sb_init(&sb, buf, 6);
    ota_sb_str(&sb, "abcdefgh");
    assert_string_equal(buf, "abcde");
    assert_true(sb.over);
    assert_int_equal(buf[6], 'Z'); /* nothing past cap */
    ota_sb_u32(&sb, 7);
    assert_string_equal(buf, "abcde");
    ota_sb_str(&sb, NULL);
    assert_string_equal(buf, "abcde");
}

static void test_zero_capacity(void **state)
{
    char buf[1] = {'Q'};
    ota_sb_t sb;
    (void)state;
    ota_sb_init(&sb, buf, 0);
    ota_sb_str(&sb, "x");
    assert_true(sb.over);
    assert_int_equal(buf[0], 'Q');
}

static void test_json_escaping(void **state)
{
    char buf[64];
    ota_sb_t sb;
    (void)state;
    ota_sb_init(&sb, buf, sizeof buf);
    ota_sb_json_str(&sb, "a\"b\\c\n\x01/é");
    assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\\u0001/é\"");
    assert_false(sb.over);
    ota_sb_init(&sb, buf, sizeof buf);
    ota_sb_json_str(&sb, NULL);
    assert_string_equal(buf, "\"\"");
}

static void test_json_escape_never_cut(void **state)
{
    /* Room for "ab + part of \u0001: the escape must not be half written. */
    char buf[8];
    ota_sb_t sb;
    (void)state;
    ota_sb_init(&sb, buf, sizeof buf);
    ota_sb_json_str(&sb, "ab\x01");
    assert_true(sb.over);
    assert_string_equal(buf, "\"ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_truncation_keeps_nul),
        cmocka_unit_test(test_zero_capacity),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_escape_never_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
