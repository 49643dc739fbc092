/*
 * cmocka.c (target) - test runner and assertions behind tests/target/cmocka.h.
 *
 * Output goes straight to the semihosting console (no stdio buffers, which
 * would cost 1 KB of the target's RAM each); print_error/print_message format
 * with vsnprintf into a small static buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmocka.h"
#include "target_rt.h"

enum { RESULT_OK = 0, RESULT_FAILED = 1, RESULT_SKIPPED = 2 };

static jmp_buf jump;
static int in_test;
static const char *current;

const char *cellota_target_current_test(void)
{
    return current;
}

static void put(const char *s)
{
    cellota_target_puts(s);
}

static void put_value(LargestIntegralType v)
{
    if (v > (LargestIntegralType)INTMAX_MAX) {
        put("-");
        cellota_target_put_dec((uint64_t)(0u - v));
    } else {
        cellota_target_put_dec((uint64_t)v);
    }
    put(" (");
    cellota_target_put_hex((uint64_t)v, 1u);
    put(")");
}

static void put_location(const char *file, int line)
{
    put(file);
    put(":");
    cellota_target_put_dec((uint64_t)(unsigned)line);
    put(": error: ");
}

static __attribute__((noreturn)) void end_test(int result)
{
    if (!in_test) {
        put("[  ERROR   ] assertion outside a test\n");
        cellota_target_exit(1);
    }
    longjmp(jump, result);
}

static void vprint(const char *format, va_list ap)
{
    static char buf[256];

    (void)vsnprintf(buf, sizeof buf, format, ap);
    put(buf);
}

void print_message(const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    vprint(format, ap);
    va_end(ap);
}

void print_error(const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    vprint(format, ap);
    va_end(ap);
}

void cmt_fail(const char *file, int line)
{
    put_location(file, line);
    put("Failure!\n");
    end_test(RESULT_FAILED);
}

void cmt_skip(const char *file, int line)
{
    (void)file;
    (void)line;
    end_test(RESULT_SKIPPED);
}

void cmt_assert_true(int ok, const char *expr, const char *what, const char *file, int line)
{
    if (ok) {
        return;
    }
    put_location(file, line);
    put(expr);
    put(" ");
    put(what);
    put("\n");
    end_test(RESULT_FAILED);
}

void cmt_assert_int(LargestIntegralType a, LargestIntegralType b, int want_equal, const char *file,
                    int line)
{
    if ((a == b) == (want_equal != 0)) {
        return;
    }
    put_location(file, line);
    put_value(a);
    put(want_equal ? " != " : " == ");
    put_value(b);
    put("\n");
    end_test(RESULT_FAILED);
}

void cmt_assert_range(LargestIntegralType v, LargestIntegralType lo, LargestIntegralType hi,
                      int want_in, const char *file, int line)
{
    int in = v >= lo && v <= hi;

    if (in == (want_in != 0)) {
        return;
    }
    put_location(file, line);
    put_value(v);
    put(want_in ? " is not within the range " : " is within the range ");
    put_value(lo);
    put("-");
    put_value(hi);
    put("\n");
    end_test(RESULT_FAILED);
}

void cmt_assert_memory(const void *a, const void *b, size_t size, int want_equal, const char *file,
                       int line)
{
    const unsigned char *pa = (const unsigned char *)a;
    const unsigned char *pb = (const unsigned char *)b;
    size_t i = 0u;

    if (a == NULL || b == NULL) {
        put_location(file, line);
        put("NULL pointer given to assert_memory_(not_)equal\n");
        end_test(RESULT_FAILED);
    }
    while (i < size && pa[i] == pb[i]) {
        i++;
    }
    if ((i == size) == (want_equal != 0)) {
        return;
    }
    put_location(file, line);
    if (want_equal) {
        put("difference at offset ");
        cellota_target_put_dec((uint64_t)i);
        put(": ");
        cellota_target_put_hex(pa[i], 2u);
        put(" != ");
        cellota_target_put_hex(pb[i], 2u);
    } else {
        cellota_target_put_dec((uint64_t)size);
        put(" bytes are equal");
    }
    put("\n");
    end_test(RESULT_FAILED);
}

void cmt_assert_string(const char *a, const char *b, int want_equal, const char *file, int line)
{
    int equal = a != NULL && b != NULL && strcmp(a, b) == 0;

    if (equal == (want_equal != 0)) {
        return;
    }
    put_location(file, line);
    put("\"");
    put(a != NULL ? a : "(null)");
    put(want_equal ? "\" != \"" : "\" == \"");
    put(b != NULL ? b : "(null)");
    put("\"\n");
    end_test(RESULT_FAILED);
}

static void put_line(const char *tag, const char *name)
{
    put(tag);
    put(" ");
    put(name);
    put("\n");
}

static void put_count(const char *tag, size_t n, const char *rest)
{
    put(tag);
    put(" ");
    cellota_target_put_dec((uint64_t)n);
    put(rest);
}

/* Run a fixture under the jump buffer: 0 if it returned 0. */
static int run_fixture(CMFixtureFunction fn, void **state)
{
    static volatile int rc;

    rc = -1;
    in_test = 1;
    if (setjmp(jump) == 0) {
        rc = fn(state);
    }
    in_test = 0;
    return rc;
}

