/*
 * cmocka.h (target) - the part of the CMocka API that cellota's unit tests use,
 * for the bare-metal Cortex-M builds that tools/qemu_tests.sh runs under QEMU.
 * Debian has no CMocka for arm-none-eabi; this header (with cmocka.c) lets the
 * unchanged tests/unit/test_*.c build for the target. Its include directory
 * comes before any other, so `#include <cmocka.h>` finds it.
 *
 * Provided, with the same meaning as CMocka 1.1:
 *   struct CMUnitTest, cmocka_unit_test, cmocka_unit_test_setup,
 *   cmocka_unit_test_teardown, cmocka_unit_test_setup_teardown,
 *   cmocka_unit_test_prestate, cmocka_run_group_tests(_name),
 *   assert_true/false, assert_int_equal/not_equal, assert_ptr_equal/not_equal,
 *   assert_non_null/null, assert_memory_equal/not_equal,
 *   assert_string_equal/not_equal, assert_in_range/not_in_range,
 *   fail, fail_msg, skip, print_message, print_error.
 * Not provided (no test uses them): mocks (will_return, expect_*), test_malloc
 * leak checks, group fixtures' state sharing beyond the group state pointer.
 *
 * A failed assertion ends the test with longjmp, like CMocka; the runner
 * prints the same "[ RUN      ]" / "[       OK ]" / "[  FAILED  ]" /
 * "[  PASSED  ] N test(s)." lines and returns the number of failed tests.
 * Integer values are compared as uintmax_t (CMocka's LargestIntegralType).
 */
#ifndef CELLOTA_TARGET_CMOCKA_H
#define CELLOTA_TARGET_CMOCKA_H

#include <stddef.h>
#include <stdint.h>

typedef uintmax_t LargestIntegralType;

#define cast_to_largest_integral_type(value) ((LargestIntegralType)(value))
#define cast_ptr_to_largest_integral_type(value) ((LargestIntegralType)(uintptr_t)(value))

typedef void (*CMUnitTestFunction)(void **state);
typedef int (*CMFixtureFunction)(void **state);

struct CMUnitTest {
    const char *name;
    CMUnitTestFunction test_func;
    CMFixtureFunction setup_func;
    CMFixtureFunction teardown_func;
    void *initial_state;
};

#define cmocka_unit_test(f) { #f, f, NULL, NULL, NULL }
#define cmocka_unit_test_setup(f, setup) { #f, f, setup, NULL, NULL }
#define cmocka_unit_test_teardown(f, teardown) { #f, f, NULL, teardown, NULL }
#define cmocka_unit_test_setup_teardown(f, setup, teardown) { #f, f, setup, teardown, NULL }
#define cmocka_unit_test_prestate(f, state) { #f, f, NULL, NULL, state }
#define cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, state) \
    { #f, f, setup, teardown, state }

#define cmocka_run_group_tests(group_tests, group_setup, group_teardown)                    \
    cmt_run_group_tests(#group_tests, group_tests, sizeof(group_tests) / sizeof((group_tests)[0]), \
                        group_setup, group_teardown)
#define cmocka_run_group_tests_name(group_name, group_tests, group_setup, group_teardown) \
    cmt_run_group_tests(group_name, group_tests, sizeof(group_tests) / sizeof((group_tests)[0]), \
                        group_setup, group_teardown)

#define assert_true(c) cmt_assert_true((c) ? 1 : 0, #c, "is not true", __FILE__, __LINE__)
#define assert_false(c) cmt_assert_true((c) ? 0 : 1, #c, "is not false", __FILE__, __LINE__)
#define assert_non_null(c) cmt_assert_true((c) != NULL ? 1 : 0, #c, "is NULL", __FILE__, __LINE__)
#define assert_null(c) cmt_assert_true((c) == NULL ? 1 : 0, #c, "is not NULL", __FILE__, __LINE__)

#define assert_int_equal(a, b)                                                          \
    cmt_assert_int(cast_to_largest_integral_type(a), cast_to_largest_integral_type(b), 1, \
                   __FILE__, __LINE__)
#define assert_int_not_equal(a, b)                                                      \
    cmt_assert_int(cast_to_largest_integral_type(a), cast_to_largest_integral_type(b), 0, \
                   __FILE__, __LINE__)
#define assert_ptr_equal(a, b)                                                                  \
    cmt_assert_int(cast_ptr_to_largest_integral_type(a), cast_ptr_to_largest_integral_type(b), 1, \
                   __FILE__, __LINE__)
#define assert_ptr_not_equal(a, b)                                                              \
    cmt_assert_int(cast_ptr_to_largest_integral_type(a), cast_ptr_to_largest_integral_type(b), 0, \
                   __FILE__, __LINE__)

#define assert_in_range(value, minimum, maximum)                                           \
    cmt_assert_range(cast_to_largest_integral_type(value), cast_to_largest_integral_type(minimum), \
                     cast_to_largest_integral_type(maximum), 1, __FILE__, __LINE__)
#define assert_not_in_range(value, minimum, maximum)                                       \
    cmt_assert_range(cast_to_largest_integral_type(value), cast_to_largest_integral_type(minimum), \
                     cast_to_largest_integral_type(maximum), 0, __FILE__, __LINE__)

#define assert_memory_equal(a, b, size) \
    cmt_assert_memory((const void *)(a), (const void *)(b), (size_t)(size), 1, __FILE__, __LINE__)
#define assert_memory_not_equal(a, b, size) \
    cmt_assert_memory((const void *)(a), (const void *)(b), (size_t)(size), 0, __FILE__, __LINE__)

#define assert_string_equal(a, b) \
    cmt_assert_string((const char *)(a), (const char *)(b), 1, __FILE__, __LINE__)
#define assert_string_not_equal(a, b) \
    cmt_assert_string((const char *)(a), (const char *)(b), 0, __FILE__, __LINE__)

#define fail() cmt_fail(__FILE__, __LINE__)
#define fail_msg(...)               \
    do {                            \
        print_error("ERROR: ");     \
        print_error(__VA_ARGS__);   \
        print_error("\n");          \
        fail();                     \
    } while (0)
#define skip() cmt_skip(__FILE__, __LINE__)

int cmt_run_group_tests(const char *group_name, const struct CMUnitTest *tests, size_t count,
                        CMFixtureFunction group_setup, CMFixtureFunction group_teardown);

void cmt_assert_true(int ok, const char *expr, const char *what, const char *file, int line);
void cmt_assert_int(LargestIntegralType a, LargestIntegralType b, int want_equal, const char *file,
                    int line);
void cmt_assert_range(LargestIntegralType v, LargestIntegralType lo, LargestIntegralType hi,
                      int want_in, const char *file, int line);
void cmt_assert_memory(const void *a, const void *b, size_t size, int want_equal, const char *file,
                       int line);
void cmt_assert_string(const char *a, const char *b, int want_equal, const char *file, int line);
__attribute__((noreturn)) void cmt_fail(const char *file, int line);
__attribute__((noreturn)) void cmt_skip(const char *file, int line);

__attribute__((format(printf, 1, 2))) void print_message(const char *format, ...);
__attribute__((format(printf, 1, 2))) void print_error(const char *format, ...);

#endif /* CELLOTA_TARGET_CMOCKA_H */
