/*
 * libc_compat.c - what the test fixtures expect of the C library and Debian's
 * newlib for arm-none-eabi lacks.
 *
 * newlib is built there without C99 formatted I/O (nano and full alike): the
 * 'z' length modifier of "%zu" is not understood and the arguments after it
 * are taken in the wrong order. tests/fakes/fake_tb.c formats a size_t with
 * it. On arm-none-eabi size_t is unsigned int, so "%zu" means exactly "%u":
 * the programs are linked with -Wl,--wrap=snprintf,--wrap=vsnprintf and these
 * wrappers drop the 'z' before calling newlib.
 */
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

int __real_vsnprintf(char *s, size_t n, const char *format, va_list ap);
int __wrap_vsnprintf(char *s, size_t n, const char *format, va_list ap);
int __wrap_snprintf(char *s, size_t n, const char *format, ...);

/* Compile-time check: "%zu" may become "%u" only if the types match. */
typedef char cellota_size_t_is_unsigned_int[(sizeof(size_t) == sizeof(unsigned int)) ? 1 : -1];

#define SPEC_CHARS "-+ #0123456789.*" /* flags, width, precision */

/* Append c to out[o] if there is room for it and a NUL; false otherwise. */
static int put(char *out, size_t cap, size_t *o, char c)
{
    if (*o + 1u >= cap) {
        return 0;
    }
    out[(*o)++] = c;
    return 1;
}

/* Copy format into out without the 'z' modifiers. 0, or -1 if it does not fit. */
static int drop_z(const char *format, char *out, size_t cap)
{
    const char *p = format;
    size_t o = 0u;

    while (*p != '\0') {
        char c = *p++;
        if (!put(out, cap, &o, c)) {
            return -1;
        }
        if (c != '%') {
            continue;
        }
        if (*p == '%') { /* "%%" */
            if (!put(out, cap, &o, *p++)) {
                return -1;
            }
            continue;
        }
        while (*p != '\0' && strchr(SPEC_CHARS, *p) != NULL) {
            if (!put(out, cap, &o, *p++)) {
                return -1;
            }
        }
        if (*p == 'z') {
            p++;
        }
    }
    out[o] = '\0';
    return 0;
}

int __wrap_vsnprintf(char *s, size_t n, const char *format, va_list ap)
{
    char fixed[256];

    if (format != NULL && strchr(format, 'z') != NULL &&
        drop_z(format, fixed, sizeof fixed) == 0) {
        return __real_vsnprintf(s, n, fixed, ap);
    }
    return __real_vsnprintf(s, n, format, ap);
}

int __wrap_snprintf(char *s, size_t n, const char *format, ...)
{
    va_list ap;
    int rc;

    va_start(ap, format);
    rc = __wrap_vsnprintf(s, n, format, ap);
    va_end(ap);
    return rc;
}