/* Whether `name` is in the program's skip list (and --all was not given). */
static int skipped_on_target(const char *name)
{
    const char *list = (cellota_target_skip_list != NULL) ? cellota_target_skip_list() : NULL;
    size_t n = strlen(name);

    while (list != NULL && *list != '\0') {
        const char *comma = strchr(list, ',');
        size_t len = (comma != NULL) ? (size_t)(comma - list) : strlen(list);
        if (len == n && strncmp(list, name, n) == 0) {
            return !cellota_target_has_arg("--all");
        }
        list = (comma != NULL) ? comma + 1 : NULL;
    }
    return 0;
}

/* Run one test: setup, test, teardown (when the setup succeeded). */
static int run_one(const struct CMUnitTest *t, void **group_state)
{
    static void *state;
    static volatile int result;

    state = t->initial_state != NULL ? t->initial_state : *group_state;
    if (skipped_on_target(t->name)) {
        put_line("[ RUN      ]", t->name);
        put("left out on the target: ");
        put(cellota_target_skip_reason != NULL ? cellota_target_skip_reason() : "");
        put(" (run them with --all)\n");
        put_line("[  SKIPPED ]", t->name);
        return RESULT_SKIPPED;
    }
    current = t->name;
    put_line("[ RUN      ]", t->name);
    if (t->setup_func != NULL && run_fixture(t->setup_func, &state) != 0) {
        put("Could not run the test - check test fixtures\n");
        put_line("[  ERROR   ]", t->name);
        current = NULL;
        return RESULT_FAILED;
    }
    result = RESULT_OK;
    in_test = 1;
    switch (setjmp(jump)) {
    case 0:
        t->test_func(&state);
        break;
    case RESULT_SKIPPED:
        result = RESULT_SKIPPED;
        break;
    default:
        result = RESULT_FAILED;
        break;
    }
    in_test = 0;
    if (t->teardown_func != NULL && run_fixture(t->teardown_func, &state) != 0) {
        put("Test teardown failed\n");
        result = RESULT_FAILED;
    }
    put_line(result == RESULT_OK        ? "[       OK ]"
             : result == RESULT_SKIPPED ? "[  SKIPPED ]"
                                        : "[  FAILED  ]",
             t->name);
    current = NULL;
    return result;
}

int cmt_run_group_tests(const char *group_name, const struct CMUnitTest *tests, size_t count,
                        CMFixtureFunction group_setup, CMFixtureFunction group_teardown)
{
    static void *group_state;
    size_t i;
    size_t passed = 0u;
    size_t failed = 0u;
    size_t skipped = 0u;

    put_count("[==========]", count, " test(s) of ");
    put(group_name);
    put(": running on the target.\n");
    group_state = NULL;
    if (group_setup != NULL && run_fixture(group_setup, &group_state) != 0) {
        put("[  ERROR   ] group setup failed\n");
        return (int)count;
    }
    for (i = 0u; i < count; i++) {
        int r = run_one(&tests[i], &group_state);
        passed += (r == RESULT_OK) ? 1u : 0u;
        failed += (r == RESULT_FAILED) ? 1u : 0u;
        skipped += (r == RESULT_SKIPPED) ? 1u : 0u;
    }
    if (group_teardown != NULL && run_fixture(group_teardown, &group_state) != 0) {
        put("[  ERROR   ] group teardown failed\n");
        failed++;
    }
    put_count("[==========]", count, " test(s) run.\n");
    put_count("[  PASSED  ]", passed, " test(s).\n");
    if (skipped != 0u) {
        put_count("[  SKIPPED ]", skipped, " test(s).\n");
    }
    if (failed != 0u) {
        put_count("[  FAILED  ]", failed, " test(s).\n");
    }
    return (int)failed;
}
